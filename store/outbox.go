package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Outbox kinds and states.
const (
	OutboxEmail     = "email"
	OutboxWebhook   = "webhook"
	OutboxConnector = "connector"

	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxDead    = "dead"
)

// ErrOutboxSent is returned when a retry is asked for a message already sent.
var ErrOutboxSent = errors.New("outbox message already sent")

// OutboxMessage is an outbound message to queue. DedupKey makes enqueueing
// idempotent: the same decision, replayed, is one message (e.g.
// "push:<ticket>:<event id>").
type OutboxMessage struct {
	Kind     string // email | webhook | connector
	Target   string // connector name, email address or URL
	TicketID *int64
	Payload  any // marshalled to JSON; what the kind's sender expects
	DedupKey string
}

// OutboxRow is one row of the outbox.
type OutboxRow struct {
	ID            int64           `db:"id" json:"id"`
	Kind          string          `db:"kind" json:"kind"`
	Target        string          `db:"target" json:"target"`
	TicketID      *int64          `db:"ticket_id" json:"ticket_id"`
	Payload       json.RawMessage `db:"payload" json:"payload"`
	DedupKey      string          `db:"dedup_key" json:"dedup_key"`
	State         string          `db:"state" json:"state"`
	Attempts      int             `db:"attempts" json:"attempts"`
	NextAttemptAt time.Time       `db:"next_attempt_at" json:"next_attempt_at"`
	LastError     string          `db:"last_error" json:"last_error"`
	CreatedAt     time.Time       `db:"created_at" json:"created_at"`
	SentAt        *time.Time      `db:"sent_at" json:"sent_at"`
}

const outboxColumns = `id, kind, target, ticket_id, payload, dedup_key, state, attempts, next_attempt_at, last_error, created_at, sent_at`

// EnqueueOutbox queues m inside tx, so the message exists exactly when the
// change that caused it is committed. A message whose DedupKey is already
// queued is dropped (ON CONFLICT DO NOTHING), not an error.
func EnqueueOutbox(ctx context.Context, tx pgx.Tx, m OutboxMessage) error {
	switch m.Kind {
	case OutboxEmail, OutboxWebhook, OutboxConnector:
	default:
		return fmt.Errorf("outbox message kind %q is not one of email, webhook, connector", m.Kind)
	}
	if m.Target == "" || m.DedupKey == "" {
		return errors.New("outbox message needs a target and a dedup key")
	}
	payload, err := json.Marshal(m.Payload)
	if err != nil {
		return fmt.Errorf("encoding outbox payload: %w", err)
	}
	err = execLater(ctx, tx, nil, `
		INSERT INTO outbox (kind, target, ticket_id, payload, dedup_key)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (dedup_key) DO NOTHING`,
		m.Kind, m.Target, m.TicketID, json.RawMessage(payload), m.DedupKey)
	if err != nil {
		return fmt.Errorf("queueing %s message to %s: %w", m.Kind, m.Target, err)
	}
	return nil
}

// ClaimOutbox takes up to limit due messages (a message waits while an
// earlier pending one for the same ticket and target exists) and hides them from other
// dispatchers for lease: their next attempt moves to now()+lease and their
// attempt count goes up, in one statement over rows locked with SKIP LOCKED,
// so each message is claimed by one replica. The caller reports each with
// OutboxDelivered or OutboxFailed; a dispatcher that dies mid-send leaves
// its rows due again once the lease ends (delivery is at least once).
func (s *Store) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]OutboxRow, error) {
	rows, err := s.Pool.Query(ctx, `
		UPDATE outbox o SET attempts = o.attempts + 1, next_attempt_at = now() + $2::interval
		FROM (SELECT id FROM outbox x WHERE state = 'pending' AND next_attempt_at <= now()
			-- one ticket's messages to one target go in order: a later status
			-- never overtakes an earlier one that is still being retried
			AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.ticket_id = x.ticket_id AND e.target = x.target
				AND e.state = 'pending' AND e.id < x.id)
			ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) due
		WHERE o.id = due.id
		RETURNING o.id, o.kind, o.target, o.ticket_id, o.payload, o.dedup_key, o.state, o.attempts,
			o.next_attempt_at, o.last_error, o.created_at, o.sent_at`, limit, lease.String())
	if err != nil {
		return nil, fmt.Errorf("claiming outbox messages: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[OutboxRow])
}

// OutboxDelivered marks a claimed message sent.
func (s *Store) OutboxDelivered(ctx context.Context, id int64) error {
	_, err := s.Pool.Exec(ctx, `UPDATE outbox SET state = 'sent', sent_at = now(), last_error = '' WHERE id = $1 AND state = 'pending'`, id)
	return err
}

// OutboxFailed records a failed attempt: the message is tried again after
// retryIn, or is dead when dead is set.
func (s *Store) OutboxFailed(ctx context.Context, id int64, cause string, retryIn time.Duration, dead bool) error {
	state := OutboxPending
	if dead {
		state = OutboxDead
	}
	_, err := s.Pool.Exec(ctx, `
		UPDATE outbox SET state = $2, last_error = $3, next_attempt_at = now() + $4::interval
		WHERE id = $1 AND state = 'pending'`, id, state, cause, retryIn.String())
	return err
}

// OutboxFilter selects outbox rows for listing.
type OutboxFilter struct {
	State    string
	Kind     string
	TicketID int64
	AfterID  int64 // rows with a smaller id (paging, newest first)
	Limit    int
}

// ListOutbox lists outbox rows, newest first.
func (s *Store) ListOutbox(ctx context.Context, f OutboxFilter) ([]OutboxRow, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE ($1 = '' OR state = $1) AND ($2 = '' OR kind = $2) AND ($3 = 0 OR ticket_id = $3) AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, f.State, f.Kind, f.TicketID, f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[OutboxRow])
}

// GetOutbox reads one outbox row.
func (s *Store) GetOutbox(ctx context.Context, id int64) (*OutboxRow, error) {
	return one[OutboxRow](ctx, s.Pool, fmt.Sprintf("outbox message %d", id), `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id)
}

// RetryOutbox makes a dead (or backing-off) message due now with a fresh
// attempt count. A sent message is not sent again: ErrOutboxSent.
func (s *Store) RetryOutbox(ctx context.Context, id int64) (*OutboxRow, error) {
	var out *OutboxRow
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM outbox WHERE id = $1 FOR UPDATE`, id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("outbox message %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if state == OutboxSent {
			return fmt.Errorf("outbox message %d: %w", id, ErrOutboxSent)
		}
		rows, err := tx.Query(ctx, `UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = now()
			WHERE id = $1 RETURNING `+outboxColumns, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[OutboxRow])
		return err
	})
	return out, err
}

// OutboxCounts counts outbox rows by state.
func (s *Store) OutboxCounts(ctx context.Context) (map[string]int, error) {
	return counts(ctx, s.Pool, map[string]int{OutboxPending: 0, OutboxSent: 0, OutboxDead: 0}, `SELECT state, count(*) FROM outbox GROUP BY state`)
}
