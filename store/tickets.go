package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ticket is a work order.
type Ticket struct {
	ID         int64           `db:"id" json:"id"`
	Number     string          `db:"number" json:"number"`
	Client     string          `db:"client" json:"client"`
	ExternalID *string         `db:"external_id" json:"external_id"`
	Object     string          `db:"object" json:"object"`
	Category   *string         `db:"category" json:"category"`
	Priority   *string         `db:"priority" json:"priority"`
	Due        *time.Time      `db:"due" json:"due"`
	SLADue     *time.Time      `db:"sla_due" json:"sla_due"`
	Team       string          `db:"team" json:"team"`
	Tags       []string        `db:"tags" json:"tags"`
	Problem    string          `db:"problem" json:"problem"`
	State      string          `db:"state" json:"state"`
	Engineer   *string         `db:"engineer" json:"engineer"`
	Assignment json.RawMessage `db:"assignment" json:"assignment"`
	SourceItem int64           `db:"source_item" json:"source_item"`
	CreatedAt  time.Time       `db:"created_at" json:"created_at"`
	UpdatedAt  time.Time       `db:"updated_at" json:"updated_at"`
}

const ticketColumns = `id, number, client, external_id, object, category, priority, due, sla_due, team, tags, problem,
	state, engineer, assignment, source_item, created_at, updated_at`

// TicketQuerier is a pool or a transaction.
type TicketQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func oneTicket(ctx context.Context, q TicketQuerier, where string, args ...any) (*Ticket, error) {
	return one[Ticket](ctx, q, "", `SELECT `+ticketColumns+` FROM tickets WHERE `+where+` LIMIT 1`, args...)
}

// TicketByID reads a ticket.
func TicketByID(ctx context.Context, q TicketQuerier, id int64) (*Ticket, error) {
	return oneTicket(ctx, q, `id = $1`, id)
}

// TicketByNumber reads a ticket by our number (INT-123).
func TicketByNumber(ctx context.Context, q TicketQuerier, number string) (*Ticket, error) {
	return oneTicket(ctx, q, `number = $1`, number)
}

// TicketByExternal finds the ticket of a chain's own number. client may be ""
// to search every client (then the number must be unambiguous).
func TicketByExternal(ctx context.Context, q TicketQuerier, client, external string) (*Ticket, error) {
	if client != "" {
		return oneTicket(ctx, q, `client = $1 AND external_id = $2`, client, external)
	}
	rows, err := q.Query(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE external_id = $1 LIMIT 2`, external)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[Ticket])
	if err != nil {
		return nil, err
	}
	if len(ts) != 1 {
		return nil, ErrNotFound
	}
	return ts[0], nil
}

// OrderKey is a chain's order number: the client and its number.
type OrderKey struct{ Client, ExternalID string }

// TicketsByExternal reads the tickets of several order numbers at once.
func TicketsByExternal(ctx context.Context, q TicketQuerier, keys []OrderKey) (map[OrderKey]*Ticket, error) {
	clients, numbers := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		clients[i], numbers[i] = k.Client, k.ExternalID
	}
	rows, err := q.Query(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE (client, external_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, clients, numbers)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[Ticket])
	if err != nil {
		return nil, err
	}
	out := make(map[OrderKey]*Ticket, len(ts))
	for _, t := range ts {
		if t.ExternalID != nil {
			out[OrderKey{t.Client, *t.ExternalID}] = t
		}
	}
	return out, nil
}

// TicketByMessageIDs finds the ticket a message belongs to by its
// In-Reply-To/References ids (the most recent reference first).
func TicketByMessageIDs(ctx context.Context, q TicketQuerier, ids []string) (*Ticket, error) {
	if len(ids) == 0 {
		return nil, ErrNotFound
	}
	return oneTicket(ctx, q, `id = (SELECT ticket_id FROM ticket_messages m WHERE m.message_id = ANY($1)
		ORDER BY array_position($1, m.message_id) LIMIT 1)`, ids)
}

// NewTicket is what the ticket stage creates.
type NewTicket struct {
	Client, Object     string
	ExternalID         *string
	Category, Priority *string
	Due, SLADue        *time.Time
	Team               string
	Tags               []string
	Problem            string
	Engineer           *string
	Assignment         any
	SourceItem         int64
	MessageID          string
	State              string
}

// ticketID is the id of a new ticket: the sequence's next value, except in
// a dry run (BeginDryRun), where it is the number the next ticket would get
// (the sequence is read, not advanced, and so no number is used up by a
// transaction that is rolled back). Sequences are not transactional: a
// nextval in a dry run would make a gap in the ticket numbers.
const ticketID = `CASE WHEN current_setting('intake.dry_run', true) = 'on'
	THEN (SELECT greatest(CASE WHEN s.is_called THEN s.last_value + 1 ELSE s.last_value END,
	                      (SELECT coalesce(max(id), 0) + 1 FROM tickets))
	      FROM tickets_id_seq s)
	ELSE nextval('tickets_id_seq') END`

// BeginDryRun marks tx as a dry run, until it ends: tickets created in it
// take the numbers they would get without using any up. The caller rolls tx
// back.
func BeginDryRun(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT set_config('intake.dry_run', 'on', true)`)
	return err
}

// SetAsideForDryRun hides, inside dry-run transaction tx, the ticket that
// stored item created from a message arriving again: the ticket loses its
// chain number and its thread, so that the same message is tried as it
// first arrived rather than as a follow-up of the ticket it made itself.
// tx is rolled back, so nothing changes; the ticket's row stays locked until
// then.
func SetAsideForDryRun(ctx context.Context, tx pgx.Tx, item int64) error {
	var dry bool
	if err := tx.QueryRow(ctx, `SELECT current_setting('intake.dry_run', true) IS NOT DISTINCT FROM 'on'`).Scan(&dry); err != nil {
		return err
	}
	if !dry {
		return errors.New("SetAsideForDryRun outside a dry run (BeginDryRun)")
	}
	if _, err := tx.Exec(ctx, `UPDATE tickets SET external_id = NULL WHERE source_item = $1`, item); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM ticket_messages WHERE item_id = $1`, item)
	return err
}

// CreateTicket inserts a ticket. When the chain's number is already known for
// the client it returns that ticket with created=false: the unique key, not a
// check in Go, decides.
func CreateTicket(ctx context.Context, tx pgx.Tx, t NewTicket) (id int64, created bool, err error) {
	row, created, err := CreateTicketRow(ctx, tx, t)
	if err != nil {
		return 0, false, err
	}
	return row.ID, created, nil
}

// CreateTicketRow is CreateTicket returning the ticket's row: the one
// inserted (which the transaction holds locked), or the existing one.
func CreateTicketRow(ctx context.Context, tx pgx.Tx, t NewTicket) (*Ticket, bool, error) {
	if t.State == "" {
		t.State = "new"
	}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	row, err := one[Ticket](ctx, tx, "new ticket", `
		INSERT INTO tickets (id, client, object, external_id, category, priority, due, sla_due, team, tags, problem, engineer, assignment, source_item, state)
		VALUES (`+ticketID+`, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (client, external_id) WHERE external_id IS NOT NULL DO NOTHING
		RETURNING `+ticketColumns,
		t.Client, t.Object, t.ExternalID, t.Category, t.Priority, t.Due, t.SLADue, t.Team, t.Tags, t.Problem, t.Engineer, t.Assignment, t.SourceItem, t.State)
	if errors.Is(err, ErrNotFound) {
		existing, err := TicketByExternal(ctx, tx, t.Client, *t.ExternalID)
		if err != nil {
			return nil, false, err
		}
		return existing, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return row, true, nil
}

// AddTicketMessage links a Message-ID to a ticket for threading.
func AddTicketMessage(ctx context.Context, tx pgx.Tx, ticketID int64, messageID string, itemID int64) error {
	if messageID == "" {
		return nil
	}
	return execLater(ctx, tx, nil, `INSERT INTO ticket_messages (message_id, ticket_id, item_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		messageID, ticketID, itemID)
}

// TicketEvent is one row of a ticket's history.
type TicketEvent struct {
	ID        int64           `db:"id" json:"id"`
	TicketID  int64           `db:"ticket_id" json:"ticket_id"`
	At        time.Time       `db:"at" json:"at"`
	Actor     string          `db:"actor" json:"actor"`
	Kind      string          `db:"kind" json:"kind"`
	FromState string          `db:"from_state" json:"from_state"`
	ToState   string          `db:"to_state" json:"to_state"`
	Reason    string          `db:"reason" json:"reason"`
	ItemID    *int64          `db:"item_id" json:"item_id"`
	Data      json.RawMessage `db:"data" json:"data"`
}

// AddEvent appends to a ticket's history, at e.At (now when zero). An item
// is applied to a ticket once per kind (unique key), so a redelivered stage
// event changes nothing.
func AddEvent(ctx context.Context, tx pgx.Tx, e TicketEvent) error {
	if e.Data == nil {
		e.Data = []byte("{}")
	}
	var at *time.Time // the database's clock, unless the caller's is given
	if !e.At.IsZero() {
		at = &e.At
	}
	return execLater(ctx, tx, nil, `
		INSERT INTO ticket_events (ticket_id, actor, kind, from_state, to_state, reason, item_id, data, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now())) ON CONFLICT DO NOTHING`,
		e.TicketID, e.Actor, e.Kind, e.FromState, e.ToState, e.Reason, e.ItemID, e.Data, at)
}

// TicketEvents lists a ticket's history.
func (s *Store) TicketEvents(ctx context.Context, ticketID int64) ([]TicketEvent, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, ticket_id, at, actor, kind, from_state, to_state, reason, item_id, data
		FROM ticket_events WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[TicketEvent])
}

// ApplyFollowUp updates a ticket from a follow-up: non-nil fields replace the
// ticket's, and state changes when state is not "". A follow-up that changes
// none of them (most restate what the ticket has) writes nothing.
func ApplyFollowUp(ctx context.Context, tx pgx.Tx, id int64, priority *string, due *time.Time, state string) error {
	return execLater(ctx, tx, nil, `
		UPDATE tickets SET priority = coalesce($2, priority), due = coalesce($3, due), sla_due = coalesce($3, sla_due),
			state = CASE WHEN $4 = '' THEN state ELSE $4 END, updated_at = now()
		WHERE id = $1 AND (priority IS DISTINCT FROM coalesce($2, priority) OR due IS DISTINCT FROM coalesce($3, due)
			OR sla_due IS DISTINCT FROM coalesce($3, sla_due) OR ($4 <> '' AND state <> $4))`, id, priority, due, state)
}

// OpenLoads counts open work per engineer: open engineer tasks, and open
// tickets that have no tasks (tickets assigned before the lifecycle ran).
func OpenLoads(ctx context.Context, q TicketQuerier) (map[string]int, error) {
	return counts(ctx, q, nil, `
		SELECT engineer, count(*) FROM (
			SELECT t.engineer FROM tickets t
			WHERE t.engineer IS NOT NULL AND t.state NOT IN ('done', 'closed', 'cancelled')
			  AND NOT EXISTS (SELECT 1 FROM engineer_tasks k WHERE k.ticket_id = t.id)
			UNION ALL
			SELECT k.engineer FROM engineer_tasks k
			WHERE k.engineer IS NOT NULL AND k.state NOT IN ('done', 'closed', 'cancelled', 'rejected')
		) open GROUP BY engineer`)
}

// ListTickets lists tickets, newest first.
func (s *Store) ListTickets(ctx context.Context, limit int) ([]Ticket, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+ticketColumns+` FROM tickets ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Ticket])
}
