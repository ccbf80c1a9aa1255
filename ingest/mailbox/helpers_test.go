package mailbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/ingest/mailbox"
	"github.com/intakehq/intake/ingest/mailbox/dovecottest"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// The test binary doubles as the gateway process that the crash tests kill:
// with childEnv set, TestMain runs a Manager instead of the tests.
const childEnv = "INTAKE_MAILBOX_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	pgtest.Main(m)
}

// childSpec is what the parent test hands the child process.
type childSpec struct {
	DB          string
	Config      mailbox.Config
	Holder      string
	LeasePeriod time.Duration
	// KillAfterCommit makes the child SIGKILL itself right after its first
	// commit, before the messages are moved.
	KillAfterCommit bool
}

func runChild() int {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	pool, err := pgxpool.New(ctx, spec.DB)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer pool.Close()
	st := store.New(pool)
	opts := mailbox.Options{Holder: spec.Holder, LeasePeriod: spec.LeasePeriod, RetryMin: 50 * time.Millisecond, RetryMax: time.Second}
	if spec.KillAfterCommit {
		mailbox.SetAfterCommit(&opts, func(string, string, []imap.UID) {
			syscall.Kill(os.Getpid(), syscall.SIGKILL) //nolint:errcheck
			select {}
		})
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	now, err := clocktest.Instant()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	m, err := mailbox.New([]mailbox.Config{spec.Config}, ingest.NewInbox(st, nil, clock.Fixed(now)), st, logger, nil, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// env is one test's Dovecot and database.
type env struct {
	t     testing.TB
	dc    *dovecottest.Server
	dbURL string
	st    *store.Store
	inbox *ingest.Inbox
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := newEnvDB(t)
	e.dc = dovecottest.Start(t)
	return e
}

// newEnvDB is an env without Dovecot.
func newEnvDB(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dbURL: pgtest.URL(t)}
	pool, err := pgxpool.New(context.Background(), e.dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	e.st = store.New(pool)
	e.inbox = ingest.NewInbox(e.st, nil, clocktest.Clock(t))
	return e
}

func (e *env) config() mailbox.Config {
	return mailbox.Config{
		Name: "ops", Host: "127.0.0.1", Port: e.dc.Port, TLS: mailbox.TLSPlain,
		Username: dovecottest.User, Password: dovecottest.Password,
		ProcessedFolder: "Processed", FailedFolder: "Failed",
		PollInterval: 5 * time.Second,
	}
}

func testOptions() mailbox.Options {
	return mailbox.Options{LeasePeriod: time.Second, RetryMin: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond}
}

// running is a Manager running in the background of a test.
type running struct {
	m    *mailbox.Manager
	reg  *prometheus.Registry
	stop func()
}

func (e *env) run(cfgs []mailbox.Config, opts mailbox.Options) *running {
	e.t.Helper()
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m, err := mailbox.New(cfgs, e.inbox, e.st, logger, reg, opts)
	require.NoError(e.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	r := &running{m: m, reg: reg}
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(e.t, err)
			case <-time.After(10 * time.Second):
				e.t.Error("Manager.Run did not return within 10s of cancellation")
			}
		})
	}
	e.t.Cleanup(r.stop)
	return r
}

// metric sums the samples of a metric whose labels include all of want
// (histograms: the count of observations, or their sum with want "sum").
func (r *running) metric(name string, want ...string) float64 {
	mfs, err := r.reg.Gather()
	if err != nil {
		panic(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(want); i += 2 {
				if labels[want[i]] != want[i+1] {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil && strings.HasSuffix(name, "_seconds") && len(want) == 1 && want[0] == "sum":
				sum += m.Histogram.GetSampleSum()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func (e *env) waitFor(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.st.Pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

func (e *env) items() int {
	return e.count(`SELECT count(*) FROM inbound_items WHERE source = 'mail'`)
}

// checkOnce asserts the inbox holds each of ids exactly once, as an original.
func (e *env) checkOnce(ids []string) {
	e.t.Helper()
	rows, err := e.st.Pool.Query(context.Background(), `
		SELECT message_id, count(*) FROM inbound_items WHERE source = 'mail' GROUP BY message_id`)
	require.NoError(e.t, err)
	got := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(e.t, rows.Scan(&id, &n))
		got[id] = n
	}
	require.NoError(e.t, rows.Err())
	var missing, twice []string
	for _, id := range ids {
		switch got[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			twice = append(twice, id)
		}
		delete(got, id)
	}
	require.Empty(e.t, missing, "messages never stored")
	require.Empty(e.t, twice, "messages stored more than once")
	require.Empty(e.t, got, "unexpected items")
	require.Zero(e.t, e.count(`SELECT count(*) FROM inbound_items WHERE outcome = 'duplicate'`), "duplicate outcomes")
}

func msg(i int) ([]byte, string) {
	id := fmt.Sprintf("order-%05d@chain.example", i)
	return dovecottest.Message(id, "Work order "+strconv.Itoa(i), strings.Repeat("Leaking roof above the till, store 42. ", 20)), id
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func itoa[T ~uint32 | ~int](v T) string { return strconv.FormatInt(int64(v), 10) }

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

type literalReader struct {
	*bytes.Reader
	n int64
}

func (l literalReader) Size() int64 { return l.n }

func literal(b []byte) imap.LiteralReader { return literalReader{bytes.NewReader(b), int64(len(b))} }
