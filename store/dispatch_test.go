package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// slaWindow is lifecycle's rule as the store is given it.
func slaWindow(now time.Time) store.SLAWindow {
	w := store.SLAWindow{AtRisk: lifecycle.AtRisk, Now: now}
	for _, s := range lifecycle.States {
		if s.Open() {
			w.Open = append(w.Open, string(s))
		}
	}
	return w
}

// dispatchTicket stores a ticket of demo store PU/0127 with its own source
// item.
func dispatchTicket(t *testing.T, st *store.Store, n int, state string, engineer *string, due, slaDue *time.Time, created time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error {
		var item int64
		if err := tx.QueryRow(ctx, `INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size, received_at)
			VALUES ('mail', $1, $1, '\x00', 'x', 1, $2) RETURNING id`, fmt.Sprintf("dispatch/%d", n), created).Scan(&item); err != nil {
			return err
		}
		var err error
		id, _, err = store.CreateTicket(ctx, tx, store.NewTicket{Client: "PU", Object: "0127", SourceItem: item, State: state,
			Engineer: engineer, Due: due, SLADue: slaDue, Problem: fmt.Sprintf("ticket %d", n)})
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE tickets SET created_at = $2 WHERE id = $1`, id, created)
		return err
	}))
	return id
}

// The counts and the filters place tickets against their deadlines exactly
// as lifecycle.SLAOf does, on every side of every boundary: each open and
// closed state, a deadline from sla_due or only from due, just past, at,
// just inside and just outside the at-risk span.
func TestDispatchSLAAgreesWithLifecycle(t *testing.T) {
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	ctx := context.Background()
	now := clocktest.Now(t).UTC().Truncate(time.Second)
	offsets := []time.Duration{-48 * time.Hour, -time.Second, 0, time.Second, lifecycle.AtRisk - time.Second, lifecycle.AtRisk,
		lifecycle.AtRisk + time.Second, 30 * time.Hour}
	eng := "ENG-0001"
	want := map[lifecycle.SLA]int{}
	unassigned, n := 0, 0
	for _, state := range lifecycle.States {
		for k, off := range offsets {
			d := now.Add(off)
			later := d.Add(100 * time.Hour)
			var due, slaDue *time.Time
			switch k % 3 {
			case 0: // only the chain's due date
				due = &d
			case 1: // the SLA deadline wins over a later due date
				slaDue, due = &d, &later
			case 2:
				slaDue = &d
			}
			var who *string
			if k%2 == 0 {
				who = &eng
			} else if state.Open() {
				unassigned++
			}
			n++
			dispatchTicket(t, st, n, string(state), who, due, slaDue, now.Add(-time.Hour))
			deadline := slaDue
			if deadline == nil {
				deadline = due
			}
			want[lifecycle.SLAOf(state, deadline, now)]++
		}
	}
	// A ticket with no deadline at all is never overdue nor at risk.
	n++
	dispatchTicket(t, st, n, "new", &eng, nil, nil, now.Add(-time.Hour))
	want[lifecycle.SLAOf(lifecycle.New, nil, now)]++
	require.Positive(t, want[lifecycle.SLAOverdue])
	require.Positive(t, want[lifecycle.SLAAtRisk])

	w := slaWindow(now)
	c, err := st.CountDispatch(ctx, w)
	require.NoError(t, err)
	assert.Equal(t, want[lifecycle.SLAOverdue], c.Overdue, "overdue")
	assert.Equal(t, want[lifecycle.SLAAtRisk], c.AtRisk, "at risk")
	assert.Equal(t, len(offsets), c.AwaitingApproval)
	assert.Equal(t, unassigned, c.Unassigned)

	// The list's filters select the tickets SLAOf places so, one by one.
	for _, standing := range []lifecycle.SLA{lifecycle.SLAOverdue, lifecycle.SLAAtRisk} {
		rows, more, err := st.TicketPage(ctx, store.TicketFilter{SLA: string(standing), Window: w, Limit: 500})
		require.NoError(t, err)
		assert.False(t, more)
		assert.Len(t, rows, want[standing], standing)
		for _, r := range rows {
			deadline := r.SLADue
			if deadline == nil {
				deadline = r.Due
			}
			assert.Equal(t, standing, lifecycle.SLAOf(lifecycle.State(r.State), deadline, now), "ticket %d", r.ID)
		}
	}
}

// The ticket list pages by id both ways and keeps its filters; names come
// with the codes.
func TestTicketPage(t *testing.T) {
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	ctx := context.Background()
	now := clocktest.Now(t).UTC()
	eng := "ENG-0001"
	var ids []int64
	for i := range 7 {
		who := &eng
		if i%2 == 1 {
			who = nil
		}
		ids = append(ids, dispatchTicket(t, st, i, "assigned", who, nil, nil, now.Add(time.Duration(i-7)*24*time.Hour)))
	}
	w := slaWindow(now)
	page1, more, err := st.TicketPage(ctx, store.TicketFilter{Window: w, Limit: 3})
	require.NoError(t, err)
	require.True(t, more)
	require.Len(t, page1, 3)
	assert.Equal(t, []int64{ids[6], ids[5], ids[4]}, []int64{page1[0].ID, page1[1].ID, page1[2].ID})
	assert.Equal(t, "Торговая сеть «Пятый угол»", page1[0].ClientName)
	assert.NotEmpty(t, page1[0].EngineerName)
	assert.Empty(t, page1[1].EngineerName)

	page2, more, err := st.TicketPage(ctx, store.TicketFilter{Window: w, Limit: 3, Before: page1[2].ID})
	require.NoError(t, err)
	assert.True(t, more)
	assert.Equal(t, []int64{ids[3], ids[2], ids[1]}, []int64{page2[0].ID, page2[1].ID, page2[2].ID})

	back, more, err := st.TicketPage(ctx, store.TicketFilter{Window: w, Limit: 3, After: page2[0].ID})
	require.NoError(t, err)
	assert.False(t, more, "nothing newer than the first page")
	assert.Equal(t, page1[0].ID, back[0].ID)
	assert.Equal(t, page1[2].ID, back[2].ID)

	none, _, err := st.TicketPage(ctx, store.TicketFilter{Window: w, Engineer: store.NoEngineer})
	require.NoError(t, err)
	assert.Len(t, none, 3)
	from, to := now.Add(-5*24*time.Hour), now.Add(-2*24*time.Hour)
	period, _, err := st.TicketPage(ctx, store.TicketFilter{Window: w, CreatedFrom: &from, CreatedTo: &to, Engineer: eng})
	require.NoError(t, err)
	require.Len(t, period, 2, "days -5 and -3 of -5..-3 are ENG-0001's")
	assert.Equal(t, ids[4], period[0].ID)
	assert.Equal(t, ids[2], period[1].ID)
	other, _, err := st.TicketPage(ctx, store.TicketFilter{Window: w, Client: "PU", Object: "0135"})
	require.NoError(t, err)
	assert.Empty(t, other)
	_, _, err = st.TicketPage(ctx, store.TicketFilter{Window: w, SLA: "late"})
	assert.Error(t, err)
}
