package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type rowQuerier = Querier

// one reads the single row sql selects into a T. No row is ErrNotFound,
// named by what (e.g. "item 12"); what "" gives ErrNotFound alone.
func one[T any](ctx context.Context, q rowQuerier, what, sql string, args ...any) (*T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[T])
	if errors.Is(err, pgx.ErrNoRows) {
		if what == "" {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return v, err
}

// counts reads rows of (key, count) into a map, starting from base.
func counts(ctx context.Context, q rowQuerier, base map[string]int, sql string, args ...any) (map[string]int, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for k, v := range base {
		out[k] = v
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// oneValue reads the single value of the single row sql selects. No row is
// ErrNotFound.
func oneValue[T any](ctx context.Context, q rowQuerier, sql string, args ...any) (T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[T])
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	return v, err
}
