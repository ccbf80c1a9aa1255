package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
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

func cmdRetry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("retry", stderr, &cf)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ids []int64
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return fmt.Errorf("item id %q is not a number", a)
		}
		ids = append(ids, id)
	}
	cfg, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	pipe := pipeline.New(pipeline.Config{Bus: cfg.Bus.Kind, NATSURL: cfg.Bus.NATSURL, NATSPrefix: cfg.Bus.NATSPrefix}, st, nil, newLogger(cfg.Log, stderr))
	if err := pipeline.InitSchema(ctx, st.Pool, nil); err != nil {
		return err
	}
	var done []int64
	err = st.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if done, err = store.RetryFailed(ctx, tx, ids); err != nil || len(done) == 0 {
			return err
		}
		return pipe.Publish(ctx, tx, done)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "retry: %d failed items re-queued\n", len(done))
	return nil
}

func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: intake rules check PATH... | apply PATH... | backtest [--since 7d] PATH...")
	}
	sub, rest := args[0], args[1:]
	var cf commonFlags
	fs := newFlagSet("rules "+sub, stderr, &cf)
	since := fs.String("since", "7d", "backtest: items received within this period (e.g. 12h, 7d)")
	limit := fs.Int("limit", 0, "backtest: at most this many items (newest), 0 for all")
	by := fs.String("by", "", "apply: who applies the set (recorded with the version)")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: intake rules %s PATH...", sub)
	}
	files, err := readRuleFiles(fs.Args())
	if err != nil {
		return err
	}
	switch sub {
	case "check":
		set, err := rules.Load(files)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rules check: %d files, %d formats, %d rules: ok\n", len(files), len(set.Formats()), len(set.Rules("")))
		return nil
	case "apply":
		_, st, err := cf.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		if *by == "" {
			*by = getenv("USER")
		}
		v, created, err := applyRules(ctx, st, files, *by)
		if err != nil {
			return err
		}
		if !created {
			fmt.Fprintf(stdout, "rules apply: unchanged, version %d stays in force\n", v)
			return nil
		}
		fmt.Fprintf(stdout, "rules apply: version %d in force (running replicas switch within seconds)\n", v)
		return nil
	case "backtest":
		cfg, err := loadConfig(cf.config, getenv)
		if err != nil {
			return err
		}
		d, err := parsePeriod(*since)
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		candidate, err := rules.Load(files)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		rep, err := backtest(ctx, cfg, st, candidate, files, clock.Wall().Add(-d), *limit, stderr)
		if err != nil {
			return err
		}
		rep.print(stdout)
		return nil
	}
	return fmt.Errorf("unknown rules command %q (check, apply, backtest)", sub)
}

// parsePeriod reads "7d", "12h", "90m".
func parsePeriod(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q is not a period such as 7d or 12h", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a period such as 7d or 12h", s)
	}
	return d, nil
}

// backtestReport counts what a candidate rule set would change.
type backtestReport struct {
	Items    int
	Changed  map[string]int
	Examples map[string][]string
}

var backtestFields = []string{"kind", "client", "object", "category", "engineer"}

func (r backtestReport) print(w io.Writer) {
	fmt.Fprintf(w, "backtest: %d items replayed\n", r.Items)
	for _, f := range backtestFields {
		fmt.Fprintf(w, "  %-9s %d would change\n", f, r.Changed[f])
	}
	for _, f := range backtestFields {
		if len(r.Examples[f]) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s changes (up to 20):\n", f)
		for _, e := range r.Examples[f] {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

// backtest replays stored mail items, in the order they arrived, through
// the stages twice, once with the rule set in force and once with the
// candidate, each in its own scratch database seeded with the reference
// data, and compares the outcomes. The live database is only read. Both
// replays run at once; each is sequential, so that a follow-up finds the
// ticket of its order and an engineer's load is what it was.
func backtest(ctx context.Context, cfg Config, live *store.Store, candidate *rules.Set, files []rules.File, since time.Time, limit int, stderr io.Writer) (backtestReport, error) {
	rep := backtestReport{Changed: map[string]int{}, Examples: map[string][]string{}}
	ids, err := live.OriginalMailItems(ctx, since)
	if err != nil {
		return rep, err
	}
	if limit > 0 && len(ids) > limit {
		ids = ids[len(ids)-limit:]
	}
	rep.Items = len(ids)
	current, err := pipeline.RulesFromStore(ctx, live, mustRuleFiles(cfg))
	if err != nil {
		return rep, err
	}
	loc := cfg.Intake.Location
	progress := progressFor(stderr, "backtest")
	var mu sync.Mutex
	done := 0
	step := func() {
		mu.Lock()
		defer mu.Unlock()
		done++
		progress(done, 2*len(ids))
	}
	base := fmt.Sprintf("%s%d", backtestScratchPrefix(), time.Now().UnixNano())
	var before, after map[int64]tryResult
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		before, err = replay(gctx, cfg, live, base+"_current", current, files, ids, loc, step)
		return err
	})
	g.Go(func() (err error) {
		after, err = replay(gctx, cfg, live, base+"_candidate", candidate, files, ids, loc, step)
		return err
	})
	if err := g.Wait(); err != nil {
		return rep, err
	}
	for _, id := range ids {
		a, b := before[id], after[id]
		for _, f := range backtestFields {
			var x, y *string
			switch f {
			case "kind":
				x, y = &a.Kind, &b.Kind
			case "client":
				x, y = a.Client, b.Client
			case "object":
				x, y = a.Object, b.Object
			case "category":
				x, y = a.Category, b.Category
			case "engineer":
				x, y = a.Engineer, b.Engineer
			}
			if !equalField(f, x, y) {
				rep.Changed[f]++
				if len(rep.Examples[f]) < 20 {
					rep.Examples[f] = append(rep.Examples[f], fmt.Sprintf("item %d (%s): %s -> %s", id, a.File, show(x), show(y)))
				}
			}
		}
	}
	return rep, nil
}

// backtestScratchPrefix starts the names of this process's scratch
// databases. The process id tells a leftover's owner, and keeps one
// process's databases apart from another's on a shared server.
func backtestScratchPrefix() string { return fmt.Sprintf("intake_backtest_%d_", os.Getpid()) }

// replayBatch is how many stored items a replay reads from the live
// database at a time.
const replayBatch = 200

// replay runs the items ids of live, in order, through the stages with set
// in a scratch database called name, and returns their outcomes. Each item
// is replayed as of its original processing: received then, and rules that
// look at now see when it was processed.
func replay(ctx context.Context, cfg Config, live *store.Store, name string, set *rules.Set, files []rules.File, ids []int64, loc *time.Location, step func()) (map[int64]tryResult, error) {
	u, drop, err := createScratch(ctx, cfg.Database.URL, name)
	if err != nil {
		return nil, err
	}
	defer drop()
	st, err := store.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := st.CopyReference(ctx, live); err != nil {
		return nil, err
	}
	rt, err := pipeline.LoadRuntime(ctx, st, files)
	if err != nil {
		return nil, err
	}
	rt.Rules, rt.RulesVersion = set, set.Version
	var processedAt time.Time
	proc := pipeline.NewProcessor(rt, cfg.Intake.OwnAddresses, loc, func() time.Time { return processedAt })
	out := make(map[int64]tryResult, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(replayBatch, len(ids))]
		ids = ids[len(batch):]
		items, err := live.ItemsForReplay(ctx, batch)
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
				out[it.ID] = toTryResult(it.SourceRef, o, nil, nil)
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

func mustRuleFiles(cfg Config) []rules.File {
	f, err := configuredRuleFiles(cfg)
	if err != nil {
		return nil
	}
	return f
}
