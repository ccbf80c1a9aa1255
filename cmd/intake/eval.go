package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgcluster"
)

var evalFields = []string{"kind", "client", "external_id", "object", "category", "priority", "due"}

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("eval", stderr, &cf)
	labelsPath := fs.String("labels", "", "labels.jsonl for the files of DIR")
	minAcc := fs.Float64("min", 0, "exit 1 when any field's accuracy is below this (0..1)")
	refDir := fs.String("reference", "", "import reference CSVs from this folder instead of copying the configured database's")
	rulePaths := fs.String("rules", "", "comma-separated rule/format files or folders to evaluate instead of the rule set in force")
	maxMisses := fs.Int("misses", 200, "how many misses to list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *labelsPath == "" {
		return errors.New("usage: intake eval --labels labels.jsonl [--min 0.99] DIR")
	}
	dir := fs.Arg(0)
	labels, err := readLabels(*labelsPath)
	if err != nil {
		return err
	}
	files, err := mailFiles(dir)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
	log := newLogger(LogConfig{Level: "warn", Format: cfg.Log.Format}, stderr)

	// The scratch database: on the configured server when there is one,
	// else on a private cluster. It is dropped at the end, whatever happens.
	var live *store.Store
	var adminURL string
	if cfg.Database.URL != "" {
		live, err = openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer live.Close()
		adminURL = cfg.Database.URL
	} else {
		if *refDir == "" {
			return errors.New("no database configured: set DATABASE_URL, or give --reference DIR to evaluate on a private cluster")
		}
		c, err := pgcluster.Start(ctx, pgcluster.Options{Fast: true})
		if err != nil {
			return err
		}
		defer c.Stop() //nolint:errcheck
		adminURL = c.URL("postgres")
	}
	scratchName := fmt.Sprintf("intake_eval_%d", time.Now().UnixNano())
	scratchURL, drop, err := createScratch(ctx, adminURL, scratchName)
	if err != nil {
		return err
	}
	defer drop()
	st, err := store.Open(ctx, scratchURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	if *refDir != "" {
		if err := importReferenceDir(ctx, st, *refDir, io.Discard); err != nil {
			return err
		}
	} else if err := st.CopyReference(ctx, live); err != nil {
		return err
	}
	switch {
	case *rulePaths != "":
		rf, err := readRuleFiles(strings.Split(*rulePaths, ","))
		if err != nil {
			return err
		}
		if _, _, err := applyRules(ctx, st, rf, "eval"); err != nil {
			return err
		}
	case live != nil:
		if rs, err := live.LatestRuleSet(ctx); err == nil {
			if _, _, err := st.SaveRuleSet(ctx, rs.Hash, rs.Sources, "eval"); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}

	ecfg := cfg
	ecfg.Bus = BusConfig{Kind: "postgres", PollInterval: Duration(5 * time.Millisecond)}
	ecfg.Pipeline.RetryInitial = Duration(50 * time.Millisecond)
	ecfg.Pipeline.Retries = 2
	eng, err := newEngine(ctx, ecfg, st, log)
	if err != nil {
		return err
	}
	runCtx, stopRun := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return eng.pipe.Run(gctx) })

	type result struct {
		file    string
		outcome *pipeline.Outcome
		follows *string
	}
	var results []result
	fileOf := map[int64]string{}
	progress := progressFor(stderr, "eval")
	for i, f := range files {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			stopRun()
			g.Wait() //nolint:errcheck
			return err
		}
		key, mid := ingest.MailKeys(raw)
		res, err := eng.inbox.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "eval/" + f, DedupKey: key, MessageID: mid, Raw: raw}}, nil)
		if err != nil {
			stopRun()
			g.Wait() //nolint:errcheck
			return err
		}
		id := res[0].ID
		fileOf[id] = f
		if err := waitDone(ctx, st, id, 60*time.Second); err != nil {
			stopRun()
			g.Wait() //nolint:errcheck
			return fmt.Errorf("%s: %w", f, err)
		}
		o, err := pipeline.ReadOutcome(ctx, st.Pool, id)
		if err != nil {
			stopRun()
			g.Wait() //nolint:errcheck
			return err
		}
		results = append(results, result{file: f, outcome: o, follows: followsName(ctx, st.Pool, o, fileOf)})
		progress(i+1, len(files))
	}
	stopRun()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}

	// Compare.
	correct := map[string]int{}
	var misses []string
	n := 0
	for _, r := range results {
		l, ok := labels[r.file]
		if !ok {
			continue
		}
		n++
		got := toTryResult(r.file, r.outcome, r.follows, nil)
		for _, field := range evalFields {
			want, have := labelValue(l, field), resultValue(got, field)
			if equalField(field, want, have) {
				correct[field]++
			} else {
				misses = append(misses, fmt.Sprintf("%s %s: got %s, want %s  (%s; %s)", r.file, field, show(have), show(want), l.Kind, l.Note))
			}
		}
	}
	if n == 0 {
		return fmt.Errorf("no file of %s has a label in %s", dir, *labelsPath)
	}
	fmt.Fprintf(stdout, "per-field accuracy over %d labelled messages:\n", n)
	failed := false
	pct := map[string]float64{}
	for _, field := range evalFields {
		pct[field] = 100 * float64(correct[field]) / float64(n)
		fmt.Fprintf(stdout, "  %-12s %6.1f%%  (%d/%d)\n", field, pct[field], correct[field], n)
		if float64(correct[field])/float64(n) < *minAcc {
			failed = true
		}
	}
	if len(misses) > 0 {
		fmt.Fprintf(stdout, "misses (%d):\n", len(misses))
		for i, m := range misses {
			if i == *maxMisses {
				fmt.Fprintf(stdout, "  ... %d more\n", len(misses)-i)
				break
			}
			fmt.Fprintln(stdout, "  "+m)
		}
	}
	arep, err := verifyAssignments(ctx, st, eng.proc.Runtime().Directory)
	if err != nil {
		return err
	}
	arep.print(stdout)
	if len(arep.Violations) > 0 {
		failed = true
	}
	fmt.Fprintf(stdout, "eval: %d messages, kind %.1f%%, client %.1f%%, external_id %.1f%%, object %.1f%%, category %.1f%%, due %.1f%%\n",
		n, pct["kind"], pct["client"], pct["external_id"], pct["object"], pct["category"], pct["due"])
	if failed {
		return exitCode(1)
	}
	return nil
}

func readLabels(path string) (map[string]demo.Label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ls, err := demo.ParseLabels(path, f)
	if err != nil {
		return nil, err
	}
	out := make(map[string]demo.Label, len(ls))
	for _, l := range ls {
		out[l.File] = l
	}
	return out, nil
}

func mailFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".eml") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("no .eml files in %s", dir)
	}
	return out, nil
}

func labelValue(l demo.Label, field string) *string {
	switch field {
	case "kind":
		return &l.Kind
	case "client":
		return l.Client
	case "external_id":
		return l.ExternalID
	case "object":
		return l.Object
	case "category":
		return l.Category
	case "priority":
		return l.Priority
	case "due":
		return l.Due
	}
	return nil
}

func resultValue(r tryResult, field string) *string {
	switch field {
	case "kind":
		return &r.Kind
	case "client":
		return r.Client
	case "external_id":
		return r.ExternalID
	case "object":
		return r.Object
	case "category":
		return r.Category
	case "priority":
		return r.Priority
	case "due":
		return r.Due
	}
	return nil
}

func equalField(field string, want, have *string) bool {
	if want == nil || have == nil {
		return (want == nil || *want == "") && (have == nil || *have == "")
	}
	if field == "due" {
		a, err1 := time.Parse(time.RFC3339, *want)
		b, err2 := time.Parse(time.RFC3339, *have)
		if err1 == nil && err2 == nil {
			return a.Equal(b)
		}
	}
	return *want == *have
}

func show(p *string) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *p)
}

// waitDone waits until the pipeline has given item id its outcome.
func waitDone(ctx context.Context, st *store.Store, id int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		stage, err := st.ItemStage(ctx, id)
		if err != nil {
			return err
		}
		if stage == store.StageDone {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("item %d still at stage %s after %s", id, stage, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Millisecond):
		}
	}
}

// createScratch creates database name on the server of adminURL and returns
// its URL and a function that drops it.
func createScratch(ctx context.Context, adminURL, name string) (string, func(), error) {
	if err := store.CreateDatabase(ctx, adminURL, name); err != nil {
		return "", nil, fmt.Errorf("creating scratch database (the role needs CREATEDB): %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.DropDatabase(ctx, adminURL, name); err != nil {
			fmt.Fprintf(os.Stderr, "intake: dropping scratch database %s: %v\n", name, err)
		}
	}
	return withDatabase(adminURL, name), drop, nil
}

// withDatabase returns u with its database replaced by db.
func withDatabase(u, db string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
		return u + " dbname=" + db
	}
	p.Path = "/" + db
	return p.String()
}

// importReferenceDir imports the five reference CSVs of dir, in dependency
// order; a missing file is skipped.
func importReferenceDir(ctx context.Context, st *store.Store, dir string, out io.Writer) error {
	for _, kind := range importKinds {
		path := filepath.Join(dir, kind+".csv")
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		sum, err := st.Import(ctx, kind, filepath.Base(path), f, nil)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "import %s: %d rows (%d inserted, %d updated, %d unchanged)\n", kind, sum.Rows, sum.Inserted, sum.Updated, sum.Unchanged)
	}
	return nil
}

// progressFor draws a bar on w when it is a terminal.
func progressFor(w io.Writer, desc string) func(done, total int) {
	if f, ok := w.(*os.File); ok && f != nil {
		return newProgress(f, 0, desc)
	}
	return func(int, int) {}
}
