package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web"
	"github.com/intakehq/intake/web/webtest"
)

// The API and the dispatcher pages over a real server and a fresh database
// holding the demo reference data and the demo mailbox run through the real
// stages. The server is built as serve builds it, from web.Server and the
// pipeline's processor, without the optional components (webhooks, the
// engineer API, connectors): cmd/intake's tests cover those.

func TestMain(m *testing.M) { pgtest.Main(m) }

// testAPIToken is a configured API token, as long as a real one must be.
const testAPIToken = "api-secret-0123456789abcdef0123456789"

type fixture struct {
	webtest.API
	st     *store.Store
	failed int64 // an item that failed
}

func newFixture(t *testing.T, apiToken string) *fixture {
	t.Helper()
	ctx := context.Background()
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
	failed := webtest.Seed(t, st, proc.RunInline)

	s := &web.Server{
		Store: st, Log: discard(), Gatherer: prometheus.NewRegistry(), Rules: pipeline.StoredRules{Store: st}, Location: time.UTC,
		// The stages run inline here, with no bus: a retried item is
		// requeued and waits.
		Retry: func(ctx context.Context, ids []int64) (done []int64, err error) {
			err = st.InTx(ctx, func(tx pgx.Tx) error {
				done, err = store.RetryFailed(ctx, tx, ids)
				return err
			})
			return done, err
		},
		Try: func(ctx context.Context, msgs []replay.Message, dedup bool) ([]replay.Result, error) {
			var out []replay.Result
			err := replay.Try(ctx, st, proc, msgs, dedup, func(t replay.Tried) error {
				out = append(out, t.Result(time.UTC))
				return nil
			})
			return out, err
		},
		Resolve: func(ctx context.Context, id int64, client, object, by string) (tid int64, err error) {
			err = st.InTx(ctx, func(tx pgx.Tx) error {
				tid, err = proc.Resolve(ctx, tx, id, client, object, by)
				return err
			})
			if errors.Is(err, pipeline.ErrNotUnmatched) {
				return 0, web.Unprocessable(err)
			}
			return tid, err
		},
	}
	if apiToken != "" {
		s.APITokens = []string{apiToken}
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{API: webtest.API{Srv: srv, Token: apiToken}, st: st, failed: failed}
}

type apiItem struct {
	ID       int64           `json:"id"`
	Outcome  *string         `json:"outcome"`
	Reason   string          `json:"reason"`
	Stage    string          `json:"stage"`
	Error    string          `json:"error"`
	Parsed   json.RawMessage `json:"parsed"`
	Decision struct {
		Match *struct {
			Candidates []struct{ Code, Client, Address string }
		} `json:"match"`
	} `json:"decision"`
}

// unmatchedWithCandidates is the first unmatched item that has candidate
// stores.
func (f *fixture) unmatchedWithCandidates(t *testing.T) apiItem {
	t.Helper()
	var out struct{ Items []apiItem }
	require.Equal(t, http.StatusOK, f.Call(t, "GET", "/api/v1/unmatched", nil, &out))
	for _, it := range out.Items {
		if it.Decision.Match != nil && len(it.Decision.Match.Candidates) > 0 {
			return it
		}
	}
	t.Fatal("the demo corpus has no unmatched item with candidates")
	return apiItem{}
}

func TestHTTPItemsAndQueues(t *testing.T) {
	f := newFixture(t, testAPIToken)

	var list struct{ Items []apiItem }
	require.Equal(t, http.StatusOK, f.Call(t, "GET", "/api/v1/items?limit=500", nil, &list))
	assert.Equal(t, len(demo.Mail())+2, len(list.Items), "the demo mail, the ambiguous letter and the failed item")

	var stats struct{ Outcomes map[string]int }
	require.Equal(t, http.StatusOK, f.Call(t, "GET", "/api/v1/stats", nil, &stats))
	assert.Equal(t, 1, stats.Outcomes[store.OutcomeFailed])
	assert.Positive(t, stats.Outcomes[store.OutcomeUnmatched])

	it := f.unmatchedWithCandidates(t)
	var one apiItem
	require.Equal(t, http.StatusOK, f.Call(t, "GET", fmt.Sprintf("/api/v1/items/%d", it.ID), nil, &one))
	assert.Equal(t, store.OutcomeUnmatched, *one.Outcome)
	assert.NotEmpty(t, one.Reason)
	var raw []byte
	require.Equal(t, http.StatusOK, f.Call(t, "GET", fmt.Sprintf("/api/v1/items/%d/raw", it.ID), nil, &raw))
	assert.Contains(t, string(raw), "Message-ID")

	assert.Equal(t, http.StatusNotFound, f.Call(t, "GET", "/api/v1/items/999999", nil, nil))
	assert.Equal(t, http.StatusBadRequest, f.Call(t, "GET", "/api/v1/items/x", nil, nil))

	t.Run("resolve", func(t *testing.T) {
		c := it.Decision.Match.Candidates[0]
		assert.Equal(t, http.StatusNotFound, f.Call(t, "POST", fmt.Sprintf("/api/v1/items/%d/resolve", it.ID),
			map[string]string{"client": c.Client, "object": "no-such-store", "by": "ivanova"}, nil))
		assert.Equal(t, http.StatusBadRequest, f.Call(t, "POST", fmt.Sprintf("/api/v1/items/%d/resolve", it.ID), map[string]string{"by": "ivanova"}, nil))
		var got struct{ Ticket store.Ticket }
		require.Equal(t, http.StatusOK, f.Call(t, "POST", fmt.Sprintf("/api/v1/items/%d/resolve", it.ID),
			map[string]string{"client": c.Client, "object": c.Code, "by": "ivanova"}, &got))
		assert.Equal(t, c.Code, got.Ticket.Object)
		assert.Equal(t, it.ID, got.Ticket.SourceItem)
		// Once a ticket, it is not unmatched any more.
		assert.Equal(t, http.StatusUnprocessableEntity, f.Call(t, "POST", fmt.Sprintf("/api/v1/items/%d/resolve", it.ID),
			map[string]string{"client": c.Client, "object": c.Code, "by": "ivanova"}, nil))

		var tk struct {
			Ticket store.Ticket
			Events []store.TicketEvent
		}
		require.Equal(t, http.StatusOK, f.Call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", got.Ticket.ID), nil, &tk))
		var kinds []string
		for _, e := range tk.Events {
			kinds = append(kinds, e.Kind+"/"+e.Actor)
		}
		assert.Contains(t, kinds, "resolved/config-token-1", "recorded as the token's user, not the \"by\" of the body")
		var ts struct{ Tickets []store.Ticket }
		require.Equal(t, http.StatusOK, f.Call(t, "GET", "/api/v1/tickets?limit=1000", nil, &ts))
		assert.Equal(t, got.Ticket.ID, ts.Tickets[0].ID, "newest first")
		assert.Equal(t, http.StatusNotFound, f.Call(t, "GET", "/api/v1/tickets/999999", nil, nil))
	})

	t.Run("retry", func(t *testing.T) {
		var out struct{ Requeued []int64 }
		require.Equal(t, http.StatusOK, f.Call(t, "POST", fmt.Sprintf("/api/v1/items/%d/retry", f.failed), nil, &out))
		assert.Equal(t, []int64{f.failed}, out.Requeued)
		var one apiItem
		require.Equal(t, http.StatusOK, f.Call(t, "GET", fmt.Sprintf("/api/v1/items/%d", f.failed), nil, &one))
		assert.Equal(t, store.StageReceived, one.Stage)
		assert.Nil(t, one.Outcome)
		// Nothing failed any more: retrying all requeues nothing.
		out.Requeued = nil
		require.Equal(t, http.StatusOK, f.Call(t, "POST", "/api/v1/items/retry-failed", nil, &out))
		assert.Empty(t, out.Requeued)
	})
}

func TestHTTPRules(t *testing.T) {
	f := newFixture(t, "")
	good := map[string]any{"files": map[string]string{"extra.yaml": "rules:\n  - name: vip\n    stage: route\n    when: subject contains \"VIP\"\n    then:\n      priority: high\n"}}
	var ok struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	status := f.Call(t, "POST", "/api/v1/rules/check", good, &ok)
	if status != http.StatusOK {
		t.Logf("a good set was refused: %s", ok.Error)
	}
	require.Equal(t, http.StatusOK, status)
	assert.True(t, ok.OK)

	bad := map[string]any{"files": map[string]string{"broken.yaml": "rules:\n  - name: typo\n    stage: route\n    when: subjet contains \"x\"\n    then:\n      priority: high\n"}}
	var res struct {
		OK       bool   `json:"ok"`
		Error    string `json:"error"`
		Problems []struct {
			File, Rule, Message string
			Line, Column        int
		}
	}
	require.Equal(t, http.StatusUnprocessableEntity, f.Call(t, "POST", "/api/v1/rules/check", bad, &res))
	assert.False(t, res.OK)
	for _, want := range []string{"broken.yaml", `"typo"`, "line 4", "col", "subjet"} {
		assert.Contains(t, res.Error, want)
	}
	require.Len(t, res.Problems, 1)
	p := res.Problems[0]
	assert.Equal(t, "broken.yaml", p.File)
	assert.Equal(t, "typo", p.Rule)
	assert.Equal(t, 4, p.Line)
	assert.Positive(t, p.Column)
	assert.Contains(t, p.Message, "subjet")
	require.Equal(t, http.StatusUnprocessableEntity, f.Call(t, "POST", "/api/v1/rules", bad, &res))
	assert.Contains(t, res.Error, "broken.yaml")

	// A category the reference data does not have compiles, but is refused
	// at its line and column: every ticket would get no category.
	typo := map[string]any{"files": map[string]string{"typo.yaml": "rules:\n  - name: alarms\n    stage: route\n    when: subject contains \"сигнализация\"\n    then:\n      category: securty\n"}}
	res.Problems = nil
	require.Equal(t, http.StatusUnprocessableEntity, f.Call(t, "POST", "/api/v1/rules/check", typo, &res))
	require.Len(t, res.Problems, 1)
	assert.Equal(t, "alarms", res.Problems[0].Rule)
	assert.Equal(t, 6, res.Problems[0].Line)
	assert.Equal(t, 17, res.Problems[0].Column)
	assert.Contains(t, res.Problems[0].Message, `unknown category "securty"`)
	require.Equal(t, http.StatusUnprocessableEntity, f.Call(t, "POST", "/api/v1/rules", typo, &res))

	var applied struct {
		OK      bool  `json:"ok"`
		Version int64 `json:"version"`
	}
	var raw []byte
	good["comment"] = "VIP в теме: высокий приоритет"
	require.Equal(t, http.StatusOK, f.Call(t, "POST", "/api/v1/rules", good, &raw), "%s", raw)
	require.NoError(t, json.Unmarshal(raw, &applied))
	assert.Positive(t, applied.Version)
	rs, err := f.st.LatestRuleSet(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "VIP в теме: высокий приоритет", rs.Comment, "the comment is stored with the version")
	assert.Equal(t, http.StatusBadRequest, f.Call(t, "POST", "/api/v1/rules/check", map[string]any{}, nil))
}

func TestUILoginAndCSRF(t *testing.T) {
	f := newFixture(t, testAPIToken)
	hash, err := auth.HashPassword("dispatcher secret 1")
	require.NoError(t, err)
	_, err = f.st.AddUser(context.Background(), "ivanova", string(auth.Dispatcher), hash, "test")
	require.NoError(t, err)
	c := webtest.Browser(t)

	resp, doc := webtest.GetPage(t, c, f.Srv.URL+"/ui/tickets")
	assert.Equal(t, "/ui/login", resp.Request.URL.Path, "sent to the login form")
	assert.Equal(t, 1, doc.Find(`input[name=password][type=password]`).Length())
	csrf := webtest.CSRF(t, doc)

	resp, err = c.PostForm(f.Srv.URL+"/ui/login", url.Values{"csrf": {csrf}, "user": {"ivanova"}, "password": {"wrong"}, "next": {"/ui/tickets"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, err = c.PostForm(f.Srv.URL+"/ui/login", url.Values{"user": {"ivanova"}, "password": {"dispatcher secret 1"}, "next": {"/ui/tickets"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")

	// Sign in; look at the cookie as it is sent.
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.PostForm(f.Srv.URL+"/ui/login", url.Values{"csrf": {csrf}, "user": {"ivanova"}, "password": {"dispatcher secret 1"}, "next": {"/ui/tickets"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/ui/tickets", resp.Header.Get("Location"))
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "intake_session" {
			session = ck
		}
	}
	require.NotNil(t, session)
	assert.True(t, session.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, session.SameSite)
	assert.NotContains(t, session.Value, "dispatcher", "the cookie holds a random session id")

	resp, doc = webtest.GetPage(t, c, f.Srv.URL+"/ui/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/ui/", resp.Request.URL.Path)
	assert.Contains(t, doc.Find("header").Text(), "ivanova")
	// Reading the API with the session works (links to raw messages and
	// acts); writing does not.
	id, _ := doc.Find(`section.card[id^=item-]`).First().Attr("id")
	require.NotEmpty(t, id)
	resp, err = c.Get(f.Srv.URL + "/api/v1/items/" + strings.TrimPrefix(id, "item-") + "/raw")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = c.Post(f.Srv.URL+"/api/v1/items/retry-failed", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// A form posted from another site is refused even with the cookies.
	csrf = webtest.CSRF(t, doc)
	req, _ := http.NewRequest("POST", f.Srv.URL+"/ui/items/retry-failed", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, err = c.PostForm(f.Srv.URL+"/ui/items/retry-failed", url.Values{"csrf": {"forged"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Failed items: retry from the page.
	_, doc = webtest.GetPage(t, c, f.Srv.URL+"/ui/failed")
	assert.Contains(t, doc.Find(fmt.Sprintf("#item-%d", f.failed)).Text(), "the database went away")
	resp, err = c.PostForm(f.Srv.URL+fmt.Sprintf("/ui/items/%d/retry", f.failed), url.Values{"csrf": {webtest.CSRF(t, doc)}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/ui/failed", resp.Request.URL.Path)
	_, doc = webtest.GetPage(t, c, f.Srv.URL+"/ui/failed?requeued=1")
	assert.Contains(t, doc.Find(".flash").Text(), "1")
	assert.Equal(t, 0, doc.Find(fmt.Sprintf("#item-%d", f.failed)).Length())

	// Signing out ends the session.
	resp, err = c.PostForm(f.Srv.URL+"/ui/logout", url.Values{"csrf": {webtest.CSRF(t, doc)}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/ui/login", resp.Request.URL.Path)
	resp, _ = webtest.GetPage(t, c, f.Srv.URL+"/ui/")
	assert.Equal(t, "/ui/login", resp.Request.URL.Path)
}

// chromium runs the headless browser with args and returns its stdout. The
// test fails when the browser is not installed.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			t.Fatalf("the UI tests need a headless Chromium at /usr/bin/chromium: apt-get install chromium (%v)", err)
		}
		bin = p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}

func dumpDOM(t *testing.T, u string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(chromium(t, "--dump-dom", u)))
	require.NoError(t, err)
	return doc
}

// screenshot saves what the page looks like, for a person to check, in
// $INTAKE_UI_SCREENSHOTS (a folder) when set.
func screenshot(t *testing.T, u, name string) {
	t.Helper()
	dir := os.Getenv("INTAKE_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	chromium(t, "--screenshot="+filepath.Join(dir, name), "--window-size=1280,900", "--hide-scrollbars", u)
}

func TestUIQueueResolveInChromium(t *testing.T) {
	f := newFixture(t, "")
	it := f.unmatchedWithCandidates(t)
	cand := it.Decision.Match.Candidates[0]

	// The queue as the browser renders it: the item, why, its candidates
	// each with a button, the manual form and the raw message.
	doc := dumpDOM(t, f.Srv.URL+"/ui/")
	card := doc.Find(fmt.Sprintf("#item-%d", it.ID))
	require.Equal(t, 1, card.Length(), "the queue shows item %d", it.ID)
	assert.Contains(t, card.Find(".reason").Text(), web.ReasonRU(it.Reason), "the reason, in Russian")
	forms := card.Find(fmt.Sprintf(`form[action="/ui/items/%d/resolve"]`, it.ID))
	assert.Equal(t, len(it.Decision.Match.Candidates)+1, forms.Length(), "one form per candidate and the manual one")
	first := forms.First()
	assert.Equal(t, "Создать заявку на этот магазин", strings.TrimSpace(first.Find("button").Text()))
	v, _ := first.Find(`input[name=object]`).Attr("value")
	assert.Equal(t, cand.Code, v)
	assert.Contains(t, card.Text(), cand.Address)
	assert.Equal(t, 1, card.Find(fmt.Sprintf(`a[href="/api/v1/items/%d/raw"]`, it.ID)).Length())
	assert.Equal(t, doc.Find(`section.card[id^=item-]`).Length(), countOutcome(t, f, store.OutcomeUnmatched))
	screenshot(t, f.Srv.URL+"/ui/", "queue.png")

	// Press the first candidate's button: the form as the browser would
	// post it, with the CSRF token of the page.
	c := webtest.Browser(t)
	_, page := webtest.GetPage(t, c, f.Srv.URL+"/ui/")
	resp, err := c.PostForm(f.Srv.URL+fmt.Sprintf("/ui/items/%d/resolve", it.ID),
		url.Values{"csrf": {webtest.CSRF(t, page)}, "client": {cand.Client}, "object": {cand.Code}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Request.URL.Path, "/ui/tickets/"), "redirected to the ticket, got %s", resp.Request.URL)
	ticketURL := resp.Request.URL.String()

	// The ticket page in the browser: the store, the resolved event.
	doc = dumpDOM(t, ticketURL)
	assert.Contains(t, doc.Find("h1").Text(), "Заявка INT-")
	assert.Contains(t, doc.Find(".sub").Text(), cand.Code)
	resolved := doc.Find("tr.event-resolved")
	require.Equal(t, 1, resolved.Length(), "the history shows the dispatcher's decision")
	assert.Contains(t, resolved.Text(), "магазин выбран диспетчером")
	assert.Equal(t, 1, doc.Find(`a[href$="/act"]`).Length())
	screenshot(t, ticketURL, "ticket.png")

	// The item left the queue; resolving it again is refused with a page.
	doc = dumpDOM(t, f.Srv.URL+"/ui/")
	assert.Equal(t, 0, doc.Find(fmt.Sprintf("#item-%d", it.ID)).Length())
	resp, err = c.PostForm(f.Srv.URL+fmt.Sprintf("/ui/items/%d/resolve", it.ID),
		url.Values{"csrf": {webtest.CSRF(t, page)}, "client": {cand.Client}, "object": {cand.Code}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

	// The other pages render.
	doc = dumpDOM(t, f.Srv.URL+"/ui/tickets?state=assigned")
	rows := doc.Find("table.list tbody tr")
	assert.Positive(t, rows.Length())
	rows.Each(func(_ int, s *goquery.Selection) { assert.Contains(t, s.Find(".badge").Text(), "назначена") })
	screenshot(t, f.Srv.URL+"/ui/tickets", "tickets.png")
	doc = dumpDOM(t, f.Srv.URL+fmt.Sprintf("/ui/items/%d", it.ID))
	assert.Positive(t, doc.Find("table.list tbody tr").Length(), "the rule trace")
	screenshot(t, f.Srv.URL+fmt.Sprintf("/ui/items/%d", it.ID), "item.png")
	dead := webtest.DeadEmail(t, f.st)
	doc = dumpDOM(t, f.Srv.URL+"/ui/failed")
	assert.Equal(t, 1, doc.Find(fmt.Sprintf("#item-%d", f.failed)).Length())
	assert.Equal(t, 1, doc.Find(`form[action="/ui/items/retry-failed"]`).Length())
	assert.Contains(t, doc.Find("h2#dead").Text(), "Недоставленные уведомления")
	row := doc.Find(fmt.Sprintf("#outbox-%d", dead))
	assert.Contains(t, row.Find(".error").Text(), `no sender for kind "email"`)
	assert.Equal(t, 1, row.Find(fmt.Sprintf(`form[action="/ui/outbox/%d/retry"]`, dead)).Length())
	screenshot(t, f.Srv.URL+"/ui/failed", "failed.png")
}

func countOutcome(t *testing.T, f *fixture, outcome string) int {
	t.Helper()
	var n int
	require.NoError(t, f.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM inbound_items WHERE outcome = $1`, outcome).Scan(&n))
	return n
}

// POST /api/v1/try runs uploaded mail through the stages as `intake try`
// does: it says what each would become, and writes nothing.
func TestHTTPTry(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	var before int
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items`).Scan(&before))

	mail := demo.Mail()[0].Data // a chain's new order, stored by the fixture already
	var out struct{ Results []replay.Result }
	form := webtest.NewMultipart(t, nil, map[string][]byte{"order.eml": mail})
	require.Equal(t, http.StatusOK, f.Call(t, "POST", "/api/v1/try", form, &out))
	require.Len(t, out.Results, 1)
	r := out.Results[0]
	require.NotNil(t, r.Stored, "the same message is stored already, and the result says so")
	assert.Positive(t, r.Stored.Item)

	form = webtest.NewMultipart(t, map[string]string{"dedup": "1"}, map[string][]byte{"order.eml": mail})
	require.Equal(t, http.StatusOK, f.Call(t, "POST", "/api/v1/try", form, &out))
	require.Len(t, out.Results, 1)
	assert.Equal(t, "duplicate", out.Results[0].Kind, "with dedup, the duplicate the pipeline would see")
	assert.Equal(t, "order.eml", r.File)
	assert.Contains(t, []string{"ticket", "follow_up"}, r.Kind)
	require.NotNil(t, r.Client)
	require.NotNil(t, r.Object)

	var after int
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items`).Scan(&after))
	assert.Equal(t, before, after, "a try writes nothing")

	assert.Equal(t, http.StatusBadRequest, f.Call(t, "POST", "/api/v1/try", webtest.NewMultipart(t, nil, nil), nil), "no file")
}
