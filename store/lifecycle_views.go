package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/lifecycle"
)

// TicketLifecycle is everything the lifecycle knows about a ticket.
type TicketLifecycle struct {
	Ticket    *Ticket              `json:"ticket"`
	Tasks     []lifecycle.Task     `json:"tasks"`
	Offers    []lifecycle.Offer    `json:"offers"`
	Approvals []lifecycle.Approval `json:"approvals"`
	Timers    []lifecycle.Timer    `json:"timers"`
	Events    []TicketEvent        `json:"events"`
	Durations []StateSpan          `json:"durations"`
}

// StateSpan is time spent in one state.
type StateSpan struct {
	TaskID    *int64     `db:"task_id" json:"task_id"`
	State     string     `db:"state" json:"state"`
	EnteredAt time.Time  `db:"entered_at" json:"entered_at"`
	LeftAt    *time.Time `db:"left_at" json:"left_at"`
}

// LifecycleOf reads a ticket's tasks, offers, approvals, timers, history and
// state durations.
func (s *Store) LifecycleOf(ctx context.Context, ticketID int64) (*TicketLifecycle, error) {
	t, err := TicketByID(ctx, s.Pool, ticketID)
	if err != nil {
		return nil, err
	}
	out := &TicketLifecycle{Ticket: t}
	if out.Tasks, err = ticketTasks(ctx, s.Pool, ticketID); err != nil {
		return nil, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT o.task_id, o.engineer, o.round, o.state, o.offered_at, o.decided_at FROM task_offers o
		JOIN engineer_tasks k ON k.id = o.task_id WHERE k.ticket_id = $1 ORDER BY o.task_id, o.round, o.engineer`, ticketID)
	if err != nil {
		return nil, err
	}
	if out.Offers, err = pgx.CollectRows(rows, pgx.RowToStructByName[lifecycle.Offer]); err != nil {
		return nil, err
	}
	if out.Approvals, err = s.Approvals(ctx, ticketID); err != nil {
		return nil, err
	}
	if out.Timers, err = s.Timers(ctx, ticketID); err != nil {
		return nil, err
	}
	if out.Events, err = s.TicketEvents(ctx, ticketID); err != nil {
		return nil, err
	}
	rows, err = s.Pool.Query(ctx, `SELECT task_id, state, entered_at, left_at FROM state_durations WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, err
	}
	if out.Durations, err = pgx.CollectRows(rows, pgx.RowToStructByName[StateSpan]); err != nil {
		return nil, err
	}
	return out, nil
}

// DurationStat is the time tickets spent in a state, for one group.
type DurationStat struct {
	Group      string  `json:"group"`
	State      string  `json:"state"`
	Count      int     `json:"count"`
	AvgSeconds float64 `json:"avg_seconds"`
	P90Seconds float64 `json:"p90_seconds"`
	MaxSeconds float64 `json:"max_seconds"`
}

// DurationStats sums the time tickets (not tasks) spent in each state,
// grouped by "client", "region" or "category", over rows entered since.
// Rows still open count up to now.
func (s *Store) DurationStats(ctx context.Context, by string, since time.Time) ([]DurationStat, error) {
	switch by {
	case "client", "region", "category":
	default:
		return nil, fmt.Errorf("group by %q: not one of client, region, category", by)
	}
	rows, err := s.Pool.Query(ctx, `
		SELECT `+by+`, state, count(*),
			avg(extract(epoch FROM coalesce(left_at, now()) - entered_at))::float8,
			(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(left_at, now()) - entered_at)))::float8,
			max(extract(epoch FROM coalesce(left_at, now()) - entered_at))::float8
		FROM state_durations WHERE task_id IS NULL AND entered_at >= $1
		GROUP BY 1, 2 ORDER BY 1, 2`, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DurationStat
	for rows.Next() {
		var d DurationStat
		if err := rows.Scan(&d.Group, &d.State, &d.Count, &d.AvgSeconds, &d.P90Seconds, &d.MaxSeconds); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
