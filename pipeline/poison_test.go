package pipeline_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

var messageIDHeader = regexp.MustCompile(`(?im)^Message-ID:\s*<`)

// copyMail returns a sample message under a fresh Message-ID.
func copyMail(raw []byte, tag string) []byte {
	return messageIDHeader.ReplaceAll(raw, []byte("Message-ID: <"+tag+"."))
}

// nulMail is an order whose subject and body hold NUL bytes: its parse
// result cannot be stored as it is.
func nulMail() []byte {
	subj := base64.StdEncoding.EncodeToString([]byte("Течёт\x00кран в магазине 0135"))
	return []byte("From: director.0135@pyatugol.example\r\nTo: zayavki@tehservis.example\r\n" +
		"Subject: =?UTF-8?B?" + subj + "?=\r\nMessage-ID: <nul-1@pyatugol.example>\r\nDate: Mon, 02 Nov 2026 09:00:00 +0300\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		"Магазин 0135: течёт\x00 кран\x00 в подсобке.\r\n")
}

// TestNoItemHoldsUpTheMail: a message whose parse result holds NUL bytes,
// one that makes the ticket step fail with an error that cannot heal and
// one whose ticket step never finishes are ingested ahead of 100 ordinary
// messages. Each of the three ends with an outcome within a bounded time
// (the last two as failed, with their error), and every ordinary message
// gets its outcome meanwhile.
func TestNoItemHoldsUpTheMail(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, proc := sampleProcessor(ctx, t)
	var (
		mu       sync.Mutex
		behavior = map[int64]string{}
		tries    = map[int64]int{}
	)
	proc.OnTicket(func(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec flow.Decision, created *store.Ticket) error {
		mu.Lock()
		b := behavior[itemID]
		tries[itemID]++
		mu.Unlock()
		switch b {
		case "permanent":
			// A real refusal by PostgreSQL: jsonb takes no \u0000.
			_, err := tx.Exec(ctx, `SELECT $1::jsonb`, `{"a": "\u0000"}`)
			return err
		case "hang":
			_, err := tx.Exec(ctx, `SELECT pg_sleep(600)`)
			return err
		}
		return nil
	})
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	const timeout = 2 * time.Second
	pipe := pipeline.New(pipeline.Config{Bus: "postgres", PollInterval: 10 * time.Millisecond, Timeout: timeout,
		Retries: 2, RetryInitial: 100 * time.Millisecond, SweepInterval: 100 * time.Millisecond}, st, proc, log)
	require.NoError(t, pipeline.InitSchema(ctx, st.Pool, nil))
	in := ingest.NewInbox(st, pipe.Publish, clocktest.Clock(t))

	mails := demo.Mail()
	put := func(name string, raw []byte) int64 {
		key, mid := ingest.MailKeys(raw)
		res, err := in.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "t/" + name, DedupKey: key, MessageID: mid, Raw: raw}}, nil)
		require.NoError(t, err)
		require.Equal(t, ingest.StatusNew, res[0].Status, name)
		return res[0].ID
	}
	nul := put("nul", nulMail())
	perm := put("permanent", copyMail(mails[0].Data, "perm"))
	hang := put("hang", copyMail(mails[1].Data, "hang"))
	mu.Lock()
	behavior[perm], behavior[hang] = "permanent", "hang"
	mu.Unlock()
	var normal []int64
	for i := 0; len(normal) < 100; i++ {
		m := mails[i%len(mails)]
		normal = append(normal, put(fmt.Sprintf("n%d-%s", i, m.Name), copyMail(m.Data, fmt.Sprintf("n%d", i))))
	}

	done := make(chan error, 1)
	go func() { done <- pipe.Run(ctx) }()
	start := time.Now()
	// Bounded: 3 attempts of at most 2 s each, their backoff and a margin
	// for a slow machine.
	deadline := start.Add(60 * time.Second)
	for {
		var pending int
		require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items WHERE stage <> 'done'`).Scan(&pending))
		if pending == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d items still without an outcome after %v", pending, time.Since(start))
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("all %d items have their outcome after %v", len(normal)+3, time.Since(start).Round(time.Millisecond))

	get := func(id int64) *store.Item {
		it, err := st.GetItem(ctx, id)
		require.NoError(t, err)
		return it
	}
	// NUL bytes are made safe before they are stored: the order is a
	// ticket like any other, its subject with U+FFFD where the NUL was.
	it := get(nul)
	require.NotNil(t, it.Outcome)
	assert.Equal(t, flow.OutcomeTicket, *it.Outcome, it.Error)
	var subject string
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT parsed->>'subject' FROM inbound_items WHERE id = $1`, nul).Scan(&subject))
	assert.Equal(t, "Течёт\uFFFDкран в магазине 0135", subject)

	// The error that cannot heal fails at once: one attempt.
	it = get(perm)
	require.NotNil(t, it.Outcome)
	assert.Equal(t, flow.OutcomeFailed, *it.Outcome)
	assert.Contains(t, it.Error, "22P05")
	mu.Lock()
	assert.Equal(t, 1, tries[perm], "a permanent error is not retried (the batch's try counts as the first)")
	mu.Unlock()

	// The hanging step times out at every attempt, then fails.
	it = get(hang)
	require.NotNil(t, it.Outcome)
	assert.Equal(t, flow.OutcomeFailed, *it.Outcome)
	assert.Contains(t, it.Error, "gave up after 3 attempts")
	assert.Contains(t, it.Error, "took longer than 2s")

	for _, id := range normal {
		it := get(id)
		require.NotNil(t, it.Outcome, "item %d", id)
		assert.NotEqual(t, flow.OutcomeFailed, *it.Outcome, "item %d: %s", id, it.Error)
	}
	cancel()
	require.NoError(t, <-done)
}

// TestCrashLoopEndsAsFailed: an item that kills the process at every
// attempt is failed after a bounded number of restarts, and the items that
// were claimed with it still get their outcomes.
func TestCrashLoopEndsAsFailed(t *testing.T) {
	if os.Getenv("INTAKE_CRASH_CHILD") != "" {
		crashChild(t)
		return
	}
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	pgtest.ImportDemo(t, st)
	require.NoError(t, pipeline.InitSchema(ctx, st.Pool, nil))
	pipe := pipeline.New(pipeline.Config{}, st, nil, slog.Default())
	in := ingest.NewInbox(st, pipe.Publish, clocktest.Clock(t))
	mails := demo.Mail()
	var items []ingest.Item
	for i, m := range mails[:8] {
		raw := copyMail(m.Data, fmt.Sprintf("c%d", i))
		key, mid := ingest.MailKeys(raw)
		items = append(items, ingest.Item{Source: flow.SourceMail, SourceRef: "crash/" + m.Name, DedupKey: key, MessageID: mid, Raw: raw})
	}
	res, err := in.Put(ctx, items, nil)
	require.NoError(t, err)
	bomb := res[2].ID

	const retries = 2 // so the item is given up at its 4th start
	restarts := 0
	for ; restarts < 10; restarts++ {
		var pending int
		require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items WHERE stage <> 'done'`).Scan(&pending))
		if pending == 0 {
			break
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLoopEndsAsFailed$", "-test.v")
		cmd.Env = append(os.Environ(), "INTAKE_CRASH_CHILD=1", "INTAKE_CRASH_DB="+url,
			fmt.Sprintf("INTAKE_CRASH_BOMB=%d", bomb), fmt.Sprintf("INTAKE_CRASH_RETRIES=%d", retries))
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Logf("child run %d ended without a crash", restarts+1)
			continue
		}
		require.Contains(t, string(out), "crashing on purpose", "run %d: %v\n%s", restarts+1, err, out)
	}
	it, err := st.GetItem(ctx, bomb)
	require.NoError(t, err)
	require.NotNil(t, it.Outcome)
	assert.Equal(t, flow.OutcomeFailed, *it.Outcome)
	assert.Contains(t, it.Error, "gave up after 3 attempts: the process stopped while working on it")
	assert.Equal(t, retries+1, restarts-1, "crashes before the item was given up")
	for _, r := range res {
		if r.ID == bomb {
			continue
		}
		it, err := st.GetItem(ctx, r.ID)
		require.NoError(t, err)
		require.NotNil(t, it.Outcome, "item %d", r.ID)
		assert.NotEqual(t, flow.OutcomeFailed, *it.Outcome, "item %d: %s", r.ID, it.Error)
		assert.LessOrEqual(t, it.Attempts, 2, "an innocent item is tried at most once more")
	}
}

// crashChild runs the pipeline until the bomb item's ticket step kills the
// process, or until nothing is left to do.
func crashChild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, os.Getenv("INTAKE_CRASH_DB"))
	require.NoError(t, err)
	defer st.Close()
	var bomb int64
	var retries int
	fmt.Sscan(os.Getenv("INTAKE_CRASH_BOMB"), &bomb)
	fmt.Sscan(os.Getenv("INTAKE_CRASH_RETRIES"), &retries)
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
	proc.OnTicket(func(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec flow.Decision, created *store.Ticket) error {
		if itemID == bomb {
			fmt.Println("crashing on purpose")
			os.Exit(3) // as abrupt as running out of memory
		}
		return nil
	})
	pipe := pipeline.New(pipeline.Config{Bus: "postgres", PollInterval: 10 * time.Millisecond, Timeout: time.Second,
		Lease: 300 * time.Millisecond, Retries: retries, SweepInterval: 50 * time.Millisecond}, st, proc, slog.Default())
	done := make(chan error, 1)
	go func() { done <- pipe.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pending int
		require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items WHERE stage <> 'done'`).Scan(&pending))
		if pending == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	require.NoError(t, <-done)
}

// TestLongTransactionHoldsNoMail: on the PostgreSQL bus an event is read
// only once every older transaction on the server has ended. With one left
// open on another connection, the items still get their outcomes: the
// sweeper takes up what waits unclaimed, without another event.
func TestLongTransactionHoldsNoMail(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, proc := sampleProcessor(ctx, t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	pipe := pipeline.New(pipeline.Config{Bus: "postgres", PollInterval: 10 * time.Millisecond,
		SweepInterval: 100 * time.Millisecond, StaleAfter: time.Second}, st, proc, log)
	require.NoError(t, pipeline.InitSchema(ctx, st.Pool, nil))
	in := ingest.NewInbox(st, pipe.Publish, clocktest.Clock(t))

	// A transaction with an id, left open (a report, a forgotten psql).
	long, err := st.Pool.Begin(ctx)
	require.NoError(t, err)
	defer long.Rollback(context.Background()) //nolint:errcheck // the test's end
	var xid string
	require.NoError(t, long.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid))

	mails := demo.Mail()
	for i, m := range mails[:20] {
		key, mid := ingest.MailKeys(m.Data)
		_, err := in.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: fmt.Sprintf("t/%d", i), DedupKey: key, MessageID: mid, Raw: m.Data}}, nil)
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() { done <- pipe.Run(ctx) }()
	start := time.Now()
	deadline := start.Add(30 * time.Second) // catches items that never get one
	for {
		var pending int
		require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items WHERE stage <> 'done'`).Scan(&pending))
		if pending == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d items still without an outcome with transaction %s open", pending, xid)
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("20 items have their outcomes after %v with transaction %s open", time.Since(start).Round(time.Millisecond), xid)
	var open int
	require.NoError(t, long.QueryRow(ctx, `SELECT 1`).Scan(&open), "the long transaction was open throughout")
	cancel()
	require.NoError(t, <-done)
}
