package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// Label is one line of a labels.jsonl file: what a message should become.
type Label = demo.Label

// Corpus is a folder of mail and the labels of its files.
type Corpus struct {
	Dir   string
	Files []string // the .eml files of Dir, in name (delivery) order
	// Labels by file name, read from LabelsPath.
	Labels     map[string]Label
	LabelsPath string
}

// ReadCorpus reads the labels at labelsPath and lists the .eml files of dir.
func ReadCorpus(dir, labelsPath string) (Corpus, error) {
	c := Corpus{Dir: dir, LabelsPath: labelsPath}
	var err error
	if c.Labels, err = readLabels(labelsPath); err != nil {
		return c, err
	}
	c.Files, err = mailFiles(dir)
	return c, err
}

func readLabels(path string) (map[string]Label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ls, err := demo.ParseLabels(path, f)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Label, len(ls))
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

// Pipeline is a running pipeline over a scratch database: Run processes
// what Inbox takes in until its context ends; Processor holds the rules and
// the directory in force.
type Pipeline struct {
	Run       func(ctx context.Context) error
	Inbox     *ingest.Inbox
	Processor *pipeline.Processor
}

// EvalConfig says where an evaluation runs and on what data.
type EvalConfig struct {
	// AdminURL names the server the scratch database is created on.
	AdminURL string
	// Live is the configured database, whose reference data and rule set
	// are copied when ReferenceDir and Rules are not given. May be nil
	// when both are.
	Live *store.Store
	// ReferenceDir is a folder of reference CSVs to import instead.
	ReferenceDir string
	// Rules is a rule set to evaluate instead of Live's.
	Rules []rules.File
	// Start builds the pipeline of the configuration over the scratch
	// database.
	Start func(ctx context.Context, st *store.Store) (Pipeline, error)
	// Progress, when not nil, is called after each message.
	Progress func(done, total int)
}

// EvalFields are the label fields Eval measures, in report order.
var EvalFields = []string{"kind", "client", "external_id", "object", "category", "priority", "due"}

// EvalReport is how a corpus fared.
type EvalReport struct {
	Labelled int            // messages with a label
	Correct  map[string]int // by field of EvalFields
	// Misses lists every wrong field: file, field, what it got and what
	// the label wants.
	Misses      []string
	Assignments AssignmentReport
}

// Accuracy is the share of labelled messages whose field is right.
func (r EvalReport) Accuracy(field string) float64 {
	return float64(r.Correct[field]) / float64(r.Labelled)
}

// Failed tells whether any field's accuracy is below min or any assignment
// broke the rules of assignment.
func (r EvalReport) Failed(min float64) bool {
	for _, f := range EvalFields {
		if r.Accuracy(f) < min {
			return true
		}
	}
	return len(r.Assignments.Violations) > 0
}

// WriteText writes the accuracy per field, up to maxMisses misses, the
// assignment check and a one-line summary.
func (r EvalReport) WriteText(w io.Writer, maxMisses int) {
	n := r.Labelled
	fmt.Fprintf(w, "per-field accuracy over %d labelled messages:\n", n)
	pct := map[string]float64{}
	for _, field := range EvalFields {
		pct[field] = 100 * float64(r.Correct[field]) / float64(n)
		fmt.Fprintf(w, "  %-12s %6.1f%%  (%d/%d)\n", field, pct[field], r.Correct[field], n)
	}
	if len(r.Misses) > 0 {
		fmt.Fprintf(w, "misses (%d):\n", len(r.Misses))
		for i, m := range r.Misses {
			if i == maxMisses {
				fmt.Fprintf(w, "  ... %d more\n", len(r.Misses)-i)
				break
			}
			fmt.Fprintln(w, "  "+m)
		}
	}
	r.Assignments.WriteText(w)
	fmt.Fprintf(w, "eval: %d messages, kind %.1f%%, client %.1f%%, external_id %.1f%%, object %.1f%%, category %.1f%%, due %.1f%%\n",
		n, pct["kind"], pct["client"], pct["external_id"], pct["object"], pct["category"], pct["due"])
}

// Eval runs the files of c, in order, through a pipeline over a scratch
// database seeded with the reference data and the rule set of cfg, waits
// for each message's outcome before the next (so that follow-ups find
// their orders), compares the outcomes with the labels and checks the
// assignments made. The scratch database is dropped at the end, whatever
// happens.
func Eval(ctx context.Context, cfg EvalConfig, c Corpus) (EvalReport, error) {
	rep := EvalReport{Correct: map[string]int{}}
	st, closeScratch, err := openScratch(ctx, cfg.AdminURL, fmt.Sprintf("%s%d", EvalScratchPrefix(), clock.Wall().UnixNano()))
	if err != nil {
		return rep, err
	}
	defer closeScratch()
	if cfg.ReferenceDir != "" {
		if err := ImportReferenceDir(ctx, st, cfg.ReferenceDir, io.Discard); err != nil {
			return rep, err
		}
	} else if err := st.CopyReference(ctx, cfg.Live); err != nil {
		return rep, err
	}
	switch {
	case cfg.Rules != nil:
		if _, _, err := pipeline.SaveRules(ctx, st, cfg.Rules, "eval"); err != nil {
			return rep, err
		}
	case cfg.Live != nil:
		if rs, err := cfg.Live.LatestRuleSet(ctx); err == nil {
			if _, _, err := st.SaveRuleSet(ctx, rs.Hash, rs.Sources, "eval"); err != nil {
				return rep, err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return rep, err
		}
	}

	p, err := cfg.Start(ctx, st)
	if err != nil {
		return rep, err
	}
	results, err := runCorpus(ctx, st, p, c, cfg.Progress)
	if err != nil {
		return rep, err
	}
	for _, r := range results {
		l, ok := c.Labels[r.File]
		if !ok {
			continue
		}
		rep.Labelled++
		for _, field := range EvalFields {
			want, have := labelValue(l, field), resultValue(r, field)
			if equalField(field, want, have) {
				rep.Correct[field]++
			} else {
				rep.Misses = append(rep.Misses, fmt.Sprintf("%s %s: got %s, want %s  (%s; %s)", r.File, field, show(have), show(want), l.Kind, l.Note))
			}
		}
	}
	if rep.Labelled == 0 {
		return rep, fmt.Errorf("no file of %s has a label in %s", c.Dir, c.LabelsPath)
	}
	rep.Assignments, err = VerifyAssignments(ctx, st, p.Processor.Runtime().Directory)
	return rep, err
}

// EvalScratchPrefix starts the names of this process's eval scratch
// databases. The process id tells a leftover's owner, and keeps one
// process's databases apart from another's on a shared server.
func EvalScratchPrefix() string { return fmt.Sprintf("intake_eval_%d_", os.Getpid()) }

// runCorpus feeds the files of c to p one at a time and returns what each
// became, times in UTC.
func runCorpus(ctx context.Context, st *store.Store, p Pipeline, c Corpus, progress func(done, total int)) ([]Result, error) {
	runCtx, stopRun := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return p.Run(gctx) })
	stop := func() {
		stopRun()
		g.Wait() //nolint:errcheck
	}

	var results []Result
	fileOf := map[int64]string{}
	for i, f := range c.Files {
		raw, err := os.ReadFile(filepath.Join(c.Dir, f))
		if err != nil {
			stop()
			return nil, err
		}
		key, mid := ingest.MailKeys(raw)
		res, err := p.Inbox.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "eval/" + f, DedupKey: key, MessageID: mid, Raw: raw}}, nil)
		if err != nil {
			stop()
			return nil, err
		}
		id := res[0].ID
		fileOf[id] = f
		if err := WaitDone(ctx, st, id, 60*time.Second); err != nil {
			stop()
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		o, err := pipeline.ReadOutcome(ctx, st.Pool, id)
		if err != nil {
			stop()
			return nil, err
		}
		results = append(results, ResultOf(f, o, followsName(ctx, st.Pool, o, fileOf), nil))
		if progress != nil {
			progress(i+1, len(c.Files))
		}
	}
	stopRun()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	return results, nil
}

func labelValue(l Label, field string) *string {
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

func resultValue(r Result, field string) *string {
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
	case "engineer":
		return r.Engineer
	}
	return nil
}

// equalField compares a field's values: null and "" are the same, and due
// times are compared as instants, whatever their offset.
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
