package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// TicketEquipment is the equipment a ticket is about: how its serial was
// found, and the reason a dispatcher should look (a serial registered at
// another store than the ticket's), "" when none.
type TicketEquipment struct {
	TicketID int64  `db:"ticket_id" json:"ticket_id"`
	Client   string `db:"client" json:"client"`
	Serial   string `db:"serial" json:"serial"`
	Source   string `db:"source" json:"source"`
	Conflict string `db:"conflict" json:"conflict,omitempty"`
}

// SetTicketEquipment records the equipment of a ticket (once: a ticket is
// about one piece of equipment).
func SetTicketEquipment(ctx context.Context, tx pgx.Tx, te TicketEquipment) error {
	_, err := tx.Exec(ctx, `INSERT INTO ticket_equipment (ticket_id, client, serial, source, conflict)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket_id) DO NOTHING`,
		te.TicketID, te.Client, te.Serial, te.Source, te.Conflict)
	return err
}

// EquipmentCard is a ticket's equipment as the ticket page and the
// engineer's task show it.
type EquipmentCard struct {
	Client        string `db:"client" json:"client"`
	Object        string `db:"object" json:"object"`
	Serial        string `db:"serial" json:"serial"`
	Model         string `db:"model" json:"model"`
	Kind          string `db:"kind" json:"kind"`
	KindName      string `db:"kind_name" json:"kind_name"`
	Installed     string `db:"installed" json:"installed,omitempty"`
	WarrantyUntil string `db:"warranty_until" json:"warranty_until,omitempty"`
	Source        string `db:"source" json:"source"`
	Conflict      string `db:"conflict" json:"conflict,omitempty"`
	// Warranty is "under", "expired" or "unknown" on the day it is shown;
	// set by whoever shows it, from the clock.
	Warranty string `db:"-" json:"warranty,omitempty"`
}

// taskEquipment is the equipment of an engineer task's ticket, nil when
// none.
func taskEquipment(ctx context.Context, q Querier, taskID int64) (*EquipmentCard, error) {
	var ticket int64
	rows, err := q.Query(ctx, `SELECT ticket_id FROM engineer_tasks WHERE id = $1`, taskID)
	if err != nil {
		return nil, err
	}
	if ticket, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[int64]); err != nil {
		return nil, err
	}
	c, err := TicketEquipmentCard(ctx, q, ticket)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return c, err
}

// TicketEquipmentCard returns the equipment of a ticket, ErrNotFound when it
// has none.
func TicketEquipmentCard(ctx context.Context, q Querier, ticketID int64) (*EquipmentCard, error) {
	return one[EquipmentCard](ctx, q, "", `
		SELECT e.client, e.object, e.serial, e.model, e.kind, coalesce(c.name, e.kind) AS kind_name,
			coalesce(to_char(e.installed, 'YYYY-MM-DD'), '') AS installed,
			coalesce(to_char(e.warranty_until, 'YYYY-MM-DD'), '') AS warranty_until,
			te.source, te.conflict
		FROM ticket_equipment te
		JOIN equipment e ON e.client = te.client AND e.serial = te.serial
		LEFT JOIN categories c ON c.code = e.kind
		WHERE te.ticket_id = $1`, ticketID)
}

// EquipmentTicket is an earlier ticket of the same equipment: what broke and
// who fixed it.
type EquipmentTicket struct {
	ID           int64     `db:"id" json:"id"`
	Number       string    `db:"number" json:"number"`
	Object       string    `db:"object" json:"object"`
	Category     *string   `db:"category" json:"category"`
	Problem      string    `db:"problem" json:"problem"`
	State        string    `db:"state" json:"state"`
	Engineer     *string   `db:"engineer" json:"engineer"`
	EngineerName *string   `db:"engineer_name" json:"engineer_name"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
}

// EquipmentHistory lists the tickets of a piece of equipment made before
// ticket before (all of them when before is 0), newest first, at most limit.
func EquipmentHistory(ctx context.Context, q Querier, client, serial string, before int64, limit int) ([]EquipmentTicket, error) {
	rows, err := q.Query(ctx, `
		SELECT t.id, t.number, t.object, t.category, t.problem, t.state, t.engineer, e.name AS engineer_name, t.created_at
		FROM ticket_equipment te
		JOIN tickets t ON t.id = te.ticket_id
		LEFT JOIN engineers e ON e.code = t.engineer
		WHERE te.client = $1 AND te.serial = $2 AND ($3 = 0 OR te.ticket_id < $3)
		ORDER BY t.id DESC LIMIT $4`, client, serial, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[EquipmentTicket])
}

// RequestAnswer is the first answer the request API gave to a caller's
// Idempotency-Key.
type RequestAnswer struct {
	Caller     string `db:"caller"`
	Key        string `db:"key"`
	BodySHA256 []byte `db:"body_sha256"`
	Item       int64  `db:"item_id"`
	Status     int    `db:"status"`
	Response   []byte `db:"response"`
}

// SaveRequestAnswer keeps the first answer to a key; a second save of the
// same key changes nothing.
func SaveRequestAnswer(ctx context.Context, tx pgx.Tx, a RequestAnswer) error {
	_, err := tx.Exec(ctx, `INSERT INTO request_keys (caller, key, body_sha256, item_id, status, response)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (caller, key) DO NOTHING`,
		a.Caller, a.Key, a.BodySHA256, a.Item, a.Status, a.Response)
	return err
}

// RequestAnswerFor returns the answer kept for a caller's key.
func RequestAnswerFor(ctx context.Context, q Querier, caller, key string) (*RequestAnswer, error) {
	return one[RequestAnswer](ctx, q, "", `SELECT caller, key, body_sha256, item_id, status, response
		FROM request_keys WHERE caller = $1 AND key = $2`, caller, key)
}
