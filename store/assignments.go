package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// FirstAssignment is a ticket as it was first assigned: the engineer the
// "created" event named (else the ticket's engineer).
type FirstAssignment struct {
	TicketID  int64     `db:"id"`
	Number    string    `db:"number"`
	Client    string    `db:"client"`
	Object    string    `db:"object"`
	Category  string    `db:"category"`
	Engineer  string    `db:"engineer"`
	CreatedAt time.Time `db:"created_at"`
}

// FirstAssignments lists every ticket that was assigned when it was
// created, in order of id.
func (s *Store) FirstAssignments(ctx context.Context) ([]FirstAssignment, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT t.id, t.number, t.client, t.object, coalesce(t.category, '') AS category,
		       coalesce(e.data->>'engineer', t.engineer, '') AS engineer, t.created_at
		FROM tickets t
		LEFT JOIN ticket_events e ON e.ticket_id = t.id AND e.kind = 'created'
		WHERE coalesce(e.data->>'engineer', t.engineer, '') <> ''
		ORDER BY t.id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[FirstAssignment])
}

// EngineerLoadAt counts the tickets first assigned to engineer before
// ticket ticketID that were still open when ticketID was created: the load
// the engineer had then, recomputed from the ticket history.
func (s *Store) EngineerLoadAt(ctx context.Context, engineer string, ticketID int64) (int, error) {
	var n int
	err := s.Pool.QueryRow(ctx, `
		SELECT count(*) FROM tickets u
		WHERE u.id < $2 AND coalesce((SELECT e.data->>'engineer' FROM ticket_events e WHERE e.ticket_id = u.id AND e.kind = 'created' LIMIT 1), u.engineer) = $1
		  AND NOT EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = u.id
		                  AND e.to_state IN ('done', 'closed', 'cancelled')
		                  AND e.at <= (SELECT created_at FROM tickets WHERE id = $2))`, engineer, ticketID).Scan(&n)
	return n, err
}
