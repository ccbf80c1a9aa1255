package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
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
	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// The HTTP side over a real server: the handler serve builds (API, pages,
// components' routes) on a fresh database holding the demo reference data
// and the demo mailbox run through the real stages.

const testLinkKey = "0123456789abcdef0123456789abcdef-web-test"

const ambiguousMail = "From: =?utf-8?b?0KHQtdGA0LPQtdC5INCf0LXRgtGA0L7Qsg==?= <s.petrov@mail.example.org>\r\n" +
	"To: zayavki@tehservis.example\r\n" +
	"Subject: =?utf-8?b?0J3QtSDRgNCw0LHQvtGC0LDQtdGCINCy0LjRgtGA0LjQvdCw?=\r\n" +
	"Date: Mon, 02 Nov 2026 09:15:00 +0300\r\n" +
	"Message-ID: <ui-test-1@mail.example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n\r\n" +
	"Добрый день!\r\n\r\nНе работает холодильная витрина в магазине на Ленина 12, температура +12.\r\n" +
	"Такая же проблема была на Свердлова 22 и Луговая 7, проверьте заодно.\r\n\r\n--\r\nСергей Петров\r\n"

type webFixture struct {
	srv    *httptest.Server
	eng    *engine
	st     *store.Store
	token  string // API token; "" when the API is open
	signer *lifecycle.Signer
	failed int64 // an item that failed
}

func newWebFixture(t *testing.T, apiToken string) *webFixture {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	t.Setenv("INTAKE_LINK_KEY", testLinkKey)
	cfg, err := loadConfig("", func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	})
	require.NoError(t, err)
	if apiToken != "" {
		cfg.HTTP.APITokens = []string{apiToken}
	}
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	for _, f := range demo.Reference() {
		_, err := st.Import(ctx, strings.TrimSuffix(f.Name, ".csv"), f.Name, bytes.NewReader(f.Data), nil)
		require.NoError(t, err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := newEngine(ctx, cfg, st, log)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	mux, _, err := setupComponents(ctx, eng, log, reg)
	require.NoError(t, err)

	// The demo mailbox, each message through the stages inline (the
	// components' hooks run: the lifecycle makes engineer tasks).
	in := ingest.NewInbox(st, nil)
	for _, m := range demo.Mail() {
		key, mid := ingest.MailKeys(m.Data)
		res, err := in.Put(ctx, []ingest.Item{{Source: ingest.SourceMail, SourceRef: "demo/" + m.Name, DedupKey: key, MessageID: mid, Raw: m.Data}}, nil)
		require.NoError(t, err)
		require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error { return eng.proc.RunInline(ctx, tx, res[0].ID) }))
	}
	// A regional manager's letter naming streets and houses only: no store
	// is certain, three are candidates.
	res, err := in.Put(ctx, []ingest.Item{{Source: ingest.SourceMail, SourceRef: "demo/ambiguous.eml", DedupKey: "ambiguous", MessageID: "<ui-test-1@mail.example.org>", Raw: []byte(ambiguousMail)}}, nil)
	require.NoError(t, err)
	require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error { return eng.proc.RunInline(ctx, tx, res[0].ID) }))
	// And one that failed.
	res, err = in.Put(ctx, []ingest.Item{{Source: ingest.SourceMail, SourceRef: "demo/broken.eml", DedupKey: "broken", Raw: []byte("not a message")}}, nil)
	require.NoError(t, err)
	require.NoError(t, st.FailItem(ctx, res[0].ID, "parse: the database went away"))

	srv := httptest.NewServer(newWebServer(eng, &sourceSet{}, mux, log, reg).Handler())
	t.Cleanup(srv.Close)
	signer, err := lifecycle.NewSigner([]byte(testLinkKey))
	require.NoError(t, err)
	return &webFixture{srv: srv, eng: eng, st: st, token: apiToken, signer: signer, failed: res[0].ID}
}

// call makes an API request with the API token and decodes a JSON answer
// into out (when not nil); it returns the status.
func (f *webFixture) call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	return f.callAs(t, "Bearer "+f.token, method, path, body, out)
}

func (f *webFixture) callAs(t *testing.T, auth, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		rd, ctype = &b.buf, b.ctype
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" && auth != "Bearer " {
		req.Header.Set("Authorization", auth)
	}
	resp, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		if p, ok := out.(*[]byte); ok {
			*p = data
		} else if len(data) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			require.NoError(t, json.Unmarshal(data, out), "%s %s: %s", method, path, data)
		}
	}
	return resp.StatusCode
}

type multipartBody struct {
	buf   bytes.Buffer
	ctype string
}

func newMultipart(t *testing.T, fields map[string]string, files map[string][]byte) *multipartBody {
	t.Helper()
	m := &multipartBody{}
	w := multipart.NewWriter(&m.buf)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	for name, data := range files {
		fw, err := w.CreateFormFile("file", name)
		require.NoError(t, err)
		fw.Write(data) //nolint:errcheck
	}
	require.NoError(t, w.Close())
	m.ctype = w.FormDataContentType()
	return m
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
func (f *webFixture) unmatchedWithCandidates(t *testing.T) apiItem {
	t.Helper()
	var out struct{ Items []apiItem }
	require.Equal(t, http.StatusOK, f.call(t, "GET", "/api/v1/unmatched", nil, &out))
	for _, it := range out.Items {
		if it.Decision.Match != nil && len(it.Decision.Match.Candidates) > 0 {
			return it
		}
	}
	t.Fatal("the demo corpus has no unmatched item with candidates")
	return apiItem{}
}

func TestHTTPItemsAndQueues(t *testing.T) {
	f := newWebFixture(t, testAPIToken)

	var list struct{ Items []apiItem }
	require.Equal(t, http.StatusOK, f.call(t, "GET", "/api/v1/items?limit=500", nil, &list))
	assert.Equal(t, len(demo.Mail())+2, len(list.Items), "the demo mail, the ambiguous letter and the failed item")

	var stats struct{ Outcomes map[string]int }
	require.Equal(t, http.StatusOK, f.call(t, "GET", "/api/v1/stats", nil, &stats))
	assert.Equal(t, 1, stats.Outcomes[store.OutcomeFailed])
	assert.Positive(t, stats.Outcomes[store.OutcomeUnmatched])

	it := f.unmatchedWithCandidates(t)
	var one apiItem
	require.Equal(t, http.StatusOK, f.call(t, "GET", fmt.Sprintf("/api/v1/items/%d", it.ID), nil, &one))
	assert.Equal(t, store.OutcomeUnmatched, *one.Outcome)
	assert.NotEmpty(t, one.Reason)
	var raw []byte
	require.Equal(t, http.StatusOK, f.call(t, "GET", fmt.Sprintf("/api/v1/items/%d/raw", it.ID), nil, &raw))
	assert.Contains(t, string(raw), "Message-ID")

	assert.Equal(t, http.StatusNotFound, f.call(t, "GET", "/api/v1/items/999999", nil, nil))
	assert.Equal(t, http.StatusBadRequest, f.call(t, "GET", "/api/v1/items/x", nil, nil))

	t.Run("resolve", func(t *testing.T) {
		c := it.Decision.Match.Candidates[0]
		assert.Equal(t, http.StatusNotFound, f.call(t, "POST", fmt.Sprintf("/api/v1/items/%d/resolve", it.ID),
			map[string]string{"client": c.Client, "object": "no-such-store", "by": "ivanova"}, nil))
		assert.Equal(t, http.StatusBadRequest, f.call(t, "POST", fmt.Sprintf("/api/v1/items/%d/resolve", it.ID), map[string]string{"by": "ivanova"}, nil))
		var got struct{ Ticket store.Ticket }
		require.Equal(t, http.StatusOK, f.call(t, "POST", fmt.Sprintf("/api/v1/items/%d/resolve", it.ID),
			map[string]string{"client": c.Client, "object": c.Code, "by": "ivanova"}, &got))
		assert.Equal(t, c.Code, got.Ticket.Object)
		assert.Equal(t, it.ID, got.Ticket.SourceItem)
		// Once a ticket, it is not unmatched any more.
		assert.Equal(t, http.StatusUnprocessableEntity, f.call(t, "POST", fmt.Sprintf("/api/v1/items/%d/resolve", it.ID),
			map[string]string{"client": c.Client, "object": c.Code, "by": "ivanova"}, nil))

		var tk struct {
			Ticket store.Ticket
			Events []store.Event
		}
		require.Equal(t, http.StatusOK, f.call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", got.Ticket.ID), nil, &tk))
		var kinds []string
		for _, e := range tk.Events {
			kinds = append(kinds, e.Kind+"/"+e.Actor)
		}
		assert.Contains(t, kinds, "resolved/config-token-1", `the token that asked, not the body's "by"`)
		var ts struct{ Tickets []store.Ticket }
		require.Equal(t, http.StatusOK, f.call(t, "GET", "/api/v1/tickets?limit=1000", nil, &ts))
		assert.Equal(t, got.Ticket.ID, ts.Tickets[0].ID, "newest first")
		assert.Equal(t, http.StatusNotFound, f.call(t, "GET", "/api/v1/tickets/999999", nil, nil))
	})

	t.Run("retry", func(t *testing.T) {
		var out struct{ Requeued []int64 }
		require.Equal(t, http.StatusOK, f.call(t, "POST", fmt.Sprintf("/api/v1/items/%d/retry", f.failed), nil, &out))
		assert.Equal(t, []int64{f.failed}, out.Requeued)
		var one apiItem
		require.Equal(t, http.StatusOK, f.call(t, "GET", fmt.Sprintf("/api/v1/items/%d", f.failed), nil, &one))
		assert.Equal(t, store.StageReceived, one.Stage)
		assert.Nil(t, one.Outcome)
		// Nothing failed any more: retrying all requeues nothing.
		out.Requeued = nil
		require.Equal(t, http.StatusOK, f.call(t, "POST", "/api/v1/items/retry-failed", nil, &out))
		assert.Empty(t, out.Requeued)
	})
}

func TestHTTPRules(t *testing.T) {
	f := newWebFixture(t, "")
	good := map[string]any{"files": map[string]string{"extra.yaml": "rules:\n  - name: vip\n    stage: route\n    when: subject contains \"VIP\"\n    then:\n      priority: high\n"}}
	var ok struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	status := f.call(t, "POST", "/api/v1/rules/check", good, &ok)
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
	require.Equal(t, http.StatusUnprocessableEntity, f.call(t, "POST", "/api/v1/rules/check", bad, &res))
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
	require.Equal(t, http.StatusUnprocessableEntity, f.call(t, "POST", "/api/v1/rules", bad, &res))
	assert.Contains(t, res.Error, "broken.yaml")

	var applied struct {
		OK      bool  `json:"ok"`
		Version int64 `json:"version"`
	}
	var raw []byte
	require.Equal(t, http.StatusOK, f.call(t, "POST", "/api/v1/rules", good, &raw), "%s", raw)
	require.NoError(t, json.Unmarshal(raw, &applied))
	assert.Positive(t, applied.Version)
	assert.Equal(t, http.StatusBadRequest, f.call(t, "POST", "/api/v1/rules/check", map[string]any{}, nil))
}

func TestHTTPAPITokenEnforced(t *testing.T) {
	f := newWebFixture(t, testAPIToken)
	cases := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"health is open", "GET", "/healthz", "", http.StatusOK},
		{"readiness is open", "GET", "/readyz", "", http.StatusOK},
		{"no token", "GET", "/api/v1/items", "", http.StatusUnauthorized},
		{"wrong token", "GET", "/api/v1/unmatched", "Bearer nope", http.StatusUnauthorized},
		{"right token", "GET", "/api/v1/unmatched", "Bearer " + testAPIToken, http.StatusOK},
		{"writes too", "POST", "/api/v1/items/retry-failed", "", http.StatusUnauthorized},
		{"lifecycle's dispatcher endpoints too", "POST", "/api/v1/engineers/ENG-0001/tokens", "", http.StatusUnauthorized},
		{"engineer endpoints use engineer tokens", "GET", "/api/v1/engineer/tasks", "Bearer " + testAPIToken, http.StatusUnauthorized},
		{"pages want a sign-in", "GET", "/ui/", "", http.StatusOK}, // after the redirect to the login form
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, f.callAs(t, tc.auth, tc.method, tc.path, nil, nil))
		})
	}
}

// TestHTTPEngineerFlow walks docs/lifecycle.md's engineer API.
func TestHTTPEngineerFlow(t *testing.T) {
	ctx := context.Background()
	f := newWebFixture(t, testAPIToken)
	// Engineers' tasks from the demo mail: three open ones, the first two
	// of different engineers.
	type openTask struct {
		ID, Ticket int64
		Engineer   string
	}
	rows, err := f.st.Pool.Query(ctx, `SELECT id, ticket_id AS ticket, engineer FROM engineer_tasks
		WHERE state = 'assigned' AND engineer IS NOT NULL ORDER BY id`)
	require.NoError(t, err)
	open, err := pgx.CollectRows(rows, pgx.RowToStructByName[openTask])
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(open), 3, "the demo corpus should give three open tasks")
	a := open[0]
	var b, c openTask
	for _, k := range open[1:] {
		if b.ID == 0 && k.Engineer != a.Engineer {
			b = k
		} else if c.ID == 0 {
			c = k
		}
	}
	require.NotZero(t, b.ID, "two engineers")
	require.NotZero(t, c.ID)

	tokens := map[string]string{}
	for _, k := range []openTask{a, b, c} {
		if tokens[k.Engineer] != "" {
			continue
		}
		var out struct{ Engineer, Token string }
		require.Equal(t, http.StatusCreated, f.call(t, "POST", "/api/v1/engineers/"+k.Engineer+"/tokens", map[string]string{"label": "test phone"}, &out))
		assert.Equal(t, k.Engineer, out.Engineer)
		require.NotEmpty(t, out.Token)
		tokens[k.Engineer] = "Bearer " + out.Token
	}
	me, other := a.Engineer, b.Engineer

	var mine struct {
		Engineer string
		Tasks    []store.TaskView
	}
	require.Equal(t, http.StatusOK, f.callAs(t, tokens[me], "GET", "/api/v1/engineer/tasks", nil, &mine))
	assert.Equal(t, me, mine.Engineer)
	var listed *store.TaskView
	for i := range mine.Tasks {
		if mine.Tasks[i].ID == a.ID {
			listed = &mine.Tasks[i]
		}
	}
	require.NotNil(t, listed, "task %d is listed for %s", a.ID, me)
	assert.Contains(t, listed.Actions, "accept")
	assert.NotEmpty(t, listed.Address)
	task := func(id int64, action string) string { return fmt.Sprintf("/api/v1/engineer/tasks/%d/%s", id, action) }

	t.Run("who may", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, f.callAs(t, "", "GET", "/api/v1/engineer/tasks", nil, nil))
		assert.Equal(t, http.StatusUnauthorized, f.callAs(t, "Bearer eng_forged", "GET", "/api/v1/engineer/tasks", nil, nil))
		assert.Equal(t, http.StatusForbidden, f.callAs(t, tokens[other], "POST", task(a.ID, "accept"), nil, nil))
		assert.Equal(t, http.StatusNotFound, f.callAs(t, tokens[me], "POST", task(99999999, "accept"), nil, nil))
	})

	t.Run("accept, start, complete with a photo", func(t *testing.T) {
		var tv store.TaskView
		require.Equal(t, http.StatusOK, f.callAs(t, tokens[me], "POST", task(a.ID, "accept"), nil, &tv))
		assert.Equal(t, "accepted", tv.State)
		assert.Equal(t, http.StatusConflict, f.callAs(t, tokens[me], "POST", task(a.ID, "accept"), nil, nil), "accepted twice")
		require.Equal(t, http.StatusOK, f.callAs(t, tokens[me], "POST", task(a.ID, "start"), nil, &tv))
		assert.Equal(t, "in_progress", tv.State)
		assert.Equal(t, http.StatusUnprocessableEntity, f.callAs(t, tokens[me], "POST", task(a.ID, "complete"), map[string]string{}, nil), "work done is required")
		photo := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
		body := newMultipart(t, map[string]string{"problem_found": "Вентилятор конденсатора", "work_done": "Заменён вентилятор"}, map[string][]byte{"after.png": photo})
		require.Equal(t, http.StatusOK, f.callAs(t, tokens[me], "POST", task(a.ID, "complete"), body, &tv))
		assert.Equal(t, "done", tv.State)
		assert.Equal(t, 1, tv.Attachments)
		assert.Equal(t, http.StatusConflict, f.callAs(t, tokens[me], "POST", task(a.ID, "start"), nil, nil), "done is done")

		var got struct {
			Attachments []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			}
		}
		require.Equal(t, http.StatusOK, f.callAs(t, tokens[me], "GET", fmt.Sprintf("/api/v1/engineer/tasks/%d", a.ID), nil, &got))
		require.Len(t, got.Attachments, 1)
		var data []byte
		require.Equal(t, http.StatusOK, f.callAs(t, tokens[me], "GET", fmt.Sprintf("/api/v1/engineer/tasks/%d/attachments/%d", a.ID, got.Attachments[0].ID), nil, &data))
		assert.Equal(t, photo, data)

		// The act of the done ticket (one task per demo ticket).
		var act []byte
		require.Equal(t, http.StatusOK, f.call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d/act", a.Ticket), nil, &act))
		assert.Contains(t, string(act), "Заменён вентилятор")
	})

	t.Run("postpone", func(t *testing.T) {
		assert.Equal(t, http.StatusUnprocessableEntity, f.callAs(t, tokens[other], "POST", task(b.ID, "postpone"),
			map[string]any{"until": time.Now().Add(24 * time.Hour)}, nil), "a reason is required")
		var tv store.TaskView
		require.Equal(t, http.StatusOK, f.callAs(t, tokens[other], "POST", task(b.ID, "postpone"),
			map[string]any{"reason": "магазин закрыт", "until": time.Now().Add(24 * time.Hour)}, &tv))
		assert.Equal(t, "postponed", tv.State)
		assert.Equal(t, http.StatusConflict, f.callAs(t, tokens[other], "POST", task(b.ID, "start"), nil, nil), "postponed work is not started")
	})

	t.Run("signed link", func(t *testing.T) {
		// Task c, by the link in its engineer's email.
		id, who := c.ID, c.Engineer
		link := func(exp time.Time) string {
			return "/l/" + f.signer.Sign(lifecycle.Link{Action: lifecycle.ActAccept, Kind: "task", Subject: id, Who: who, Expires: exp})
		}
		state := func() string {
			var tv struct{ Task store.TaskView }
			require.Equal(t, http.StatusOK, f.callAs(t, tokens[who], "GET", fmt.Sprintf("/api/v1/engineer/tasks/%d", id), nil, &tv))
			return tv.Task.State
		}
		good := link(time.Now().Add(time.Hour))
		var page []byte
		require.Equal(t, http.StatusOK, f.callAs(t, "", "GET", good, nil, &page))
		assert.Contains(t, string(page), `<form method="post">`)
		assert.Equal(t, "assigned", state(), "opening the link changes nothing")

		require.Equal(t, http.StatusOK, f.callAs(t, "", "POST", good, nil, &page))
		assert.Contains(t, string(page), "Готово")
		assert.Equal(t, "accepted", state())
		assert.Equal(t, http.StatusConflict, f.callAs(t, "", "POST", good, nil, nil), "a decision taken")

		tampered := []byte(good)
		i := len(tampered) - 3
		if tampered[i] == 'A' {
			tampered[i] = 'B'
		} else {
			tampered[i] = 'A'
		}
		assert.Equal(t, http.StatusForbidden, f.callAs(t, "", "GET", string(tampered), nil, nil))
		assert.Equal(t, http.StatusForbidden, f.callAs(t, "", "POST", string(tampered), nil, nil))
		expired := link(time.Now().Add(-time.Minute))
		assert.Equal(t, http.StatusGone, f.callAs(t, "", "GET", expired, nil, nil))
		assert.Equal(t, http.StatusGone, f.callAs(t, "", "POST", expired, nil, nil))
	})
}

// browser is a client with cookies, as a dispatcher's browser.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar}
}

// getPage GETs a page and parses it.
func getPage(t *testing.T, c *http.Client, u string) (*http.Response, *goquery.Document) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	require.NoError(t, err)
	return resp, doc
}

func csrfOf(t *testing.T, doc *goquery.Document) string {
	t.Helper()
	v, ok := doc.Find(`input[name=csrf]`).First().Attr("value")
	require.True(t, ok, "the page has no CSRF token")
	return v
}

func TestUILoginAndCSRF(t *testing.T) {
	f := newWebFixture(t, testAPIToken)
	hash, err := auth.HashPassword("dispatcher secret 1")
	require.NoError(t, err)
	_, err = f.st.AddUser(context.Background(), "ivanova", string(auth.Dispatcher), hash, "test")
	require.NoError(t, err)
	c := browser(t)

	resp, doc := getPage(t, c, f.srv.URL+"/ui/tickets")
	assert.Equal(t, "/ui/login", resp.Request.URL.Path, "sent to the login form")
	assert.Equal(t, 1, doc.Find(`input[name=password][type=password]`).Length())
	csrf := csrfOf(t, doc)

	resp, err = c.PostForm(f.srv.URL+"/ui/login", url.Values{"csrf": {csrf}, "user": {"ivanova"}, "password": {"wrong"}, "next": {"/ui/tickets"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, err = c.PostForm(f.srv.URL+"/ui/login", url.Values{"user": {"ivanova"}, "password": {"dispatcher secret 1"}, "next": {"/ui/tickets"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")

	// Sign in; look at the cookie as it is sent.
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.PostForm(f.srv.URL+"/ui/login", url.Values{"csrf": {csrf}, "user": {"ivanova"}, "password": {"dispatcher secret 1"}, "next": {"/ui/tickets"}})
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

	resp, doc = getPage(t, c, f.srv.URL+"/ui/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/ui/", resp.Request.URL.Path)
	assert.Contains(t, doc.Find("header").Text(), "ivanova")
	// Reading the API with the session works (links to raw messages and
	// acts); writing does not.
	id, _ := doc.Find(`section.card[id^=item-]`).First().Attr("id")
	require.NotEmpty(t, id)
	resp, err = c.Get(f.srv.URL + "/api/v1/items/" + strings.TrimPrefix(id, "item-") + "/raw")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = c.Post(f.srv.URL+"/api/v1/items/retry-failed", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// A form posted from another site is refused even with the cookies.
	csrf = csrfOf(t, doc)
	req, _ := http.NewRequest("POST", f.srv.URL+"/ui/items/retry-failed", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, err = c.PostForm(f.srv.URL+"/ui/items/retry-failed", url.Values{"csrf": {"forged"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	// Failed items: retry from the page.
	_, doc = getPage(t, c, f.srv.URL+"/ui/failed")
	assert.Contains(t, doc.Find(fmt.Sprintf("#item-%d", f.failed)).Text(), "the database went away")
	resp, err = c.PostForm(f.srv.URL+fmt.Sprintf("/ui/items/%d/retry", f.failed), url.Values{"csrf": {csrfOf(t, doc)}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/ui/failed", resp.Request.URL.Path)
	_, doc = getPage(t, c, f.srv.URL+"/ui/failed?requeued=1")
	assert.Contains(t, doc.Find(".flash").Text(), "1")
	assert.Equal(t, 0, doc.Find(fmt.Sprintf("#item-%d", f.failed)).Length())

	// Signing out ends the session.
	resp, err = c.PostForm(f.srv.URL+"/ui/logout", url.Values{"csrf": {csrfOf(t, doc)}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/ui/login", resp.Request.URL.Path)
	resp, _ = getPage(t, c, f.srv.URL+"/ui/")
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
	f := newWebFixture(t, "")
	it := f.unmatchedWithCandidates(t)
	cand := it.Decision.Match.Candidates[0]

	// The queue as the browser renders it: the item, why, its candidates
	// each with a button, the manual form and the raw message.
	doc := dumpDOM(t, f.srv.URL+"/ui/")
	card := doc.Find(fmt.Sprintf("#item-%d", it.ID))
	require.Equal(t, 1, card.Length(), "the queue shows item %d", it.ID)
	assert.Contains(t, card.Find(".reason").Text(), it.Reason)
	forms := card.Find(fmt.Sprintf(`form[action="/ui/items/%d/resolve"]`, it.ID))
	assert.Equal(t, len(it.Decision.Match.Candidates)+1, forms.Length(), "one form per candidate and the manual one")
	first := forms.First()
	assert.Equal(t, "Создать заявку на этот магазин", strings.TrimSpace(first.Find("button").Text()))
	v, _ := first.Find(`input[name=object]`).Attr("value")
	assert.Equal(t, cand.Code, v)
	assert.Contains(t, card.Text(), cand.Address)
	assert.Equal(t, 1, card.Find(fmt.Sprintf(`a[href="/api/v1/items/%d/raw"]`, it.ID)).Length())
	assert.Equal(t, doc.Find(`section.card[id^=item-]`).Length(), countOutcome(t, f, store.OutcomeUnmatched))
	screenshot(t, f.srv.URL+"/ui/", "queue.png")

	// Press the first candidate's button: the form as the browser would
	// post it, with the CSRF token of the page.
	c := browser(t)
	_, page := getPage(t, c, f.srv.URL+"/ui/")
	resp, err := c.PostForm(f.srv.URL+fmt.Sprintf("/ui/items/%d/resolve", it.ID),
		url.Values{"csrf": {csrfOf(t, page)}, "client": {cand.Client}, "object": {cand.Code}})
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
	assert.Contains(t, resolved.Text(), "dispatcher")
	assert.Equal(t, 1, doc.Find(`a[href$="/act"]`).Length())
	screenshot(t, ticketURL, "ticket.png")

	// The item left the queue; resolving it again is refused with a page.
	doc = dumpDOM(t, f.srv.URL+"/ui/")
	assert.Equal(t, 0, doc.Find(fmt.Sprintf("#item-%d", it.ID)).Length())
	resp, err = c.PostForm(f.srv.URL+fmt.Sprintf("/ui/items/%d/resolve", it.ID),
		url.Values{"csrf": {csrfOf(t, page)}, "client": {cand.Client}, "object": {cand.Code}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

	// The other pages render.
	doc = dumpDOM(t, f.srv.URL+"/ui/tickets?state=assigned")
	rows := doc.Find("table.list tbody tr")
	assert.Positive(t, rows.Length())
	rows.Each(func(_ int, s *goquery.Selection) { assert.Contains(t, s.Find(".badge").Text(), "назначена") })
	screenshot(t, f.srv.URL+"/ui/tickets", "tickets.png")
	doc = dumpDOM(t, f.srv.URL+fmt.Sprintf("/ui/items/%d", it.ID))
	assert.Positive(t, doc.Find("table.list tbody tr").Length(), "the rule trace")
	screenshot(t, f.srv.URL+fmt.Sprintf("/ui/items/%d", it.ID), "item.png")
	dead := deadEmail(t, f)
	doc = dumpDOM(t, f.srv.URL+"/ui/failed")
	assert.Equal(t, 1, doc.Find(fmt.Sprintf("#item-%d", f.failed)).Length())
	assert.Equal(t, 1, doc.Find(`form[action="/ui/items/retry-failed"]`).Length())
	assert.Contains(t, doc.Find("h2#dead").Text(), "Недоставленные уведомления")
	row := doc.Find(fmt.Sprintf("#outbox-%d", dead))
	assert.Contains(t, row.Find(".error").Text(), `no sender for kind "email"`)
	assert.Equal(t, 1, row.Find(fmt.Sprintf(`form[action="/ui/outbox/%d/retry"]`, dead)).Length())
	screenshot(t, f.srv.URL+"/ui/failed", "failed.png")
}

// deadEmail makes an outbox message die the way one did before channels
// without a sender were skipped: an email queued, no email sender. It
// returns the message's id.
func deadEmail(t *testing.T, f *webFixture) int64 {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, f.st.InTx(ctx, func(tx pgx.Tx) error {
		return store.EnqueueOutbox(ctx, tx, store.OutboxMessage{Kind: store.OutboxEmail, Target: "eng0006@contractors.example",
			Payload: store.EmailPayload{Subject: "Вам назначена заявка INT-1", Text: "…"}, DedupKey: "test:dead"})
	}))
	n, err := outbox.New(f.st, outbox.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil))).RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rows, err := f.st.ListOutbox(ctx, store.OutboxFilter{State: store.OutboxDead})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	return rows[0].ID
}

func countOutcome(t *testing.T, f *webFixture, outcome string) int {
	t.Helper()
	var n int
	require.NoError(t, f.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM inbound_items WHERE outcome = $1`, outcome).Scan(&n))
	return n
}

// TestDeadOutboxShown: the configuration has no SMTP relay, so the demo
// mail's lifecycle queued no email. A message that nonetheless died (an
// email queued before, with no sender) is listed with its error by
// /api/v1/outbox?state=dead and on the failed page, which then does not say
// there are no errors; the page puts it back in the queue.
func TestDeadOutboxShown(t *testing.T) {
	f := newWebFixture(t, "")
	ctx := context.Background()
	var emails, assigned int
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE kind = 'email'`).Scan(&emails))
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM engineer_tasks WHERE engineer IS NOT NULL`).Scan(&assigned))
	require.Positive(t, assigned, "engineers were given tasks")
	assert.Zero(t, emails, "no email is queued without an email sender")

	c := browser(t)
	// Nothing failed yet: the page says so.
	require.Equal(t, http.StatusOK, f.call(t, "POST", fmt.Sprintf("/api/v1/items/%d/retry", f.failed), nil, nil))
	_, doc := getPage(t, c, f.srv.URL+"/ui/failed")
	assert.Contains(t, doc.Find(".empty").Text(), "Ошибок нет")

	deadEmail(t, f)

	var list struct {
		Messages []store.OutboxRow
		Counts   map[string]int
	}
	require.Equal(t, http.StatusOK, f.call(t, "GET", "/api/v1/outbox?state=dead", nil, &list))
	require.Len(t, list.Messages, 1)
	dead := list.Messages[0]
	assert.Equal(t, store.OutboxDead, dead.State)
	assert.Contains(t, dead.LastError, `no sender for kind "email"`)
	assert.Equal(t, 1, list.Counts[store.OutboxDead])

	_, doc = getPage(t, c, f.srv.URL+"/ui/failed")
	assert.Zero(t, doc.Find(".empty").Length(), "no \"Ошибок нет\" while a message is dead")
	assert.Contains(t, doc.Find("h2#dead").Text(), "Недоставленные уведомления: 1")
	row := doc.Find(fmt.Sprintf("#outbox-%d", dead.ID))
	require.Equal(t, 1, row.Length())
	assert.Contains(t, row.Text(), "eng0006@contractors.example")
	assert.Contains(t, row.Text(), "Вам назначена заявка INT-1")
	assert.Contains(t, row.Find(".error").Text(), `no sender for kind "email"`)

	resp, err := c.PostForm(f.srv.URL+fmt.Sprintf("/ui/outbox/%d/retry", dead.ID), url.Values{"csrf": {csrfOf(t, doc)}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/ui/failed", resp.Request.URL.Path)
	row2, err := f.st.GetOutbox(ctx, dead.ID)
	require.NoError(t, err)
	assert.Equal(t, store.OutboxPending, row2.State)
	_, doc = getPage(t, c, f.srv.URL+"/ui/failed")
	assert.Contains(t, doc.Find(".empty").Text(), "Ошибок нет")
}

// testAPIToken is a configured admin token, as long as a real one must be.
const testAPIToken = "api-secret-0123456789-abcdefghijklmnop"
