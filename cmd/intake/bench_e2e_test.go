package main

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/store/pgtest"
)

// TestBenchE2E runs both modes of `intake bench e2e` small and checks that
// the report has its figures and that the scratch database is gone. It
// does not judge the figures: speed is not asserted in tests.
func TestBenchE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Dovecot and runs the whole path")
	}
	server := pgtest.ServerURL(t)

	t.Run("throughput", func(t *testing.T) {
		out, errOut, err := runCLI(t, server, "bench", "e2e", "--n", "50")
		require.NoError(t, err, "stderr:\n%s\nstdout:\n%s", errOut, out)
		for _, want := range []string{
			`(?m)^settings: pipeline batch_size \d+, concurrency \d+, .*mailbox batch \d+`,
			`(?m)^messages: 50$`,
			`(?m)^wall time: [\d.]+ s`,
			`(?m)^throughput: [\d.]+ msg/s$`,
			`(?m)^latency stored -> outcome: p50 \d+ ms, p99 \d+ ms, max \d+ ms \(50 samples\)$`,
			`(?m)^outcomes: ticket [1-9]\d* \(engineer assigned \d+\), follow_up [1-9]\d*, duplicate \d+, ignored \d+, unmatched \d+, failed 0$`,
			`(?m)^peak RSS: [\d.]+ MB`,
		} {
			assert.Regexp(t, regexp.MustCompile(want), out)
		}
		assert.NotContains(t, out, "without an outcome")
		assertNoBenchDatabases(t, server)
	})

	t.Run("idle", func(t *testing.T) {
		out, errOut, err := runCLI(t, server, "bench", "e2e", "--idle", "--n", "5", "--pause", "20ms")
		require.NoError(t, err, "stderr:\n%s\nstdout:\n%s", errOut, out)
		for _, want := range []string{
			`(?m)^warm-up: \d+ new-order samples, [1-9]\d* with an order number`,
			`(?m)^messages: 5, ticket with an engineer \d+`,
			`(?m)^latency APPEND -> outcome: p50 \d+ ms, p99 \d+ ms, max \d+ ms \(5 samples\)$`,
			`(?m)^  of which stored -> outcome \(pipeline\): p50 \d+ ms`,
			`(?m)^peak RSS: [\d.]+ MB`,
		} {
			assert.Regexp(t, regexp.MustCompile(want), out)
		}
		assert.NotRegexp(t, `(?m)^messages: .*(follow_up|duplicate)`, out, "each message is a new order")
		assertNoBenchDatabases(t, server)
	})
}

func assertNoBenchDatabases(t *testing.T, server string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, server)
	require.NoError(t, err)
	defer c.Close(ctx)
	var left int
	require.NoError(t, c.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname LIKE 'intake\_bench\_' || $1 || '\_%'`,
		strconv.Itoa(os.Getpid())).Scan(&left))
	assert.Zero(t, left, "scratch databases left behind")
}
