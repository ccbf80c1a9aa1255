// Package migrations holds Intake's PostgreSQL schema as forward-only SQL files
// named NNNN_name.sql. They are embedded in the binary and applied in order by
// store.Migrate under an advisory lock.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
