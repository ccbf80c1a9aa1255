package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// FieldGroup is the mail of one format (kind "format") or one client's
// sender domain without a format (kind "domain") in the drift window,
// grouped by which required fields were found.
type FieldGroup struct {
	Kind        string  `db:"kind"`
	Key         string  `db:"key"`
	HasExternal bool    `db:"has_external"`
	HasStore    bool    `db:"has_store"`
	Messages    int     `db:"messages"`
	Examples    []int64 `db:"examples"` // up to 5, newest first
}

// FieldPresence counts, for the latest window mail items received since
// since of each format and of each domain of a client's (mail read without
// a format), the messages by whether the chain's number and the store were
// found in the saved parse result. Re-deliveries, ignored mail and mail not
// parsed yet do not count. The index inbound_items_mail_received keeps it to
// the period's rows.
func FieldPresence(ctx context.Context, q Querier, since time.Time, window int) ([]FieldGroup, error) {
	rows, err := q.Query(ctx, `
		WITH recent AS (
			SELECT i.id, f.format, lower(split_part(coalesce(i.parsed->>'from', ''), '@', 2)) AS domain,
				coalesce(f.fields->>'external_id', '') <> '' AS has_external,
				(coalesce(f.fields->>'object_code', '') <> '' OR coalesce(f.fields->>'object_name', '') <> ''
				 OR coalesce(f.fields->>'address', '') <> '') AS has_store
			FROM inbound_items i
			CROSS JOIN LATERAL (SELECT i.parsed->'fields' AS fields, coalesce(i.parsed->'fields'->>'format', '') AS format) f
			WHERE i.source = 'mail' AND i.duplicate_of IS NULL AND i.received_at >= $1
			  AND i.parsed IS NOT NULL AND i.outcome IS DISTINCT FROM 'ignored' AND i.outcome IS DISTINCT FROM 'duplicate'
		), keyed AS (
			SELECT id, has_external, has_store,
				CASE WHEN format <> '' THEN 'format' ELSE 'domain' END AS kind,
				CASE WHEN format <> '' THEN format ELSE domain END AS key
			FROM recent
			WHERE format <> '' OR EXISTS (SELECT 1 FROM clients c WHERE recent.domain = ANY (c.domains))
		), ranked AS (
			SELECT *, row_number() OVER (PARTITION BY kind, key ORDER BY id DESC) AS rn FROM keyed
		)
		SELECT kind, key, has_external, has_store, count(*)::int AS messages,
			(array_agg(id ORDER BY id DESC))[1:5] AS examples
		FROM ranked WHERE rn <= $2
		GROUP BY kind, key, has_external, has_store
		ORDER BY kind, key, has_external, has_store`, since, window)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[FieldGroup])
}
