package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/ingest/webhook"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web"
	"github.com/intakehq/intake/web/webtest"
)

// The dispatcher's pages in a real Chromium, signed in as a dispatcher,
// over the sample mailbox run through the real stages, a call from an
// unknown number taken by the real telephony webhook, a failed item and a
// dead notification.

const (
	dispatcher     = "anna"
	dispatcherPass = "correct horse battery"
	zadarmaSecret  = "zadarma-test-secret"
	unknownCaller  = "79991234567"
)

type dispatchFixture struct {
	st     *store.Store
	srv    *httptest.Server
	proc   *pipeline.Processor
	now    time.Time // the pages' clock
	failed int64
	dead   int64
}

// newDispatchFixture serves the pages with the pages' clock at pagesAfter
// past the instant the stages ran at.
func newDispatchFixture(t *testing.T, pagesAfter time.Duration) *dispatchFixture {
	t.Helper()
	ctx := context.Background()
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	clk := clocktest.Clock(t)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clk)
	msk, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	rc := webhook.New(webhook.Config{ZadarmaSecret: zadarmaSecret, ZadarmaLocation: msk, Location: msk, Now: clk,
		CallbackCategory: "refrigeration", CallbackPriority: "high"}, ingest.NewInbox(st, nil, clk), discard())
	proc.HandleSource(flow.SourceCall, rc.Parse)
	proc.OnTicket(rc.TicketHook)
	f := &dispatchFixture{st: st, proc: proc, now: clocktest.Now(t).Add(pagesAfter)}
	f.failed = webtest.Seed(t, st, proc.RunInline)
	f.dead = webtest.DeadEmail(t, st)

	hash, err := auth.HashPassword(dispatcherPass)
	require.NoError(t, err)
	_, err = st.AddUser(ctx, dispatcher, string(auth.Dispatcher), hash, "test")
	require.NoError(t, err)

	extra := http.NewServeMux()
	rc.Routes(extra, "/telephony")
	s := &web.Server{Store: st, Log: discard(), Location: time.UTC, Extra: extra, Now: func() time.Time { return f.now },
		Directory: func() *routing.Directory { return proc.Runtime().Directory },
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
	f.srv = httptest.NewServer(s.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// call sends a missed call from phone, begun ago and ringing for rang,
// through the Zadarma webhook as the PBX does, and runs the stages on what
// it stored.
func (f *dispatchFixture) call(t *testing.T, id, phone string, ago, rang time.Duration) {
	t.Helper()
	msk, _ := time.LoadLocation("Europe/Moscow")
	start := clocktest.Now(t).Add(-ago).In(msk).Format("2006-01-02 15:04:05")
	for _, form := range []url.Values{
		{"event": {"NOTIFY_START"}, "call_start": {start}, "pbx_call_id": {id}, "caller_id": {phone}, "called_did": {"78122294881"}},
		{"event": {"NOTIFY_END"}, "call_start": {start}, "pbx_call_id": {id}, "caller_id": {phone}, "called_did": {"78122294881"},
			"duration": {strconv.Itoa(int(rang.Seconds()))}, "disposition": {"no answer"}},
	} {
		req, err := http.NewRequest("POST", f.srv.URL+"/telephony/zadarma/events", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Signature", webhook.ZadarmaSignature(zadarmaSecret, form))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	f.runPending(t)
}

func (f *dispatchFixture) runPending(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	ids, err := f.st.PendingItems(ctx, 0, 100)
	require.NoError(t, err)
	for _, id := range ids {
		require.NoError(t, f.st.InTx(ctx, func(tx pgx.Tx) error { return f.proc.RunInline(ctx, tx, id) }))
	}
}

func (f *dispatchFixture) chrome(t *testing.T) *webtest.Chrome {
	t.Helper()
	c := webtest.NewChrome(t, 1280, 900)
	c.SignIn(f.srv.URL, dispatcher, dispatcherPass)
	return c
}

// item reads an item as it is now.
func (f *dispatchFixture) item(t *testing.T, id int64) *store.Item {
	t.Helper()
	it, err := f.st.GetItem(context.Background(), id)
	require.NoError(t, err)
	return it
}

// unmatched lists the unmatched items, newest first.
func (f *dispatchFixture) unmatched(t *testing.T) []store.Item {
	t.Helper()
	items, err := f.st.ListItems(context.Background(), store.ItemFilter{Outcome: store.OutcomeUnmatched})
	require.NoError(t, err)
	return items
}

// submit clicks a submit button and waits for the page it leads to.
func submit(t *testing.T, c *webtest.Chrome, sel string) {
	t.Helper()
	c.Eval(`document.body.setAttribute("data-old", "1"), true`)
	c.Click(sel)
	c.Do(chromedp.WaitReady(chromedp.CSS("body:not([data-old])")))
	for range 100 {
		if c.Eval(`document.readyState`) == `"complete"` {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the page did not finish loading")
}

// ticketsNow lists every ticket with its standing by lifecycle.SLAOf at now.
func (f *dispatchFixture) ticketsNow(t *testing.T) ([]store.TicketRow, map[lifecycle.SLA]int) {
	t.Helper()
	rows, _, err := f.st.TicketPage(context.Background(), store.TicketFilter{Limit: 500})
	require.NoError(t, err)
	by := map[lifecycle.SLA]int{}
	for _, r := range rows {
		d := r.SLADue
		if d == nil {
			d = r.Due
		}
		by[lifecycle.SLAOf(lifecycle.State(r.State), d, f.now)]++
	}
	return rows, by
}

// The home page counts what waits, each count opening its list; the SLA
// counts agree with lifecycle.SLAOf at the pages' clock.
func TestDispatcherHome(t *testing.T) {
	f := newDispatchFixture(t, 390*time.Minute)
	f.call(t, "in_862001", unknownCaller, 20*time.Minute, 35*time.Second)
	rows, sla := f.ticketsNow(t)
	require.NotEmpty(t, rows)
	require.Positive(t, sla[lifecycle.SLAOverdue]+sla[lifecycle.SLAAtRisk], "the sample has tickets near or past their deadline at this clock")
	unassigned := 0
	for _, r := range rows {
		if r.Engineer == nil && lifecycle.State(r.State).Open() {
			unassigned++
		}
	}

	c := f.chrome(t)
	c.Open(f.srv.URL + "/ui/home")
	assert.Equal(t, "Сводка", c.Text("nav a.on"))
	count := func(href string) string {
		t.Helper()
		return c.Text(`a.count[href="` + href + `"] .n`)
	}
	assert.Equal(t, strconv.Itoa(len(f.unmatched(t))), count("/ui/"))
	assert.Equal(t, "2", count("/ui/failed"), "one failed item and one dead notification")
	assert.Equal(t, strconv.Itoa(sla[lifecycle.SLAOverdue]), count("/ui/tickets?sla=overdue"))
	assert.Equal(t, strconv.Itoa(sla[lifecycle.SLAAtRisk]), count("/ui/tickets?sla=at_risk"))
	assert.Equal(t, strconv.Itoa(unassigned), count("/ui/tickets?state=open&engineer=-"))
	assert.Contains(t, c.Text(`a.count[href="/ui/failed"]`), "недоставленных уведомлений: 1")
	c.Screenshot("home.png")

	// Each count opens its list with as many rows.
	for _, href := range []string{"/ui/tickets?sla=overdue", "/ui/tickets?sla=at_risk", "/ui/tickets?state=open&engineer=-", "/ui/tickets?state=awaiting_approval"} {
		n := count(href)
		submit(t, c, `a.count[href="`+href+`"]`)
		assert.Equal(t, n, strconv.Itoa(c.Count("table.tickets tbody tr")), href)
		c.Open(f.srv.URL + "/ui/home")
	}
	submit(t, c, `a.count[href="/ui/"]`)
	assert.Equal(t, count2(c), len(f.unmatched(t)))
}

func count2(c *webtest.Chrome) int { return c.Count("section.card[id^=item-]") }

// ids reads the ticket ids of the list's rows.
func listIDs(t *testing.T, c *webtest.Chrome) []int64 {
	t.Helper()
	var out []int64
	raw := strings.Trim(c.Eval(`Array.from(document.querySelectorAll("table.tickets tbody tr")).map(r => r.id.replace("ticket-", "")).join(",")`), `"`)
	for _, s := range strings.Split(raw, ",") {
		if s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err)
		out = append(out, id)
	}
	return out
}

// The ticket list filters by state, client, store, engineer, deadline and
// period on the server, and pages through the rest keeping the filters.
func TestDispatcherTicketList(t *testing.T) {
	f := newDispatchFixture(t, 390*time.Minute)
	all, _ := f.ticketsNow(t)
	require.GreaterOrEqual(t, len(all), 4)
	// The filter to try: the client and state of the newest ticket, its
	// engineer when it has one.
	first := all[0]
	want := func(keep func(r store.TicketRow) bool) []int64 {
		var ids []int64
		for _, r := range all {
			if keep(r) {
				ids = append(ids, r.ID)
			}
		}
		return ids
	}

	c := f.chrome(t)
	c.Open(f.srv.URL + "/ui/tickets")
	assert.Equal(t, want(func(store.TicketRow) bool { return true }), listIDs(t, c))
	c.Screenshot("tickets-list.png")
	assert.Contains(t, c.Text("#ticket-"+strconv.FormatInt(first.ID, 10)), first.ClientName, "the client's name beside its code")

	c.SetValue("#state", first.State)
	c.SetValue("#client", first.Client)
	// The database stamps created_at; the period is the newest ticket's day.
	day := first.CreatedAt.UTC().Format("2006-01-02")
	c.SetValue("#from", day)
	c.SetValue("#to", day)
	submit(t, c, "form.filters button[type=submit]")
	assert.Equal(t, want(func(r store.TicketRow) bool {
		return r.State == first.State && r.Client == first.Client && r.CreatedAt.UTC().Format("2006-01-02") == day
	}), listIDs(t, c))
	assert.Contains(t, c.Location(), "state="+first.State)
	c.Screenshot("tickets-filtered.png")

	// Unassigned open tickets, two a page: the pages together are the list,
	// and the links keep the filter.
	c.Open(f.srv.URL + "/ui/tickets?state=open&engineer=-&limit=2")
	wantOpen := want(func(r store.TicketRow) bool { return r.Engineer == nil && lifecycle.State(r.State).Open() })
	require.Greater(t, len(wantOpen), 2)
	var seen []int64
	for {
		ids := listIDs(t, c)
		assert.LessOrEqual(t, len(ids), 2)
		seen = append(seen, ids...)
		if !c.Has(`a[rel="next"]`) {
			break
		}
		assert.Contains(t, c.Eval(`document.querySelector('a[rel="next"]').href`), "engineer=-")
		submit(t, c, `a[rel="next"]`)
	}
	assert.Equal(t, wantOpen, seen)
	require.True(t, c.Has(`a[rel="prev"]`))
	submit(t, c, `a[rel="prev"]`)
	last := (len(wantOpen) - 1) / 2 // the index of the last page
	assert.Equal(t, wantOpen[2*(last-1):2*last], listIDs(t, c), "back to the page before the last")

	// One engineer's tickets; the store filter; a bad date is refused
	// with a clear message and the rest of the filter still applies.
	var eng string
	for _, r := range all {
		if r.Engineer != nil {
			eng = *r.Engineer
			break
		}
	}
	require.NotEmpty(t, eng)
	c.Open(f.srv.URL + "/ui/tickets?engineer=" + url.QueryEscape(eng))
	assert.Equal(t, want(func(r store.TicketRow) bool { return r.Engineer != nil && *r.Engineer == eng }), listIDs(t, c))
	c.Open(f.srv.URL + "/ui/tickets?object=" + url.QueryEscape(first.Object) + "&from=31.12.2026")
	assert.Equal(t, want(func(r store.TicketRow) bool { return r.Object == first.Object }), listIDs(t, c))
	assert.Contains(t, c.Text(".flash.bad"), "не дата")
}

// itemSel is the card of an item in the queue.
func itemSel(id int64) string { return "#item-" + strconv.FormatInt(id, 10) }

// callItem is the unmatched item of the call from phone.
func (f *dispatchFixture) callItem(t *testing.T) int64 {
	t.Helper()
	for _, it := range f.unmatched(t) {
		if it.Source == flow.SourceCall {
			return it.ID
		}
	}
	t.Fatal("no unmatched call in the queue")
	return 0
}

// ambiguousItem is the unmatched item of webtest.AmbiguousMail.
func (f *dispatchFixture) ambiguousItem(t *testing.T) int64 {
	t.Helper()
	for _, it := range f.unmatched(t) {
		if it.SourceRef == "demo/ambiguous.eml" {
			return it.ID
		}
	}
	t.Fatal("the ambiguous mail is not in the queue")
	return 0
}

// The walk-through: a dispatcher resolves an unmatched mail by searching a
// store by its address. The queue shows a call from an unknown number with
// its phone, time, direction and duration; suggestions come while typing;
// the ticket is made on the store chosen, under the dispatcher's name.
func TestDispatcherResolvesBySearchingAddress(t *testing.T) {
	f := newDispatchFixture(t, 0)
	f.call(t, "in_862001", unknownCaller, 20*time.Minute, 35*time.Second)
	mail, call := f.ambiguousItem(t), f.callItem(t)

	c := f.chrome(t)
	c.Open(f.srv.URL + "/ui/")
	card := c.Text(itemSel(call))
	assert.Contains(t, card, "Звонок с номера +79991234567")
	assert.Contains(t, card, "входящий, пропущенный")
	assert.Contains(t, card, "0:35", "how long it rang")
	assert.Contains(t, card, clocktest.Now(t).Add(-20*time.Minute).UTC().Format("02.01.2006 15:04"), "when it began")
	assert.NotContains(t, card, "(без темы)")
	assert.NotContains(t, card, "NOTIFY_END")
	assert.Equal(t, "true", c.Eval(`document.querySelector("#client-`+strconv.FormatInt(mail, 10)+`").placeholder === "код клиента"`))
	assert.Empty(t, c.Value("#object-"+strconv.FormatInt(mail, 10)), "a hint, not a value")
	c.Screenshot("queue-call.png")

	// Suggestions while typing (web/static/suggest.js).
	c.Fill("#store-q", "Подольск Ленина")
	c.Do(chromedp.WaitReady(chromedp.CSS(`#store-q[data-suggested]`)))
	assert.NotEqual(t, "0", strings.Trim(c.Eval(`document.querySelector("#store-q").dataset.suggested`), `"`))
	assert.Contains(t, c.Eval(`Array.from(document.querySelectorAll("#store-suggest option")).map(o => o.value).join(",")`), "DM/0035")

	// The search without script, from the mail's card: street and house.
	mailID := strconv.FormatInt(mail, 10)
	c.Fill("#q-"+mailID, "Ленина 12")
	submit(t, c, "#q-"+mailID+" ~ button")
	require.True(t, c.Has(`input[name="store"][value="DM/DM/0035"]`), "the store on Ленина 12 is found")
	assert.True(t, c.Has("#pick-"+mailID+":checked"), "the card's item is selected for the bulk actions")
	c.Screenshot("queue-search.png")

	submit(t, c, `#search form[action="/ui/items/`+mailID+`/resolve"]:has(input[value="DM/0035"]) button`)
	assert.Contains(t, c.Location(), "/ui/tickets/")
	assert.False(t, strings.Contains(c.Text("main"), "Не найдено"))
	c.Open(f.srv.URL + "/ui/")
	assert.False(t, c.Has(itemSel(mail)), "the mail left the queue")

	it := f.item(t, mail)
	require.NotNil(t, it.Outcome)
	assert.Equal(t, store.OutcomeTicket, *it.Outcome)
	require.NotNil(t, it.TicketID)
	tk, err := store.TicketByID(context.Background(), f.st.Pool, *it.TicketID)
	require.NoError(t, err)
	assert.Equal(t, "DM", tk.Client)
	assert.Equal(t, "DM/0035", tk.Object)
	events, err := f.st.TicketEvents(context.Background(), tk.ID)
	require.NoError(t, err)
	var actors []string
	for _, e := range events {
		actors = append(actors, e.Actor)
	}
	assert.Contains(t, actors, dispatcher, "the ticket's history names the dispatcher")
	audit, err := f.st.AuditLog(context.Background(), store.AuditFilter{Action: "item.resolve"})
	require.NoError(t, err)
	require.Len(t, audit, 1)
	assert.Equal(t, dispatcher, audit[0].Actor)
	assert.Equal(t, mailID, audit[0].Target)

	// A store that does not exist is refused before anything is made.
	c.Open(f.srv.URL + "/ui/")
	for _, it := range f.unmatched(t) {
		c.Click("#pick-" + strconv.FormatInt(it.ID, 10))
	}
	c.Fill("#bulk-client", "PU")
	c.Fill("#bulk-object", "9999")
	submit(t, c, `#bulk button[value="store"]`)
	assert.Contains(t, c.Text("main"), "магазина PU/9999 нет в справочнике")
	assert.Len(t, f.unmatched(t), 2)

	// Several items at once to one store found by the search at the top:
	// the call and the other mail without candidates.
	c.Open(f.srv.URL + "/ui/")
	c.Fill("#store-q", "Пятый угол Ярославль")
	submit(t, c, "#search button[type=submit]")
	require.True(t, c.Has(`input[name="store"][value="PU/0414"]`))
	c.Click(`input[name="store"][value="PU/0414"]`)
	var rest []int64
	for _, it := range f.unmatched(t) {
		rest = append(rest, it.ID)
		c.Click("#pick-" + strconv.FormatInt(it.ID, 10))
	}
	require.Len(t, rest, 2)
	submit(t, c, `#bulk button[value="store"]`)
	assert.Contains(t, c.Text(".flash"), "Созданы заявки: INT-")
	c.Screenshot("queue-bulk-done.png")
	assert.Empty(t, f.unmatched(t))
	for _, id := range rest {
		it := f.item(t, id)
		require.NotNil(t, it.TicketID, "item %d", id)
		tk, err := store.TicketByID(context.Background(), f.st.Pool, *it.TicketID)
		require.NoError(t, err)
		assert.Equal(t, "PU", tk.Client)
		assert.Equal(t, "0414", tk.Object)
	}
	audit, err = f.st.AuditLog(context.Background(), store.AuditFilter{Action: "item.resolve", Actor: dispatcher})
	require.NoError(t, err)
	assert.Len(t, audit, 3)

	// The same search as JSON, for the suggestions.
	c.Open(f.srv.URL + "/api/v1/objects/search?q=" + url.QueryEscape("Ленина 12"))
	assert.Contains(t, c.Text("body"), `"code": "DM/0035"`)
	c.Open(f.srv.URL + "/api/v1/objects/search?q=" + strings.Repeat("я", 201))
	assert.Contains(t, c.Text("body"), "longer than 200 characters")
}

// Several items are ignored at once with a reason, under the dispatcher's
// name; without a reason nothing is ignored.
func TestDispatcherBulkIgnore(t *testing.T) {
	f := newDispatchFixture(t, 0)
	f.call(t, "in_862001", unknownCaller, 20*time.Minute, 35*time.Second)
	mail, call := f.ambiguousItem(t), f.callItem(t)
	before := len(f.unmatched(t))

	// Two a page: the next page holds the rest.
	c := f.chrome(t)
	c.Open(f.srv.URL + "/ui/?limit=2")
	require.Equal(t, 2, count2(c))
	submit(t, c, `a[rel="next"]`)
	assert.Equal(t, before-2, count2(c))

	c.Open(f.srv.URL + "/ui/")
	c.Click("#pick-" + strconv.FormatInt(mail, 10))
	c.Click("#pick-" + strconv.FormatInt(call, 10))
	submit(t, c, `#bulk button[formaction="/ui/items/ignore"]`)
	assert.Contains(t, c.Text("main"), "укажите причину")
	assert.Len(t, f.unmatched(t), before, "nothing ignored without a reason")

	c.Open(f.srv.URL + "/ui/")
	c.Click("#pick-" + strconv.FormatInt(mail, 10))
	c.Click("#pick-" + strconv.FormatInt(call, 10))
	c.Fill("#bulk-reason", "спам и ошибочный звонок")
	submit(t, c, `#bulk button[formaction="/ui/items/ignore"]`)
	assert.Contains(t, c.Text(".flash"), "Пропущено сообщений: 2")
	assert.Len(t, f.unmatched(t), before-2)
	for _, id := range []int64{mail, call} {
		it := f.item(t, id)
		require.NotNil(t, it.Outcome)
		assert.Equal(t, store.OutcomeIgnored, *it.Outcome)
		assert.Equal(t, "спам и ошибочный звонок", it.Reason)
	}
	audit, err := f.st.AuditLog(context.Background(), store.AuditFilter{Action: "item.ignore"})
	require.NoError(t, err)
	require.Len(t, audit, 2)
	for _, a := range audit {
		assert.Equal(t, dispatcher, a.Actor)
	}
}

// Bulk resolve to each item's top candidate: the items with candidates get
// tickets on their first one; the call, which has none, stays.
func TestDispatcherBulkResolveTopCandidate(t *testing.T) {
	f := newDispatchFixture(t, 0)
	f.call(t, "in_862001", unknownCaller, 20*time.Minute, 35*time.Second)
	mail, call := f.ambiguousItem(t), f.callItem(t)
	top := f.item(t, mail)
	var dec struct {
		Match routing.Match `json:"match"`
	}
	require.NoError(t, json.Unmarshal(top.Decision, &dec))
	require.NotEmpty(t, dec.Match.Candidates)

	c := f.chrome(t)
	c.Open(f.srv.URL + "/ui/")
	c.Click("#pick-" + strconv.FormatInt(mail, 10))
	c.Click("#pick-" + strconv.FormatInt(call, 10))
	submit(t, c, `#bulk button[value="top"]`)
	assert.Contains(t, c.Text(".flash"), "Созданы заявки: INT-")
	assert.Contains(t, c.Text(".flash"), "нет кандидатов): № "+strconv.FormatInt(call, 10))

	it := f.item(t, mail)
	require.NotNil(t, it.TicketID)
	tk, err := store.TicketByID(context.Background(), f.st.Pool, *it.TicketID)
	require.NoError(t, err)
	assert.Equal(t, dec.Match.Candidates[0].Client, tk.Client)
	assert.Equal(t, dec.Match.Candidates[0].Code, tk.Object)
	assert.Equal(t, store.OutcomeUnmatched, *f.item(t, call).Outcome)

	// Once the number has led to a store, its next unknown call offers it.
	c.Open(f.srv.URL + "/ui/")
	c.SetValue("#client-"+strconv.FormatInt(call, 10), tk.Client)
	c.Fill("#object-"+strconv.FormatInt(call, 10), tk.Object)
	submit(t, c, "#object-"+strconv.FormatInt(call, 10)+" ~ button")
	f.call(t, "in_862002", unknownCaller, 5*time.Minute, 10*time.Second)
	again := f.callItem(t)
	c.Open(f.srv.URL + "/ui/")
	assert.Contains(t, c.Text(itemSel(again)), "этот номер уже звонил по этому магазину")
	assert.Contains(t, c.Text(itemSel(again)), tk.Object)
}

// The failed page lists dead notifications even when no item failed, and
// "Ошибок нет" is not shown while there are; one is sent again from there.
func TestFailedPageShowsDeadOutbox(t *testing.T) {
	f := newDispatchFixture(t, 0)
	ctx := context.Background()
	require.NoError(t, f.st.InTx(ctx, func(tx pgx.Tx) error {
		_, err := store.RetryFailed(ctx, tx, []int64{f.failed})
		return err
	}))

	c := f.chrome(t)
	c.Open(f.srv.URL + "/ui/failed")
	body := c.Text("main")
	assert.NotContains(t, body, "Ошибок нет")
	assert.Contains(t, body, "Недоставленные уведомления: 1")
	assert.Contains(t, body, "eng0006@contractors.example")
	c.Screenshot("failed-dead.png")

	submit(t, c, "#outbox-"+strconv.FormatInt(f.dead, 10)+" button")
	assert.Contains(t, c.Text(".flash"), "снова в очереди")
	rows, err := f.st.ListOutbox(ctx, store.OutboxFilter{State: store.OutboxDead})
	require.NoError(t, err)
	assert.Empty(t, rows)
	c.Open(f.srv.URL + "/ui/failed")
	assert.Contains(t, c.Text("main"), "Ошибок нет", "nothing failed and nothing dead")
}
