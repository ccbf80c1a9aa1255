package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// lcEnv is a migrated database with a small directory (one chain, three
// stores, 24 refrigeration engineers around Moscow) and a lifecycle on a
// fake clock.
type lcEnv struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	dir   *routing.Directory
	clock *fakeClock
	cfg   lifecycle.Config
	lc    *lifecycle.Service
}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var lcStart = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func lcReference(engineers int) map[string]string {
	var eng strings.Builder
	eng.WriteString("code,name,email,phone,competences,areas,lat,lon,radius_km,max_open,status,rating\n")
	for i := 1; i <= engineers; i++ {
		fmt.Fprintf(&eng, "ENG-%04d,Инженер %02d,eng%04d@contractors.example,,refrigeration;electrical,45000000,%.5f,37.6,80,10,active,%.2f\n",
			i, i, i, 55.70+float64(i)*0.001, 4.0+float64(i%10)/10)
	}
	return map[string]string{
		reference.KindClients: `code,name,legal_entities,domains
PU,Торговая сеть «Пятый угол»,ООО «Пятый угол Ритейл»;ООО «Пятый угол Север»,pyatugol.ru
`,
		reference.KindEngineers: eng.String(),
		reference.KindObjects: `client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer
PU,0127,Пятый угол Москва №127,"123289, г. Москва, пр-т Победы, д. 101",Москва,г. Москва,45000000,55.76918,37.67841,ООО «Пятый угол Ритейл»,
PU,0128,Пятый угол Москва №128,"123290, г. Москва, ул. Ленина, д. 5",Москва,г. Москва,45000000,55.75,37.6,ООО «Пятый угол Север»,
PU,0129,Пятый угол Москва №129,"123291, г. Москва, ул. Мира, д. 7",Москва,г. Москва,45000000,55.74,37.61,,
`,
		reference.KindContacts: `client,object,name,role,email,phone
PU,0127,Лебедев Николай,store_director,store0127@pyatugol.ru,
PU,,Ильина Людмила,regional_director:г. Москва,rd.077@pyatugol.ru,
PU,,Орлов Павел,central_office,co@pyatugol.ru,
`,
		reference.KindCategories: `code,name,competence,sla_hours,keywords
refrigeration,Холодильное оборудование,refrigeration,4,холодил
`,
	}
}

func newLCEnv(t *testing.T, engineers int, tune func(*lifecycle.Config)) *lcEnv {
	t.Helper()
	ctx := context.Background()
	st := pgtest.Store(t)
	ref := lcReference(engineers)
	for _, kind := range []string{reference.KindClients, reference.KindEngineers, reference.KindObjects, reference.KindContacts, reference.KindCategories} {
		_, err := st.Import(ctx, kind, kind+".csv", strings.NewReader(ref[kind]), nil)
		require.NoError(t, err, kind)
	}
	dd, err := st.LoadDirectory(ctx)
	require.NoError(t, err)
	dir, err := routing.NewDirectory(dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories)
	require.NoError(t, err)
	clock := &fakeClock{}
	clock.Set(lcStart)
	signer, err := lifecycle.NewSigner([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	cfg := lifecycle.Config{
		OfferN: 3, OfferTimeout: 10 * time.Minute, AtRisk: 0.8, Contractor: "ООО «Техсервис»", BaseURL: "https://intake.test",
		Dispatchers: []string{"dispatch@tehservis.example"}, EngineerWebhook: "https://bridge.test/push",
		QCDelay: map[string]time.Duration{"PU": 72 * time.Hour}, QCTeam: []string{"qc@tehservis.example"},
		Chains:   map[string]lifecycle.ChainTarget{"PU": {Channel: lifecycle.ChannelConnector, Target: "pu"}},
		Location: time.FixedZone("MSK", 3*3600),
	}
	if tune != nil {
		tune(&cfg)
	}
	e := &lcEnv{t: t, ctx: ctx, st: st, dir: dir, clock: clock, cfg: cfg}
	e.lc = lifecycle.NewService(st, cfg, signer, pipeline.LifecycleRouter(func() *routing.Directory { return dir }), clock.Now)
	return e
}

var itemSeq atomic.Int64

// ticket creates a ticket the way the pipeline's ticket stage does: an
// inbound item, the ticket (assigned when routing chose an engineer), its
// created event, and the lifecycle hook in the same transaction.
func (e *lcEnv) ticket(object, external string, mode string, slaHours float64) int64 {
	e.t.Helper()
	obj := e.dir.Object("PU", object)
	require.NotNil(e.t, obj)
	loads, err := store.OpenLoads(e.ctx, e.st.Pool)
	require.NoError(e.t, err)
	a := e.dir.Assign(obj, "refrigeration", loads, routing.Policy{Mode: mode, OfferN: e.cfg.OfferN})
	var id int64
	err = e.st.InTx(e.ctx, func(tx pgx.Tx) error {
		n := itemSeq.Add(1)
		var item int64
		if err := tx.QueryRow(e.ctx, `INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size, received_at)
			VALUES ('mail', $1, $1, '\x00', 'x', 1, $2) RETURNING id`, fmt.Sprintf("test/%d/%d", n, time.Now().UnixNano()), e.clock.Now()).Scan(&item); err != nil {
			return err
		}
		cat, ext := "refrigeration", external
		nt := store.NewTicket{Client: "PU", Object: object, Category: &cat, SourceItem: item, Problem: "Не холодит витрина", State: "new", Assignment: a}
		if ext != "" {
			nt.ExternalID = &ext
		}
		if slaHours > 0 {
			due := e.clock.Now().Add(time.Duration(slaHours * float64(time.Hour)))
			nt.SLADue = &due
		}
		if a.Engineer != "" {
			nt.Engineer, nt.State = &a.Engineer, "assigned"
		}
		var created bool
		var err error
		if id, created, err = store.CreateTicket(e.ctx, tx, nt); err != nil || !created {
			return fmt.Errorf("create: %v created=%v", err, created)
		}
		if _, err := tx.Exec(e.ctx, `UPDATE tickets SET created_at = $2 WHERE id = $1`, id, e.clock.Now()); err != nil {
			return err
		}
		if err := store.AddEvent(e.ctx, tx, store.TicketEvent{TicketID: id, Actor: "intake", Kind: "created", ToState: nt.State, ItemID: &item}); err != nil {
			return err
		}
		return e.lc.OnTicket(e.ctx, store.LifecycleTx(tx), id, true, "", testAssignment(&a))
	})
	require.NoError(e.t, err)
	return id
}

func (e *lcEnv) state(id int64) string {
	e.t.Helper()
	tk, err := store.TicketByID(e.ctx, e.st.Pool, id)
	require.NoError(e.t, err)
	return tk.State
}

func (e *lcEnv) tasks(id int64) []lifecycle.Task {
	e.t.Helper()
	lc, err := e.st.LifecycleOf(e.ctx, id)
	require.NoError(e.t, err)
	return lc.Tasks
}

func (e *lcEnv) lastTask(id int64) lifecycle.Task {
	ks := e.tasks(id)
	require.NotEmpty(e.t, ks)
	return ks[len(ks)-1]
}

func (e *lcEnv) history(id int64) string {
	e.t.Helper()
	evs, err := e.st.TicketEvents(e.ctx, id)
	require.NoError(e.t, err)
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%3d %s %-22s %-18s %-13s -> %-13s %s %s\n", ev.ID, ev.At.Format("01-02 15:04"), ev.Actor, ev.Kind, ev.FromState, ev.ToState, ev.Reason, ev.Data)
	}
	return b.String()
}

func (e *lcEnv) outbox(kind string) []store.OutboxRow {
	e.t.Helper()
	rows, err := e.st.Pool.Query(e.ctx, `SELECT id, kind, target, ticket_id, payload, dedup_key, state, attempts, next_attempt_at, last_error, created_at, sent_at
		FROM outbox WHERE kind = $1 OR $1 = '' ORDER BY id`, kind)
	require.NoError(e.t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[store.OutboxRow])
	require.NoError(e.t, err)
	return out
}

func (e *lcEnv) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.st.Pool.QueryRow(e.ctx, sql, args...).Scan(&n))
	return n
}

// testAssignment is routing's decision as the lifecycle takes it (nil
// stays nil).
func testAssignment(a *routing.Assignment) *lifecycle.Assignment {
	if a == nil {
		return nil
	}
	la := pipeline.LifecycleAssignment(*a)
	return &la
}
