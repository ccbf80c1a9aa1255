package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// ConnectorCursor returns where a connector's pull stands ("" before the
// first pull).
func (s *Store) ConnectorCursor(ctx context.Context, connector string) (string, error) {
	var c string
	err := s.Pool.QueryRow(ctx, `SELECT cursor FROM connector_cursors WHERE connector = $1`, connector).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return c, err
}

// SaveConnectorCursor records a connector's cursor in the transaction that
// stores the records pulled up to it: both are committed or neither.
func SaveConnectorCursor(ctx context.Context, tx pgx.Tx, connector, cursor string) error {
	_, err := tx.Exec(ctx, `INSERT INTO connector_cursors (connector, cursor) VALUES ($1, $2)
		ON CONFLICT (connector) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`, connector, cursor)
	return err
}
