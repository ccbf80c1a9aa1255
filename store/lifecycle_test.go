package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// TestLifecycleWalk takes one ticket through every state but cancelled
// (a second ticket ends there: closed and cancelled are both final), tries
// the illegal moves on the way, and prints the history.
func TestLifecycleWalk(t *testing.T) {
	e := newLCEnv(t, 4, func(c *lifecycle.Config) {
		c.Approvals = map[string][]lifecycle.ApprovalStep{"PU": {{Role: "regional_director", ByRegion: true}, {Role: "central_office"}}}
	})
	ctx, lc := e.ctx, e.lc
	illegal := func(err error, want error) {
		t.Helper()
		require.Error(t, err)
		assert.ErrorIs(t, err, want)
		t.Logf("refused as expected: %v", err)
	}

	id := e.ticket("0127", "WO-1", routing.ModeOffer, 4)
	require.Equal(t, "awaiting_approval", e.state(id))
	illegal(lc.Close(ctx, id, "dispatcher:anna", ""), lifecycle.ErrInvalidTransition)
	apps, err := e.st.Approvals(ctx, id)
	require.NoError(t, err)
	require.Len(t, apps, 2)
	assert.Equal(t, "rd.077@pyatugol.ru", apps[0].ContactEmail)
	assert.Equal(t, "pending", apps[0].State)
	illegal(lc.Decide(ctx, apps[1].ID, true, "co@pyatugol.ru", ""), lifecycle.ErrApprovalClosed) // not asked yet
	illegal(lc.Decide(ctx, apps[0].ID, true, "someone@else", ""), lifecycle.ErrNotAssignee)
	require.NoError(t, lc.Decide(ctx, apps[0].ID, true, "rd.077@pyatugol.ru", "согласовано"))
	require.Equal(t, "awaiting_approval", e.state(id))
	require.NoError(t, lc.Decide(ctx, apps[1].ID, true, "CO@pyatugol.ru", ""))

	// Approved: offered to the top 3 of the 4 engineers.
	require.Equal(t, "offered", e.state(id))
	k := e.lastTask(id)
	require.Equal(t, "offer", k.Mode)
	illegal(lc.Start(ctx, k.ID, "ENG-0001", "engineer:ENG-0001"), lifecycle.ErrNotAssignee)
	lcOf, err := e.st.LifecycleOf(ctx, id)
	require.NoError(t, err)
	require.Len(t, lcOf.Offers, 3)
	for _, o := range lcOf.Offers {
		illegal(lc.Reject(ctx, k.ID, o.Engineer, "engineer:"+o.Engineer, ""), lifecycle.ErrReasonRequired)
		require.NoError(t, lc.Reject(ctx, k.ID, o.Engineer, "engineer:"+o.Engineer, "далеко, не успею"))
	}
	// All three declined: round 2 goes to the last candidate; he lets it time out.
	lcOf, err = e.st.LifecycleOf(ctx, id)
	require.NoError(t, err)
	require.Len(t, lcOf.Offers, 4)
	e.clock.Advance(11 * time.Minute)
	_, err = lc.FireDue(ctx) // round 2 times out; round 1's timer is obsolete
	require.NoError(t, err)
	require.Equal(t, "rejected", e.state(id), "nobody left: the dispatchers' queue")

	// A dispatcher sends it to ENG-0002, who rejects: nobody else is left.
	require.NoError(t, lc.Dispatch(ctx, id, "dispatcher:anna", "ENG-0002"))
	require.Equal(t, "assigned", e.state(id))
	k = e.lastTask(id)
	illegal(lc.Start(ctx, k.ID, "ENG-0002", "engineer:ENG-0002"), lifecycle.ErrInvalidTransition)
	illegal(lc.Accept(ctx, k.ID, "ENG-0003", "engineer:ENG-0003"), lifecycle.ErrNotAssignee)
	require.NoError(t, lc.Reject(ctx, k.ID, "ENG-0002", "engineer:ENG-0002", "нет запчастей"))
	require.Equal(t, "rejected", e.state(id))

	// ENG-0003 takes it, postpones, is woken, starts and completes.
	require.NoError(t, lc.Dispatch(ctx, id, "dispatcher:anna", "ENG-0003"))
	illegal(lc.Dispatch(ctx, id, "dispatcher:anna", "ENG-0004"), lifecycle.ErrInvalidTransition)
	k = e.lastTask(id)
	require.NoError(t, lc.Accept(ctx, k.ID, "ENG-0003", "link:ENG-0003"))
	require.Equal(t, "accepted", e.state(id))
	illegal(lc.Accept(ctx, k.ID, "ENG-0003", "engineer:ENG-0003"), lifecycle.ErrInvalidTransition)
	illegal(lc.Postpone(ctx, k.ID, "ENG-0003", "engineer:ENG-0003", "", e.clock.Now().Add(time.Hour)), lifecycle.ErrReasonRequired)
	illegal(lc.Postpone(ctx, k.ID, "ENG-0003", "engineer:ENG-0003", "магазин закрыт", e.clock.Now().Add(-time.Hour)), lifecycle.ErrUntilRequired)
	require.NoError(t, lc.Postpone(ctx, k.ID, "ENG-0003", "engineer:ENG-0003", "магазин закрыт на инвентаризацию", e.clock.Now().Add(2*time.Hour)))
	require.Equal(t, "postponed", e.state(id))
	illegal(lc.Start(ctx, k.ID, "ENG-0003", "engineer:ENG-0003"), lifecycle.ErrInvalidTransition)
	e.clock.Advance(2*time.Hour + time.Second)
	_, err = lc.FireDue(ctx)
	require.NoError(t, err)
	require.Equal(t, "accepted", e.state(id), "back to the state it left")
	require.NoError(t, lc.Start(ctx, k.ID, "ENG-0003", "engineer:ENG-0003"))
	require.Equal(t, "in_progress", e.state(id))
	illegal(lc.Complete(ctx, k.ID, "ENG-0003", "engineer:ENG-0003", lifecycle.Completion{ProblemFound: "утечка"}), lifecycle.ErrWorkDoneRequired)
	_, err = lc.AddAttachment(ctx, k.ID, "ENG-0003", "фото-до.jpg", "image/jpeg", []byte("\xff\xd8 photo"))
	require.NoError(t, err)
	require.NoError(t, lc.Complete(ctx, k.ID, "ENG-0003", "engineer:ENG-0003", lifecycle.Completion{
		ProblemFound: "Утечка фреона в испарителе", WorkDone: "Устранена утечка, заправка фреоном R404A 1,2 кг, проверка температуры"}))
	require.Equal(t, "done", e.state(id))
	illegal(lc.Reject(ctx, k.ID, "ENG-0003", "engineer:ENG-0003", "передумал"), lifecycle.ErrInvalidTransition)
	require.NoError(t, lc.Close(ctx, id, "dispatcher:anna", "подтверждено сетью"))
	require.Equal(t, "closed", e.state(id))
	illegal(lc.Cancel(ctx, id, "dispatcher:anna", "ошибка"), lifecycle.ErrFinal)

	// The chain heard of completion through its connector; the QC ticket
	// follows 72 hours later.
	pushes := e.outbox(store.OutboxConnector)
	require.Len(t, pushes, 1)
	assert.Contains(t, string(pushes[0].Payload), `"status": "done"`)
	e.clock.Advance(72 * time.Hour)
	_, err = lc.FireDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM ticket_links WHERE kind = 'qc' AND source = $1`, id))

	// Every state the ticket went through, from its own history.
	seen := map[string]bool{}
	evs, err := e.st.TicketEvents(ctx, id)
	require.NoError(t, err)
	for _, ev := range evs {
		if ev.Kind != "" && !strings.HasPrefix(ev.Kind, "task_") && ev.ToState != "" {
			seen[ev.ToState] = true
		}
	}
	for _, s := range []string{"new", "awaiting_approval", "offered", "rejected", "assigned", "accepted", "postponed", "in_progress", "done", "closed"} {
		assert.True(t, seen[s], "ticket never entered %s", s)
	}
	t.Logf("history of ticket %d:\n%s", id, e.history(id))

	// A second ticket: the regional director declines; that cancels it.
	id2 := e.ticket("0127", "WO-2", routing.ModeDirect, 4)
	apps, err = e.st.Approvals(ctx, id2)
	require.NoError(t, err)
	illegal(lc.Decide(ctx, apps[0].ID, false, "rd.077@pyatugol.ru", ""), lifecycle.ErrReasonRequired)
	require.NoError(t, lc.Decide(ctx, apps[0].ID, false, "rd.077@pyatugol.ru", "работы не в бюджете квартала"))
	require.Equal(t, "cancelled", e.state(id2))
	apps, err = e.st.Approvals(ctx, id2)
	require.NoError(t, err)
	assert.Equal(t, "skipped", apps[1].State)
	t.Logf("history of ticket %d:\n%s", id2, e.history(id2))

	// Time in each state was recorded, per client.
	stats, err := e.st.DurationStats(ctx, "client", lcStart.Add(-time.Hour))
	require.NoError(t, err)
	require.NotEmpty(t, stats)
	for _, s := range stats {
		t.Logf("%s %-18s n=%d avg=%.0fs", s.Group, s.State, s.Count, s.AvgSeconds)
	}
}

// TestLifecycleChainCancel: the chain's cancellation (a follow-up the
// pipeline applied) ends the open task and tells its engineer.
func TestLifecycleChainCancel(t *testing.T) {
	e := newLCEnv(t, 4, nil)
	id := e.ticket("0128", "WO-9", routing.ModeDirect, 4)
	k := e.lastTask(id)
	require.Equal(t, "assigned", k.State)
	require.NoError(t, e.st.InTx(e.ctx, func(tx pgx.Tx) error {
		if err := store.ApplyFollowUp(e.ctx, tx, id, nil, nil, "cancelled"); err != nil {
			return err
		}
		return e.lc.OnTicket(e.ctx, store.LifecycleTx(tx), id, false, "cancelled", nil)
	}))
	assert.Equal(t, "cancelled", e.lastTask(id).State)
	assert.Equal(t, "cancelled", e.state(id))
	n := e.count(`SELECT count(*) FROM outbox WHERE payload->>'type' = 'task.cancelled'`)
	assert.Equal(t, 1, n)
}

// TestOfferRace: 20 engineers accept the same offer at once; exactly one
// wins, the other 19 are told someone else was first.
func TestOfferRace(t *testing.T) {
	e := newLCEnv(t, 24, func(c *lifecycle.Config) { c.OfferN = 20 })
	id := e.ticket("0127", "WO-RACE", routing.ModeOffer, 4)
	k := e.lastTask(id)
	lcOf, err := e.st.LifecycleOf(e.ctx, id)
	require.NoError(t, err)
	require.Len(t, lcOf.Offers, 20)

	start := make(chan struct{})
	errs := make([]error, len(lcOf.Offers))
	var wg sync.WaitGroup
	for i, o := range lcOf.Offers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = e.lc.Accept(e.ctx, k.ID, o.Engineer, "engineer:"+o.Engineer)
		}()
	}
	close(start)
	wg.Wait()

	winner := ""
	for i, err := range errs {
		if err == nil {
			require.Empty(t, winner, "two winners")
			winner = lcOf.Offers[i].Engineer
			continue
		}
		require.ErrorIs(t, err, lifecycle.ErrTaken, lcOf.Offers[i].Engineer)
	}
	require.NotEmpty(t, winner)
	t.Logf("winner: %s", winner)
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM task_offers WHERE task_id = $1 AND state = 'accepted'`, k.ID))
	assert.Equal(t, 19, e.count(`SELECT count(*) FROM task_offers WHERE task_id = $1 AND state = 'withdrawn'`, k.ID))
	got := e.lastTask(id)
	assert.Equal(t, "accepted", got.State)
	assert.Equal(t, winner, *got.Engineer)
	assert.Equal(t, "accepted", e.state(id))
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND kind = 'task_accept'`, id))
	assert.Equal(t, 19, e.count(`SELECT count(*) FROM outbox WHERE kind = 'webhook' AND payload->>'type' = 'task.withdrawn'`))
}

// TestTimersRestart stops a scheduler in the middle of a batch of due
// timers (a crash after an effect, before its commit), then starts two new
// schedulers at once: every due timer fires exactly once.
func TestTimersRestart(t *testing.T) {
	e := newLCEnv(t, 24, nil)
	var ids []int64
	for i := range 6 {
		mode := routing.ModeOffer
		if i%2 == 1 {
			mode = routing.ModeDirect
		}
		ids = append(ids, e.ticket([]string{"0127", "0128", "0129"}[i%3], "", mode, 1))
	}
	// One direct task is accepted and postponed for 30 minutes.
	k := e.lastTask(ids[1])
	require.NoError(t, e.lc.Accept(e.ctx, k.ID, *k.Engineer, "engineer"))
	require.NoError(t, e.lc.Postpone(e.ctx, k.ID, *k.Engineer, "engineer", "нет доступа", e.clock.Now().Add(30*time.Minute)))

	// 50 minutes on: offers (10 min), the wake (30 min) and the at-risk
	// escalations (48 min) are due. The first scheduler dies on its
	// fourth timer, after the effect and before the commit.
	e.clock.Advance(50 * time.Minute)
	crash := errors.New("killed")
	calls := 0
	signer, _ := lifecycle.NewSigner([]byte(strings.Repeat("k", 32)))
	dying := lifecycle.NewService(crashingStore{e.st, func() error {
		calls++
		if calls == 4 {
			return crash
		}
		return nil
	}}, e.cfg, signer, pipeline.LifecycleRouter(func() *routing.Directory { return e.dir }), e.clock.Now)
	n, err := dying.FireDue(e.ctx)
	require.ErrorIs(t, err, crash)
	require.Equal(t, 3, n)
	firedBefore := e.count(`SELECT count(*) FROM lifecycle_timers WHERE fired_at IS NOT NULL`)
	require.Equal(t, 3, firedBefore, "the crashed timer's effect and mark rolled back together")

	// Restart: two replicas at once, past every deadline.
	e.clock.Advance(2 * time.Hour)
	var replicas [2]*lifecycle.Service
	for i := range replicas {
		replicas[i] = lifecycle.NewService(e.st, e.cfg, signer, pipeline.LifecycleRouter(func() *routing.Directory { return e.dir }), e.clock.Now)
	}
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i, r := range replicas {
		wg.Add(1)
		go func() { defer wg.Done(); counts[i], errs[i] = r.FireDue(e.ctx) }()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	t.Logf("fired after restart: replica A %d, replica B %d", counts[0], counts[1])

	// Nothing missed: no timer due now is unfired. Nothing twice: one
	// effect per timer.
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM lifecycle_timers WHERE fired_at IS NULL AND due_at <= $1`, e.clock.Now()))
	total := e.count(`SELECT count(*) FROM lifecycle_timers WHERE fired_at IS NOT NULL`)
	assert.Equal(t, total, firedBefore+counts[0]+counts[1])
	for _, id := range ids {
		for _, kind := range []string{"at_risk", "breached"} {
			n := e.count(`SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND kind = 'escalation' AND reason = $2`, id, kind)
			assert.LessOrEqual(t, n, 1, "ticket %d %s", id, kind)
		}
		assert.Equal(t, 1, e.count(`SELECT count(*) FROM ticket_events WHERE ticket_id = $1 AND kind = 'escalation' AND reason = 'breached'`, id),
			"ticket %d breached once", id)
	}
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM (SELECT data->>'task', data->>'round' FROM ticket_events WHERE kind = 'offer_moved'
		GROUP BY 1, 2 HAVING count(*) > 1) d`), "an offer round moved twice")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM ticket_events WHERE kind = 'task_resume'`), "woken once")
	assert.Equal(t, e.count(`SELECT count(*) FROM ticket_events WHERE kind = 'escalation'`),
		e.count(`SELECT count(*) FROM outbox WHERE target = 'dispatch@tehservis.example' AND dedup_key IN
			(SELECT 'lc:disp:' || id || ':dispatch@tehservis.example' FROM ticket_events WHERE kind = 'escalation')`))
	n, err = replicas[0].FireDue(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "a third run finds nothing")
	rows, err := e.st.Pool.Query(e.ctx, `SELECT key, outcome FROM lifecycle_timers ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var key, outcome string
		require.NoError(t, rows.Scan(&key, &outcome))
		t.Logf("%-16s %s", key, outcome)
	}
}

// TestNotificationsOnlyToConfiguredChannels: with email off (no SMTP relay)
// the same events queue no email at all, while the webhooks still go.
func TestNotificationsOnlyToConfiguredChannels(t *testing.T) {
	cases := []struct {
		name  string
		off   map[string]string
		email bool
	}{
		{"every channel on", nil, true},
		{"email off", map[string]string{store.OutboxEmail: "no SMTP configured"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newLCEnv(t, 4, func(c *lifecycle.Config) { c.ChannelsOff = tc.off })
			id := e.ticket("0128", "WO-9", routing.ModeDirect, 4)
			require.Equal(t, "assigned", e.lastTask(id).State)
			require.NoError(t, e.st.InTx(e.ctx, func(tx pgx.Tx) error {
				if err := store.ApplyFollowUp(e.ctx, tx, id, nil, nil, "cancelled"); err != nil {
					return err
				}
				return e.lc.OnTicket(e.ctx, store.LifecycleTx(tx), id, false, "cancelled", nil)
			}))
			emails := len(e.outbox(store.OutboxEmail))
			assert.NotEmpty(t, e.outbox(store.OutboxWebhook), "the engineer webhook is configured")
			if tc.email {
				assert.Positive(t, emails)
				assert.Zero(t, e.lc.Skipped(store.OutboxEmail))
				return
			}
			assert.Zero(t, emails, "no email is queued when no email sender is configured")
			assert.Positive(t, e.lc.Skipped(store.OutboxEmail), "the skipped notifications are counted")
			assert.Zero(t, e.lc.Skipped(store.OutboxWebhook))
		})
	}
}

// crashingStore is the store with a crash injected into the scheduler: after
// each timer's effect and its mark as fired, before the commit, it calls
// after, and an error from after stops the transaction there.
type crashingStore struct {
	*store.Store
	after func() error
}

func (c crashingStore) InLifecycleTx(ctx context.Context, fn func(lifecycle.Tx) error) error {
	return c.Store.InLifecycleTx(ctx, func(tx lifecycle.Tx) error { return fn(crashingTx{tx, c.after}) })
}

type crashingTx struct {
	lifecycle.Tx
	after func() error
}

func (c crashingTx) FinishTimer(ctx context.Context, id int64, at time.Time, outcome string) error {
	if err := c.Tx.FinishTimer(ctx, id, at, outcome); err != nil {
		return err
	}
	return c.after()
}
