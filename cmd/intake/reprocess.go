package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakehq/intake/drift"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/store"
)

// DriftConfig: format drift, the alarm raised when a chain seems to have
// changed its mail template (docs/operations.md, "Format drift").
type DriftConfig struct {
	// Window is how many of a format's latest messages count.
	Window int `yaml:"window"`
	// Period bounds the window in time.
	Period Duration `yaml:"period"`
	// Threshold is the share of messages missing a required field that
	// raises the alarm (0..1).
	Threshold float64 `yaml:"threshold"`
	// MinMessages is how many messages the window needs before it alarms.
	MinMessages int `yaml:"min_messages"`
	// Refresh is how often the counts are taken again.
	Refresh Duration `yaml:"refresh"`
}

func defaultDriftConfig() DriftConfig {
	d := drift.Defaults
	return DriftConfig{Window: d.Window, Period: Duration(d.Period), Threshold: d.Threshold, MinMessages: d.MinMessages, Refresh: Duration(time.Minute)}
}

func (c DriftConfig) config() drift.Config {
	return drift.Config{Window: c.Window, Period: c.Period.D(), Threshold: c.Threshold, MinMessages: c.MinMessages}
}

func (c DriftConfig) validate() []string {
	var p []string
	if c.Window < 1 || c.Window > 10000 {
		p = append(p, "drift.window: must be between 1 and 10000")
	}
	if c.Period.D() <= 0 {
		p = append(p, "drift.period: must be positive")
	}
	if c.Threshold <= 0 || c.Threshold > 1 {
		p = append(p, "drift.threshold: must be above 0 and at most 1")
	}
	if c.MinMessages < 1 {
		p = append(p, "drift.min_messages: must be at least 1")
	}
	if c.Refresh.D() < time.Second {
		p = append(p, "drift.refresh: must be at least 1s")
	}
	return p
}

// reprocess runs stored mail again under the engine's rules (web.Reprocessor).
func (e *engine) reprocess(ctx context.Context, f store.ReprocessFilter, by string, dryRun bool) (*pipeline.ReprocessReport, error) {
	return e.proc.Reprocess(ctx, e.st, f, by, dryRun)
}

func cmdReprocess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("reprocess", stderr, &cf)
	unmatched := fs.Bool("unmatched", false, "only items waiting for a dispatcher")
	client := fs.String("client", "", "only a client's items (routed to it, or from one of its domains)")
	from := fs.String("from", "", "only items received on or after this day (YYYY-MM-DD, intake.timezone) or time (RFC 3339)")
	to := fs.String("to", "", "only items received up to this day, inclusive (YYYY-MM-DD), or before this time (RFC 3339)")
	all := fs.Bool("all", false, "every stored mail item (when no other filter is given)")
	dryRun := fs.Bool("dry-run", false, "print what would change, write nothing")
	limit := fs.Int("limit", 5000, "at most this many items, the oldest first")
	by := fs.String("by", "", "name recorded in the tickets' histories (default: $USER)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	verbose := fs.Bool("v", false, "list unchanged items too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("reprocess takes no arguments (got %q): choose items with --unmatched, --client, --from/--to or --all", fs.Args())
	}
	cfg, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	filter := store.ReprocessFilter{Unmatched: *unmatched, Client: *client, Limit: *limit}
	if filter.From, err = parseDay("--from", *from, cfg.Intake.Location, false); err != nil {
		return err
	}
	if filter.To, err = parseDay("--to", *to, cfg.Intake.Location, true); err != nil {
		return err
	}
	if !*all && !filter.Unmatched && filter.Client == "" && filter.From == nil && filter.To == nil {
		return errors.New("reprocess: choose the items: --unmatched, --client C, --from/--to, or --all for every stored mail item")
	}
	who := *by
	if who == "" {
		who = "cli:" + cmp.Or(os.Getenv("USER"), "unknown")
	}
	log := newLogger(cfg.Log, stderr)
	eng, err := newEngine(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	if !*dryRun {
		// New tickets and follow-ups get what the server's components do
		// on the ticket hook (the lifecycle's tasks, status pushes).
		if _, _, err := setupComponents(eng, log, prometheus.NewRegistry()); err != nil {
			return err
		}
	}
	rep, err := eng.reprocess(ctx, filter, who, *dryRun)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(stdout, cfg.Intake.Location, *verbose)
	if rep.Counts[pipeline.ReprocessError] > 0 {
		return exitCode(1)
	}
	return nil
}

// parseDay reads a day (YYYY-MM-DD in loc; with end, the start of the next
// day) or an RFC 3339 time.
func parseDay(flag, s string, loc *time.Location, end bool) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is neither YYYY-MM-DD nor an RFC 3339 time", flag, s)
	}
	return &t, nil
}
