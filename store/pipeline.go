package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// qualified returns itemColumns prefixed with a table alias.
func qualified(alias string) string {
	cols := strings.Split(itemColumns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

var claimFreshSQL = `
	WITH candidate AS (
		SELECT id, size FROM inbound_items
		WHERE stage <> 'done' AND attempts = 0 AND lease_until IS NULL
		  AND (next_attempt_at IS NULL OR next_attempt_at <= now())
		ORDER BY id LIMIT $1
		FOR UPDATE SKIP LOCKED),
	pick AS (
		SELECT id FROM (SELECT id, size, sum(size) OVER (ORDER BY id) AS upto FROM candidate) c
		WHERE upto - size < $3)
	UPDATE inbound_items i SET attempts = 1, lease_until = now() + $2::interval, updated_at = now()
	FROM pick WHERE i.id = pick.id
	RETURNING ` + qualified("i")

// ClaimFresh claims up to limit of the oldest items that no attempt has
// touched yet, leasing each for lease and counting its first attempt before
// any work starts. An item put back to wait (deferred) is not fresh again
// before its time: a claim loop would otherwise take it back at once, over
// and over, while what it waits for is held elsewhere. Replicas claiming at once get different items. The raw
// bytes claimed add up to about maxBytes at most (one item is always
// claimed, however large), which bounds the memory a batch takes.
func (s *Store) ClaimFresh(ctx context.Context, limit int, maxBytes int64, lease time.Duration) ([]Item, error) {
	rows, err := s.Pool.Query(ctx, claimFreshSQL, limit, lease.String(), maxBytes)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByName[Item])
	if err != nil {
		return nil, err
	}
	// UPDATE ... RETURNING does not keep the sub-select's order.
	slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.ID, b.ID) })
	return items, nil
}

// ClaimItem claims one item for an attempt: it counts the attempt and leases
// the item, unless the item is done, leased by a live attempt, or waiting
// for its next attempt (ErrNotFound then).
func (s *Store) ClaimItem(ctx context.Context, id int64, lease time.Duration) (*Item, error) {
	return one[Item](ctx, s.Pool, fmt.Sprintf("item %d", id), `
		UPDATE inbound_items SET attempts = attempts + 1, lease_until = now() + $2::interval, updated_at = now()
		WHERE id = $1 AND stage <> 'done'
		  AND (lease_until IS NULL OR lease_until < now())
		  AND (next_attempt_at IS NULL OR next_attempt_at <= now())
		RETURNING `+itemColumns, id, lease.String())
}

// ClaimTried claims the oldest of ids that an earlier attempt touched and
// that is free again: the replica working on it died (its lease lapsed) or
// its next attempt is due. It counts the attempt and leases the item, like
// ClaimItem; ErrNotFound when none is. One at a time, so that an item that
// kills the process counts no attempt against the others.
func (s *Store) ClaimTried(ctx context.Context, ids []int64, lease time.Duration) (*Item, error) {
	return one[Item](ctx, s.Pool, "an item tried before", `
		WITH pick AS (
			SELECT id FROM inbound_items
			WHERE id = ANY($1) AND stage <> 'done' AND attempts > 0
			  AND (lease_until IS NULL OR lease_until < now())
			  AND (next_attempt_at IS NULL OR next_attempt_at <= now())
			ORDER BY id LIMIT 1
			FOR UPDATE SKIP LOCKED)
		UPDATE inbound_items i SET attempts = i.attempts + 1, lease_until = now() + $2::interval, updated_at = now()
		FROM pick WHERE i.id = pick.id
		RETURNING `+qualified("i"), ids, lease.String())
}

// RetryItemAt records a failed attempt's error and frees the item for
// another attempt at or after at. When the attempt got as far as a parse
// result (parsed, with the client it names), that is kept and the item is
// marked parsed: later items that refer to it then wait for it.
func (s *Store) RetryItemAt(ctx context.Context, id int64, cause string, at time.Time, parsed []byte, client string) error {
	if parsed != nil {
		parsed = SafeJSON(parsed)
	}
	_, err := s.Pool.Exec(ctx, `
		UPDATE inbound_items SET error = $2, next_attempt_at = $3, lease_until = NULL, updated_at = now(),
			parsed = coalesce($4, parsed),
			stage = CASE WHEN $4::jsonb IS NOT NULL AND stage = 'received' THEN 'parsed' ELSE stage END,
			client = CASE WHEN $5 = '' THEN client ELSE $5 END
		WHERE id = $1 AND stage <> 'done'`, id, SafeText(cause), at, parsed, SafeText(client))
	return err
}

// ReleaseItem gives a claimed item back without counting the attempt: the
// process is stopping. It is due again at once.
func (s *Store) ReleaseItem(ctx context.Context, id int64) error {
	_, err := s.Pool.Exec(ctx, `
		UPDATE inbound_items SET attempts = greatest(attempts - 1, 0), lease_until = NULL, next_attempt_at = now(), updated_at = now()
		WHERE id = $1 AND stage <> 'done'`, id)
	return err
}

// DeferItem puts an item back until at without counting the attempt: it
// waits for an earlier item it refers to.
func (s *Store) DeferItem(ctx context.Context, id int64, reason string, at time.Time) error {
	_, err := s.Pool.Exec(ctx, `
		UPDATE inbound_items SET attempts = greatest(attempts - 1, 0), deferrals = deferrals + 1,
			reason = $2, next_attempt_at = $3, lease_until = NULL, updated_at = now()
		WHERE id = $1 AND stage <> 'done'`, id, SafeText(reason), at)
	return err
}

// DueItems lists items whose next attempt is due: retries and deferrals
// whose time has come, leases that expired (the replica working on them
// died), and items never claimed for longer than stale (their event was
// lost). Oldest first.
func (s *Store) DueItems(ctx context.Context, stale time.Duration, limit int) ([]int64, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT id FROM inbound_items
		WHERE stage <> 'done' AND (
			(lease_until IS NULL AND next_attempt_at <= now())
			OR lease_until < now()
			OR (lease_until IS NULL AND next_attempt_at IS NULL AND updated_at < now() - $1::interval))
		ORDER BY id LIMIT $2`, stale.String(), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ItemResult is an item's outcome with what the stages found on the way.
type ItemResult struct {
	Outcome      string
	Reason       string
	TicketID     *int64
	Parsed       []byte // nil keeps what is stored
	Decision     []byte // nil keeps what is stored
	Client       string // "" keeps what is stored
	MessageID    string // "" keeps what is stored
	RulesVersion *int64
}

// safe returns the result's parse result and decision made safe for
// PostgreSQL (nil when not given) and the error text a failed outcome
// records.
func (c ItemResult) safe() (parsed, decision []byte, errText string) {
	if c.Parsed != nil {
		parsed = SafeJSON(c.Parsed)
	}
	if c.Decision != nil {
		decision = SafeJSON(c.Decision)
	}
	if c.Outcome == OutcomeFailed {
		errText = SafeText(c.Reason)
	}
	return parsed, decision, errText
}

// Complete records an item's one outcome inside tx, with its parse result
// and decision, made safe for PostgreSQL.
func Complete(ctx context.Context, tx pgx.Tx, id int64, c ItemResult) error {
	parsed, decision, errText := c.safe()
	return execLater(ctx, tx, func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("item %d: already has an outcome", id)
		}
		return nil
	}, `
		UPDATE inbound_items SET stage = 'done', outcome = $2, reason = $3, ticket_id = $4, error = $10,
			parsed = coalesce($5, parsed), decision = coalesce($6, decision),
			client = CASE WHEN $7 = '' THEN client ELSE $7 END,
			message_id = CASE WHEN $8 = '' THEN message_id ELSE $8 END,
			rules_version = coalesce($9, rules_version),
			lease_until = NULL, next_attempt_at = NULL, updated_at = now()
		WHERE id = $1 AND stage <> 'done'`,
		id, c.Outcome, SafeText(c.Reason), c.TicketID, parsed, decision, SafeText(c.Client), SafeText(c.MessageID), c.RulesVersion, errText)
}

// ItemProgress is how far an item got: its stage and ticket.
func ItemProgress(ctx context.Context, tx pgx.Tx, id int64) (stage string, ticket *int64, err error) {
	err = tx.QueryRow(ctx, `SELECT stage, ticket_id FROM inbound_items WHERE id = $1`, id).Scan(&stage, &ticket)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("item %d: %w", id, ErrNotFound)
	}
	return stage, ticket, err
}

// OrderRef says which earlier items an item may belong to: those whose
// Message-ID it replies to, or that carry its order number (or, without
// one, a number it quotes).
type OrderRef struct {
	MessageIDs []string
	ExternalID string
	Client     string
	Quoted     []string
}

// Earlier is an earlier item without an outcome that an item refers to.
type Earlier struct {
	ID       int64
	Stage    string // received, parsed (waiting for an attempt) or routed
	Decision []byte // for routed: its routing decision
}

// Duplicates are recorded done (stage and outcome) when they are stored, so
// "stage <> 'done'" leaves them out; the queries below say no more, which
// keeps PostgreSQL on the small indexes of items without an outcome.

// EarlierPending finds the earlier items without an outcome that ref points
// at, oldest first. Each branch is an index look-up (by Message-ID, or by
// order number among items that have a parse result but no outcome), so it
// costs the same however many items wait.
func EarlierPending(ctx context.Context, tx pgx.Tx, id int64, ref OrderRef) ([]Earlier, error) {
	numbers := ref.Quoted
	if ref.ExternalID != "" {
		numbers = []string{ref.ExternalID}
	}
	if len(ref.MessageIDs) == 0 && len(numbers) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT id, stage, decision FROM inbound_items
		WHERE message_id = ANY($2) AND message_id <> '' AND stage <> 'done' AND id < $1 AND stage IN ('received', 'parsed', 'routed')
		UNION
		SELECT id, stage, decision FROM inbound_items
		WHERE (parsed->'fields'->>'external_id') = ANY($3) AND parsed IS NOT NULL AND id < $1
		  AND stage IN ('received', 'parsed', 'routed')
		  AND CASE WHEN $4 <> '' THEN client = $5 ELSE ($5 = '' OR client = $5) END
		ORDER BY id LIMIT 20`, id, ref.MessageIDs, numbers, ref.ExternalID, ref.Client)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Earlier, error) {
		var e Earlier
		err := row.Scan(&e.ID, &e.Stage, &e.Decision)
		return e, err
	})
}

// RouteItem puts an unmatched item back as routed with a dispatcher's
// decision, for the ticket step to create its ticket.
func RouteItem(ctx context.Context, tx pgx.Tx, id int64, client string, decision []byte) error {
	_, err := tx.Exec(ctx, `UPDATE inbound_items SET stage = 'routed', outcome = NULL, reason = '', client = $2, decision = $3, updated_at = now()
		WHERE id = $1`, id, SafeText(client), SafeJSON(decision))
	return err
}

// LockPending locks items inside tx and says which of them still have no
// outcome.
func LockPending(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]bool, error) {
	rows, err := tx.Query(ctx, `SELECT id, stage <> 'done' FROM inbound_items WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	open := make(map[int64]bool, len(ids))
	var id int64
	var pending bool
	_, err = pgx.ForEachRow(rows, []any{&id, &pending}, func() error {
		open[id] = pending
		return nil
	})
	return open, err
}

// SharedParse is a parse result made visible before its item is routed.
type SharedParse struct {
	ID     int64
	Parsed []byte
	Client string
}

// ShareParsed stores the parse results of claimed items before they are
// routed, so that another replica routing a later item that refers to one
// of them (by its order number) sees it and waits for it.
func (s *Store) ShareParsed(ctx context.Context, items []SharedParse) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]int64, len(items))
	parsed := make([]string, len(items))
	clients := make([]string, len(items))
	for i, it := range items {
		ids[i], parsed[i], clients[i] = it.ID, string(SafeJSON(it.Parsed)), SafeText(it.Client)
	}
	_, err := s.Pool.Exec(ctx, `
		UPDATE inbound_items i SET parsed = u.parsed::jsonb, stage = 'parsed',
			client = CASE WHEN u.client = '' THEN i.client ELSE u.client END
		FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, parsed, client)
		WHERE i.id = u.id AND i.stage = 'received'`, ids, parsed, clients)
	return err
}

// EarliestForeignClaim returns the oldest item below before that is leased,
// not one of mine, and has no parse result yet: another replica is parsing
// it, or died while it held it (an item waiting for a retry holds no lease
// and blocks nothing). 0 when there is none. What such an item refers to is not known yet, so later items that
// refer to anything wait for it.
func (s *Store) EarliestForeignClaim(ctx context.Context, before int64, mine []int64) (int64, error) {
	var id int64
	err := s.Pool.QueryRow(ctx, `
		SELECT coalesce(min(id), 0) FROM inbound_items
		WHERE stage <> 'done' AND id < $1 AND stage = 'received' AND lease_until IS NOT NULL AND NOT (id = ANY($2))`, before, mine).Scan(&id)
	return id, err
}
