package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReprocessFilter chooses the stored items reprocessing runs again. Zero
// fields do not filter; all that are set must hold.
type ReprocessFilter struct {
	// Unmatched keeps only items waiting for a dispatcher.
	Unmatched bool
	// Client keeps the items of a client: those routed to it, and those
	// whose sender's domain is one of the client's (mail received before
	// the client was onboarded has no client).
	Client string
	// From and To bound received_at: From <= received_at < To.
	From, To *time.Time
	// Limit is the most items chosen (the oldest first).
	Limit int
}

// ReprocessCandidates lists, oldest first, the mail items f chooses that
// have their outcome: originals (not re-deliveries), whatever became of
// them except being a duplicate.
func ReprocessCandidates(ctx context.Context, q Querier, f ReprocessFilter) ([]int64, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	rows, err := q.Query(ctx, `
		SELECT i.id FROM inbound_items i
		WHERE i.source = 'mail' AND i.stage = 'done' AND i.duplicate_of IS NULL AND i.outcome <> 'duplicate'
		  AND (NOT $1 OR i.outcome = 'unmatched')
		  AND ($2 = '' OR i.client = $2 OR EXISTS (
		        SELECT 1 FROM clients c WHERE c.code = $2
		          AND lower(split_part(coalesce(i.parsed->>'from', ''), '@', 2)) = ANY (c.domains)))
		  AND ($3::timestamptz IS NULL OR i.received_at >= $3)
		  AND ($4::timestamptz IS NULL OR i.received_at < $4)
		ORDER BY i.id LIMIT $5`, f.Unmatched, f.Client, f.From, f.To, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// Reprocessed records an item's new outcome after it was run again: unlike
// Complete it replaces the outcome an item already has. A nil Parsed or
// Decision keeps what is stored; TicketID is written as given.
func Reprocessed(ctx context.Context, tx pgx.Tx, id int64, c ItemResult) error {
	parsed, decision, errText := c.safe()
	tag, err := tx.Exec(ctx, `
		UPDATE inbound_items SET outcome = $2, reason = $3, ticket_id = $4, error = $9,
			parsed = coalesce($5, parsed), decision = coalesce($6, decision),
			client = CASE WHEN $7 = '' THEN client ELSE $7 END,
			rules_version = coalesce($8, rules_version), updated_at = now()
		WHERE id = $1 AND stage = 'done'`,
		id, c.Outcome, SafeText(c.Reason), c.TicketID, parsed, decision, SafeText(c.Client), c.RulesVersion, errText)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("item %d: has no outcome to replace", id)
	}
	return nil
}

// TicketFields are the fields of a ticket reprocessing may correct.
type TicketFields struct {
	Client, Object     string
	ExternalID         *string
	Category, Priority *string
	Due, SLADue        *time.Time
}

// UpdateTicketFields replaces a ticket's order fields.
func UpdateTicketFields(ctx context.Context, tx pgx.Tx, id int64, f TicketFields) error {
	_, err := tx.Exec(ctx, `
		UPDATE tickets SET client = $2, object = $3, external_id = $4, category = $5, priority = $6,
			due = $7, sla_due = coalesce($8, sla_due), updated_at = now()
		WHERE id = $1`, id, f.Client, f.Object, f.ExternalID, f.Category, f.Priority, f.Due, f.SLADue)
	return err
}

// LockTicket reads a ticket FOR UPDATE inside tx.
func LockTicket(ctx context.Context, tx pgx.Tx, id int64) (*Ticket, error) {
	return one[Ticket](ctx, tx, fmt.Sprintf("ticket %d", id), `SELECT `+ticketColumns+` FROM tickets WHERE id = $1 FOR UPDATE`, id)
}

// MoveTicketLinks moves what points at ticket from (its Message-IDs for
// threading, the items applied to it) to ticket to: the two became one
// order. The ticket from keeps its own history and its source item's row.
func MoveTicketLinks(ctx context.Context, tx pgx.Tx, from, to int64) error {
	if _, err := tx.Exec(ctx, `UPDATE ticket_messages SET ticket_id = $2 WHERE ticket_id = $1`, from, to); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE inbound_items SET ticket_id = $2, updated_at = now() WHERE ticket_id = $1`, from, to)
	return err
}

// SetTicketState sets a ticket's state.
func SetTicketState(ctx context.Context, tx pgx.Tx, id int64, state string) error {
	_, err := tx.Exec(ctx, `UPDATE tickets SET state = $2, updated_at = now() WHERE id = $1`, id, state)
	return err
}

// CreatePreviewTicket inserts t under the given id, which the caller picks
// outside the range of real ones (a negative number), inside a transaction
// that is rolled back: a preview of what would be created that takes no
// number from the tickets' sequence. The result is CreateTicket's.
func CreatePreviewTicket(ctx context.Context, tx pgx.Tx, previewID int64, t NewTicket) (id int64, created bool, err error) {
	if t.State == "" {
		t.State = "new"
	}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO tickets (id, client, object, external_id, category, priority, due, sla_due, team, tags, problem, engineer, assignment, source_item, state)
		VALUES ($15, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (client, external_id) WHERE external_id IS NOT NULL DO NOTHING
		RETURNING id`,
		t.Client, t.Object, t.ExternalID, t.Category, t.Priority, t.Due, t.SLADue, t.Team, t.Tags, t.Problem, t.Engineer, t.Assignment, t.SourceItem, t.State, previewID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		existing, err := TicketByExternal(ctx, tx, t.Client, *t.ExternalID)
		if err != nil {
			return 0, false, err
		}
		return existing.ID, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// LockReprocessing takes the transaction-scoped lock that lets one
// reprocessing apply an item at a time across replicas.
func LockReprocessing(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('intake.reprocess'))`)
	return err
}
