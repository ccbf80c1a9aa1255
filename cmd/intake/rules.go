package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/replay"
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
		return errors.New("usage: intake rules check PATH... | apply [--comment TEXT] PATH... | backtest [--since 7d] PATH...")
	}
	sub, rest := args[0], args[1:]
	var cf commonFlags
	fs := newFlagSet("rules "+sub, stderr, &cf)
	since := fs.String("since", "7d", "backtest: items received within this period (e.g. 12h, 7d)")
	limit := fs.Int("limit", 0, "backtest: at most this many items (newest), 0 for all")
	by := fs.String("by", "", "apply: who applies the set (recorded with the version)")
	comment := fs.String("comment", "", "apply: why the set is applied (recorded with the version)")
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
		// With a database, the codes the files name are checked against
		// its reference data too; without one, only that they compile.
		cfg, err := loadConfig(cf.config, getenv)
		if err != nil {
			return err
		}
		if cfg.Database.URL == "" {
			set, err := rules.Load(files)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "rules check: %d files, %d formats, %d rules: ok (client, category and engineer codes not checked: no database configured)\n", len(files), len(set.Formats()), len(set.Rules("")))
			return nil
		}
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		set, unchecked, err := pipeline.CheckRules(ctx, st, files)
		if err != nil {
			return err
		}
		note := "codes checked against the reference data"
		if len(unchecked) > 0 {
			note += fmt.Sprintf("; none of kind %s there yet, not checked", strings.Join(unchecked, ", "))
		}
		fmt.Fprintf(stdout, "rules check: %d files, %d formats, %d rules: ok (%s)\n", len(files), len(set.Formats()), len(set.Rules("")), note)
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
		v, created, err := pipeline.SaveRulesWithComment(ctx, st, files, *by, *comment)
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
		loc := cfg.Intake.Location
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		rep, err := replay.Backtest(ctx, replay.BacktestConfig{
			Live: st, AdminURL: cfg.Database.URL,
			Candidate: candidate, CandidateFiles: files, Fallback: mustRuleFiles(cfg),
			OwnAddresses: cfg.Intake.OwnAddresses, Location: loc,
			Since: clock.Wall().Add(-d), Limit: *limit, Progress: progressFor(stderr, "backtest"),
		})
		if err != nil {
			return err
		}
		rep.WriteText(stdout)
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

// mustRuleFiles are the configured rule files, none when they cannot be
// read (the database's rule set is in force then, or the command fails on
// it).
func mustRuleFiles(cfg Config) []rules.File {
	f, err := configuredRuleFiles(cfg)
	if err != nil {
		return nil
	}
	return f
}
