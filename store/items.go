package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/flow"
)

// Item stages and outcomes (flow owns them).
const (
	StageReceived = flow.StageReceived
	StageParsed   = flow.StageParsed
	StageRouted   = flow.StageRouted
	StageDone     = flow.StageDone

	OutcomeTicket    = flow.OutcomeTicket
	OutcomeFollowUp  = flow.OutcomeFollowUp
	OutcomeDuplicate = flow.OutcomeDuplicate
	OutcomeIgnored   = flow.OutcomeIgnored
	OutcomeUnmatched = flow.OutcomeUnmatched
	OutcomeFailed    = flow.OutcomeFailed
)

// Item is one row of the durable inbox.
type Item struct {
	ID           int64           `db:"id" json:"id"`
	Source       string          `db:"source" json:"source"`
	SourceRef    string          `db:"source_ref" json:"source_ref"`
	DedupKey     string          `db:"dedup_key" json:"dedup_key"`
	Raw          []byte          `db:"raw" json:"-"`
	Size         int             `db:"size" json:"size"`
	Meta         json.RawMessage `db:"meta" json:"meta"`
	ReceivedAt   time.Time       `db:"received_at" json:"received_at"`
	DuplicateOf  *int64          `db:"duplicate_of" json:"duplicate_of"`
	Stage        string          `db:"stage" json:"stage"`
	Outcome      *string         `db:"outcome" json:"outcome"`
	Reason       string          `db:"reason" json:"reason"`
	Error        string          `db:"error" json:"error"`
	Attempts     int             `db:"attempts" json:"attempts"`
	Deferrals    int             `db:"deferrals" json:"deferrals"`
	MessageID    string          `db:"message_id" json:"message_id"`
	Client       string          `db:"client" json:"client"`
	Parsed       json.RawMessage `db:"parsed" json:"parsed"`
	Decision     json.RawMessage `db:"decision" json:"decision"`
	RulesVersion *int64          `db:"rules_version" json:"rules_version"`
	TicketID     *int64          `db:"ticket_id" json:"ticket_id"`
}

const itemColumns = `id, source, source_ref, dedup_key, raw, size, meta, received_at, duplicate_of, stage, outcome,
	reason, error, attempts, deferrals, message_id, client, parsed, decision, rules_version, ticket_id`

// LockItem reads an item FOR UPDATE inside tx.
func LockItem(ctx context.Context, tx pgx.Tx, id int64) (*Item, error) {
	return one[Item](ctx, tx, fmt.Sprintf("item %d", id), `SELECT `+itemColumns+` FROM inbound_items WHERE id = $1 FOR UPDATE`, id)
}

// GetItem reads an item.
func (s *Store) GetItem(ctx context.Context, id int64) (*Item, error) {
	return one[Item](ctx, s.Pool, fmt.Sprintf("item %d", id), `SELECT `+itemColumns+` FROM inbound_items WHERE id = $1`, id)
}

// ItemFilter selects items for listing.
type ItemFilter struct {
	Outcome string
	Stage   string
	Limit   int
	AfterID int64
}

// ListItems lists items without their raw bytes, newest first.
func (s *Store) ListItems(ctx context.Context, f ItemFilter) ([]Item, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := s.Pool.Query(ctx, `
		SELECT id, source, source_ref, dedup_key, NULL::bytea AS raw, size, meta, received_at, duplicate_of, stage, outcome,
			reason, error, attempts, deferrals, message_id, client, parsed, decision, rules_version, ticket_id
		FROM inbound_items
		WHERE ($1 = '' OR outcome = $1) AND ($2 = '' OR stage = $2) AND ($3 = 0 OR id < $3)
		ORDER BY id DESC LIMIT $4`, f.Outcome, f.Stage, f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Item])
}

// Finish records an item's one outcome inside tx (Complete without a parse
// result or decision).
func Finish(ctx context.Context, tx pgx.Tx, id int64, outcome, reason string, ticketID *int64) error {
	return Complete(ctx, tx, id, ItemResult{Outcome: outcome, Reason: reason, TicketID: ticketID})
}

// FailItem records a processing error as the item's outcome "failed". Failed
// items are retried by RetryFailed.
func (s *Store) FailItem(ctx context.Context, id int64, cause string) error {
	_, err := s.Pool.Exec(ctx, `
		UPDATE inbound_items SET stage = 'done', outcome = 'failed', error = $2, lease_until = NULL, next_attempt_at = NULL, updated_at = now()
		WHERE id = $1 AND stage <> 'done'`, id, SafeText(cause))
	return err
}

// RetryFailed puts failed items (all when ids is empty) back at the start of
// the pipeline and returns their ids; the caller publishes them.
func RetryFailed(ctx context.Context, tx pgx.Tx, ids []int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `
		UPDATE inbound_items SET stage = 'received', outcome = NULL, reason = '', attempts = 0, deferrals = 0,
			lease_until = NULL, next_attempt_at = NULL, updated_at = now()
		WHERE outcome = 'failed' AND duplicate_of IS NULL AND (cardinality($1::bigint[]) = 0 OR id = ANY($1))
		RETURNING id`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// PendingItems returns ids of items that have no outcome yet, oldest first.
func (s *Store) PendingItems(ctx context.Context, olderThan time.Duration, limit int) ([]int64, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT id FROM inbound_items WHERE stage <> 'done' AND updated_at < now() - $1::interval
		ORDER BY id LIMIT $2`, olderThan.String(), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// OutcomeCounts counts items by outcome ("pending" for those without one).
func (s *Store) OutcomeCounts(ctx context.Context) (map[string]int, error) {
	return counts(ctx, s.Pool, nil, `SELECT coalesce(outcome, 'pending'), count(*) FROM inbound_items GROUP BY 1`)
}

// ItemState is what an item's stages have recorded so far: what its outcome
// is read from.
type ItemState struct {
	Stage       string `db:"stage"`
	Outcome     string `db:"outcome"` // "" while it has none
	Reason      string `db:"reason"`
	Error       string `db:"error"`
	Client      string `db:"client"`
	MessageID   string `db:"message_id"`
	TicketID    *int64 `db:"ticket_id"`
	DuplicateOf *int64 `db:"duplicate_of"`
	Parsed      []byte `db:"parsed"`
	Decision    []byte `db:"decision"`
}

// ItemStateByID reads an item's state; no item is ErrNotFound.
func ItemStateByID(ctx context.Context, q Querier, id int64) (*ItemState, error) {
	return one[ItemState](ctx, q, "", `
		SELECT stage, coalesce(outcome, '') AS outcome, reason, error, client, message_id, ticket_id, duplicate_of, parsed, decision
		FROM inbound_items WHERE id = $1`, id)
}

// ItemSourceRef returns an item's position at its source.
func ItemSourceRef(ctx context.Context, q Querier, id int64) (string, error) {
	return oneValue[string](ctx, q, `SELECT source_ref FROM inbound_items WHERE id = $1`, id)
}

// ItemStage returns the stage an item is at.
func (s *Store) ItemStage(ctx context.Context, id int64) (string, error) {
	return oneValue[string](ctx, s.Pool, `SELECT stage FROM inbound_items WHERE id = $1`, id)
}

// ItemProgress counts the items without an outcome and, only when there
// are none, all items: a waiting loop can ask often, since while items
// wait it reads just the small index of those.
func (s *Store) ItemProgress(ctx context.Context) (total, pending int, err error) {
	if err = s.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items WHERE stage <> 'done'`).Scan(&pending); err != nil || pending > 0 {
		return -1, pending, err
	}
	err = s.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items`).Scan(&total)
	return total, 0, err
}

// OriginalMailItems returns the ids of mail items received since then that
// are not re-deliveries, oldest first.
func (s *Store) OriginalMailItems(ctx context.Context, since time.Time) ([]int64, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id FROM inbound_items
		WHERE source = 'mail' AND duplicate_of IS NULL AND received_at >= $1 ORDER BY id`, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ReplayItem is what a replay of a stored item reads of it.
type ReplayItem struct {
	ID         int64     `db:"id"`
	Source     string    `db:"source"`
	SourceRef  string    `db:"source_ref"`
	DedupKey   string    `db:"dedup_key"`
	MessageID  string    `db:"message_id"`
	Raw        []byte    `db:"raw"`
	ReceivedAt time.Time `db:"received_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

// ItemsForReplay reads items ids, in order of id.
func (s *Store) ItemsForReplay(ctx context.Context, ids []int64) ([]ReplayItem, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, source, source_ref, dedup_key, message_id, raw, received_at, updated_at
		FROM inbound_items WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[ReplayItem])
}
