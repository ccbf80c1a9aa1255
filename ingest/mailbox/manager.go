package mailbox

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/store"
)

// Options tune a Manager; the zero value is the production setting.
type Options struct {
	// Holder names this replica in mailbox leases; default
	// "<hostname>/<pid>/<random>".
	Holder string
	// LeasePeriod is how long a lease lasts without renewal: when a replica
	// dies, another takes its mailboxes over within about this long.
	// Default 15s.
	LeasePeriod time.Duration
	// RetryMin and RetryMax bound the exponential backoff (with jitter)
	// between reconnects. Defaults 1s and 2m.
	RetryMin, RetryMax time.Duration
	// AuthRetry is the wait after the server rejected the credentials, so
	// that a wrong password does not hammer the server (and lock the
	// account). Default 5m.
	AuthRetry time.Duration
	// TLSConfig is used for implicit TLS and STARTTLS (ServerName is set
	// from the host); nil means the system roots.
	TLSConfig *tls.Config

	// Test hooks.
	afterCommit  func(mailbox, folder string, uids []imap.UID)
	beforeBodies func(mailbox, folder string, uids []imap.UID)
}

func (o Options) withDefaults() Options {
	if o.Holder == "" {
		host, _ := os.Hostname()
		var b [3]byte
		crand.Read(b[:]) //nolint:errcheck
		o.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if o.LeasePeriod <= 0 {
		o.LeasePeriod = 15 * time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 2 * time.Minute
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = o.RetryMin
	}
	if o.AuthRetry <= 0 {
		o.AuthRetry = 5 * time.Minute
	}
	return o
}

// Status is what a mailbox is doing, for /readyz and GET /api/v1/mailboxes.
// On a replica that does not hold the mailbox's lease, the fields other than
// Name, Local and LeaseHolder are what the holder last reported.
type Status struct {
	Name        string    `json:"name"`
	Connected   bool      `json:"connected"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Backlog is the number of messages past the checkpoint, as of the
	// last check.
	Backlog int64 `json:"backlog"`
	// LeaseHolder is the replica reading the mailbox ("" when none is).
	LeaseHolder string `json:"lease_holder,omitempty"`
	// Local is true when this replica is the one reading it.
	Local bool `json:"local"`
}

// Manager reads a set of mailboxes into the inbox.
type Manager struct {
	inbox   *ingest.Inbox
	store   *store.Store
	log     *slog.Logger
	opts    Options
	metrics *metrics
	boxes   []*box
	running atomic.Bool
}

// New returns a Manager for cfgs. Each config gets its defaults and is
// validated; metrics are registered on reg (nil: not registered).
func New(cfgs []Config, inbox *ingest.Inbox, st *store.Store, logger *slog.Logger, reg prometheus.Registerer, opts Options) (*Manager, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	met, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	m := &Manager{inbox: inbox, store: st, log: logger, opts: opts.withDefaults(), metrics: met}
	names := map[string]bool{}
	var errs []error
	for _, c := range cfgs {
		c = c.WithDefaults()
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if names[c.Name] {
			errs = append(errs, fmt.Errorf("mailbox %s: name: used twice", c.Name))
			continue
		}
		names[c.Name] = true
		if c.TLS == TLSPlain {
			logger.Warn("mailbox uses tls: plain: the password travels unencrypted; use it for local testing only", "mailbox", c.Name)
		}
		m.boxes = append(m.boxes, &box{m: m, cfg: c, log: logger.With("mailbox", c.Name),
			st: Status{Name: c.Name}, attempts: map[string]int{}})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Holder returns the name this replica uses in leases.
func (m *Manager) Holder() string { return m.opts.Holder }

// Run reads the mailboxes until ctx is done, then releases their leases and
// returns nil once every goroutine it started has finished. Errors are
// retried, logged and reported in Status; they do not end Run.
func (m *Manager) Run(ctx context.Context) error {
	m.running.Store(true)
	defer m.running.Store(false)
	var wg sync.WaitGroup
	for _, b := range m.boxes {
		wg.Go(func() { b.run(ctx) })
	}
	wg.Wait()
	return nil
}

// Status returns every mailbox's status, in configuration order.
func (m *Manager) Status() []Status {
	out := make([]Status, 0, len(m.boxes))
	for _, b := range m.boxes {
		out = append(out, b.status())
	}
	return out
}

// Ready reports whether mail is being read: Run is running and every
// mailbox is either read here over a healthy connection or leased by another
// live replica.
func (m *Manager) Ready() bool {
	if !m.running.Load() {
		return false
	}
	for _, b := range m.boxes {
		st := b.status()
		if st.Local {
			if !st.Connected || st.LastSuccess.IsZero() || st.LastErrorAt.After(st.LastSuccess) {
				return false
			}
		} else if st.LeaseHolder == "" {
			return false
		}
	}
	return true
}

// box is one mailbox's reader.
type box struct {
	m   *Manager
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	st       Status
	backlog  map[string]int64 // per folder
	saved    time.Time        // when st was last written to the database
	savedSt  Status
	attempts map[string]int // body fetch attempts per folder/uid, for messages the server will not return
}

func (b *box) status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st
}

// update changes the status and, on the lease holder, writes it to the
// database when something a person would look at changed (or every few
// seconds).
func (b *box) update(ctx context.Context, f func(st *Status)) {
	b.mu.Lock()
	f(&b.st)
	st := b.st
	due := st.Local && (st.Connected != b.savedSt.Connected || st.LastError != b.savedSt.LastError ||
		st.LastErrorAt != b.savedSt.LastErrorAt || time.Since(b.saved) > 2*time.Second)
	if due {
		b.saved, b.savedSt = time.Now(), st
	}
	b.mu.Unlock()
	b.m.metrics.backlog.WithLabelValues(b.cfg.Name).Set(float64(st.Backlog))
	if !due {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	row := store.MailboxStatus{Mailbox: st.Name, Holder: b.m.opts.Holder, Connected: st.Connected,
		LastError: st.LastError, Backlog: st.Backlog}
	if !st.LastSuccess.IsZero() {
		row.LastSuccess = &st.LastSuccess
	}
	if !st.LastErrorAt.IsZero() {
		row.LastErrorAt = &st.LastErrorAt
	}
	if err := b.m.store.SaveMailboxStatus(ctx, row); err != nil {
		b.log.Warn("saving mailbox status", "err", err)
	}
}

func (b *box) setBacklog(ctx context.Context, folder string, n int64) {
	b.update(ctx, func(st *Status) {
		if b.backlog == nil {
			b.backlog = map[string]int64{}
		}
		b.backlog[folder] = max(n, 0)
		st.Backlog = 0
		for _, v := range b.backlog {
			st.Backlog += v
		}
	})
}

func (b *box) fail(ctx context.Context, kind string, err error) {
	b.m.metrics.errors.WithLabelValues(b.cfg.Name, kind).Inc()
	b.update(ctx, func(st *Status) {
		st.LastError = err.Error()
		st.LastErrorAt = time.Now()
	})
}

// run takes the mailbox's lease whenever it is free and reads the mailbox
// while it holds it.
func (b *box) run(ctx context.Context) {
	period := b.m.opts.LeasePeriod
	retry := max(period/5, 20*time.Millisecond)
	for ctx.Err() == nil {
		asked := time.Now() // the lease runs from no later than this
		l, err := b.m.store.AcquireMailboxLease(ctx, b.cfg.Name, b.m.opts.Holder, period)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Error("taking mailbox lease", "err", err)
				b.fail(ctx, "lease", err)
			}
			sleep(ctx, jitter(retry))
			continue
		}
		if l.Holder != b.m.opts.Holder {
			b.follow(ctx, l)
			sleep(ctx, jitter(retry))
			continue
		}
		b.log.Info("reading mailbox: lease taken", "holder", l.Holder)
		b.read(ctx, asked)
	}
}

// follow shows what the replica holding the lease last reported.
func (b *box) follow(ctx context.Context, l store.MailboxLease) {
	remote, err := b.m.store.MailboxStatusOf(ctx, b.cfg.Name)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st = Status{Name: b.cfg.Name, LeaseHolder: l.Holder}
	if err == nil && remote.Holder == l.Holder {
		b.st.Connected, b.st.LastError, b.st.Backlog = remote.Connected, remote.LastError, remote.Backlog
		if remote.LastSuccess != nil {
			b.st.LastSuccess = *remote.LastSuccess
		}
		if remote.LastErrorAt != nil {
			b.st.LastErrorAt = *remote.LastErrorAt
		}
	}
	b.m.metrics.leaseHeld.WithLabelValues(b.cfg.Name).Set(0)
}

var errLeaseLost = errors.New("mailbox lease lost")

// read runs sessions while the lease is held, renewing it alongside. The
// sessions stop before the lease could have expired: a replica cut off from
// the database stops reading before another may start.
func (b *box) read(ctx context.Context, renewedAt time.Time) {
	b.mu.Lock()
	b.st = Status{Name: b.cfg.Name, LeaseHolder: b.m.opts.Holder, Local: true}
	b.saved = time.Time{}
	b.mu.Unlock()
	b.m.metrics.leaseHeld.WithLabelValues(b.cfg.Name).Set(1)
	defer b.m.metrics.leaseHeld.WithLabelValues(b.cfg.Name).Set(0)

	leaseCtx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { b.renew(leaseCtx, cancel, renewedAt) })
	b.sessions(leaseCtx)
	cancel(nil)
	wg.Wait()

	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if err := b.m.store.ReleaseMailboxLease(rctx, b.cfg.Name, b.m.opts.Holder); err != nil {
		b.log.Warn("releasing mailbox lease", "err", err)
	}
	if cause := context.Cause(leaseCtx); errors.Is(cause, errLeaseLost) {
		b.log.Warn("stopped reading mailbox", "reason", cause)
		b.fail(ctx, "lease", cause)
	} else {
		b.log.Info("stopped reading mailbox")
	}
	b.mu.Lock()
	b.st.Local, b.st.Connected, b.st.LeaseHolder = false, false, ""
	b.mu.Unlock()
}

// renew keeps the lease. It cancels the reading when the lease is taken by
// someone else, or when it could not be renewed in time (the database is
// unreachable): by then another replica may take it over.
func (b *box) renew(ctx context.Context, lost context.CancelCauseFunc, renewedAt time.Time) {
	period := b.m.opts.LeasePeriod
	// Stop reading a safety margin before the lease could expire.
	validFor := period - period/5
	t := time.NewTicker(max(period/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		deadline := time.Until(renewedAt.Add(validFor))
		select {
		case <-ctx.Done():
			return
		case <-time.After(deadline):
			lost(fmt.Errorf("%w: not renewed within %s", errLeaseLost, validFor))
			return
		case <-t.C:
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, max(time.Until(renewedAt.Add(validFor)), time.Millisecond))
		l, err := b.m.store.AcquireMailboxLease(rctx, b.cfg.Name, b.m.opts.Holder, period)
		cancel()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				b.log.Warn("renewing mailbox lease", "err", err)
			}
		case l.Holder != b.m.opts.Holder:
			lost(fmt.Errorf("%w: now held by %s", errLeaseLost, l.Holder))
			return
		default:
			renewedAt = start
		}
	}
}

// sessions connects and reads until ctx is done, reconnecting with backoff.
func (b *box) sessions(ctx context.Context) {
	o := b.m.opts
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			b.m.metrics.reconnects.WithLabelValues(b.cfg.Name).Inc()
		}
		healthy, err := b.session(ctx)
		b.m.metrics.connected.WithLabelValues(b.cfg.Name).Set(0)
		if ctx.Err() != nil {
			b.update(ctx, func(st *Status) { st.Connected = false })
			return
		}
		if healthy {
			attempt = 0
		}
		wait := backoff(attempt, o.RetryMin, o.RetryMax)
		kind := "imap"
		if errors.Is(err, errAuth) {
			kind, wait = "auth", jitter(o.AuthRetry)
		} else if errors.Is(err, store.ErrLeaseLost) {
			kind = "lease"
		}
		b.log.Error("mailbox session failed", "err", err, "kind", kind, "retry_in", wait.Round(time.Millisecond))
		b.m.metrics.errors.WithLabelValues(b.cfg.Name, kind).Inc()
		// One update, so that nobody sees "disconnected" without the reason.
		b.update(ctx, func(st *Status) {
			st.Connected = false
			st.LastError, st.LastErrorAt = err.Error(), time.Now()
		})
		sleep(ctx, wait)
	}
}

// backoff is exponential from min to max with jitter.
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	return jitter(min(d, hi))
}

// jitter spreads d over [d/2, d) so replicas and mailboxes do not retry in step.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
