package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the ticket page and the engineers' links show beside a ticket's
// codes: the names from the reference data.

// TicketNames are the reference data's names for a ticket's codes; empty
// when the reference data does not know the code.
type TicketNames struct {
	Client   string `db:"client_name"`
	Object   string `db:"object_name"`
	Address  string `db:"address"`
	Category string `db:"category_name"`
}

// NamesOf reads the names of a ticket's client, store and category.
func (s *Store) NamesOf(ctx context.Context, client, object string, category *string) (TicketNames, error) {
	rows, err := s.Pool.Query(ctx, `SELECT
			coalesce((SELECT name FROM clients WHERE code = $1), '') AS client_name,
			coalesce((SELECT name FROM objects WHERE client = $1 AND code = $2), '') AS object_name,
			coalesce((SELECT address FROM objects WHERE client = $1 AND code = $2), '') AS address,
			coalesce((SELECT name FROM categories WHERE code = $3), '') AS category_name`, client, object, category)
	if err != nil {
		return TicketNames{}, err
	}
	return pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[TicketNames])
}

// EngineerRef is an engineer as a dispatcher picks him.
type EngineerRef struct {
	Code   string `db:"code"`
	Name   string `db:"name"`
	Status string `db:"status"`
}

// EngineerRefs lists every engineer by name.
func (s *Store) EngineerRefs(ctx context.Context) ([]EngineerRef, error) {
	rows, err := s.Pool.Query(ctx, `SELECT code, name, status FROM engineers ORDER BY name, code`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[EngineerRef])
}

// StoreHistory lists a store's tickets created since, newest first, at
// most limit, without the ticket except.
func (s *Store) StoreHistory(ctx context.Context, client, object string, since time.Time, except int64, limit int) ([]Ticket, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE client = $1 AND object = $2 AND created_at >= $3 AND id <> $4 ORDER BY created_at DESC, id DESC LIMIT $5`,
		client, object, since, except, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Ticket])
}
