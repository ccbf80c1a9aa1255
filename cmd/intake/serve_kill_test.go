package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest/mailbox/dovecottest"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/testdata/demo"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// buildIntake builds the binary once per test run.
func buildIntake(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "intake")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// importDemoReference loads the sample reference data into st.
func importDemoReference(t *testing.T, st *store.Store) {
	t.Helper()
	for _, f := range demo.Reference() {
		_, err := st.Import(context.Background(), strings.TrimSuffix(f.Name, ".csv"), f.Name, bytes.NewReader(f.Data), nil)
		require.NoError(t, err)
	}
}

// TestServeSurvivesSIGKILL kills `intake serve` with SIGKILL at random
// moments while it ingests a real Dovecot mailbox, restarts it each time,
// and checks that no inbound item is lost or processed twice.
func TestServeSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	// The normal suite kills 5 times over 630 messages; INTAKE_KILL_TEST=1
	// runs the full drill: 5,040 messages, 10 kills.
	n, kills := 630, 5
	if os.Getenv("INTAKE_KILL_TEST") == "1" {
		n, kills = 5040, 10
	}
	ctx := context.Background()
	bin := buildIntake(t)
	dbURL := pgtest.URL(t)
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	defer st.Close()
	importDemoReference(t, st)

	dv := dovecottest.Start(t)
	dv.WriteMaildir(t, "INBOX", sampleMessages(n))
	httpAddr := freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "intake.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
http:
  addr: %s
bus:
  poll_interval: 20ms
log:
  level: warn
intake:
  lease_period: 2s
mailboxes:
  - name: orders
    host: %s
    port: %d
    tls: plain
    username: %s
    password: %s
    mode: move
    processed_folder: Processed
    poll_interval: 1s
    batch: 20
`, httpAddr, dv.Host, dv.Port, dovecottest.User, dovecottest.Password)), 0o600))

	start := func() (*exec.Cmd, *bytes.Buffer) {
		var logs bytes.Buffer
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		require.NoError(t, cmd.Start())
		return cmd, &logs
	}
	counts := func() (items, done int) {
		require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE stage = 'done') FROM inbound_items`).Scan(&items, &done))
		return
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := range kills {
		before, _ := counts()
		cmd, _ := start()
		// Kill while it ingests: once it stores again (a restarted replica
		// first waits for the dead one's mailbox lease to lapse).
		for wait := time.Now().Add(30 * time.Second); time.Now().Before(wait); time.Sleep(20 * time.Millisecond) {
			if items, _ := counts(); items > before {
				break
			}
		}
		time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		items, done := counts()
		t.Logf("kill %d: %d items stored, %d with an outcome", i+1, items, done)
	}

	cmd, logs := start()
	waitHealthy(t, httpAddr, logs)
	deadline := time.Now().Add(time.Duration(n/10) * time.Second)
	for {
		items, done := counts()
		if items == n && done == n && dv.Count(t, "Processed") == n {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("after restart: %d items, %d done, %d processed in the mailbox; log:\n%s", items, done, dv.Count(t, "Processed"), logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "serve stops cleanly on SIGTERM; log:\n%s", logs.String())

	// Nothing lost: every message is one item with one outcome, and left the inbox.
	var refs, failed int
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(DISTINCT source_ref), count(*) FILTER (WHERE outcome = 'failed') FROM inbound_items`).Scan(&refs, &failed))
	require.Equal(t, n, refs)
	require.Zero(t, failed)
	require.Zero(t, dv.Count(t, "INBOX"))
	// Nothing processed twice: each item applied to a ticket at most once,
	// and each ticket created by exactly one item with outcome ticket.
	var twice, orphan int
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT item_id FROM ticket_events
		WHERE item_id IS NOT NULL GROUP BY item_id HAVING count(*) > 1) x`).Scan(&twice))
	require.Zero(t, twice, "an item applied twice")
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM tickets t JOIN inbound_items i ON i.id = t.source_item
		WHERE i.outcome <> 'ticket' OR i.ticket_id <> t.id`).Scan(&orphan))
	require.Zero(t, orphan, "a ticket whose item has another outcome")
	out, err := st.OutcomeCounts(ctx)
	require.NoError(t, err)
	t.Logf("%d messages, outcomes after %d SIGKILLs: %v", n, kills, out)
	require.Positive(t, out["ticket"])
	require.Positive(t, out["follow_up"])
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits until serve answers /healthz.
func waitHealthy(t *testing.T, addr string, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve did not become healthy; log:\n%s", logs.String())
}
