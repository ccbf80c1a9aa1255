package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/pipeline/reprocesstest"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// intake reprocess: a filter is required, --dry-run prints the preview and
// writes nothing, without it the changes are applied, and a second run
// changes nothing.
func TestReprocessCommand(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	pgtest.ImportDemo(t, st)
	_, ids := reprocesstest.Onboard(t, st, clocktest.Clock(t))
	// The fixed format is the rule set in force.
	_, _, err = pipeline.SaveRules(ctx, st, append(defaults.Files(), reprocesstest.Format(true)), "olga")
	require.NoError(t, err)
	count := func(sql string) int {
		var n int
		require.NoError(t, st.Pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	tickets := count(`SELECT count(*) FROM tickets`)

	_, _, err = runCLI(t, url, "reprocess", "--dry-run")
	require.ErrorContains(t, err, "choose the items")
	_, _, err = runCLI(t, url, "reprocess", "--from", "yesterday", "--dry-run")
	require.ErrorContains(t, err, `--from: "yesterday" is neither`)

	out, _, err := runCLI(t, url, "reprocess", "--unmatched", "--dry-run")
	require.NoError(t, err, out)
	assert.Contains(t, out, "reprocess (preview, nothing written): 2 items, 2 would change")
	assert.Contains(t, out, "created 2")
	assert.Contains(t, out, "(new ticket)")
	assert.Contains(t, out, "SD-5003")
	assert.Equal(t, tickets, count(`SELECT count(*) FROM tickets`))

	out, _, err = runCLI(t, url, "reprocess", "--client", "SB", "--by", "olga")
	require.NoError(t, err, out)
	assert.Contains(t, out, "reprocess (applied): 5 items, 4 changed")
	assert.Contains(t, out, "merged 1")
	assert.Equal(t, tickets+2, count(`SELECT count(*) FROM tickets`))
	assert.Equal(t, 1, count(`SELECT count(*) FROM ticket_events WHERE kind = 'merged' AND actor = 'olga' AND to_state = 'cancelled'`))
	o, err := pipeline.ReadOutcome(ctx, st.Pool, ids["update-5001"])
	require.NoError(t, err)
	assert.Equal(t, "follow_up", o.Kind)

	out, _, err = runCLI(t, url, "reprocess", "--all")
	require.NoError(t, err, out)
	assert.Contains(t, out, "5 items, 0 changed")
	assert.Equal(t, tickets+2, count(`SELECT count(*) FROM tickets`))
}

// The running server serves reprocessing and keeps the drift report.
func TestServeReprocessAndDrift(t *testing.T) {
	s := startTestServer(t)
	code, body := s.call(t, "POST", "/api/v1/reprocess", map[string]any{"unmatched": true, "dry_run": true})
	require.Equal(t, 200, code, body)
	assert.Equal(t, true, body["dry_run"])
	code, body = s.call(t, "POST", "/api/v1/reprocess", map[string]any{"dry_run": true})
	assert.Equal(t, 400, code, body)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		req, err := http.NewRequest("GET", s.base+"/api/v1/drift", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var rep map[string]any
		err = json.NewDecoder(resp.Body).Decode(&rep)
		resp.Body.Close()
		if err == nil && rep != nil {
			assert.Contains(t, rep, "shares")
			break
		}
		require.True(t, time.Now().Before(deadline), "no drift report")
	}
}
