package replay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// Lab tries a rule set that is not applied yet: on messages, on stored
// items, and over a period of stored mail (a backtest). Nothing it does is
// written or uses up a ticket number. It is what the rule editor runs.
type Lab struct {
	Store *store.Store
	// AdminURL names the server backtests create their scratch databases
	// on (the live database's URL will do).
	AdminURL string
	// Fallback is the rule set in force when the store holds none (the
	// configured or shipped files).
	Fallback []rules.File
	// OwnAddresses and Location are the configuration's.
	OwnAddresses []string
	Location     *time.Location
	// Setup, when not nil, completes a processor as the server's is (its
	// SLA settings).
	Setup func(*pipeline.Processor)
	// Now is the clock (clock.Wall when nil).
	Now func() time.Time
}

func (l Lab) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return clock.Wall()
}

// Since is the start of a period of d that ends now.
func (l Lab) Since(d time.Duration) time.Time { return l.now().Add(-d) }

// processor is a processor over the live directory with files as its
// rules; the codes the files name are checked against the reference data.
func (l Lab) processor(ctx context.Context, files []rules.File) (*pipeline.Processor, error) {
	set, _, err := pipeline.CheckRules(ctx, l.Store, files)
	if err != nil {
		return nil, err
	}
	rt, err := pipeline.LoadRuntime(ctx, l.Store, l.Fallback)
	if err != nil {
		return nil, err
	}
	rt.Rules, rt.RulesVersion = set, 0
	proc := pipeline.NewProcessor(rt, l.OwnAddresses, l.Location, l.now)
	if l.Setup != nil {
		l.Setup(proc)
	}
	return proc, nil
}

// Try runs msgs through the stages with files as the rules (see Try).
func (l Lab) Try(ctx context.Context, files []rules.File, msgs []Message, dedup bool) ([]Tried, error) {
	proc, err := l.processor(ctx, files)
	if err != nil {
		return nil, err
	}
	var out []Tried
	err = Try(ctx, l.Store, proc, msgs, dedup, func(t Tried) error {
		out = append(out, t)
		return nil
	})
	return out, err
}

// ErrNotMail is returned when a stored item to try did not come by mail:
// only mail can be run again through the stages here.
var ErrNotMail = errors.New("only items that came by mail can be tried")

// TryItem runs stored item id through the stages with files as the rules,
// as if it were new; the result names the item as stored.
func (l Lab) TryItem(ctx context.Context, files []rules.File, id int64) (Tried, error) {
	items, err := l.Store.ItemsForReplay(ctx, []int64{id})
	if err != nil {
		return Tried{}, err
	}
	if len(items) == 0 {
		return Tried{}, fmt.Errorf("item %d: %w", id, store.ErrNotFound)
	}
	it := items[0]
	if it.Source != flow.SourceMail {
		return Tried{}, fmt.Errorf("item %d came by %s: %w", id, it.Source, ErrNotMail)
	}
	tried, err := l.Try(ctx, files, []Message{{Name: fmt.Sprintf("item-%d.eml", id), Raw: it.Raw}}, false)
	if err != nil {
		return Tried{}, err
	}
	return tried[0], nil
}

// Backtest compares files with the rule set in force over the mail
// received since then (see Backtest).
func (l Lab) Backtest(ctx context.Context, files []rules.File, since time.Time, limit int) (BacktestReport, error) {
	set, _, err := pipeline.CheckRules(ctx, l.Store, files)
	if err != nil {
		return BacktestReport{}, err
	}
	return Backtest(ctx, BacktestConfig{
		Live: l.Store, AdminURL: l.AdminURL, Candidate: set, CandidateFiles: files, Fallback: l.Fallback,
		OwnAddresses: l.OwnAddresses, Location: l.Location, Since: since, Limit: limit,
	})
}
