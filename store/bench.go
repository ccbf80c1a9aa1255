package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// What `intake bench` reads and sets in its scratch database.

// AssignedTickets counts items that created a ticket with an engineer.
func (s *Store) AssignedTickets(ctx context.Context) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items i JOIN tickets t ON t.id = i.ticket_id
		WHERE i.outcome = 'ticket' AND coalesce(t.engineer, '') <> ''`).Scan(&n)
	return n, err
}

// ItemSpan is when an item was stored and when it got its outcome.
type ItemSpan struct {
	Received, Done time.Time
}

// DoneSpans lists the stored and outcome times of every item with an
// outcome.
func (s *Store) DoneSpans(ctx context.Context) ([]ItemSpan, error) {
	rows, err := s.Pool.Query(ctx, `SELECT received_at, updated_at FROM inbound_items WHERE stage = 'done'`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ItemSpan, error) {
		var sp ItemSpan
		err := r.Scan(&sp.Received, &sp.Done)
		return sp, err
	})
}

// RaiseEngineerCapacity adds n to every engineer's limit of open tickets.
func (s *Store) RaiseEngineerCapacity(ctx context.Context, n int) error {
	_, err := s.Pool.Exec(ctx, `UPDATE engineers SET max_open = max_open + $1 WHERE max_open > 0`, n)
	return err
}

// MessageProgress is how far the item of a Message-ID got.
type MessageProgress struct {
	Stage    string
	Outcome  string
	Engineer string
	// Pipeline is the time from storing the item to its outcome.
	Pipeline time.Duration
}

// ProgressByMessageID reads the progress of the item with Message-ID mid;
// ErrNotFound while there is none.
func (s *Store) ProgressByMessageID(ctx context.Context, mid string) (*MessageProgress, error) {
	var p MessageProgress
	var outcome, engineer *string
	var secs float64
	err := s.Pool.QueryRow(ctx, `SELECT i.stage, i.outcome, t.engineer, extract(epoch FROM i.updated_at - i.received_at)::float8
		FROM inbound_items i LEFT JOIN tickets t ON t.id = i.ticket_id WHERE i.message_id = $1 ORDER BY i.id LIMIT 1`, mid).Scan(&p.Stage, &outcome, &engineer, &secs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if outcome != nil {
		p.Outcome = *outcome
	}
	if engineer != nil {
		p.Engineer = *engineer
	}
	p.Pipeline = time.Duration(secs * float64(time.Second))
	return &p, nil
}

// BackendPIDs lists the server processes connected to this database, for a
// benchmark that reads their CPU time.
func (s *Store) BackendPIDs(ctx context.Context) ([]int, error) {
	rows, err := s.Pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}
