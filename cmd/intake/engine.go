package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/ingest/request"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/web"
)

// openStore connects to the configured database.
func openStore(ctx context.Context, cfg Config) (*store.Store, error) {
	if cfg.Database.URL == "" {
		return nil, errors.New("no database configured: set DATABASE_URL (e.g. postgres://intake@localhost:5432/intake) or database.url in intake.yaml")
	}
	return store.Open(ctx, cfg.Database.URL)
}

// open loads the configuration named by the flags and connects to its
// database.
func (cf commonFlags) open(ctx context.Context) (Config, *store.Store, error) {
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return cfg, nil, err
	}
	st, err := openStore(ctx, cfg)
	return cfg, st, err
}

// engine is the processing core shared by serve, demo and eval: the
// processor with its runtime, the pipeline and the inbox that feeds it.
type engine struct {
	cfg       Config
	st        *store.Store
	proc      *pipeline.Processor
	pipe      *pipeline.Pipeline
	inbox     *ingest.Inbox
	log       *slog.Logger
	ruleFiles []rules.File
	// now is the clock of the processor, the inbox and the components:
	// clock.Wall outside tests (setClock).
	now func() time.Time
	// lifecycle is the ticket lifecycle once its component is set up (nil
	// when it is disabled): the ticket page's actions.
	lifecycle *lifecycle.Service
	// drift keeps the format drift report.
	drift *pipeline.DriftMonitor
}

// setClock makes now the clock of the rules, of the inbox and of the
// components set up after the call; call it before the engine runs.
func (e *engine) setClock(now func() time.Time) {
	e.now = now
	e.proc.SetClock(now)
}

func newEngine(ctx context.Context, cfg Config, st *store.Store, log *slog.Logger) (*engine, error) {
	ruleFiles, err := configuredRuleFiles(cfg)
	if err != nil {
		return nil, err
	}
	rt, err := pipeline.LoadRuntime(ctx, st, ruleFiles)
	if err != nil {
		return nil, err
	}
	if cfg.Intake.Location == nil {
		return nil, errors.New("configuration: intake.timezone is not loaded (the configuration comes from loadConfig)")
	}
	proc := pipeline.NewProcessor(rt, cfg.Intake.OwnAddresses, cfg.Intake.Location, clock.Wall)
	proc.SetSLA(cfg.SLA.businessHours, cfg.SLA.overrides)
	proc.HandleSource(flow.SourceForm, request.Parse)
	proc.HandleSource(flow.SourceAPI, request.Parse)
	pipe := pipeline.New(pipeline.Config{
		Bus: cfg.Bus.Kind, NATSURL: cfg.Bus.NATSURL, NATSPrefix: cfg.Bus.NATSPrefix, PollInterval: cfg.Bus.PollInterval.D(),
		Retries: cfg.Pipeline.Retries, RetryInitial: cfg.Pipeline.RetryInitial.D(), Timeout: cfg.Pipeline.Timeout.D(),
		Lease: cfg.Pipeline.Lease.D(), BatchSize: cfg.Pipeline.BatchSize, Concurrency: cfg.Pipeline.Concurrency,
	}, st, proc, log)
	if err := pipeline.InitSchema(ctx, st.Pool, nil); err != nil {
		return nil, err
	}
	e := &engine{cfg: cfg, st: st, proc: proc, pipe: pipe, log: log, ruleFiles: ruleFiles, now: clock.Wall}
	// The inbox stamps received_at by the engine's clock, whichever is set.
	e.inbox = ingest.NewInbox(st, pipe.Publish, func() time.Time { return e.now() })
	e.drift = pipeline.NewDriftMonitor(st, proc, cfg.Drift.config(), func() time.Time { return e.now() })
	return e, nil
}

// retry re-queues failed items.
func (e *engine) retry(ctx context.Context, ids []int64) ([]int64, error) {
	var done []int64
	err := e.st.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		done, err = store.RetryFailed(ctx, tx, ids)
		if err != nil || len(done) == 0 {
			return err
		}
		return e.pipe.Publish(ctx, tx, done)
	})
	return done, err
}

// resolve turns an unmatched item into a ticket for a dispatcher's store.
func (e *engine) resolve(ctx context.Context, id int64, client, object, by string) (int64, error) {
	var tid int64
	err := e.st.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		tid, err = e.proc.Resolve(ctx, tx, id, client, object, by)
		return err
	})
	if errors.Is(err, pipeline.ErrNotUnmatched) {
		return 0, web.Unprocessable(err)
	}
	return tid, err
}

// configuredRuleFiles are the files used when the database holds no rule
// set: rules.paths from the configuration, else the shipped defaults.
func configuredRuleFiles(cfg Config) ([]rules.File, error) {
	if len(cfg.Rules.Paths) == 0 {
		return defaults.Files(), nil
	}
	return readRuleFiles(cfg.Rules.Paths)
}

// readRuleFiles reads YAML files, and the *.yaml/*.yml files below
// directories, in name order.
func readRuleFiles(paths []string) ([]rules.File, error) {
	var out []rules.File
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			out = append(out, rules.File{Name: p, Data: data})
			continue
		}
		var names []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				names = append(names, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(names)
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return nil, err
			}
			out = append(out, rules.File{Name: n, Data: data})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no rule files in %s", strings.Join(paths, ", "))
	}
	return out, nil
}
