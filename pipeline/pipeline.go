// Package pipeline runs Intake's stages on a watermill router.
//
// An event on intake_received names items that are ready. The handler claims
// a batch of the oldest items no attempt has touched yet (the event's among
// them), counting each item's attempt and leasing it before any work starts.
// It parses the batch on all cores (parsing is pure), then routes each item
// in id order and creates its ticket or applies its follow-up, all in one
// PostgreSQL transaction that records every item's outcome. So a follow-up
// never overtakes its order, and a crash loses the whole batch's work and
// none of its items.
//
// No item can hold up the ones behind it:
//   - each attempt has its own time limit;
//   - when a batch fails, its items are run one by one, so only the culprit
//     is held back;
//   - a failure that can heal is retried later, with backoff, by the
//     sweeper, while the handler goes on with the next items; one that
//     cannot (fault.IsPermanent) ends as failed at once, and so does an item
//     whose attempts ran out;
//   - an item whose attempt counter grows without an outcome (it keeps
//     killing the process) is given up after the same number of attempts;
//   - an item that refers to an earlier one still without an outcome is put
//     back for a moment, never waited for.
//
// The sweeper also re-announces items whose lease expired (their replica
// died) and items whose event was lost. With several replicas, claims skip
// each other's items.
//
// The default bus is PostgreSQL (watermill-sql). With bus kind "nats" events
// leave each transaction through a PostgreSQL outbox topic and a forwarder
// relays them to NATS JetStream, from which every replica's router consumes
// in one queue group.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/fault"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/store"
)

// TopicOutbox is the PostgreSQL topic that holds events on their way to NATS.
const TopicOutbox = "intake_outbox"

const defaultPoll = 100 * time.Millisecond

// batchBytes bounds the raw bytes of a batch: a batch of large messages
// is shorter, one message larger than this is a batch of its own.
const batchBytes = 8 << 20

// Config tunes the bus and the handlers.
type Config struct {
	Bus     string // postgres | nats
	NATSURL string
	// NATSPrefix names this deployment's subjects, streams and consumers on
	// a NATS server that others share (default "intake").
	NATSPrefix   string
	PollInterval time.Duration
	// Retries is how often an item whose attempt failed is tried again
	// before it ends as failed; RetryInitial the first wait, doubled each
	// time up to a minute.
	Retries      int
	RetryInitial time.Duration
	// Timeout limits one attempt at one item (a batch gets the same).
	Timeout time.Duration
	// BatchSize is how many items are claimed and committed at once.
	BatchSize int
	// Workers parse a batch in parallel (default: one per core).
	Workers int
	// Concurrency is how many transactions complete a batch's items at
	// once (default 4). Items that may refer to each other (the same order
	// number, Message-IDs that reply to one another) always share one, in
	// arrival order.
	Concurrency int
	// Lease is how long a claim holds before the item counts as abandoned
	// and another replica may take it (default 15 s). An attempt that runs
	// longer is still safe: whoever commits first records the outcome, the
	// other finds the item done.
	Lease time.Duration
	// SweepInterval is how often due retries and abandoned items are looked
	// for (default 1 s).
	SweepInterval time.Duration
	// StaleAfter is how long an item may wait unclaimed before the sweeper
	// takes it up itself: its event was lost or is held up (default 30 s).
	StaleAfter time.Duration
}

// Pipeline is the router and its bus.
type Pipeline struct {
	cfg   Config
	store *store.Store
	proc  *Processor
	log   *slog.Logger
	wlog  watermill.LoggerAdapter
	// onOutcome is called after an item's outcome is committed.
	onOutcome func(id int64)
	// closing is set once Run's context ends.
	closing atomic.Bool
	// finished are items this replica saw to their outcome: their other
	// events are dropped without a query.
	finished *recentSet
	// busy is held while items are processed, by the bus's handler or by
	// the sweeper: one at a time, so that an item that kills the process
	// is never in flight beside another tried item.
	busy sync.Mutex
}

// New builds a pipeline; proc may be nil for one that only publishes.
func New(cfg Config, st *store.Store, proc *Processor, logger *slog.Logger) *Pipeline {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = defaultPoll
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.RetryInitial <= 0 {
		cfg.RetryInitial = 500 * time.Millisecond
	}
	if cfg.Bus == "" {
		cfg.Bus = "postgres"
	}
	if cfg.NATSPrefix == "" {
		cfg.NATSPrefix = "intake"
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 128
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Second
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 30 * time.Second
	}
	p := &Pipeline{cfg: cfg, store: st, proc: proc, log: logger, finished: newRecentSet(1 << 16)}
	quiet := slog.New(shutdownFilter{Handler: logger.Handler(), closing: &p.closing})
	p.wlog = watermill.NewSlogLoggerWithLevelMapping(quiet, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	return p
}

// topic is the bus topic of a stage: with NATS, prefixed for the deployment.
func (p *Pipeline) topic(name string) string {
	if p.cfg.Bus == "nats" {
		return p.cfg.NATSPrefix + "_" + name
	}
	return name
}

// Publish announces items inside tx (the inbox's Notifier).
func (p *Pipeline) Publish(ctx context.Context, tx pgx.Tx, ids []int64) error {
	return p.publish(ctx, tx, p.topic(TopicReceived), ids...)
}

func (p *Pipeline) publish(ctx context.Context, tx pgx.Tx, topic string, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	pub, err := sqlTxPublisher(tx, p.wlog)
	if err != nil {
		return err
	}
	if p.cfg.Bus == "nats" {
		pub = forwarder.NewPublisher(pub, forwarder.PublisherConfig{ForwarderTopic: TopicOutbox})
	}
	var msgs []*message.Message
	for chunk := range slices.Chunk(ids, maxEventItems) {
		m, err := newEventMessage(chunk)
		if err != nil {
			return err
		}
		m.SetContext(ctx)
		msgs = append(msgs, m)
	}
	return pub.Publish(topic, msgs...)
}

// Run runs the router, the sweeper (and, with NATS, the forwarder) until ctx
// is done, then drains in-flight handlers.
func (p *Pipeline) Run(ctx context.Context) error {
	if p.proc == nil {
		return errors.New("pipeline: no processor")
	}
	if err := InitSchema(ctx, p.store.Pool, p.wlog); err != nil {
		return err
	}
	sqlSub, err := newSQLSubscriber(p.store.Pool, p.cfg, p.wlog)
	if err != nil {
		return err
	}
	defer sqlSub.Close()

	g, ctx := errgroup.WithContext(ctx)
	var sub message.Subscriber = sqlSub
	if p.cfg.Bus == "nats" {
		natsPub, natsSub, err := p.natsBus()
		if err != nil {
			return err
		}
		defer natsPub.Close()
		defer natsSub.Close()
		fwd, err := forwarder.NewForwarder(sqlSub, natsPub, p.wlog, forwarder.Config{ForwarderTopic: TopicOutbox})
		if err != nil {
			return err
		}
		g.Go(func() error { return fwd.Run(ctx) })
		g.Go(func() error { <-ctx.Done(); return fwd.Close() })
		sub = natsSub
	}

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, p.wlog)
	if err != nil {
		return err
	}
	// Item failures never reach the middleware: the handler records them on
	// the item. What does is the database itself failing, and that is
	// retried until it heals (the event stays on the bus meanwhile).
	router.AddMiddleware(
		middleware.CorrelationID,
		middleware.Retry{
			MaxRetries:          p.cfg.Retries,
			InitialInterval:     p.cfg.RetryInitial,
			MaxInterval:         30 * time.Second,
			Multiplier:          2,
			RandomizationFactor: 0.3,
			ShouldRetry:         func(rp middleware.RetryParams) bool { return !fault.IsPermanent(rp.Err) },
			Logger:              p.wlog,
		}.Middleware,
		middleware.Recoverer,
	)
	// Items that earlier versions left between their stages (events on
	// intake_parsed and intake_routed) are found by the sweeper.
	router.AddConsumerHandler("process", p.topic(TopicReceived), sub, p.handle)

	g.Go(func() error { return router.Run(ctx) })
	g.Go(func() error { return p.sweep(ctx) })
	g.Go(func() error {
		<-ctx.Done()
		p.closing.Store(true)
		return router.Close()
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// handleBudget bounds the work one event starts: past it, the handler
// hands what is left of its event on in a new event and returns. On the
// PostgreSQL bus an event in hand holds the topic for every replica, so a
// long handler would hold up all of them.
const handleBudget = 10 * time.Second

// handle takes one event: it processes the items it names.
func (p *Pipeline) handle(msg *message.Message) error {
	ids, err := decodeEvent(msg)
	if err != nil {
		p.log.Error("dropping an unreadable pipeline event", "error", err)
		return nil
	}
	p.busy.Lock()
	defer p.busy.Unlock()
	return p.process(msg.Context(), ids)
}

// process takes items to their outcomes. First those that were tried
// before (a replica that died held them, or their retry is due), one at a
// time: later items may wait for them. Then fresh items in batches until
// ids are covered, and last whatever of ids is left.
func (p *Pipeline) process(ctx context.Context, ids []int64) error {
	ids = slices.DeleteFunc(ids, p.finished.has)
	if len(ids) == 0 {
		return nil
	}
	start := time.Now()
	for time.Since(start) < handleBudget {
		it, err := p.store.ClaimTried(ctx, ids, p.cfg.Lease)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("claiming items: %w", err)
		}
		p.runClaimed(ctx, it)
	}
	if err := p.runFresh(ctx, start, slices.Max(ids)); err != nil {
		return err
	}
	for i, id := range ids {
		if p.finished.has(id) {
			continue
		}
		if time.Since(start) >= handleBudget {
			return p.handOn(ctx, ids[i:])
		}
		if err := p.runOne(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// handOn announces again those of ids that have no outcome yet, so that a
// handler past its budget can let its event go.
func (p *Pipeline) handOn(ctx context.Context, ids []int64) error {
	ids = slices.DeleteFunc(slices.Clone(ids), p.finished.has)
	if len(ids) == 0 {
		return nil
	}
	if err := p.store.InTx(ctx, func(tx pgx.Tx) error { return p.Publish(ctx, tx, ids) }); err != nil {
		return fmt.Errorf("announcing %d items again: %w", len(ids), err)
	}
	return nil
}

// runFresh claims batches of fresh items, up to the one holding item last
// or until the handler's budget is spent, and takes them to their outcomes.
// It parses one batch ahead: while a batch's transactions run (PostgreSQL's
// turn), the next is claimed and parsed (Intake's), so that both keep
// busy. Batches still complete one after the other, in id order.
func (p *Pipeline) runFresh(ctx context.Context, start time.Time, last int64) error {
	parsed := make(chan parsedBatch) // unbuffered: one batch ahead, no more
	var claimErr error
	go func() {
		defer close(parsed)
		for time.Since(start) < handleBudget {
			items, err := p.store.ClaimFresh(ctx, p.cfg.BatchSize, batchBytes, p.cfg.Lease)
			if err != nil {
				claimErr = fmt.Errorf("claiming items: %w", err)
				return
			}
			if len(items) == 0 {
				return
			}
			b := parsedBatch{start: time.Now()}
			b.jobs = p.parseBatch(items)
			if err := p.shareParsed(ctx, b.jobs); err != nil {
				p.log.Warn("sharing parse results", "error", err)
			}
			select {
			case parsed <- b:
			case <-ctx.Done():
				p.release(b.jobs) // stopping: the attempt does not count
				return
			}
			if items[len(items)-1].ID >= last {
				return
			}
		}
	}()
	for b := range parsed {
		p.completeBatch(ctx, b)
	}
	return claimErr
}

// parsedBatch is a claimed batch with its parse results.
type parsedBatch struct {
	jobs  []*job
	start time.Time
}

// parseBatch parses claimed items on all workers.
func (p *Pipeline) parseBatch(items []store.Item) []*job {
	rt := p.proc.Runtime()
	jobs := make([]*job, len(items))
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(p.cfg.Workers, len(items)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(items); i = int(next.Add(1) - 1) {
				jobs[i] = p.proc.parseWithin(&items[i], rt, p.cfg.Timeout)
			}
		})
	}
	wg.Wait()
	return jobs
}

// completeBatch takes a parsed batch to its outcomes: the groups of items
// that cannot refer to one another each in one transaction, at once; a
// group that fails, one by one.
func (p *Pipeline) completeBatch(ctx context.Context, b parsedBatch) {
	ready := b.jobs[:0:0]
	for _, j := range b.jobs {
		if j.err != nil {
			p.settle(ctx, j, j.err)
			continue
		}
		ready = append(ready, j)
	}
	if err := p.markBlocked(ctx, ready); err != nil {
		p.log.Warn("looking for items other replicas hold", "error", err)
	}
	var groups sync.WaitGroup
	for _, g := range groupJobs(ready, p.cfg.Concurrency) {
		groups.Go(func() { p.commitGroup(ctx, g) })
	}
	groups.Wait()
	stageSeconds.WithLabelValues("batch").Observe(time.Since(b.start).Seconds())
}

// shareParsed makes the batch's parse results visible to other replicas at
// once, before the batch waits for its turn: their items that refer to
// these then need not wait for the outcomes.
func (p *Pipeline) shareParsed(ctx context.Context, jobs []*job) error {
	// Only NATS hands events to several replicas at once; on the
	// PostgreSQL bus one consumer at a time holds the topic, and the
	// claims of a replica that died are covered by markBlocked.
	if p.cfg.Bus != "nats" {
		return nil
	}
	var shared []store.SharedParse
	for _, j := range jobs {
		if j.err == nil && j.parsed != nil && j.it.Stage == flow.StageReceived {
			shared = append(shared, store.SharedParse{ID: j.it.ID, Parsed: mustJSON(j.parsed), Client: j.parsed.Fields.Client})
		}
	}
	return p.store.ShareParsed(ctx, shared)
}

// markBlocked marks each job with the oldest earlier item that another
// replica holds unparsed: a follow-up must not overtake the order it may
// be.
func (p *Pipeline) markBlocked(ctx context.Context, jobs []*job) error {
	if len(jobs) == 0 {
		return nil
	}
	mine := make([]int64, len(jobs))
	for i, j := range jobs {
		mine[i] = j.it.ID
	}
	blocker, err := p.store.EarliestForeignClaim(ctx, slices.Max(mine), mine)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.blockedBy = blocker
	}
	return nil
}

// commitGroup completes jobs in one transaction; when that fails, one by
// one.
func (p *Pipeline) commitGroup(ctx context.Context, jobs []*job) {
	deferred, culprit, err := p.commitBatch(ctx, jobs)
	if err != nil && ctx.Err() != nil {
		p.release(jobs) // stopping: the attempt does not count
		return
	}
	if err != nil {
		stageErrors.WithLabelValues("batch").Inc()
		p.log.Debug("batch failed, running its items one by one", "items", len(jobs), "error", err)
		for _, j := range jobs {
			if j == culprit && fault.IsPermanent(err) {
				// Its error cannot heal: trying it again alone would only
				// fail the same way.
				p.settle(ctx, j, err)
				continue
			}
			p.runJob(ctx, j)
		}
		return
	}
	for _, j := range jobs {
		if !slices.Contains(deferred, j) {
			p.done(j.it.ID)
		}
	}
	for _, j := range deferred {
		p.deferJob(ctx, j)
	}
}

// commitBatch completes jobs in one transaction and returns those that must
// wait for an earlier item (nothing of theirs is written); on failure, the
// job that failed, when one did.
func (p *Pipeline) commitBatch(ctx context.Context, jobs []*job) (deferred []*job, culprit *job, err error) {
	if len(jobs) == 0 {
		return nil, nil, nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.it.ID
	}
	err = p.store.InTx(ctx, func(ptx pgx.Tx) error {
		deferred = deferred[:0]
		open, err := store.LockPending(ctx, ptx, ids)
		if err != nil {
			return err
		}
		// Writes travel with the next read, in one round trip; one that
		// fails names the item it was for.
		tx := store.NewWriteBehind(ptx)
		ld := &loads{}
		if err := ld.readOrders(ctx, tx, jobs); err != nil {
			return err
		}
		for _, j := range jobs {
			if !open[j.it.ID] {
				continue // finished meanwhile by someone else
			}
			tx.SetOwner(j)
			err := p.completeIsolated(ctx, tx, j, ld)
			if errors.Is(err, ErrDeferred) {
				deferred = append(deferred, j)
				continue
			}
			if err != nil {
				culprit = heldBy(err, j)
				return err
			}
		}
		if err := tx.Flush(ctx); err != nil {
			culprit = heldBy(err, nil)
			return err
		}
		return nil
	})
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", err, context.DeadlineExceeded)
	}
	return deferred, culprit, err
}

// heldBy is the job whose held-back write failed with err, else j.
func heldBy(err error, j *job) *job {
	var he *store.HeldWriteError
	if errors.As(err, &he) {
		if owner, ok := he.Owner.(*job); ok {
			return owner
		}
	}
	return j
}

// completeIsolated completes j in tx; a source that writes before routing
// gets a savepoint, so that a deferral leaves nothing of it behind.
func (p *Pipeline) completeIsolated(ctx context.Context, tx pgx.Tx, j *job, ld *loads) error {
	if j.it.Source == flow.SourceMail {
		return p.proc.complete(ctx, tx, j, ld, true)
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	err = p.proc.complete(ctx, sp, j, ld, true)
	if errors.Is(err, ErrDeferred) {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return rerr
		}
		return err
	}
	if err != nil {
		return err
	}
	return sp.Commit(ctx)
}

// runOne claims an item that an event names and that was tried before, and
// runs it alone.
func (p *Pipeline) runOne(ctx context.Context, id int64) error {
	it, err := p.store.ClaimItem(ctx, id, p.cfg.Lease)
	if errors.Is(err, store.ErrNotFound) {
		return nil // done, another replica has it, or not due yet
	}
	if err != nil {
		return fmt.Errorf("claiming item %d: %w", id, err)
	}
	p.runClaimed(ctx, it)
	return nil
}

// runClaimed takes one claimed item to its outcome on its own, or ends it
// as failed when its attempts are used up (each attempt is counted when it
// is claimed, so an item that kills the process runs out too).
func (p *Pipeline) runClaimed(ctx context.Context, it *store.Item) {
	if max := p.cfg.Retries + 1; it.Attempts > max {
		cause := it.Error
		if cause == "" {
			cause = "the process stopped while working on it"
		}
		p.fail(ctx, it.ID, fmt.Sprintf("gave up after %d attempts: %s", it.Attempts-1, cause))
		return
	}
	j := p.proc.parseWithin(it, p.proc.Runtime(), p.cfg.Timeout)
	if j.err != nil {
		p.settle(ctx, j, j.err)
		return
	}
	if err := p.shareParsed(ctx, []*job{j}); err != nil {
		p.log.Warn("sharing a parse result", "item", it.ID, "error", err)
	}
	if err := p.markBlocked(ctx, []*job{j}); err != nil {
		p.log.Warn("looking for items other replicas hold", "item", it.ID, "error", err)
	}
	p.runJob(ctx, j)
}

// runJob completes one job in its own transaction and settles its failure.
func (p *Pipeline) runJob(ctx context.Context, j *job) {
	start := time.Now()
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fault.Permanent(fmt.Errorf("internal error: %v", r))
			}
		}()
		ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		defer cancel()
		return p.store.InTx(ctx, func(ptx pgx.Tx) error {
			open, err := store.LockPending(ctx, ptx, []int64{j.it.ID})
			if err != nil || !open[j.it.ID] {
				return err
			}
			tx := store.NewWriteBehind(ptx)
			if err := p.proc.complete(ctx, tx, j, &loads{}, true); err != nil {
				return err
			}
			return tx.Flush(ctx)
		})
	}()
	stageSeconds.WithLabelValues("item").Observe(time.Since(start).Seconds())
	if err != nil && ctx.Err() != nil {
		p.release([]*job{j})
		return
	}
	switch {
	case err == nil:
		p.done(j.it.ID)
	case errors.Is(err, ErrDeferred):
		p.deferJob(ctx, j)
	default:
		stageErrors.WithLabelValues("item").Inc()
		p.settle(ctx, j, err)
	}
}

// settle records a failed attempt: an error that cannot heal, or the last
// allowed attempt, ends the item as failed; anything else is tried again
// later, by the sweeper, without holding up the items behind it.
func (p *Pipeline) settle(ctx context.Context, j *job, cause error) {
	it := j.it
	msg := cause.Error()
	if errors.Is(cause, context.DeadlineExceeded) {
		msg = fmt.Sprintf("attempt took longer than %v: %s", p.cfg.Timeout, msg)
	}
	if fault.IsPermanent(cause) {
		p.fail(ctx, it.ID, msg)
		return
	}
	if it.Attempts > p.cfg.Retries {
		p.fail(ctx, it.ID, fmt.Sprintf("gave up after %d attempts: %s", it.Attempts, msg))
		return
	}
	wait := p.backoff(it.Attempts)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var parsed []byte
	var client string
	if j.parsed != nil {
		parsed, client = mustJSON(j.parsed), j.parsed.Fields.Client
	}
	if err := p.store.RetryItemAt(ctx, it.ID, msg, time.Now().Add(wait), parsed, client); err != nil {
		p.log.Error("recording a failed attempt", "item", it.ID, "error", err)
		return
	}
	p.log.Warn("item attempt failed, will retry", "item", it.ID, "attempt", it.Attempts, "retry_in", wait.Round(time.Millisecond), "error", msg)
}

func (p *Pipeline) fail(ctx context.Context, id int64, cause string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.store.FailItem(ctx, id, cause); err != nil {
		p.log.Error("recording a failed item", "item", id, "error", err)
		return
	}
	outcomes.WithLabelValues(flow.OutcomeFailed).Inc()
	p.log.Warn("item failed", "item", id, "error", cause)
	p.done(id)
}

// release gives claimed items back when the pipeline stops in the middle
// of their attempt: the attempt is not counted, and they are due at once.
func (p *Pipeline) release(jobs []*job) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, j := range jobs {
		if err := p.store.ReleaseItem(ctx, j.it.ID); err != nil {
			p.log.Warn("giving an item back while stopping", "item", j.it.ID, "error", err)
		}
	}
}

func (p *Pipeline) deferJob(ctx context.Context, j *job) {
	deferrals.WithLabelValues("route").Inc()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// Each deferral waits twice as long as the one before, up to two
	// seconds: what the item waits for may take a while (a dead replica's
	// lease to lapse), and every try parses it again.
	wait := min(max(p.cfg.PollInterval*5, 200*time.Millisecond)<<min(j.it.Deferrals, 8), 2*time.Second)
	if err := p.store.DeferItem(ctx, j.it.ID, "waiting for an earlier item it refers to", time.Now().Add(wait)); err != nil {
		p.log.Error("deferring an item", "item", j.it.ID, "error", err)
	}
}

// backoff is the wait before attempt n+1: RetryInitial doubled per attempt,
// at most a minute, with jitter so that replicas do not retry in step.
func (p *Pipeline) backoff(n int) time.Duration {
	return fault.Backoff(n, p.cfg.RetryInitial, time.Minute, rand.Float64)
}

func (p *Pipeline) done(id int64) {
	p.finished.add(id)
	if p.onOutcome != nil {
		p.onOutcome(id)
	}
}

// sweep processes items whose next attempt is due, whose lease expired, or
// whose event was lost or is held up. It processes them itself rather than
// announcing them again: on the PostgreSQL bus an event waits until every
// older transaction on the server has ended, so a long transaction
// elsewhere would hold the announcement up too.
func (p *Pipeline) sweep(ctx context.Context) error {
	t := time.NewTicker(p.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if !p.busy.TryLock() {
			continue // the bus is delivering: its handler gets to these
		}
		ids, err := p.store.DueItems(ctx, p.cfg.StaleAfter, 1000)
		if err == nil && len(ids) > 0 {
			err = p.process(ctx, ids)
		}
		p.busy.Unlock()
		if err != nil && ctx.Err() == nil {
			p.log.Warn("looking for items due for another attempt", "error", err)
		}
	}
}

// OnOutcome registers f to be called when an item reaches its outcome.
func (p *Pipeline) OnOutcome(f func(id int64)) { p.onOutcome = f }

// recentSet remembers the last n ids added.
type recentSet struct {
	mu   sync.Mutex
	set  map[int64]struct{}
	ring []int64
	next int
}

func newRecentSet(n int) *recentSet {
	return &recentSet{set: make(map[int64]struct{}, n), ring: make([]int64, n)}
}

func (r *recentSet) add(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return
	}
	if old := r.ring[r.next]; old != 0 {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.set[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
}

func (r *recentSet) has(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.set[id]
	return ok
}

func (p *Pipeline) natsBus() (message.Publisher, message.Subscriber, error) {
	js := wnats.JetStreamConfig{
		AutoProvision: true,
		TrackMsgId:    true,
		DurablePrefix: p.cfg.NATSPrefix,
		SubscribeOptions: []nats.SubOpt{
			nats.DeliverAll(),
			nats.AckExplicit(),
		},
	}
	opts := []nats.Option{nats.RetryOnFailedConnect(true), nats.Timeout(10 * time.Second), nats.ReconnectWait(time.Second)}
	pub, err := wnats.NewPublisher(wnats.PublisherConfig{URL: p.cfg.NATSURL, NatsOptions: opts, Marshaler: &wnats.NATSMarshaler{}, JetStream: js}, p.wlog)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to NATS at %s: %w", p.cfg.NATSURL, err)
	}
	sub, err := wnats.NewSubscriber(wnats.SubscriberConfig{
		URL:              p.cfg.NATSURL,
		QueueGroupPrefix: p.cfg.NATSPrefix,
		SubscribersCount: 1, // in order within a replica: stages rely on it
		AckWaitTimeout:   p.cfg.Timeout + 10*time.Second,
		NatsOptions:      opts,
		Unmarshaler:      &wnats.NATSMarshaler{},
		JetStream:        js,
	}, p.wlog)
	if err != nil {
		pub.Close()
		return nil, nil, fmt.Errorf("subscribing to NATS at %s: %w", p.cfg.NATSURL, err)
	}
	return pub, sub, nil
}

// shutdownFilter drops the bus's complaints that a query was cancelled, or
// its connection closed while the pipeline stops: they are what a clean
// shutdown looks like, not errors.
type shutdownFilter struct {
	slog.Handler
	closing *atomic.Bool
}

func (h shutdownFilter) Handle(ctx context.Context, r slog.Record) error {
	drop := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "error" && a.Key != "query_err" {
			return true
		}
		msg := a.Value.String()
		if strings.Contains(msg, context.Canceled.Error()) || (h.closing.Load() && strings.Contains(msg, "conn closed")) {
			drop = true
			return false
		}
		return true
	})
	if drop {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h shutdownFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return shutdownFilter{h.Handler.WithAttrs(as), h.closing}
}

func (h shutdownFilter) WithGroup(name string) slog.Handler {
	return shutdownFilter{h.Handler.WithGroup(name), h.closing}
}
