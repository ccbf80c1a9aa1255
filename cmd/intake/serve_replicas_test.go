package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// TestReplicasSurviveSIGKILL runs three replicas of `intake serve` on one
// database, SIGKILLs the one reading the mailbox while they ingest it, and
// checks that another takes the mailbox over and that every message still
// ends as exactly one item with one outcome, on either bus.
func TestReplicasSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	// INTAKE_KILL_TEST=1 runs the full drill.
	n := 600
	if os.Getenv("INTAKE_KILL_TEST") == "1" {
		n = 5000
	}
	for _, tc := range []struct {
		name string
		bus  func(t *testing.T) string // the bus section's keys
	}{
		{"postgres", func(*testing.T) string { return "" }},
		{"nats", func(t *testing.T) string {
			natsURL, prefix := testNATS(t)
			return fmt.Sprintf("  kind: nats\n  nats_url: %s\n  nats_prefix: %s\n", natsURL, prefix)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { replicaDrill(t, n, tc.bus(t)) })
	}
}

func replicaDrill(t *testing.T, n int, bus string) {
	const replicas = 3
	d := newKillDrill(t, n)
	procs := make([]*serveProc, replicas)
	for i := range procs {
		addr := freeAddr(t)
		procs[i] = d.start(d.config(addr, bus), addr)
	}
	for _, p := range procs {
		waitHealthy(t, p)
	}

	// Kill the reader once it has stored some of the mail, while the
	// pipeline works on some of it (perhaps the reader's own batch).
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	killAt := n/10 + rng.IntN(n/4)
	var holder string
	var victim *serveProc
	for wait := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		items, _ := d.counts()
		var leased bool
		require.NoError(t, d.st.Pool.QueryRow(d.ctx, `SELECT EXISTS (SELECT FROM inbound_items
			WHERE stage <> 'done' AND lease_until > now())`).Scan(&leased))
		holder = d.mailboxHolder()
		if items >= killAt && leased && holder != "" {
			victim = replicaOf(t, holder, procs)
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("%d of %d messages stored after a minute (lease held by %q)", items, n, holder)
		}
	}
	victim.kill()
	killed := time.Now()
	stored, done := d.counts()
	// Items under a pipeline lease now are the dead replica's or the
	// others'; the dead one's wait for theirs to lapse.
	var leased []int64
	var killedDB time.Time
	require.NoError(t, d.st.Pool.QueryRow(d.ctx, `SELECT coalesce(array_agg(id), '{}'), now() FROM inbound_items
		WHERE stage <> 'done' AND lease_until > now()`).Scan(&leased, &killedDB))
	t.Logf("SIGKILL pid %d (lease holder %s) at %d items stored, %d with an outcome, %d under a pipeline lease",
		victim.cmd.Process.Pid, holder, stored, done, len(leased))

	// Another replica takes the mailbox over once the lease lapses.
	var next string
	for wait := killed.Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if next = d.mailboxHolder(); next != "" && next != holder {
			break
		}
		require.False(t, time.Now().After(wait), "the dead replica's mailbox lease was not taken over within a minute")
	}
	takeover := time.Since(killed)
	for wait := killed.Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if items, _ := d.counts(); items > stored || items == n {
			break
		}
		require.False(t, time.Now().After(wait), "no message stored within a minute of the takeover")
	}
	resumed := time.Since(killed)
	t.Logf("mailbox taken over by %s %v after the kill; storing again after %v", next, takeover.Round(time.Millisecond), resumed.Round(time.Millisecond))

	var survivors []*serveProc
	for _, p := range procs {
		if p != victim {
			survivors = append(survivors, p)
		}
	}
	d.waitAllDone(max(time.Minute, time.Duration(n/10)*time.Second), survivors...)
	finished := time.Since(killed)

	// The lease stayed with a live replica.
	final := d.mailboxHolder()
	require.NotEqual(t, holder, final, "the dead replica still holds the mailbox")
	require.NotEqual(t, victim, replicaOf(t, final, procs))
	for _, p := range survivors {
		require.NoError(t, p.stop(), "serve stops cleanly on SIGTERM; log:\n%s", p.logs.String())
	}

	out := d.checkExactlyOnce()
	var retried int
	var leasedDone time.Duration
	require.NoError(t, d.st.Pool.QueryRow(d.ctx, `SELECT count(*) FILTER (WHERE attempts > 1),
		coalesce(max(updated_at) FILTER (WHERE id = ANY($1)) - $2, '0')
		FROM inbound_items`, leased, killedDB).Scan(&retried, &leasedDone))
	t.Logf("items leased at the kill all done %v after it; %d items took more than one attempt", leasedDone.Round(time.Millisecond), retried)
	t.Logf("%d messages on %d replicas, one killed: all done %v after the kill; outcomes: %v", n, replicas, finished.Round(time.Millisecond), out)
}

// mailboxHolder returns the replica holding the drill mailbox's lease, or
// "" when no lease row exists.
func (d *killDrill) mailboxHolder() string {
	d.t.Helper()
	var holder string
	err := d.st.Pool.QueryRow(d.ctx, `SELECT holder FROM mailbox_leases WHERE mailbox = 'orders'`).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return ""
	}
	require.NoError(d.t, err)
	return holder
}

// replicaOf finds the process that holder names: holders are
// "<hostname>/<pid>/<random>".
func replicaOf(t *testing.T, holder string, procs []*serveProc) *serveProc {
	t.Helper()
	parts := strings.Split(holder, "/")
	require.GreaterOrEqual(t, len(parts), 3, "lease holder %q", holder)
	pid, err := strconv.Atoi(parts[len(parts)-2])
	require.NoError(t, err, "lease holder %q", holder)
	for _, p := range procs {
		if p.cmd.Process.Pid == pid {
			return p
		}
	}
	t.Fatalf("lease holder %q is none of the replicas", holder)
	return nil
}

// testNATS returns the NATS server for the tests (INTAKE_TEST_NATS_URL, or
// JetStream on the default port) and a subject prefix of the test's own,
// whose streams are deleted when the test ends.
func testNATS(t *testing.T) (natsURL, prefix string) {
	t.Helper()
	natsURL = os.Getenv("INTAKE_TEST_NATS_URL")
	if natsURL == "" {
		natsURL = "nats://127.0.0.1:4222"
	}
	u, err := url.Parse(natsURL)
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		t.Fatalf("no NATS server at %s (%v): start one with JetStream (nats-server -js) or set INTAKE_TEST_NATS_URL", natsURL, err)
	}
	conn.Close()
	prefix = fmt.Sprintf("t%d", time.Now().UnixNano())
	t.Cleanup(func() { deleteNATSStreams(t, natsURL, prefix) })
	return natsURL, prefix
}

func deleteNATSStreams(t *testing.T, natsURL, prefix string) {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Logf("cleaning up NATS streams %s*: %v", prefix, err)
		return
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Logf("cleaning up NATS streams %s*: %v", prefix, err)
		return
	}
	for name := range js.StreamNames() {
		if strings.HasPrefix(name, prefix) {
			if err := js.DeleteStream(name); err != nil {
				t.Logf("deleting NATS stream %s: %v", name, err)
			}
		}
	}
}
