package pipeline_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/drift"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/pipeline/reprocesstest"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// onboardingFixture is a chain's mail through its onboarding: before it, an
// order and its update became two tickets without the chain's number; after
// the first format, mail in the template the chain changed to fell to the
// dispatchers; one order was read well. The processor then has the fixed
// format.
type onboardingFixture struct {
	st   *store.Store
	proc *pipeline.Processor
	ids  map[string]int64
}

func onboarding(t *testing.T) onboardingFixture {
	t.Helper()
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	proc, ids := reprocesstest.Onboard(t, st, clocktest.Clock(t))
	return onboardingFixture{st, proc, ids}
}

func (f onboardingFixture) outcome(t *testing.T, name string) *pipeline.Outcome {
	t.Helper()
	o, err := pipeline.ReadOutcome(context.Background(), f.st.Pool, f.ids[name])
	require.NoError(t, err)
	return o
}

func (f onboardingFixture) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	require.NoError(t, f.st.Pool.QueryRow(context.Background(), sql).Scan(&n))
	return n
}

func byItem(rep *pipeline.ReprocessReport, id int64) pipeline.ReprocessItem {
	for _, it := range rep.Items {
		if it.ItemID == id {
			return it
		}
	}
	return pipeline.ReprocessItem{}
}

func TestReprocessAfterOnboarding(t *testing.T) {
	ctx := context.Background()
	f := onboarding(t)
	// What onboarding left behind.
	order, update := f.outcome(t, "order-5001"), f.outcome(t, "update-5001")
	require.Equal(t, "ticket", order.Kind)
	require.Equal(t, "ticket", update.Kind, "the update became a ticket of its own")
	require.Nil(t, order.ExternalID)
	require.Equal(t, "unmatched", f.outcome(t, "renamed-5003").Kind)
	require.Equal(t, "unmatched", f.outcome(t, "renamed-5004").Kind)
	require.Equal(t, "ticket", f.outcome(t, "order-5005").Kind)
	tickets := f.count(t, `SELECT count(*) FROM tickets`)
	events := f.count(t, `SELECT count(*) FROM ticket_events`)
	var seq int64
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT last_value FROM tickets_id_seq`).Scan(&seq))

	// The preview writes nothing and takes no ticket number.
	prev, err := f.proc.Reprocess(ctx, f.st, store.ReprocessFilter{Client: "SB"}, "ops", true)
	require.NoError(t, err)
	require.Len(t, prev.Items, 5)
	assert.Equal(t, pipeline.ReprocessUpdated, byItem(prev, f.ids["order-5001"]).Action)
	assert.Equal(t, []string{"external_id"}, byItem(prev, f.ids["order-5001"]).Changed)
	merged := byItem(prev, f.ids["update-5001"])
	assert.Equal(t, pipeline.ReprocessMerged, merged.Action)
	assert.Equal(t, "follow_up", merged.Now.Outcome)
	assert.Equal(t, *order.Ticket, merged.Now.Ticket)
	created := byItem(prev, f.ids["renamed-5003"])
	assert.Equal(t, pipeline.ReprocessCreated, created.Action)
	assert.True(t, created.Now.NewTicket)
	assert.Equal(t, "APT-0051", created.Now.Object)
	assert.Equal(t, "SD-5003", created.Now.ExternalID)
	assert.Equal(t, pipeline.ReprocessUnchanged, byItem(prev, f.ids["order-5005"]).Action)
	assert.Equal(t, map[string]int{"updated": 1, "merged": 1, "created": 2, "unchanged": 1}, prev.Counts)
	assert.Equal(t, tickets, f.count(t, `SELECT count(*) FROM tickets`))
	assert.Equal(t, events, f.count(t, `SELECT count(*) FROM ticket_events`))
	assert.Equal(t, "unmatched", f.outcome(t, "renamed-5003").Kind)
	var seq2 int64
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT last_value FROM tickets_id_seq`).Scan(&seq2))
	assert.Equal(t, seq, seq2, "the preview took a ticket number")

	// Apply.
	rep, err := f.proc.Reprocess(ctx, f.st, store.ReprocessFilter{Client: "SB"}, "ops", false)
	require.NoError(t, err)
	assert.Equal(t, prev.Counts, rep.Counts)
	assert.Equal(t, tickets+2, f.count(t, `SELECT count(*) FROM tickets`), "two tickets for the two unmatched orders, nothing else")

	order2 := f.outcome(t, "order-5001")
	assert.Equal(t, "SD-5001", *order2.ExternalID)
	assert.Equal(t, *order.Ticket, *order2.Ticket)
	upd := f.outcome(t, "update-5001")
	assert.Equal(t, "follow_up", upd.Kind)
	assert.Equal(t, *order.Ticket, *upd.Ticket)
	// The wrongly created ticket is cancelled, linked, not deleted.
	wrong, err := store.TicketByNumber(ctx, f.st.Pool, *update.Ticket)
	require.NoError(t, err)
	assert.Equal(t, "cancelled", wrong.State)
	evs, err := f.st.TicketEvents(ctx, wrong.ID)
	require.NoError(t, err)
	last := evs[len(evs)-1]
	assert.Equal(t, "merged", last.Kind)
	assert.Equal(t, "ops", last.Actor)
	assert.Contains(t, string(last.Data), *order.Ticket)

	right, err := store.TicketByNumber(ctx, f.st.Pool, *order.Ticket)
	require.NoError(t, err)
	evs, err = f.st.TicketEvents(ctx, right.ID)
	require.NoError(t, err)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind+"/"+e.Actor)
	}
	assert.Contains(t, kinds, "reprocessed/ops")
	assert.Contains(t, kinds, "merged/ops")
	assert.Contains(t, kinds, "follow_up/intake")
	i := slices.IndexFunc(evs, func(e store.TicketEvent) bool {
		return e.Kind == "reprocessed" && e.Reason == "поля заявки исправлены повторной обработкой"
	})
	require.GreaterOrEqual(t, i, 0)
	assert.Contains(t, string(evs[i].Data), `"to": "SD-5001"`)
	for _, n := range []string{"renamed-5003", "renamed-5004"} {
		o := f.outcome(t, n)
		assert.Equal(t, "ticket", o.Kind, n)
		require.NotNil(t, o.Ticket)
		tk, err := store.TicketByNumber(ctx, f.st.Pool, *o.Ticket)
		require.NoError(t, err)
		evs, err := f.st.TicketEvents(ctx, tk.ID)
		require.NoError(t, err)
		var who []string
		for _, e := range evs {
			who = append(who, e.Kind+"/"+e.Actor)
		}
		assert.Equal(t, []string{"created/intake", "reprocessed/ops"}, who)
	}

	// Twice changes nothing.
	tickets, events = f.count(t, `SELECT count(*) FROM tickets`), f.count(t, `SELECT count(*) FROM ticket_events`)
	again, err := f.proc.Reprocess(ctx, f.st, store.ReprocessFilter{Client: "SB"}, "ops", false)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"unchanged": 5}, again.Counts)
	assert.Equal(t, 0, again.Changed())
	assert.Equal(t, tickets, f.count(t, `SELECT count(*) FROM tickets`))
	assert.Equal(t, events, f.count(t, `SELECT count(*) FROM ticket_events`))
}

// TestReprocessFilters: unmatched only, a period, a client.
func TestReprocessFilters(t *testing.T) {
	ctx := context.Background()
	f := onboarding(t)
	ids := func(fl store.ReprocessFilter) []int64 {
		got, err := store.ReprocessCandidates(ctx, f.st.Pool, fl)
		require.NoError(t, err)
		return got
	}
	assert.Equal(t, []int64{f.ids["renamed-5003"], f.ids["renamed-5004"]}, ids(store.ReprocessFilter{Unmatched: true}))
	assert.Len(t, ids(store.ReprocessFilter{Client: "SB"}), 5)
	assert.Empty(t, ids(store.ReprocessFilter{Client: "PU"}))
	// The inbox stamps every item with the test's fixed clock: one is moved
	// to the day before.
	from := clocktest.Now(t).Add(-24 * time.Hour)
	to := from.Add(time.Hour)
	_, err := f.st.Pool.Exec(ctx, `UPDATE inbound_items SET received_at = $2 WHERE id = $1`, f.ids["order-5005"], from.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, []int64{f.ids["order-5005"]}, ids(store.ReprocessFilter{From: &from, To: &to}))
	assert.Empty(t, ids(store.ReprocessFilter{From: &from, To: &to, Unmatched: true}))
}

// TestReprocessConcurrentRuns: two runs at once (two replicas) apply each
// change once.
func TestReprocessConcurrentRuns(t *testing.T) {
	ctx := context.Background()
	f := onboarding(t)
	tickets := f.count(t, `SELECT count(*) FROM tickets`)
	errs := make(chan error, 2)
	reps := make(chan *pipeline.ReprocessReport, 2)
	for range 2 {
		go func() {
			rep, err := f.proc.Reprocess(ctx, f.st, store.ReprocessFilter{Client: "SB"}, "ops", false)
			errs <- err
			reps <- rep
		}()
	}
	total := map[string]int{}
	for range 2 {
		require.NoError(t, <-errs)
		for k, v := range (<-reps).Counts {
			total[k] += v
		}
	}
	assert.Equal(t, tickets+2, f.count(t, `SELECT count(*) FROM tickets`))
	assert.Equal(t, 1, total["merged"])
	assert.Equal(t, 2, total["created"])
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM ticket_events WHERE kind = 'merged' AND to_state = 'cancelled'`))
}

// TestDriftAlarmClearsAfterReprocessing: the chain's renamed template leaves
// two of its format's three messages without the order's number and the
// store: the alarm is raised; after the format is fixed and the mail
// reprocessed, it clears.
func TestDriftAlarmClearsAfterReprocessing(t *testing.T) {
	ctx := context.Background()
	f := onboarding(t)
	mon := pipeline.NewDriftMonitor(f.st, f.proc, drift.Config{MinMessages: 3, Threshold: 0.5}, clocktest.Clock(t))
	rep, err := mon.Refresh(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, rep.Alarms())
	a := rep.Alarms()[0]
	assert.Equal(t, drift.KindFormat, a.Kind)
	assert.Equal(t, reprocesstest.FormatName, a.Key)
	assert.Equal(t, 3, a.Messages)
	assert.Equal(t, 2, a.Missing)
	assert.Equal(t, []int64{f.ids["renamed-5004"], f.ids["renamed-5003"]}, a.Examples)
	assert.Same(t, rep, mon.Report())
	assert.Equal(t, 1.0, gauge(t, "intake_format_drift_alarm", reprocesstest.FormatName))
	assert.InDelta(t, 2.0/3, gauge(t, "intake_format_missing_share", reprocesstest.FormatName), 1e-9)

	_, err = f.proc.Reprocess(ctx, f.st, store.ReprocessFilter{Unmatched: true}, "ops", false)
	require.NoError(t, err)
	rep, err = mon.Refresh(ctx)
	require.NoError(t, err)
	assert.Empty(t, rep.Alarms())
	assert.Equal(t, 0.0, gauge(t, "intake_format_drift_alarm", reprocesstest.FormatName))
	assert.Equal(t, 0.0, gauge(t, "intake_format_drift_alarms", ""))
	for _, s := range rep.Shares {
		if s.Key == reprocesstest.FormatName {
			assert.Zero(t, s.Missing)
		}
	}
}

// gauge reads a gauge of the default registry, by its format label ("" for
// one without labels).
func gauge(t *testing.T, name, format string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "format" && l.GetValue() == format {
					return m.GetGauge().GetValue()
				}
			}
			if format == "" && len(m.GetLabel()) == 0 {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no gauge %s{format=%q}", name, format)
	return 0
}

// TestReprocessKeepsADispatchersStore: a store a dispatcher chose for an
// unmatched item stays; reprocessing only adds what the format now reads.
func TestReprocessKeepsADispatchersStore(t *testing.T) {
	ctx := context.Background()
	f := onboarding(t)
	id := f.ids["renamed-5003"]
	require.NoError(t, f.st.InTx(ctx, func(tx pgx.Tx) error {
		_, err := f.proc.Resolve(ctx, tx, id, "SB", "APT-0008", "anna")
		return err
	}))
	rep, err := f.proc.Reprocess(ctx, f.st, store.ReprocessFilter{Client: "SB"}, "ops", false)
	require.NoError(t, err)
	it := byItem(rep, id)
	assert.Equal(t, pipeline.ReprocessUpdated, it.Action)
	assert.Equal(t, "APT-0008", it.Now.Object, "the dispatcher's store is kept")
	assert.Equal(t, "SD-5003", it.Now.ExternalID)
	assert.NotContains(t, it.Changed, "object")
}

// TestReprocessLinksToTheOrdersTicket: an unmatched update whose chain
// number is an existing ticket's becomes a follow-up of it, not a ticket.
func TestReprocessLinksToTheOrdersTicket(t *testing.T) {
	ctx := context.Background()
	f := onboarding(t)
	fixed := f.proc.Runtime()
	old, err := pipeline.LoadRuntime(ctx, f.st, append(defaults.Files(), reprocesstest.Format(false)))
	require.NoError(t, err)
	f.proc.Swap(old)
	m := reprocesstest.Renamed(5005, "54", "Вывеска снова не горит", clocktest.Now(t))
	key, mid := ingest.MailKeys(m.Raw)
	res, err := ingest.NewInbox(f.st, nil, clocktest.Clock(t)).Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "t/again", DedupKey: key, MessageID: mid, Raw: m.Raw}}, nil)
	require.NoError(t, err)
	id := res[0].ID
	require.NoError(t, f.st.InTx(ctx, func(tx pgx.Tx) error { return f.proc.RunInline(ctx, tx, id) }))
	require.Equal(t, "unmatched", f.outcome(t, "renamed-5003").Kind)
	o, err := pipeline.ReadOutcome(ctx, f.st.Pool, id)
	require.NoError(t, err)
	require.Equal(t, "unmatched", o.Kind)
	f.proc.Swap(fixed)

	tickets := f.count(t, `SELECT count(*) FROM tickets`)
	rep, err := f.proc.Reprocess(ctx, f.st, store.ReprocessFilter{Unmatched: true}, "ops", false)
	require.NoError(t, err)
	it := byItem(rep, id)
	assert.Equal(t, pipeline.ReprocessLinked, it.Action)
	assert.Equal(t, "follow_up", it.Now.Outcome)
	order := f.outcome(t, "order-5005")
	assert.Equal(t, *order.Ticket, it.Now.Ticket)
	assert.Equal(t, tickets+2, f.count(t, `SELECT count(*) FROM tickets`), "only the two orders became tickets")
}
