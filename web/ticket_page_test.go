package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web"
	"github.com/intakehq/intake/web/webtest"
)

// tktFixture is a migrated database with a chain, two stores, four
// engineers who can fix refrigeration near store 0127 and six who cannot,
// the lifecycle, a dispatcher who can sign in, and a clock the test moves.
type tktFixture struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	dir    *routing.Directory
	lc     *lifecycle.Service
	signer *lifecycle.Signer
	url    string
	ns     atomic.Int64
}

var tktReference = map[string]string{
	reference.KindClients: "code,name,legal_entities,domains\nPU,Пятый угол,,pyatugol.ru\n",
	reference.KindEngineers: "code,name,email,phone,competences,areas,lat,lon,radius_km,max_open,status,rating\n" +
		"ENG-1,Алексеев Пётр,eng1@x.example,,refrigeration,45000000,55.70,37.6,80,10,active,4.9\n" +
		"ENG-2,Борисов Иван,eng2@x.example,,refrigeration,45000000,55.71,37.6,80,10,active,4.8\n" +
		"ENG-3,Васильев Олег,eng3@x.example,,refrigeration,45000000,55.72,37.6,80,10,active,4.7\n" +
		"ENG-4,Григорьев Антон,eng4@x.example,,refrigeration,45000000,55.73,37.6,80,10,active,4.6\n" +
		"ENG-5,Дмитриев Лев,eng5@x.example,,electrical,45000000,55.73,37.6,80,10,active,4.6\n" +
		"ENG-6,Егоров Ян,eng6@x.example,,electrical,45000000,55.73,37.6,80,10,active,4.6\n" +
		"ENG-7,Жуков Ким,eng7@x.example,,electrical,45000000,55.73,37.6,80,10,active,4.6\n" +
		"ENG-8,Зайцев Ал,eng8@x.example,,electrical,45000000,55.73,37.6,80,10,active,4.6\n" +
		"ENG-9,Ильин Ро,eng9@x.example,,plumbing,45000000,55.73,37.6,80,10,active,4.6\n" +
		"ENG-10,Котов Ан,eng10@x.example,,plumbing,45000000,55.73,37.6,80,10,active,4.6\n",
	reference.KindObjects: "client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer\n" +
		"PU,0127,Пятый угол №127,\"г. Москва, пр-т Победы, д. 101\",Москва,г. Москва,45000000,55.76918,37.67841,,\n" +
		"PU,0128,Пятый угол №128,\"г. Москва, ул. Ленина, д. 5\",Москва,г. Москва,45000000,55.75,37.6,,\n",
	reference.KindContacts: "client,object,name,role,email,phone\n" +
		"PU,,Ильина Людмила,regional_director:г. Москва,rd.077@pyatugol.ru,\n",
	reference.KindCategories: "code,name,competence,sla_hours,keywords\nrefrigeration,Холодильное оборудование,refrigeration,4,холодил\n",
}

func newTktFixture(t *testing.T, tune ...func(*lifecycle.Config)) *tktFixture {
	t.Helper()
	ctx := context.Background()
	st := pgtest.Store(t)
	for _, kind := range []string{reference.KindClients, reference.KindEngineers, reference.KindObjects, reference.KindContacts, reference.KindCategories} {
		_, err := st.Import(ctx, kind, kind+".csv", strings.NewReader(tktReference[kind]), nil)
		require.NoError(t, err, kind)
	}
	dd, err := st.LoadDirectory(ctx)
	require.NoError(t, err)
	dir, err := routing.NewDirectory(dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories)
	require.NoError(t, err)
	f := &tktFixture{t: t, ctx: ctx, st: st, dir: dir}
	f.ns.Store(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	signer, err := lifecycle.NewSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	cfg := lifecycle.Config{OfferN: 2, OfferTimeout: 10 * time.Minute, AtRisk: 0.8, Contractor: "ООО «Техсервис»",
		BaseURL: "https://intake.test", Location: time.UTC}
	for _, fn := range tune {
		fn(&cfg)
	}
	f.signer = signer
	f.lc = lifecycle.NewService(st, cfg, signer, pipeline.LifecycleRouter(func() *routing.Directory { return dir }), f.now)
	mux := http.NewServeMux()
	(&web.LifecycleAPI{Service: f.lc, Store: st, Log: discard()}).Register(mux)
	srv := httptest.NewServer((&web.Server{Store: st, Log: discard(), Extra: mux, Lifecycle: f.lc, Now: f.now}).Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	hash, err := auth.HashPassword("correct horse battery")
	require.NoError(t, err)
	_, err = st.AddUser(ctx, "anna", string(auth.Dispatcher), hash, "test")
	require.NoError(t, err)
	return f
}

func (f *tktFixture) now() time.Time          { return time.Unix(0, f.ns.Load()).UTC() }
func (f *tktFixture) advance(d time.Duration) { f.ns.Add(int64(d)) }

// ticket creates a ticket at store object as the pipeline does; nobody
// routing may choose (exclude everyone) leaves it new with no engineer.
func (f *tktFixture) ticket(object string, nobody bool) int64 {
	f.t.Helper()
	obj := f.dir.Object("PU", object)
	require.NotNil(f.t, obj)
	p := routing.Policy{Mode: routing.ModeDirect}
	if nobody {
		p.Exclude = []string{"ENG-1", "ENG-2", "ENG-3", "ENG-4"}
	}
	a := f.dir.Assign(obj, "refrigeration", nil, p)
	var id int64
	require.NoError(f.t, f.st.InTx(f.ctx, func(tx pgx.Tx) error {
		var item int64
		if err := tx.QueryRow(f.ctx, `INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size)
			VALUES ('mail', $1, $1, '\x00', 'x', 1) RETURNING id`, fmt.Sprintf("test/%s/%d", object, time.Now().UnixNano())).Scan(&item); err != nil {
			return err
		}
		cat, prio := "refrigeration", "high"
		due := f.now().Add(4 * time.Hour)
		nt := store.NewTicket{Client: "PU", Object: object, Category: &cat, Priority: &prio, SourceItem: item, SLADue: &due,
			Problem: "Не холодит витрина с молочной продукцией", State: "new", Assignment: a}
		if a.Engineer != "" {
			nt.Engineer, nt.State = &a.Engineer, "assigned"
		}
		var err error
		if id, _, err = store.CreateTicket(f.ctx, tx, nt); err != nil {
			return err
		}
		if _, err := tx.Exec(f.ctx, `UPDATE tickets SET created_at = $2 WHERE id = $1`, id, f.now()); err != nil {
			return err
		}
		if err := store.AddEvent(f.ctx, tx, store.TicketEvent{TicketID: id, Actor: "intake", Kind: "created", ToState: nt.State, ItemID: &item}); err != nil {
			return err
		}
		return f.lc.OnTicket(f.ctx, store.LifecycleTx(tx), id, true, "", new(pipeline.LifecycleAssignment(a)))
	}))
	return id
}

func (f *tktFixture) ticketRow(id int64) *store.Ticket {
	f.t.Helper()
	tk, err := store.TicketByID(f.ctx, f.st.Pool, id)
	require.NoError(f.t, err)
	return tk
}

func (f *tktFixture) tasks(id int64) []lifecycle.Task {
	f.t.Helper()
	lc, err := f.st.LifecycleOf(f.ctx, id)
	require.NoError(f.t, err)
	return lc.Tasks
}

// lastEvent is the newest history row of a kind.
func (f *tktFixture) lastEvent(id int64, kind string) store.TicketEvent {
	f.t.Helper()
	evs, err := f.st.TicketEvents(f.ctx, id)
	require.NoError(f.t, err)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == kind {
			return evs[i]
		}
	}
	f.t.Fatalf("ticket %d has no %s event", id, kind)
	return store.TicketEvent{}
}

// actOnTicket opens the ticket page afresh, lets fill set the form up, submits
// the form sel and waits for the page that answers.
func actOnTicket(c *webtest.Chrome, f *tktFixture, id int64, sel string, fill func()) {
	c.Open(fmt.Sprintf("%s/ui/tickets/%d", f.url, id))
	if fill != nil {
		fill()
	}
	c.Submit(sel + ` button[type=submit]`)
	c.WaitVisible(`.flash, p.error`)
}

// The dispatcher's walk: a new ticket nobody was found for is assigned by
// choosing a candidate, a second engineer gets a task of his own, the
// work is reassigned with a reason, commented on, and a ticket whose
// deadline passed is marked overdue. Every step is the history's, under
// the dispatcher's name.
func TestTicketPageDispatcherWalk(t *testing.T) {
	f := newTktFixture(t)
	id := f.ticket("0127", true)
	require.Equal(t, "new", f.ticketRow(id).State)
	older := f.ticket("0127", false) // the store's history

	c := webtest.NewChrome(t, 1280, 900)
	c.SignIn(f.url, "anna", "correct horse battery")
	c.Open(fmt.Sprintf("%s/ui/tickets/%d", f.url, id))
	body := c.Text("body")
	for _, want := range []string{"Пятый угол №127", "г. Москва, пр-т Победы, д. 101", "Холодильное оборудование", "высокий", "новая",
		"нет подходящего инженера", "Отсеяны: 10", "в срок", f.ticketRow(older).Number} {
		assert.Contains(t, body, want)
	}
	for _, english := range []string{"no eligible engineer", "no competence", "refrigeration", "high", "task_", "no_engineer"} {
		assert.NotContains(t, body, english, "English code on the page")
	}
	assert.Equal(t, 4, c.Count(`#assign-form optgroup[label^="Подходят"] option`), "the four eligible engineers, ranked")
	assert.Contains(t, c.Text(`#assign-form select`), "1. Григорьев Антон (ENG-4)")
	c.Screenshot("ticket-new-unassigned.png")

	// Assign: choose the second candidate.
	actOnTicket(c, f, id, "#assign-form", func() { c.SetValue(`#assign-form select`, "ENG-2") })
	assert.Contains(t, c.Text(".flash"), "Заявка назначена")
	tk := f.ticketRow(id)
	assert.Equal(t, "assigned", tk.State)
	require.NotNil(t, tk.Engineer)
	assert.Equal(t, "ENG-2", *tk.Engineer)
	ev := f.lastEvent(id, "task_assign")
	assert.Equal(t, "dispatcher:anna", ev.Actor)
	assert.Contains(t, c.Text("#history"), "anna (диспетчер)")
	assert.Contains(t, c.Text("#tasks"), "Борисов Иван (ENG-2)")
	c.Screenshot("ticket-assigned.png")

	// A second engineer's task.
	actOnTicket(c, f, id, "#task-form", func() {
		c.SetValue(`#task-form select`, "ENG-3")
		c.Fill(`#task-form input[name=note]`, "нужен второй человек: тяжёлая витрина")
	})
	ks := f.tasks(id)
	require.Len(t, ks, 2)
	assert.Equal(t, "ENG-3", ks[1].EngineerCode())
	assert.Equal(t, "assigned", ks[1].State)
	ev = f.lastEvent(id, "task_assign")
	assert.Equal(t, "dispatcher:anna", ev.Actor)
	assert.Contains(t, string(ev.Data), "тяжёлая витрина")
	assert.Equal(t, 2, c.Count(`#tasks tbody tr`))
	c.Screenshot("ticket-second-task.png")

	// Taking the work back needs a reason: refused, nothing changes.
	actOnTicket(c, f, id, "#assign-form", func() { c.SetValue(`#assign-form select`, "ENG-4") })
	assert.Contains(t, c.Text("p.error"), "укажите причину")
	assert.Len(t, f.tasks(id), 2)
	actOnTicket(c, f, id, "#assign-form", func() {
		c.SetValue(`#assign-form select`, "ENG-4")
		c.Fill(`#assign-form input[name=reason]`, "Борисов на больничном")
	})
	ks = f.tasks(id)
	require.Len(t, ks, 3)
	assert.Equal(t, "cancelled", ks[0].State)
	assert.Equal(t, "cancelled", ks[1].State, "reassigning takes the work back from everyone")
	assert.Equal(t, "ENG-4", ks[2].EngineerCode())
	assert.Equal(t, "Борисов на больничном", f.lastEvent(id, "task_cancel").Reason)

	// A comment.
	actOnTicket(c, f, id, "#comment-form", func() { c.SetValue(`#comment-form textarea`, "Директор просит прийти до 12:00") })
	ev = f.lastEvent(id, "comment")
	assert.Equal(t, "dispatcher:anna", ev.Actor)
	assert.Equal(t, "Директор просит прийти до 12:00", ev.Reason)
	assert.Contains(t, c.Text("#history"), "Директор просит прийти до 12:00")

	// Five hours on, the four-hour deadline has passed.
	f.advance(5 * time.Hour)
	_, err := f.lc.FireDue(f.ctx) // the SLA timers: escalations in the history
	require.NoError(t, err)
	c.Open(fmt.Sprintf("%s/ui/tickets/%d", f.url, id))
	assert.True(t, c.Has(`#sla.overdue`))
	assert.Contains(t, c.Text("#sla"), "просрочена")
	assert.True(t, c.Has(`#ticket-card.overdue`))
	assert.Contains(t, c.Text("#history"), "SLA нарушен")
	assert.Contains(t, c.Text("#history"), "срок SLA: 02.11.2026 13:00")
	c.Screenshot("ticket-overdue.png")
}

// Offer, cancel and close, each pressed in the browser, each in the
// history under the dispatcher's name.
func TestTicketPageOfferCancelClose(t *testing.T) {
	f := newTktFixture(t)
	c := webtest.NewChrome(t, 1280, 900)
	c.SignIn(f.url, "anna", "correct horse battery")

	id := f.ticket("0128", true)
	actOnTicket(c, f, id, "#offer-form", func() { c.Fill(`#offer-form input[name=n]`, "3") })
	assert.Equal(t, "offered", f.ticketRow(id).State)
	lc, err := f.st.LifecycleOf(f.ctx, id)
	require.NoError(t, err)
	require.Len(t, lc.Offers, 3)
	assert.Equal(t, "dispatcher:anna", f.lastEvent(id, "task_offer").Actor)
	assert.Contains(t, c.Text("#tasks"), "круг 1")

	actOnTicket(c, f, id, "#cancel-form", func() {
		c.Fill(`#cancel-form input[name=reason]`, "сеть отозвала заявку по телефону")
	})
	assert.Equal(t, "cancelled", f.ticketRow(id).State)
	ev := f.lastEvent(id, "cancel")
	assert.Equal(t, "dispatcher:anna", ev.Actor)
	assert.Equal(t, "сеть отозвала заявку по телефону", ev.Reason)
	assert.False(t, c.Has("#assign-form"), "a cancelled ticket offers no assignment")

	// A ticket its engineer finished is closed from the page.
	id2 := f.ticket("0127", false)
	k := f.tasks(id2)[0]
	eng := k.EngineerCode()
	require.NoError(t, f.lc.Accept(f.ctx, k.ID, eng, "engineer:"+eng))
	require.NoError(t, f.lc.Start(f.ctx, k.ID, eng, "engineer:"+eng))
	require.NoError(t, f.lc.Complete(f.ctx, k.ID, eng, "engineer:"+eng, lifecycle.Completion{WorkDone: "заменён вентилятор"}))
	c.Open(fmt.Sprintf("%s/ui/tickets/%d", f.url, id2))
	assert.False(t, c.Has("#sla"), "done work has no SLA mark")
	actOnTicket(c, f, id2, "#close-form", nil)
	assert.Equal(t, "closed", f.ticketRow(id2).State)
	assert.Equal(t, "dispatcher:anna", f.lastEvent(id2, "close").Actor)
	c.Screenshot("ticket-closed.png")
}

// The ticket API returns routing's decision and the events' data as JSON
// objects, not base64.
func TestTicketAPIJSON(t *testing.T) {
	f := newTktFixture(t)
	id := f.ticket("0127", false)
	tok := "dispatcher-token-long-enough-0123456789"
	srv := httptest.NewServer((&web.Server{Store: f.st, Log: discard(), APITokens: []string{tok}}).Handler())
	t.Cleanup(srv.Close)
	req, err := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/tickets/%d", srv.URL, id), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var got struct {
		Ticket struct {
			Assignment map[string]any `json:"assignment"`
		} `json:"ticket"`
		Events []struct {
			Kind string         `json:"kind"`
			Data map[string]any `json:"data"`
		} `json:"events"`
	}
	require.NoError(t, decodeTktJSON(resp, &got))
	eng, _ := got.Ticket.Assignment["Engineer"].(string)
	require.NotEmpty(t, eng)
	assert.Equal(t, "assigned", f.ticketRow(id).State)
	var sawData bool
	for _, e := range got.Events {
		if e.Kind == "task_assign" {
			assert.Equal(t, eng, e.Data["engineer"])
			sawData = true
		}
	}
	assert.True(t, sawData)
}

func decodeTktJSON(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

// The same actions on the API, recorded under the token's user.
func TestTicketActionsAPI(t *testing.T) {
	f := newTktFixture(t)
	tok := "dispatcher-token-long-enough-0123456789"
	mux := http.NewServeMux()
	(&web.LifecycleAPI{Service: f.lc, Store: f.st, Log: discard()}).Register(mux)
	srv := httptest.NewServer((&web.Server{Store: f.st, Log: discard(), Extra: mux, APITokens: []string{tok}}).Handler())
	t.Cleanup(srv.Close)
	post := func(path, body string) int {
		req, err := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	id := f.ticket("0127", true)
	p := fmt.Sprintf("/api/v1/tickets/%d", id)
	assert.Equal(t, http.StatusOK, post(p+"/assign", `{"engineer": "ENG-1"}`))
	assert.Equal(t, http.StatusOK, post(p+"/tasks", `{"engineer": "ENG-2", "reason": "второй"}`))
	assert.Equal(t, http.StatusConflict, post(p+"/tasks", `{"engineer": "ENG-2"}`))
	assert.Equal(t, http.StatusUnprocessableEntity, post(p+"/assign", `{"engineer": "ENG-3"}`), "taking work back needs a reason")
	assert.Equal(t, http.StatusOK, post(p+"/comment", `{"text": "звонили директору"}`))
	assert.Equal(t, http.StatusOK, post(p+"/offer", `{"engineers": ["ENG-3", "ENG-4"], "reason": "срочно"}`))
	assert.Equal(t, "offered", f.ticketRow(id).State)
	assert.Equal(t, "звонили директору", f.lastEvent(id, "comment").Reason)
	assert.Contains(t, f.lastEvent(id, "comment").Actor, "dispatcher:")
}

// The engineer's task, on his API, carries the store's tickets of the last
// 12 months.
func TestEngineerTaskStoreHistory(t *testing.T) {
	f := newTktFixture(t)
	earlier := f.ticket("0127", false)
	f.ticket("0128", false) // another store: not in the history
	id := f.ticket("0127", false)
	k := f.tasks(id)[0]
	tok, err := f.st.CreateEngineerToken(f.ctx, k.EngineerCode(), "test")
	require.NoError(t, err)
	req, err := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/engineer/tasks/%d", f.url, k.ID), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got struct {
		History []struct {
			Number  string `json:"number"`
			StateRU string `json:"state_ru"`
		} `json:"store_history"`
	}
	require.NoError(t, decodeTktJSON(resp, &got))
	require.Len(t, got.History, 1)
	assert.Equal(t, f.ticketRow(earlier).Number, got.History[0].Number)
	assert.Equal(t, "назначена", got.History[0].StateRU)
}
