package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgcluster"
)

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
	corpus, err := replay.ReadCorpus(fs.Arg(0), *labelsPath)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
	log := newLogger(LogConfig{Level: "warn", Format: cfg.Log.Format}, stderr)

	// The scratch database: on the configured server when there is one,
	// else on a private cluster.
	ecfg := replay.EvalConfig{ReferenceDir: *refDir, Progress: progressFor(stderr, "eval")}
	if cfg.Database.URL != "" {
		live, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer live.Close()
		ecfg.Live, ecfg.AdminURL = live, cfg.Database.URL
	} else {
		if *refDir == "" {
			return errors.New("no database configured: set DATABASE_URL, or give --reference DIR to evaluate on a private cluster")
		}
		c, err := pgcluster.Start(ctx, pgcluster.Options{Fast: true})
		if err != nil {
			return err
		}
		defer c.Stop() //nolint:errcheck
		ecfg.AdminURL = c.URL("postgres")
	}
	if *rulePaths != "" {
		if ecfg.Rules, err = readRuleFiles(strings.Split(*rulePaths, ",")); err != nil {
			return err
		}
	}
	// The pipeline as configured, quick to poll and to give up on a
	// message.
	pcfg := cfg
	pcfg.Bus = BusConfig{Kind: "postgres", PollInterval: Duration(5 * time.Millisecond)}
	pcfg.Pipeline.RetryInitial = Duration(50 * time.Millisecond)
	pcfg.Pipeline.Retries = 2
	ecfg.Start = func(ctx context.Context, st *store.Store) (replay.Pipeline, error) {
		eng, err := newEngine(ctx, pcfg, st, log)
		if err != nil {
			return replay.Pipeline{}, err
		}
		return replay.Pipeline{Run: eng.pipe.Run, Inbox: eng.inbox, Processor: eng.proc}, nil
	}

	rep, err := replay.Eval(ctx, ecfg, corpus)
	if err != nil {
		return err
	}
	rep.WriteText(stdout, *maxMisses)
	if rep.Failed(*minAcc) {
		return exitCode(1)
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
