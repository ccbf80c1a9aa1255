package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/store"
)

// tryResult is one line of `intake try --json`. The field names are a
// contract: scripts depend on them. Unknown values are null.
type tryResult struct {
	File       string   `json:"file"`
	MessageID  *string  `json:"message_id"`
	Kind       string   `json:"kind"`
	Client     *string  `json:"client"`
	ExternalID *string  `json:"external_id"`
	Object     *string  `json:"object"`
	Category   *string  `json:"category"`
	Priority   *string  `json:"priority"`
	Due        *string  `json:"due"`
	Engineer   *string  `json:"engineer"`
	Ticket     *string  `json:"ticket"`
	Follows    *string  `json:"follows"`
	Rules      []string `json:"rules"`
	Reason     *string  `json:"reason"`
	SLADue     *string  `json:"sla_due"`
}

func toTryResult(file string, o *pipeline.Outcome, follows *string, loc *time.Location) tryResult {
	r := tryResult{
		File: file, Kind: o.Kind, Client: o.Client, ExternalID: o.ExternalID, Object: o.Object,
		Category: o.Category, Priority: o.Priority, Due: rfc3339(o.Due, loc), SLADue: rfc3339(o.SLADue, loc), Engineer: o.Engineer,
		Ticket: o.Ticket, Follows: follows, Rules: o.Rules, Reason: o.Reason,
	}
	if o.MessageID != "" {
		m := o.MessageID
		r.MessageID = &m
	}
	if r.Rules == nil {
		r.Rules = []string{}
	}
	return r
}

// rfc3339 formats t in loc (the configured zone, so that due times read as
// the chains write them).
func rfc3339(t *time.Time, loc *time.Location) *string {
	if t == nil {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	s := t.In(loc).Format(time.RFC3339)
	return &s
}

func cmdTry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("try", stderr, &cf)
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	asNew := fs.Bool("as-new", false, "process files even when the same message is already stored")
	asDoc := fs.Bool("doc", false, "print each message as extraction sees it (decoded headers, text, tables, attachments) and stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: intake try [--json] FILE...")
	}
	if *asDoc {
		return printDocuments(stdout, fs.Args())
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	ruleFiles, err := configuredRuleFiles(cfg)
	if err != nil {
		return err
	}
	rt, err := pipeline.LoadRuntime(ctx, st, ruleFiles)
	if err != nil {
		return err
	}
	loc, _ := time.LoadLocation(cfg.Intake.Timezone)
	proc := pipeline.NewProcessor(rt, cfg.Intake.OwnAddresses, loc)
	_ = log

	// All files run in one transaction, in the order given, so that a
	// follow-up can find the ticket an earlier file created; it is rolled
	// back, so nothing is written.
	tx, err := st.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	fileOf := map[int64]string{}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	stamp := time.Now().UnixNano()
	for i, path := range fs.Args() {
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		key, _ := ingest.MailKeys(raw)
		if *asNew {
			key = fmt.Sprintf("try:%d:%d:%s", stamp, i, key)
		}
		res, err := ingest.PutTx(ctx, tx, ingest.Item{
			Source: flow.SourceMail, SourceRef: fmt.Sprintf("try/%d/%d/%s", stamp, i, filepath.Base(path)),
			DedupKey: key, Raw: raw,
		})
		if err != nil {
			return err
		}
		if res.Status == ingest.StatusNew {
			if err := proc.RunInline(ctx, tx, res.ID); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		fileOf[res.ID] = filepath.Base(path)
		o, err := pipeline.ReadOutcome(ctx, tx, res.ID)
		if err != nil {
			return err
		}
		if res.Status == ingest.StatusKnown {
			o.Kind = store.OutcomeDuplicate
			msg := fmt.Sprintf("already stored as item %d", res.ID)
			o.Reason = &msg
			o.FollowsItem = &res.ID
		}
		follows := followsName(ctx, tx, o, fileOf)
		if *asJSON {
			if err := enc.Encode(toTryResult(filepath.Base(path), o, follows, loc)); err != nil {
				return err
			}
			continue
		}
		printTrace(stdout, path, o, follows, loc)
	}
	return nil
}

// followsName names the item that created the order: a file of this run,
// else the item's source reference.
func followsName(ctx context.Context, q pipeline.Querier, o *pipeline.Outcome, fileOf map[int64]string) *string {
	if o.FollowsItem == nil {
		return nil
	}
	if f, ok := fileOf[*o.FollowsItem]; ok {
		return &f
	}
	ref, err := store.ItemSourceRef(ctx, q, *o.FollowsItem)
	if err != nil {
		s := fmt.Sprintf("item %d", *o.FollowsItem)
		return &s
	}
	return &ref
}

// printTrace shows everything a person checking a rule wants to see.
func printTrace(w io.Writer, path string, o *pipeline.Outcome, follows *string, loc *time.Location) {
	s := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	fmt.Fprintf(w, "== %s\n", path)
	fmt.Fprintf(w, "outcome:     %s", o.Kind)
	if o.Reason != nil && *o.Reason != "" {
		fmt.Fprintf(w, " (%s)", *o.Reason)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "client:      %s\nexternal id: %s\nobject:      %s\ncategory:    %s\npriority:    %s\n",
		s(o.Client), s(o.ExternalID), s(o.Object), s(o.Category), s(o.Priority))
	fmt.Fprintf(w, "due:         %s\nsla due:     %s\nengineer:    %s\nticket:      %s\nfollows:     %s\n",
		s(rfc3339(o.Due, loc)), s(rfc3339(o.SLADue, loc)), s(o.Engineer), s(o.Ticket), s(follows))
	if pd := o.Parsed; pd != nil {
		fmt.Fprintf(w, "from:        %s\nsubject:     %s\nformat:      %s\n", pd.From, pd.Subject, orDash(pd.Fields.Format))
		if len(pd.Warnings) > 0 {
			fmt.Fprintf(w, "warnings:    %s\n", strings.Join(pd.Warnings, "; "))
		}
	}
	if d := o.Decision; d != nil {
		if d.Match != nil {
			fmt.Fprintf(w, "match:       method=%s confidence=%.2f %s\n", orDash(d.Match.Method), d.Match.Confidence, d.Match.Reason)
			for _, c := range d.Match.Candidates {
				fmt.Fprintf(w, "  candidate  %s/%s score=%.2f %s\n", c.Client, c.Code, c.Score, c.Address)
			}
		}
		if a := d.Assignment; a != nil {
			fmt.Fprintf(w, "assignment:  %s %s\n", orDash(a.Engineer), a.Reason)
			for _, c := range a.Considered {
				status := "eligible"
				if !c.Eligible {
					status = "filtered: " + c.Rejected
				}
				fmt.Fprintf(w, "  engineer   %s rank=%d fixed=%v distance=%.1fkm load=%d rating=%.2f %s\n",
					c.Code, c.Rank, c.Fixed, c.DistanceKm, c.Load, c.Rating, status)
			}
		}
		fmt.Fprintln(w, "rules:")
		for _, t := range d.Trace {
			mark := " "
			if t.Matched {
				mark = "✓"
			}
			fmt.Fprintf(w, "  %s %-8s %s %s", mark, t.Stage, t.Rule, strings.Join(t.Applied, " "))
			if t.Err != "" {
				fmt.Fprintf(w, " error: %s", t.Err)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printDocuments shows what the extractors of a format work on: operations
// staff write labels, table labels and regular expressions against it.
func printDocuments(w io.Writer, paths []string) error {
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := parsers.Normalize(raw)
		if err != nil {
			fmt.Fprintf(w, "== %s\nunreadable: %v\n\n", path, err)
			continue
		}
		fmt.Fprintf(w, "== %s\nfrom:    %s <%s>\nsubject: %s\ndate:    %s\n", path, doc.From.Name, doc.From.Email, doc.Subject, doc.Date.Format(time.RFC3339))
		for _, warn := range doc.Warnings {
			fmt.Fprintf(w, "warning: %s\n", warn)
		}
		fmt.Fprintf(w, "--- text (labels:, regex in: text)\n%s\n", strings.TrimRight(doc.Text, "\n"))
		if doc.NewText != doc.Text {
			fmt.Fprintf(w, "--- new text (in: new_text)\n%s\n", strings.TrimRight(doc.NewText, "\n"))
		}
		for i, tbl := range doc.Tables {
			fmt.Fprintf(w, "--- table %d (table:)\n", i+1)
			for _, row := range tbl {
				fmt.Fprintf(w, "  %s\n", strings.Join(row, " | "))
			}
		}
		for _, a := range doc.Attachments {
			fmt.Fprintf(w, "--- attachment %s (%s, %d bytes)\n", a.Name, a.ContentType, a.Size)
			if a.Text != "" {
				fmt.Fprintln(w, strings.TrimRight(a.Text, "\n"))
			}
		}
		if f := doc.Forwarded; f != nil {
			fmt.Fprintf(w, "--- forwarded message from %s: %s\n%s\n", f.From.Email, f.Subject, strings.TrimRight(f.Text, "\n"))
		}
		fmt.Fprintln(w)
	}
	return nil
}
