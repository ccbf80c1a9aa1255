package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/fault"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/store"
)

// Runner pulls one connector into the inbox.
type Runner struct {
	Conn     Connector
	Store    *store.Store
	Inbox    *ingest.Inbox
	Interval time.Duration
	Log      *slog.Logger
	// Backoff after failed pulls: from MinBackoff doubling to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// Item makes the inbox item of an order.
func Item(c Connector, o Order) (ingest.Item, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return ingest.Item{}, err
	}
	ref := c.Name() + "/" + o.ExternalID + "/" + o.Version()
	return ingest.Item{Source: flow.SourceConnector, SourceRef: ref, DedupKey: ref, Raw: raw,
		Meta: map[string]any{"connector": c.Name(), "client": c.Client(), "external_id": o.ExternalID}}, nil
}

// PullOnce pulls every page that is ready and stores each page's orders
// together with the cursor after them.
func (r *Runner) PullOnce(ctx context.Context) (int, error) {
	name := r.Conn.Name()
	total := 0
	for {
		cursor, err := r.Store.ConnectorCursor(ctx, name)
		if err != nil {
			return total, err
		}
		page, err := r.Conn.Pull(ctx, cursor)
		if err != nil {
			return total, fmt.Errorf("connector %s: pulling after %q: %w", name, cursor, err)
		}
		items := make([]ingest.Item, 0, len(page.Orders))
		for _, o := range page.Orders {
			it, err := Item(r.Conn, o)
			if err != nil {
				return total, err
			}
			items = append(items, it)
		}
		if page.Cursor == "" || (page.Cursor == cursor && len(items) == 0) {
			return total, nil
		}
		if _, err := r.Inbox.Put(ctx, items, func(ctx context.Context, tx pgx.Tx) error {
			return store.SaveConnectorCursor(ctx, tx, name, page.Cursor)
		}); err != nil {
			return total, fmt.Errorf("connector %s: storing %d orders: %w", name, len(items), err)
		}
		total += len(items)
		if !page.More {
			return total, nil
		}
	}
}

// Run pulls every Interval until ctx ends; failures back off (the desk's
// Retry-After when it gives one).
func (r *Runner) Run(ctx context.Context) error {
	if r.Interval <= 0 {
		r.Interval = time.Minute
	}
	if r.MinBackoff <= 0 {
		r.MinBackoff = 5 * time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 10 * time.Minute
	}
	wait, fails := time.Duration(0), 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		n, err := r.pullExclusive(ctx)
		if err == nil {
			fails, wait = 0, r.Interval
			if n > 0 {
				r.Log.Info("connector pulled", "connector", r.Conn.Name(), "orders", n)
			}
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		fails++
		wait = fault.Backoff(fails, r.MinBackoff, r.MaxBackoff, randFloat)
		var ra *outbox.RetryAfterError
		if errors.As(err, &ra) && ra.After > wait {
			wait = ra.After
		}
		r.Log.Warn("connector pull failed", "connector", r.Conn.Name(), "attempt", fails, "retry_in", wait.Round(time.Second), "error", err)
	}
}

// pullExclusive pulls unless another replica is pulling this connector: a
// session advisory lock, released when the pull ends or its holder dies,
// keeps replicas from multiplying the requests to the desk.
func (r *Runner) pullExclusive(ctx context.Context) (int, error) {
	// When another replica is pulling, n stays 0: try again next interval.
	var n int
	_, err := r.Store.TryExclusive(ctx, "intake-connector:"+r.Conn.Name(), func() error {
		var err error
		n, err = r.PullOnce(ctx)
		return err
	})
	return n, err
}
