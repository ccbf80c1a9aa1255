package replay

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// BacktestConfig says what a backtest compares and where it runs.
type BacktestConfig struct {
	// Live is the database whose mail is replayed; it is only read.
	Live *store.Store
	// AdminURL names the server the scratch databases are created on.
	AdminURL string
	// Candidate is the rule set to compare with the one in force, and
	// CandidateFiles its files.
	Candidate      *rules.Set
	CandidateFiles []rules.File
	// Fallback is the rule set in force when Live stores none (the
	// configured or shipped files).
	Fallback []rules.File
	// OwnAddresses and Location are the configuration's, as the pipeline
	// uses them.
	OwnAddresses []string
	Location     *time.Location
	// Since and Limit choose the items: received since then, at most Limit
	// of them (the newest; 0 for all).
	Since time.Time
	Limit int
	// Progress, when not nil, is called as items are replayed (each item
	// twice).
	Progress func(done, total int)
}

// BacktestFields are the fields a backtest compares, in report order: all
// that a rule or format change can move, the chain's number, priority and
// due among them.
var BacktestFields = []string{"kind", "client", "external_id", "object", "category", "priority", "due", "engineer"}

// maxBacktestRows bounds the items a report lists one by one.
const maxBacktestRows = 500

// BacktestReport counts what a candidate rule set would change.
type BacktestReport struct {
	Items    int
	Changed  map[string]int      // by field of BacktestFields
	Examples map[string][]string // up to 20 by field
	// Rows are the items with any change, in the order they arrived (the
	// first maxBacktestRows), each with both outcomes.
	Rows []BacktestRow
	// ChangedItems counts the items with any change (Rows may hold fewer).
	ChangedItems int
}

// BacktestRow is one item whose outcome the candidate changes: what it
// became with the rules in force (Before) and with the candidate (After),
// and the fields that differ.
type BacktestRow struct {
	Item    int64
	File    string
	Before  Result
	After   Result
	Changed []string
}

// Value is field of r as shown in a report: the value, or "" when null.
func Value(r Result, field string) string {
	if p := resultValue(r, field); p != nil {
		return *p
	}
	return ""
}

// WriteText writes the counts, then the examples of each field.
func (r BacktestReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "backtest: %d items replayed, %d would change\n", r.Items, r.ChangedItems)
	for _, f := range BacktestFields {
		fmt.Fprintf(w, "  %-11s %d would change\n", f, r.Changed[f])
	}
	for _, f := range BacktestFields {
		if len(r.Examples[f]) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s changes (up to 20):\n", f)
		for _, e := range r.Examples[f] {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

// Backtest replays stored mail items, in the order they arrived, through
// the stages twice, once with the rule set in force and once with the
// candidate, each in its own scratch database seeded with the reference
// data, and compares the outcomes. The live database is only read. Both
// replays run at once; each is sequential, so that a follow-up finds the
// ticket of its order and an engineer's load is what it was.
func Backtest(ctx context.Context, cfg BacktestConfig) (BacktestReport, error) {
	rep := BacktestReport{Changed: map[string]int{}, Examples: map[string][]string{}}
	ids, err := cfg.Live.OriginalMailItems(ctx, cfg.Since)
	if err != nil {
		return rep, err
	}
	if cfg.Limit > 0 && len(ids) > cfg.Limit {
		ids = ids[len(ids)-cfg.Limit:]
	}
	rep.Items = len(ids)
	current, err := pipeline.RulesFromStore(ctx, cfg.Live, cfg.Fallback)
	if err != nil {
		return rep, err
	}
	var mu sync.Mutex
	done := 0
	step := func() {
		if cfg.Progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		done++
		cfg.Progress(done, 2*len(ids))
	}
	base := fmt.Sprintf("%s%d", BacktestScratchPrefix(), clock.Wall().UnixNano())
	var before, after map[int64]Result
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		before, err = replayItems(gctx, cfg, base+"_current", current, ids, step)
		return err
	})
	g.Go(func() (err error) {
		after, err = replayItems(gctx, cfg, base+"_candidate", cfg.Candidate, ids, step)
		return err
	})
	if err := g.Wait(); err != nil {
		return rep, err
	}
	for _, id := range ids {
		a, b := before[id], after[id]
		var changed []string
		for _, f := range BacktestFields {
			x, y := resultValue(a, f), resultValue(b, f)
			if !equalField(f, x, y) {
				changed = append(changed, f)
				rep.Changed[f]++
				if len(rep.Examples[f]) < 20 {
					rep.Examples[f] = append(rep.Examples[f], fmt.Sprintf("item %d (%s): %s -> %s", id, a.File, show(x), show(y)))
				}
			}
		}
		if len(changed) > 0 {
			rep.ChangedItems++
			if len(rep.Rows) < maxBacktestRows {
				rep.Rows = append(rep.Rows, BacktestRow{Item: id, File: a.File, Before: a, After: b, Changed: changed})
			}
		}
	}
	return rep, nil
}

// BacktestScratchPrefix starts the names of this process's backtest scratch
// databases. The process id tells a leftover's owner, and keeps one
// process's databases apart from another's on a shared server.
func BacktestScratchPrefix() string { return fmt.Sprintf("intake_backtest_%d_", os.Getpid()) }

// replayBatch is how many stored items a replay reads from the live
// database at a time.
const replayBatch = 200

// replayItems runs the items ids of cfg.Live, in order, through the stages
// with set in a scratch database called name, and returns their outcomes.
// Each item is replayed as of its original processing: received then, and
// rules that look at now see when it was processed.
func replayItems(ctx context.Context, cfg BacktestConfig, name string, set *rules.Set, ids []int64, step func()) (map[int64]Result, error) {
	st, closeScratch, err := openScratch(ctx, cfg.AdminURL, name)
	if err != nil {
		return nil, err
	}
	defer closeScratch()
	if err := st.CopyReference(ctx, cfg.Live); err != nil {
		return nil, err
	}
	rt, err := pipeline.LoadRuntime(ctx, st, cfg.CandidateFiles)
	if err != nil {
		return nil, err
	}
	rt.Rules, rt.RulesVersion = set, set.Version
	var processedAt time.Time
	proc := pipeline.NewProcessor(rt, cfg.OwnAddresses, cfg.Location, func() time.Time { return processedAt })
	out := make(map[int64]Result, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(replayBatch, len(ids))]
		ids = ids[len(batch):]
		items, err := cfg.Live.ItemsForReplay(ctx, batch)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			processedAt = it.UpdatedAt
			err = st.InTx(ctx, func(tx pgx.Tx) error {
				// The replay keeps the time of the original.
				res, err := ingest.PutTx(ctx, tx, ingest.Item{Source: it.Source, SourceRef: it.SourceRef, DedupKey: it.DedupKey, MessageID: it.MessageID, Raw: it.Raw}, it.ReceivedAt)
				if err != nil {
					return err
				}
				if res.Status == ingest.StatusNew {
					if err := proc.RunInline(ctx, tx, res.ID); err != nil {
						return err
					}
				}
				o, err := pipeline.ReadOutcome(ctx, tx, res.ID)
				if err != nil {
					return err
				}
				out[it.ID] = ResultOf(it.SourceRef, o, nil, nil)
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("replaying item %d: %w", it.ID, err)
			}
			step()
		}
	}
	return out, nil
}
