package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Call statuses and dispositions.
const (
	CallRinging  = "ringing"
	CallAnswered = "answered"
	CallMissed   = "missed"
	CallEnded    = "ended" // an outgoing call nobody answered

	DispositionCallback = "callback"  // a call-back ticket was made for a missed call
	DispositionFollowUp = "follow_up" // attached to the store's open ticket
	DispositionRecord   = "record"    // kept for a dispatcher
)

// Call is one telephony call: every webhook event with the provider's call id.
type Call struct {
	ID          int64      `db:"id" json:"id"`
	Provider    string     `db:"provider" json:"provider"`
	CallID      string     `db:"call_id" json:"call_id"`
	Direction   string     `db:"direction" json:"direction"`
	Phone       string     `db:"phone" json:"phone"`
	Line        string     `db:"line" json:"line"`
	Client      string     `db:"client" json:"client"`
	Object      string     `db:"object" json:"object"`
	Contact     string     `db:"contact" json:"contact"`
	Known       bool       `db:"known" json:"known"`
	StartedAt   *time.Time `db:"started_at" json:"started_at"`
	AnsweredAt  *time.Time `db:"answered_at" json:"answered_at"`
	EndedAt     *time.Time `db:"ended_at" json:"ended_at"`
	Status      string     `db:"status" json:"status"`
	Disposition string     `db:"disposition" json:"disposition"`
	TicketID    *int64     `db:"ticket_id" json:"ticket_id"`
	Events      int        `db:"events" json:"events"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at" json:"updated_at"`
}

const callColumns = `id, provider, call_id, direction, phone, line, client, object, contact, known, started_at, answered_at,
	ended_at, status, disposition, ticket_id, events, created_at, updated_at`

// LockCall returns the call of a provider's call id, created when new, locked
// FOR UPDATE inside tx: the events of one call are applied one at a time.
func LockCall(ctx context.Context, tx pgx.Tx, provider, callID string) (*Call, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO calls (provider, call_id) VALUES ($1, $2) ON CONFLICT (provider, call_id) DO NOTHING`,
		provider, callID); err != nil {
		return nil, fmt.Errorf("recording call %s/%s: %w", provider, callID, err)
	}
	rows, err := tx.Query(ctx, `SELECT `+callColumns+` FROM calls WHERE provider = $1 AND call_id = $2 FOR UPDATE`, provider, callID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Call])
}

// SaveCall writes a locked call's fields back and counts the event.
func SaveCall(ctx context.Context, tx pgx.Tx, c *Call) error {
	_, err := tx.Exec(ctx, `
		UPDATE calls SET direction = $2, phone = $3, line = $4, client = $5, object = $6, contact = $7, known = $8,
			started_at = $9, answered_at = $10, ended_at = $11, status = $12, disposition = $13, ticket_id = $14,
			events = $15, updated_at = now()
		WHERE id = $1`,
		c.ID, c.Direction, c.Phone, c.Line, c.Client, c.Object, c.Contact, c.Known,
		c.StartedAt, c.AnsweredAt, c.EndedAt, c.Status, c.Disposition, c.TicketID, c.Events)
	return err
}

// AddCallEvent records one webhook request of a call. It reports false when
// the item was already recorded (a redelivered stage event).
func AddCallEvent(ctx context.Context, tx pgx.Tx, call, itemID int64, event string, at *time.Time, data any) (bool, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return false, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO call_events (call, item_id, event, at, data) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (item_id) DO NOTHING`, call, itemID, event, at, json.RawMessage(b))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// LinkCallTicket sets the ticket of the call an item belongs to, once: the
// ticket stage's hook after a call-back ticket was made from that item.
func LinkCallTicket(ctx context.Context, tx pgx.Tx, itemID, ticketID int64) error {
	_, err := tx.Exec(ctx, `UPDATE calls SET ticket_id = $2, updated_at = now()
		WHERE id = (SELECT call FROM call_events WHERE item_id = $1) AND ticket_id IS NULL`, itemID, ticketID)
	return err
}

// OpenTicketForObject returns the store's most recently updated open ticket.
func OpenTicketForObject(ctx context.Context, q TicketQuerier, client, object string) (*Ticket, error) {
	return one[Ticket](ctx, q, "", `SELECT `+ticketColumns+` FROM tickets
		WHERE client = $1 AND object = $2 AND state NOT IN ('done', 'closed', 'cancelled')
		ORDER BY updated_at DESC, id DESC LIMIT 1`, client, object)
}

// CallFilter selects calls for listing.
type CallFilter struct {
	Unknown     bool   // only calls whose number belongs to nobody we know
	Status      string // ringing | answered | missed | ended
	Disposition string
	Client      string
	Object      string
	AfterID     int64
	Limit       int
}

// ListCalls lists calls, newest first.
func (s *Store) ListCalls(ctx context.Context, f CallFilter) ([]Call, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+callColumns+` FROM calls
		WHERE (NOT $1 OR NOT known) AND ($2 = '' OR status = $2) AND ($3 = '' OR disposition = $3)
			AND ($4 = '' OR client = $4) AND ($5 = '' OR object = $5) AND ($6 = 0 OR id < $6)
		ORDER BY id DESC LIMIT $7`, f.Unknown, f.Status, f.Disposition, f.Client, f.Object, f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Call])
}

// GetCall reads a call.
func (s *Store) GetCall(ctx context.Context, id int64) (*Call, error) {
	return one[Call](ctx, s.Pool, fmt.Sprintf("call %d", id), `SELECT `+callColumns+` FROM calls WHERE id = $1`, id)
}

// CallEvent is one webhook request of a call.
type CallEvent struct {
	ID     int64           `db:"id" json:"id"`
	Call   int64           `db:"call" json:"call"`
	ItemID int64           `db:"item_id" json:"item_id"`
	Event  string          `db:"event" json:"event"`
	At     *time.Time      `db:"at" json:"at"`
	Data   json.RawMessage `db:"data" json:"data"`
}

// CallEvents lists a call's events in arrival order.
func (s *Store) CallEvents(ctx context.Context, call int64) ([]CallEvent, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, call, item_id, event, at, data FROM call_events WHERE call = $1 ORDER BY id`, call)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[CallEvent])
}

// RefuseItem gives a stored item that must not be processed (a webhook with
// a bad signature, kept for audit) the outcome "ignored" with reason. It is
// meant for the same transaction that stored the item as failed: ignored
// items are not picked up by a retry of failed items.
func RefuseItem(ctx context.Context, tx pgx.Tx, source, sourceRef, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE inbound_items SET stage = 'done', outcome = 'ignored', reason = $3, updated_at = now()
		WHERE source = $1 AND source_ref = $2 AND outcome = 'failed'`, source, sourceRef, reason)
	return err
}

// CallRef returns the provider and the provider's call id of call id.
func CallRef(ctx context.Context, tx pgx.Tx, id int64) (provider, callID string, err error) {
	err = tx.QueryRow(ctx, `SELECT provider, call_id FROM calls WHERE id = $1`, id).Scan(&provider, &callID)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	return provider, callID, err
}

// RefusedBytes is the size of every refused request kept for audit (outcome
// ignored, reason "bad signature"), for the cap on what refusals may take.
func RefusedBytes(ctx context.Context, tx pgx.Tx) (int64, error) {
	return oneValue[int64](ctx, tx, `SELECT coalesce(sum(size), 0)::bigint FROM inbound_items WHERE outcome = 'ignored' AND reason = 'bad signature'`)
}
