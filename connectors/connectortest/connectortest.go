// Package connectortest runs a connector end to end for tests: a migrated
// database with a small reference set, the processor with the connector's
// parse stage and ticket hook, the stages run inline, and the outbox
// dispatcher.
package connectortest

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// Reference data: one client per connector kind, a few stores.
var reference = map[string]string{
	"clients": "code,name,legal_entities,domains\nVR,Верный,,vr.example\nOK,Окей,,ok.example\nMG,Магнит,,mg.example\n",
	"engineers": "code,name,email,phone,competences,areas,lat,lon,radius_km,max_open,status,rating\n" +
		"ENG-1,Петров Алексей,e1@x.example,+7 965 609-73-39,refrigeration;electrical,,55.7,37.6,100,8,active,4.5\n",
	"objects": "client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer\n" +
		"VR,VR-001,Верный 1,\"г. Москва, ул. Ленина, д. 1\",Москва,Москва,,55.7,37.6,,\n" +
		"OK,OK-072,Окей 72,\"г. Москва, ул. Мира, д. 72\",Москва,Москва,,55.7,37.6,,\n" +
		"MG,MG-02-1015,Магнит 1015,\"г. Москва, ул. Тверская, д. 15\",Москва,Москва,,55.7,37.6,,\n",
	"contacts":   "client,object,name,role,email,phone\nVR,VR-001,Иванова Анна,store_director,vr001@vr.example,+7 916 000-00-01\n",
	"categories": "code,name,competence,sla_hours,keywords\nrefrigeration,Холодильное оборудование,refrigeration,3,холодил|витрин\nelectrical,Электрика,electrical,8,электр|розетк\n",
}

// Env is a running connector.
type Env struct {
	T     *testing.T
	Store *store.Store
	Inbox *ingest.Inbox
	Proc  *pipeline.Processor
	Reg   *connectors.Registry
	Conn  connectors.Connector
	Out   *outbox.Dispatcher
}

// New sets up c with mapping m.
func New(t *testing.T, c connectors.Connector, m connectors.Mapping) *Env {
	ctx := context.Background()
	st := pgtest.Store(t)
	for _, kind := range []string{"clients", "engineers", "objects", "contacts", "categories"} {
		_, err := st.Import(ctx, kind, kind+".csv", strings.NewReader(reference[kind]), nil)
		require.NoError(t, err, kind)
	}
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	now := clocktest.Clock(t)
	proc := pipeline.NewProcessor(rt, nil, Moscow(t), now)
	reg := connectors.NewRegistry()
	require.NoError(t, reg.Add(c, m))
	proc.HandleSource(flow.SourceConnector, reg.Parse)
	proc.OnTicket(reg.TicketHook)
	out := outbox.New(st, outbox.Config{PollInterval: 10 * time.Millisecond, BaseDelay: 30 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxAttempts: 10, SendTimeout: 2 * time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	out.Register(store.OutboxConnector, outbox.SenderFunc(reg.Send))
	return &Env{T: t, Store: st, Inbox: ingest.NewInbox(st, nil, now), Proc: proc, Reg: reg, Conn: c, Out: out}
}

// Moscow is the zone the fake desks write their dates in; a connector under
// test is given it as its Location, as serve gives intake.timezone.
func Moscow(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	return loc
}

// Runner returns a pull runner for the connector.
func (e *Env) Runner() *connectors.Runner {
	return &connectors.Runner{Conn: e.Conn, Store: e.Store, Inbox: e.Inbox, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// Process runs the stages of every pending item inline, oldest first.
func (e *Env) Process() {
	ctx := context.Background()
	ids, err := e.Store.PendingItems(ctx, -time.Hour, 1000)
	require.NoError(e.T, err)
	for _, id := range ids {
		require.NoError(e.T, e.Store.InTx(ctx, func(tx pgx.Tx) error { return e.Proc.RunInline(ctx, tx, id) }))
	}
}

// Ticket returns the ticket of the chain's number.
func (e *Env) Ticket(external string) *store.Ticket {
	t, err := store.TicketByExternal(context.Background(), e.Store.Pool, e.Conn.Client(), external)
	require.NoError(e.T, err)
	return t
}

// SetState changes a ticket's state and queues its push, as the lifecycle
// does on a transition.
func (e *Env) SetState(t *store.Ticket, state string) {
	ctx := context.Background()
	require.NoError(e.T, e.Store.InTx(ctx, func(tx pgx.Tx) error {
		if err := store.ApplyFollowUp(ctx, tx, t.ID, nil, nil, state); err != nil {
			return err
		}
		nt, err := store.TicketByID(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		_, err = e.Reg.QueuePush(ctx, tx, nt, "", "test:"+state)
		return err
	}))
}

// Deliver runs the dispatcher until no push is pending (or fails the test).
func (e *Env) Deliver(timeout time.Duration) []store.OutboxRow {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Out.Run(ctx) }()
	require.Eventually(e.T, func() bool {
		rows, _ := e.Store.ListOutbox(context.Background(), store.OutboxFilter{State: store.OutboxPending})
		return len(rows) == 0
	}, timeout, 10*time.Millisecond)
	cancel()
	require.NoError(e.T, <-done)
	rows, err := e.Store.ListOutbox(context.Background(), store.OutboxFilter{})
	require.NoError(e.T, err)
	return rows
}
