// Package ingest is where items arrive: the durable inbox that every source
// writes to, and (in subpackages) the sources themselves.
//
// The inbox's contract is the one the rest of Intake relies on: an item is
// committed to PostgreSQL, with its raw bytes, before its source is
// acknowledged, and each item is recorded once.
//
// What "once" means:
//
//   - The same source position (Source, SourceRef) is the same item: fetching
//     it again, after a crash between commit and acknowledgement, writes
//     nothing (StatusKnown).
//   - An item at a new position whose dedup key (mid:<Message-ID>, else the
//     content hash) is already held is a re-delivery: it is stored as its own
//     item, finished at once with outcome duplicate and duplicate_of pointing
//     at the original, whether its bytes are identical (another mailbox,
//     another `intake ingest` run, a copy put back into a folder) or differ
//     (a second MX added a Received header).
//   - Except a re-scan: a mailbox re-reading a folder after its UIDVALIDITY
//     changed marks those messages Rescan, and one whose bytes the same
//     folder (Scope) already delivered is recognised and nothing is written
//     (StatusKnown), so a renumbered folder neither makes tickets nor floods
//     the duplicates.
package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/store"
)

// Item is one inbound item as a source hands it over.
type Item struct {
	Source    string // mail | call | connector
	SourceRef string // unique position at the source, e.g. "ops/INBOX/1700000000/42"
	DedupKey  string // e.g. "mid:<message-id>"; defaults to the content hash
	MessageID string
	Raw       []byte
	Meta      map[string]any
	// Scope is the place a source reads again as a whole, for a mailbox
	// "<mailbox>/<folder>"; empty for sources that never do.
	Scope string
	// Rescan marks an item read again because its scope was renumbered (a
	// new UIDVALIDITY): when the same bytes from the same scope are stored
	// already, it is that message, not a re-delivery.
	Rescan bool
	// Failed, when set, records the item at once as failed with this reason
	// (e.g. over the size limit: Raw then holds what was kept, the headers).
	Failed string
}

// Status of a Put.
const (
	StatusNew       = "new"       // stored, queued for processing
	StatusDuplicate = "duplicate" // stored as a duplicate of an earlier item
	StatusKnown     = "known"     // the same position, or a re-scanned message, already stored; nothing written
	StatusFailed    = "failed"    // stored with outcome failed (Item.Failed)
)

// Result says what Put did with one item.
type Result struct {
	ID          int64
	Status      string
	DuplicateOf int64
}

// Notifier announces committed items to the pipeline inside the same
// transaction (the pipeline publishes its "received" event through tx).
type Notifier func(ctx context.Context, tx pgx.Tx, ids []int64) error

// Inbox is the durable inbox.
type Inbox struct {
	store    *store.Store
	notify   Notifier
	now      func() time.Time
	refusals *Refusals
}

// NewInbox returns an inbox that calls notify for each batch of new items.
// notify may be nil (items are then picked up by the pipeline's sweeper).
// now is the clock that stamps each item's received_at: SLA deadlines and
// the rules that look at the hour count from it.
func NewInbox(s *store.Store, notify Notifier, now func() time.Time) *Inbox {
	in := &Inbox{store: s, notify: notify, now: now}
	in.refusals = newRefusals(in)
	return in
}

// Refusals is where the webhook receivers keep what they refuse.
func (in *Inbox) Refusals() *Refusals { return in.refusals }

// Put commits items in one transaction, together with whatever after does in
// the same transaction (a mailbox checkpoint, say). Only when Put returns nil
// may the source be acknowledged.
func (in *Inbox) Put(ctx context.Context, items []Item, after func(ctx context.Context, tx pgx.Tx) error) ([]Result, error) {
	var results []Result
	err := in.store.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		results, err = putMany(ctx, tx, items, in.now())
		if err != nil {
			return err
		}
		var fresh []int64
		for _, r := range results {
			if r.Status == StatusNew {
				fresh = append(fresh, r.ID)
			}
		}
		if len(fresh) > 0 && in.notify != nil {
			if err := in.notify(ctx, tx, fresh); err != nil {
				return fmt.Errorf("publishing received items: %w", err)
			}
		}
		if after != nil {
			return after(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// prepared is an item with its derived columns.
type prepared struct {
	it  Item
	sum [32]byte
	row store.NewItem
}

func prepare(it Item, received time.Time) (prepared, error) {
	if it.Source == "" || it.SourceRef == "" {
		return prepared{}, errors.New("item needs a source and a source reference")
	}
	p := prepared{it: it, sum: sha256.Sum256(it.Raw)}
	if p.it.DedupKey == "" {
		p.it.DedupKey = fmt.Sprintf("sha256:%x", p.sum)
	}
	meta := []byte("{}")
	if it.Meta != nil {
		m, err := json.Marshal(it.Meta)
		if err != nil {
			return prepared{}, err
		}
		meta = m
	}
	p.row = store.NewItem{Source: p.it.Source, SourceRef: p.it.SourceRef, DedupKey: p.it.DedupKey, ContentSHA256: p.sum[:],
		Raw: p.it.Raw, Meta: meta, MessageID: p.it.MessageID, Scope: p.it.Scope, Failed: p.it.Failed, ReceivedAt: received}
	return p, nil
}

func (p prepared) inserted(id int64) Result {
	if p.it.Failed != "" {
		return Result{ID: id, Status: StatusFailed}
	}
	return Result{ID: id, Status: StatusNew}
}

// putMany inserts items in one round trip (a backlog arrives in batches);
// the few that collide with a unique key are then resolved one by one, in
// order, so a re-delivery within the batch is a duplicate of the first.
func putMany(ctx context.Context, tx pgx.Tx, items []Item, received time.Time) ([]Result, error) {
	ps := make([]prepared, len(items))
	for i, it := range items {
		p, err := prepare(it, received)
		if err != nil {
			return nil, fmt.Errorf("storing %s item %s: %w", it.Source, it.SourceRef, err)
		}
		ps[i] = p
	}
	if len(ps) == 1 {
		r, err := putPrepared(ctx, tx, ps[0])
		if err != nil {
			return nil, fmt.Errorf("storing %s item %s: %w", ps[0].it.Source, ps[0].it.SourceRef, err)
		}
		return []Result{r}, nil
	}
	rows := make([]store.NewItem, len(ps))
	for i, p := range ps {
		rows[i] = p.row
	}
	ids, err := store.InsertItems(ctx, tx, rows)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(items))
	for i, p := range ps {
		if ids[i] != 0 {
			results[i] = p.inserted(ids[i])
		}
	}
	for i, p := range ps {
		if ids[i] != 0 {
			continue
		}
		r, err := resolveCollision(ctx, tx, p)
		if err != nil {
			return nil, fmt.Errorf("storing %s item %s: %w", p.it.Source, p.it.SourceRef, err)
		}
		results[i] = r
	}
	return results, nil
}

func putOne(ctx context.Context, tx pgx.Tx, it Item, received time.Time) (Result, error) {
	p, err := prepare(it, received)
	if err != nil {
		return Result{}, err
	}
	return putPrepared(ctx, tx, p)
}

func putPrepared(ctx context.Context, tx pgx.Tx, p prepared) (Result, error) {
	id, ok, err := store.InsertItem(ctx, tx, p.row)
	if err != nil {
		return Result{}, err
	}
	if ok {
		return p.inserted(id), nil
	}
	return resolveCollision(ctx, tx, p)
}

// resolveCollision says what an item that hit a unique key is: the same
// source position (a re-fetch), a message of a re-scanned folder that the
// folder delivered before, or a re-delivery recorded as a duplicate of the
// first.
func resolveCollision(ctx context.Context, tx pgx.Tx, p prepared) (Result, error) {
	it, sum := p.it, p.sum
	// Same position at the source: a re-fetch (e.g. after a crash between
	// commit and acknowledgement). Nothing to do.
	id, err := store.ItemBySourceRef(ctx, tx, it.Source, it.SourceRef)
	if err == nil {
		return Result{ID: id, Status: StatusKnown}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	orig, origSum, err := store.OriginalByDedupKey(ctx, tx, it.Source, it.DedupKey)
	if err != nil {
		return Result{}, fmt.Errorf("resolving dedup key %q: %w", it.DedupKey, err)
	}
	if it.Rescan && it.Scope != "" {
		// The folder read again after a renumbering: byte for byte a
		// message this folder delivered before is that message.
		id, err := store.ItemInScopeBySHA256(ctx, tx, it.Source, it.Scope, sum[:])
		if err == nil {
			return Result{ID: id, Status: StatusKnown}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Result{}, err
		}
	}
	reason := fmt.Sprintf("re-delivery of item %d: the same bytes", orig)
	if !bytes.Equal(origSum, sum[:]) {
		reason = fmt.Sprintf("re-delivery of item %d: the same %s, other bytes", orig, describeKey(it.DedupKey))
	}
	id, ok, err := store.InsertDuplicate(ctx, tx, p.row, orig, reason)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		// The position was taken since the first look: it is that item.
		id, err = store.ItemBySourceRef(ctx, tx, it.Source, it.SourceRef)
		return Result{ID: id, Status: StatusKnown}, err
	}
	return Result{ID: id, Status: StatusDuplicate, DuplicateOf: orig}, nil
}

// describeKey names a dedup key for a person: "Message-ID <a@x>".
func describeKey(key string) string {
	if mid, ok := strings.CutPrefix(key, "mid:"); ok {
		return "Message-ID <" + mid + ">"
	}
	return fmt.Sprintf("key %q", key)
}

// PutTx stores one item inside the caller's transaction, without announcing
// it: for dry runs that process the item in the same transaction and roll
// it back. received is the item's received_at.
func PutTx(ctx context.Context, tx pgx.Tx, it Item, received time.Time) (Result, error) {
	return putOne(ctx, tx, it, received)
}

// MailKeys returns the dedup key and Message-ID of a raw message: the
// Message-ID when it has one, else the content hash.
func MailKeys(raw []byte) (dedupKey, messageID string) {
	messageID = parsers.MessageID(raw)
	if messageID != "" {
		return "mid:" + messageID, messageID
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(raw)), ""
}
