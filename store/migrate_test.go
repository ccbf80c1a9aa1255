package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMigrateIsIdempotentAndSchemaCurrent(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	applied, err := s.Migrate(ctx)
	require.NoError(t, err)
	require.Empty(t, applied, "template is already migrated")
	require.NoError(t, s.CheckSchema(ctx))

	_, err = s.Pool.Exec(ctx, `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`)
	require.NoError(t, err)
	require.ErrorIs(t, s.CheckSchema(ctx), store.ErrSchemaBehind)
}

func TestRawIsLZ4Compressed(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	var method string
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT attcompression::text FROM pg_attribute WHERE attrelid = 'inbound_items'::regclass AND attname = 'raw'`).Scan(&method))
	require.Equal(t, "l", method)
}
