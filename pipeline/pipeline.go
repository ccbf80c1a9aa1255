// Package pipeline runs Intake's stages on a watermill router:
//
//	intake_received -> parse -> intake_parsed -> route -> intake_routed -> ticket
//
// Events carry item ids. Each stage locks its item, saves its result and
// publishes the next event in one PostgreSQL transaction, so a crash at any
// point either loses the whole step (and the event is redelivered) or keeps
// all of it. Handlers are idempotent: a redelivered event finds the item
// already past the stage and does nothing.
//
// Middleware, outermost first: correlation id, poison queue (an item whose
// handler still fails after retries, or fails permanently, is marked failed
// with the error and can be retried by `intake retry`), retry with
// exponential backoff (skipped for permanent errors), timeout, recoverer.
//
// The default bus is PostgreSQL (watermill-sql). With bus kind "nats" the
// stages publish into a PostgreSQL outbox topic in the same transaction and a
// forwarder relays the events to NATS JetStream, from which every replica's
// router consumes in one queue group.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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

	"github.com/intakehq/intake/store"
)

// TopicOutbox is the PostgreSQL topic that holds events on their way to NATS.
const TopicOutbox = "intake_outbox"

const defaultPoll = 100 * time.Millisecond

// Config tunes the bus and the handlers.
type Config struct {
	Bus     string // postgres | nats
	NATSURL string
	// NATSPrefix names this deployment's subjects, streams and consumers on
	// a NATS server that others share (default "intake").
	NATSPrefix   string
	PollInterval time.Duration
	Retries      int
	RetryInitial time.Duration
	Timeout      time.Duration
}

// Stage runs one step for an item inside tx. It returns true when the item
// moved on to a stage that the next handler takes.
type Stage func(ctx context.Context, tx pgx.Tx, id int64) (next bool, err error)

// Stages are the three steps.
type Stages struct {
	Parse, Route, Ticket Stage
}

// Pipeline is the router and its bus.
type Pipeline struct {
	cfg    Config
	store  *store.Store
	stages Stages
	log    *slog.Logger
	wlog   watermill.LoggerAdapter
	// onOutcome is called after an item's transaction commits with an outcome.
	onOutcome func(id int64)
	// closing is set once Run's context ends.
	closing atomic.Bool
}

// New builds a pipeline.
func New(cfg Config, st *store.Store, stages Stages, logger *slog.Logger) *Pipeline {
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
	p := &Pipeline{cfg: cfg, store: st, stages: stages, log: logger}
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
	pub, err := sqlTxPublisher(tx, p.wlog)
	if err != nil {
		return err
	}
	if p.cfg.Bus == "nats" {
		pub = forwarder.NewPublisher(pub, forwarder.PublisherConfig{ForwarderTopic: TopicOutbox})
	}
	msgs := make([]*message.Message, 0, len(ids))
	for _, id := range ids {
		m, err := newEventMessage(id)
		if err != nil {
			return err
		}
		m.SetContext(ctx)
		msgs = append(msgs, m)
	}
	return pub.Publish(topic, msgs...)
}

// Run runs the router (and, with NATS, the forwarder) until ctx is done, then
// drains in-flight handlers.
func (p *Pipeline) Run(ctx context.Context) error {
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
	var poisonPub message.Publisher
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
		sub, poisonPub = natsSub, natsPub
	} else {
		poisonPub = &poolPublisher{p: p}
	}

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, p.wlog)
	if err != nil {
		return err
	}
	poison, err := middleware.PoisonQueue(poisonPub, p.topic(TopicPoison))
	if err != nil {
		return err
	}
	router.AddMiddleware(
		middleware.CorrelationID,
		poison,
		middleware.Retry{
			MaxRetries:          p.cfg.Retries,
			InitialInterval:     p.cfg.RetryInitial,
			MaxInterval:         30 * time.Second,
			Multiplier:          2,
			RandomizationFactor: 0.3,
			ShouldRetry:         func(rp middleware.RetryParams) bool { return !IsPermanent(rp.Err) },
			Logger:              p.wlog,
		}.Middleware,
		middleware.Timeout(p.cfg.Timeout),
		middleware.Recoverer,
	)
	router.AddConsumerHandler("parse", p.topic(TopicReceived), sub, p.handler("parse", p.stages.Parse, p.topic(TopicReceived), p.topic(TopicParsed)))
	router.AddConsumerHandler("route", p.topic(TopicParsed), sub, p.handler("route", p.stages.Route, p.topic(TopicParsed), p.topic(TopicRouted)))
	router.AddConsumerHandler("ticket", p.topic(TopicRouted), sub, p.handler("ticket", p.stages.Ticket, p.topic(TopicRouted), ""))
	router.AddConsumerHandler("poison", p.topic(TopicPoison), sub, p.poisonHandler)

	g.Go(func() error { return router.Run(ctx) })
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

// Running waits until the router is running; for tests and the demo.
func (p *Pipeline) handler(name string, stage Stage, self, next string) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		id, err := decodeEvent(msg)
		if err != nil {
			return err
		}
		ctx := msg.Context()
		start := time.Now()
		var done bool
		err = p.store.InTx(ctx, func(tx pgx.Tx) error {
			more, err := stage(ctx, tx, id)
			if err != nil {
				return err
			}
			if more && next != "" {
				return p.publish(ctx, tx, next, id)
			}
			done = !more
			return nil
		})

		if errors.Is(err, ErrDeferred) {
			// Put the event back at the end of the topic, counting the
			// deferral, and let the bus go on with the next event.
			err = p.store.InTx(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `UPDATE inbound_items SET attempts = attempts + 1 WHERE id = $1`, id); err != nil {
					return err
				}
				return p.publish(ctx, tx, self, id)
			})
			deferrals.WithLabelValues(name).Inc()
			if err == nil {
				return nil
			}
		}
		stageSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
		if err != nil {
			stageErrors.WithLabelValues(name).Inc()
			return fmt.Errorf("%s item %d: %w", name, id, err)
		}
		if done && p.onOutcome != nil {
			p.onOutcome(id)
		}
		return nil
	}
}

// poisonHandler records an item whose stage kept failing as failed, with the
// error, so a dispatcher sees it and `intake retry` can run it again.
func (p *Pipeline) poisonHandler(msg *message.Message) error {
	id, err := decodeEvent(msg)
	if err != nil {
		p.log.Error("poison message without an item", "payload", string(msg.Payload))
		return nil
	}
	reason := msg.Metadata.Get(middleware.ReasonForPoisonedKey)
	p.log.Error("item failed", "item", id, "error", reason, "handler", msg.Metadata.Get(middleware.PoisonedHandlerKey))
	if err := p.store.FailItem(msg.Context(), id, reason); err != nil {
		return err
	}
	outcomes.WithLabelValues("failed").Inc()
	if p.onOutcome != nil {
		p.onOutcome(id)
	}
	return nil
}

// OnOutcome registers f to be called when an item reaches its outcome.
func (p *Pipeline) OnOutcome(f func(id int64)) { p.onOutcome = f }

// poolPublisher publishes poison messages outside any transaction.
type poolPublisher struct{ p *Pipeline }

func (pp *poolPublisher) Publish(topic string, msgs ...*message.Message) error {
	return pp.p.store.InTx(context.Background(), func(tx pgx.Tx) error {
		pub, err := sqlTxPublisher(tx, pp.p.wlog)
		if err != nil {
			return err
		}
		return pub.Publish(topic, msgs...)
	})
}

func (pp *poolPublisher) Close() error { return nil }

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
		if a.Key != "error" {
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
