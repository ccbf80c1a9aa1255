// Package outbox delivers the messages queued in the outbox table: replies
// by email, signed webhooks and status pushes to the chains' service desks.
//
// Semantics:
//   - A message is queued (store.EnqueueOutbox) in the transaction that
//     decided it, so it exists exactly when its cause is committed.
//   - The dispatcher claims due rows with FOR UPDATE SKIP LOCKED and a lease:
//     each row is worked on by one replica at a time, and rows of a replica
//     that dies become due again when the lease ends. Delivery is at least
//     once; senders make repeats harmless where the target allows it (a
//     stable Message-ID, a delivery id header, a push that sets a state).
//   - A failed attempt backs off that row alone (exponential, with jitter,
//     or the target's Retry-After when longer). One target's outage delays
//     only its own rows; the others keep flowing.
//   - After MaxAttempts failed attempts, or at once for a permanent error
//     (a 4xx other than 408/429, an unknown connector), the row is dead:
//     listed with its error by GET /api/v1/outbox?state=dead and on the
//     failed page (/ui/failed), re-queued by POST /api/v1/outbox/{id}/retry.
//   - Failures are logged as one WARN per delivery round with the counts
//     (dead, to be retried) and one error as an example, not a line per
//     message: an outage of one target would otherwise flood the log. Each
//     message's own error is kept on its row; per message lines are DEBUG.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakehq/intake/fault"
	"github.com/intakehq/intake/redact"
	"github.com/intakehq/intake/store"
)

// Sender delivers one message of a kind. It returns nil once the target has
// accepted the message.
type Sender interface {
	Send(ctx context.Context, m store.OutboxRow) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m store.OutboxRow) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m store.OutboxRow) error { return f(ctx, m) }

// PermanentError marks a failure that retrying cannot fix: the row is dead
// at once. It is fault's, which the pipeline asks too.
type PermanentError = fault.PermanentError

// Permanent wraps err as permanent.
func Permanent(err error) error { return fault.Permanent(err) }

// RetryAfterError carries the delay a target asked for (HTTP 429/503
// Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Config tunes the dispatcher. Zero values take the defaults.
type Config struct {
	PollInterval time.Duration // how often to look for due rows when idle; 1s
	Workers      int           // messages in flight at once; 8
	MaxAttempts  int           // attempts before a row is dead; 10
	BaseDelay    time.Duration // first retry delay; 10s
	MaxDelay     time.Duration // cap of the retry delay; 1h
	SendTimeout  time.Duration // one attempt; 30s
}

func (c *Config) defaults() {
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = 10 * time.Second
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = time.Hour
	}
	if c.MaxDelay < c.BaseDelay {
		c.MaxDelay = c.BaseDelay
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 30 * time.Second
	}
}

// Dispatcher polls the outbox and hands rows to the sender of their kind.
type Dispatcher struct {
	st      *store.Store
	cfg     Config
	log     *slog.Logger
	senders map[string]Sender
	rnd     func() float64

	attempts *prometheus.CounterVec

	mu         sync.Mutex
	failed     roundFailures // since the last report
	lastReport time.Time
}

// roundFailures are the failed attempts of a delivery round.
type roundFailures struct {
	dead, retry int
	byKind      map[string]int // dead ones by kind
	example     string         // the first error, with its row
}

// busyReport is how often failures are reported while the dispatcher never
// idles (every batch full); otherwise they are reported when it does.
const busyReport = 30 * time.Second

// New returns a dispatcher; register senders before Run.
func New(st *store.Store, cfg Config, log *slog.Logger) *Dispatcher {
	cfg.defaults()
	return &Dispatcher{
		st: st, cfg: cfg, log: log, senders: map[string]Sender{}, rnd: rand.Float64,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_outbox_attempts_total", Help: "Outbox delivery attempts by kind and result (sent, retry, dead).",
		}, []string{"kind", "result"}),
	}
}

// Register sets the sender for a kind (email, webhook, connector).
func (d *Dispatcher) Register(kind string, s Sender) { d.senders[kind] = s }

// Collectors returns the dispatcher's metrics for registration.
func (d *Dispatcher) Collectors() []prometheus.Collector {
	return []prometheus.Collector{d.attempts}
}

// Run delivers until ctx ends, then waits for the messages in flight.
func (d *Dispatcher) Run(ctx context.Context) error {
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		d.report()
	}()
	for {
		free := d.cfg.Workers - len(sem)
		n := 0
		if free > 0 {
			rows, err := d.st.ClaimOutbox(ctx, free, d.lease())
			if err != nil && ctx.Err() == nil {
				d.log.Warn("outbox: claiming messages", "error", err)
			}
			n = len(rows)
			for _, r := range rows {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					d.deliver(ctx, r)
				}()
			}
		}
		if free > 0 && n == free {
			if d.sinceReport() >= busyReport {
				d.report()
			}
			continue // a full batch: more may be due
		}
		d.report()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.cfg.PollInterval):
		}
	}
}

// RunOnce claims and delivers the rows due now, waiting for them: for tests
// and `intake` subcommands.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	rows, err := d.st.ClaimOutbox(ctx, d.cfg.Workers, d.lease())
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, r := range rows {
		wg.Add(1)
		go func() { defer wg.Done(); d.deliver(ctx, r) }()
	}
	wg.Wait()
	d.report()
	return len(rows), nil
}

func (d *Dispatcher) sinceReport() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Since(d.lastReport)
}

// noteFailure adds a failed attempt to the round's report.
func (d *Dispatcher) noteFailure(r store.OutboxRow, dead bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := &d.failed
	if dead {
		f.dead++
		if f.byKind == nil {
			f.byKind = map[string]int{}
		}
		f.byKind[r.Kind]++
	} else {
		f.retry++
	}
	if f.example == "" {
		f.example = fmt.Sprintf("message %d (%s to %s): %v", r.ID, r.Kind, r.Target, err)
	}
}

// report logs the failures noted since the last report as one line.
func (d *Dispatcher) report() {
	d.mu.Lock()
	f := d.failed
	d.failed = roundFailures{}
	d.lastReport = time.Now()
	d.mu.Unlock()
	if f.dead == 0 && f.retry == 0 {
		return
	}
	attrs := []any{"dead", f.dead, "will_retry", f.retry}
	if f.dead > 0 {
		kinds := make([]string, 0, len(f.byKind))
		for _, k := range slices.Sorted(maps.Keys(f.byKind)) {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, f.byKind[k]))
		}
		attrs = append(attrs, "dead_by_kind", strings.Join(kinds, " "), "see", "GET /api/v1/outbox?state=dead, /ui/failed")
	}
	attrs = append(attrs, "example", f.example)
	d.log.Warn("outbox: messages not delivered", attrs...)
}

// lease outlasts one attempt, so no other replica takes a row still being
// sent.
func (d *Dispatcher) lease() time.Duration { return 2*d.cfg.SendTimeout + 10*time.Second }

func (d *Dispatcher) deliver(ctx context.Context, r store.OutboxRow) {
	// Record the result even when ctx ends mid-send: the row is otherwise
	// only released by its lease.
	rec := context.WithoutCancel(ctx)
	s := d.senders[r.Kind]
	var err error
	if s == nil {
		err = Permanent(fmt.Errorf("no sender for kind %q is configured", r.Kind))
	} else {
		sctx, cancel := context.WithTimeout(ctx, d.cfg.SendTimeout)
		err = s.Send(sctx, r)
		cancel()
	}
	// What a sender returns is stored as last_error, shown on the API and
	// logged: no credential of the target may be in it.
	err = redact.Error(err)
	if err == nil {
		if err := d.st.OutboxDelivered(rec, r.ID); err != nil {
			d.log.Error("outbox: recording delivery", "id", r.ID, "error", err)
		}
		d.attempts.WithLabelValues(r.Kind, "sent").Inc()
		return
	}
	if ctx.Err() != nil {
		// Shutting down: not the target's fault; try again soon.
		d.st.OutboxFailed(rec, r.ID, "interrupted by shutdown: "+err.Error(), 0, false) //nolint:errcheck
		return
	}
	dead := fault.IsPermanent(err) || r.Attempts >= d.cfg.MaxAttempts
	wait := fault.Backoff(r.Attempts, d.cfg.BaseDelay, d.cfg.MaxDelay, d.rnd)
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > wait {
		wait = min(ra.After, d.cfg.MaxDelay*4)
	}
	result := "retry"
	if dead {
		result = "dead"
		d.log.Debug("outbox: message is dead", "id", r.ID, "kind", r.Kind, "target", redact.URL(r.Target), "attempts", r.Attempts, "error", err)
	} else {
		d.log.Debug("outbox: delivery failed, will retry", "id", r.ID, "kind", r.Kind, "target", redact.URL(r.Target), "attempt", r.Attempts, "retry_in", wait.Round(time.Second), "error", err)
	}
	d.noteFailure(r, dead, err)
	d.attempts.WithLabelValues(r.Kind, result).Inc()
	if err := d.st.OutboxFailed(rec, r.ID, err.Error(), wait, dead); err != nil {
		d.log.Error("outbox: recording failure", "id", r.ID, "error", err)
	}
}
