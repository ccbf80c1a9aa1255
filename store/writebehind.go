package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// WriteBehind is a transaction that holds back writes whose results nobody
// reads (a history row, an item's outcome) and sends them together with the
// next statement, or at Flush, in one round trip: on a busy server the round
// trips, not the statements, are what a pipeline transaction waits for.
// Statements still run in the order they were issued, so a read sees every
// write before it. A write that fails makes the statement it travelled with
// (or Flush) return its error.
type WriteBehind struct {
	pgx.Tx
	held  []heldWrite
	owner any
}

type heldWrite struct {
	sql   string
	args  []any
	check func(pgconn.CommandTag) error
	owner any
}

// HeldWriteError is the error of a write that was held back: Owner is what
// was set with SetOwner when the write was issued, so that a failure that
// surfaces with a later statement is still laid at the right door.
type HeldWriteError struct {
	Owner any
	Err   error
}

func (e *HeldWriteError) Error() string { return e.Err.Error() }
func (e *HeldWriteError) Unwrap() error { return e.Err }

// SetOwner tags the writes issued from now on (e.g. with the item they are
// for), for HeldWriteError.
func (w *WriteBehind) SetOwner(owner any) { w.owner = owner }

// NewWriteBehind wraps tx. Its caller flushes it before committing.
func NewWriteBehind(tx pgx.Tx) *WriteBehind { return &WriteBehind{Tx: tx} }

// Held is the number of writes not yet sent.
func (w *WriteBehind) Held() int { return len(w.held) }

// execLater runs a write whose result is only checked, not read: held back
// in a WriteBehind, else at once. The arguments must not change afterwards.
func execLater(ctx context.Context, tx pgx.Tx, check func(pgconn.CommandTag) error, sql string, args ...any) error {
	if w, ok := tx.(*WriteBehind); ok {
		w.held = append(w.held, heldWrite{sql: sql, args: args, check: check, owner: w.owner})
		return nil
	}
	tag, err := tx.Exec(ctx, sql, args...)
	if err == nil && check != nil {
		err = check(tag)
	}
	return err
}

// send sends the held writes followed by extra (if any) in one batch and
// checks the writes' results. The caller reads extra's result from the
// returned BatchResults and closes them.
func (w *WriteBehind) send(ctx context.Context, extra func(*pgx.Batch)) (pgx.BatchResults, error) {
	held := w.held
	w.held = nil
	b := &pgx.Batch{}
	for _, h := range held {
		b.Queue(h.sql, h.args...)
	}
	if extra != nil {
		extra(b)
	}
	br := w.Tx.SendBatch(ctx, b)
	for _, h := range held {
		tag, err := br.Exec()
		if err == nil && h.check != nil {
			err = h.check(tag)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", statementName(h.sql), err)
			return nil, &HeldWriteError{Owner: h.owner, Err: errors.Join(err, br.Close())}
		}
	}
	return br, nil
}

// statementName is the start of a statement, for an error that surfaces
// later than the call that issued it.
func statementName(sql string) string {
	f := strings.Fields(sql)
	return strings.Join(f[:min(3, len(f))], " ")
}

// Flush sends the held writes.
func (w *WriteBehind) Flush(ctx context.Context) error {
	if len(w.held) == 0 {
		return nil
	}
	br, err := w.send(ctx, nil)
	if err != nil {
		return err
	}
	return br.Close()
}

// Exec runs sql after the held writes, in the same round trip.
func (w *WriteBehind) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if len(w.held) == 0 {
		return w.Tx.Exec(ctx, sql, args...)
	}
	br, err := w.send(ctx, func(b *pgx.Batch) { b.Queue(sql, args...) })
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	return tag, errors.Join(err, br.Close())
}

// Query runs sql after the held writes, in the same round trip.
func (w *WriteBehind) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if len(w.held) == 0 {
		return w.Tx.Query(ctx, sql, args...)
	}
	br, err := w.send(ctx, func(b *pgx.Batch) { b.Queue(sql, args...) })
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, errors.Join(err, br.Close())
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs sql after the held writes, in the same round trip.
func (w *WriteBehind) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if len(w.held) == 0 {
		return w.Tx.QueryRow(ctx, sql, args...)
	}
	br, err := w.send(ctx, func(b *pgx.Batch) { b.Queue(sql, args...) })
	if err != nil {
		return errRow{err}
	}
	return &batchRow{row: br.QueryRow(), br: br}
}

// SendBatch sends the held writes first.
func (w *WriteBehind) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := w.Flush(ctx); err != nil {
		return errBatch{err}
	}
	return w.Tx.SendBatch(ctx, b)
}

// CopyFrom sends the held writes first.
func (w *WriteBehind) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	if err := w.Flush(ctx); err != nil {
		return 0, err
	}
	return w.Tx.CopyFrom(ctx, table, cols, src)
}

// Begin sends the held writes, then starts a savepoint; the savepoint's
// statements are not held back.
func (w *WriteBehind) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	return w.Tx.Begin(ctx)
}

// Commit sends the held writes, then commits.
func (w *WriteBehind) Commit(ctx context.Context) error {
	if err := w.Flush(ctx); err != nil {
		return errors.Join(err, w.Tx.Rollback(ctx))
	}
	return w.Tx.Commit(ctx)
}

// Rollback drops the held writes and rolls back.
func (w *WriteBehind) Rollback(ctx context.Context) error {
	w.held = nil
	return w.Tx.Rollback(ctx)
}

type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r *batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	cerr := r.br.Close()
	if err != nil {
		return err
	}
	return cerr
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow(b) }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }
