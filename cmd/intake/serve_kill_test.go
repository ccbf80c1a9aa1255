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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest/mailbox/dovecottest"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
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

// killDrill is a database with the demo reference data and a Dovecot
// mailbox holding n sample messages, for runs of `intake serve` that are
// killed while they ingest it.
type killDrill struct {
	t     *testing.T
	ctx   context.Context
	bin   string
	dbURL string
	st    *store.Store
	dv    *dovecottest.Server
	n     int
}

func newKillDrill(t *testing.T, n int) *killDrill {
	t.Helper()
	ctx := context.Background()
	d := &killDrill{t: t, ctx: ctx, bin: buildIntake(t), dbURL: pgtest.URL(t), n: n}
	st, err := store.Open(ctx, d.dbURL)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	d.st = st
	pgtest.ImportDemo(t, st)
	d.dv = dovecottest.Start(t)
	d.dv.WriteMaildir(t, "INBOX", sampleMessages(n))
	return d
}

// config writes a serve configuration that listens on httpAddr and reads
// the drill's mailbox; bus is the YAML of the bus section's keys.
func (d *killDrill) config(httpAddr, bus string) string {
	d.t.Helper()
	path := filepath.Join(d.t.TempDir(), "intake.yaml")
	require.NoError(d.t, os.WriteFile(path, []byte(fmt.Sprintf(`
http:
  addr: %s
bus:
  poll_interval: 20ms
%s
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
`, httpAddr, bus, d.dv.Host, d.dv.Port, dovecottest.User, dovecottest.Password)), 0o600))
	return path
}

// serveProc is a running `intake serve`.
type serveProc struct {
	cmd  *exec.Cmd
	addr string
	logs *lockedBuffer
	done chan struct{} // closed when it has exited
	err  error         // how it exited
}

// start runs `intake serve` with the configuration at cfgPath, listening on
// addr. It is killed when the test ends, if it still runs.
func (d *killDrill) start(cfgPath, addr string) *serveProc {
	d.t.Helper()
	p := &serveProc{cmd: exec.Command(d.bin, "serve", "--config", cfgPath), addr: addr,
		logs: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "DATABASE_URL="+d.dbURL)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(d.t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	d.t.Cleanup(func() { p.kill() })
	return p
}

// kill SIGKILLs p and waits until it is gone.
func (p *serveProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // it may have exited
	<-p.done
}

// stop sends SIGTERM and returns how p exited.
func (p *serveProc) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(time.Minute):
		p.kill()
		return fmt.Errorf("pid %d did not stop within a minute of SIGTERM", p.cmd.Process.Pid)
	}
}

// counts returns how many items are stored and how many have an outcome.
func (d *killDrill) counts() (items, done int) {
	d.t.Helper()
	require.NoError(d.t, d.st.Pool.QueryRow(d.ctx, `SELECT count(*), count(*) FILTER (WHERE stage = 'done') FROM inbound_items`).Scan(&items, &done))
	return items, done
}

// waitAllDone waits until every message is stored with an outcome and moved
// out of the inbox, failing with the logs of procs after timeout.
func (d *killDrill) waitAllDone(timeout time.Duration, procs ...*serveProc) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		items, done := d.counts()
		processed := d.dv.Count(d.t, "Processed")
		if items == d.n && done == d.n && processed == d.n {
			return
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, p := range procs {
				p.kill()
				fmt.Fprintf(&logs, "--- pid %d:\n%s", p.cmd.Process.Pid, p.logs.String())
			}
			d.t.Fatalf("after %v: %d items, %d done, %d processed in the mailbox; logs:\n%s", timeout, items, done, processed, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkExactlyOnce checks that every message ended as one item with one
// outcome, and that nothing was applied or created twice.
func (d *killDrill) checkExactlyOnce() map[string]int {
	t, ctx, db := d.t, d.ctx, d.st.Pool
	t.Helper()
	var items, refs, pending, failed int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*), count(DISTINCT source_ref), count(*) FILTER (WHERE stage <> 'done'),
		count(*) FILTER (WHERE outcome = 'failed') FROM inbound_items`).Scan(&items, &refs, &pending, &failed))
	require.Equal(t, d.n, refs, "messages stored")
	require.Equal(t, d.n, items, "one item per message")
	require.Zero(t, pending, "items without an outcome")
	require.Zero(t, failed, "failed items")
	require.Zero(t, d.dv.Count(t, "INBOX"), "messages left in the inbox")
	// Each item applied to a ticket at most once, each ticket created by
	// exactly one item with outcome ticket, and one ticket per order.
	var twice, orphan, unclaimed, sameOrder int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM (SELECT item_id FROM ticket_events
		WHERE item_id IS NOT NULL GROUP BY item_id HAVING count(*) > 1) x`).Scan(&twice))
	require.Zero(t, twice, "an item applied twice")
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM tickets t JOIN inbound_items i ON i.id = t.source_item
		WHERE i.outcome <> 'ticket' OR i.ticket_id <> t.id`).Scan(&orphan))
	require.Zero(t, orphan, "a ticket whose item has another outcome")
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM inbound_items i
		WHERE i.outcome = 'ticket' AND (SELECT count(*) FROM tickets t WHERE t.source_item = i.id AND t.id = i.ticket_id) <> 1`).Scan(&unclaimed))
	require.Zero(t, unclaimed, "an item with outcome ticket that did not create its ticket")
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM (SELECT client, external_id FROM tickets
		WHERE external_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) x`).Scan(&sameOrder))
	require.Zero(t, sameOrder, "two tickets for one order")
	out, err := d.st.OutcomeCounts(ctx)
	require.NoError(t, err)
	require.Positive(t, out["ticket"])
	require.Positive(t, out["follow_up"])
	return out
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
	d := newKillDrill(t, n)
	httpAddr := freeAddr(t)
	cfgPath := d.config(httpAddr, "")

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := range kills {
		before, _ := d.counts()
		p := d.start(cfgPath, httpAddr)
		// Kill while it ingests: once it stores again (a restarted replica
		// first waits for the dead one's mailbox lease to lapse).
		for wait := time.Now().Add(30 * time.Second); time.Now().Before(wait); time.Sleep(20 * time.Millisecond) {
			if items, _ := d.counts(); items > before {
				break
			}
		}
		time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
		p.kill()
		items, done := d.counts()
		t.Logf("kill %d: %d items stored, %d with an outcome", i+1, items, done)
	}

	p := d.start(cfgPath, httpAddr)
	waitHealthy(t, p)
	d.waitAllDone(time.Duration(n/10)*time.Second, p)
	require.NoError(t, p.stop(), "serve stops cleanly on SIGTERM; log:\n%s", p.logs.String())

	out := d.checkExactlyOnce()
	t.Logf("%d messages, outcomes after %d SIGKILLs: %v", n, kills, out)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits until p answers /healthz.
func waitHealthy(t *testing.T, p *serveProc) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited (%v) before it became healthy; log:\n%s", p.err, p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not become healthy; log:\n%s", p.logs.String())
}

// lockedBuffer is a bytes.Buffer that a process writes to while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
