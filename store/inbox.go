package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewItem is a row the durable inbox writes: an item as its source handed it
// over, with the columns derived from it.
type NewItem struct {
	Source        string
	SourceRef     string
	DedupKey      string
	ContentSHA256 []byte
	Raw           []byte
	Meta          []byte // JSON object
	MessageID     string
	Scope         string
	// Failed, when set, stores the item finished at once with outcome
	// failed and this as its error.
	Failed string
	// ReceivedAt is when the inbox took the item, by its clock.
	ReceivedAt time.Time
}

const insertItem = `
	INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size, meta, message_id, source_scope, stage, outcome, error, received_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
	ON CONFLICT DO NOTHING
	RETURNING id`

func (it NewItem) insertArgs() []any {
	var stage, outcome, errText any = StageReceived, nil, ""
	if it.Failed != "" {
		stage, outcome, errText = StageDone, OutcomeFailed, it.Failed
	}
	return []any{it.Source, it.SourceRef, it.DedupKey, it.ContentSHA256, it.Raw, len(it.Raw), it.Meta, it.MessageID, it.Scope, stage, outcome, errText, it.ReceivedAt}
}

// InsertItem stores an item unless it collides with a unique key (its
// source position or its dedup key); ok is false on a collision, which the
// caller resolves.
func InsertItem(ctx context.Context, tx pgx.Tx, it NewItem) (id int64, ok bool, err error) {
	err = tx.QueryRow(ctx, insertItem, it.insertArgs()...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// InsertItems stores items in one round trip, as InsertItem does each; ids[i]
// is 0 where items[i] collided with a unique key.
func InsertItems(ctx context.Context, tx pgx.Tx, items []NewItem) ([]int64, error) {
	batch := &pgx.Batch{}
	for _, it := range items {
		batch.Queue(insertItem, it.insertArgs()...)
	}
	ids := make([]int64, len(items))
	br := tx.SendBatch(ctx, batch)
	for i, it := range items {
		err := br.QueryRow().Scan(&ids[i])
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			br.Close()
			return nil, fmt.Errorf("storing %s item %s: %w", it.Source, it.SourceRef, err)
		}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	return ids, nil
}

// ItemBySourceRef returns the id of the item stored at a source position.
func ItemBySourceRef(ctx context.Context, tx pgx.Tx, source, sourceRef string) (int64, error) {
	return oneValue[int64](ctx, tx, `SELECT id FROM inbound_items WHERE source = $1 AND source_ref = $2`, source, sourceRef)
}

// OriginalByDedupKey returns the item that first arrived with a dedup key
// (not itself a duplicate) and the hash of its bytes.
func OriginalByDedupKey(ctx context.Context, tx pgx.Tx, source, dedupKey string) (id int64, contentSHA256 []byte, err error) {
	err = tx.QueryRow(ctx, `SELECT id, content_sha256 FROM inbound_items WHERE source = $1 AND dedup_key = $2 AND duplicate_of IS NULL`,
		source, dedupKey).Scan(&id, &contentSHA256)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	return id, contentSHA256, err
}

// ItemInScopeBySHA256 returns the first item that a scope (a mailbox folder)
// delivered with exactly these bytes.
func ItemInScopeBySHA256(ctx context.Context, tx pgx.Tx, source, scope string, contentSHA256 []byte) (int64, error) {
	return oneValue[int64](ctx, tx, `
		SELECT id FROM inbound_items
		WHERE source = $1 AND source_scope = $2 AND content_sha256 = $3
		ORDER BY id LIMIT 1`, source, scope, contentSHA256)
}

// InsertDuplicate stores a re-delivery of item orig, finished at once with
// outcome duplicate and reason; ok is false when the item's source position
// is taken meanwhile (nothing is written).
func InsertDuplicate(ctx context.Context, tx pgx.Tx, it NewItem, orig int64, reason string) (id int64, ok bool, err error) {
	err = tx.QueryRow(ctx, `
		INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size, meta, message_id, source_scope, duplicate_of, stage, outcome, reason, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'done', 'duplicate', $11, $12)
		ON CONFLICT (source, source_ref) DO NOTHING
		RETURNING id`,
		it.Source, it.SourceRef, it.DedupKey, it.ContentSHA256, it.Raw, len(it.Raw), it.Meta, it.MessageID, it.Scope, orig, reason, it.ReceivedAt).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}
