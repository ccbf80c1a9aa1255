package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/replay"
)

func cmdTry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("try", stderr, &cf)
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	dedup := fs.Bool("dedup", false, "treat a message already stored as the pipeline would: a duplicate of the stored item (by default it is tried as new, and said to be stored)")
	fs.Bool("as-new", true, "try messages already stored as new (the default; kept for scripts)")
	asDoc := fs.Bool("doc", false, "print each message as extraction sees it (decoded headers, text, tables, attachments) and stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: intake try [--json] [--dedup] [--doc] FILE...")
	}
	if *asDoc {
		for _, path := range fs.Args() {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			replay.WriteDocument(stdout, replay.Message{Name: path, Raw: raw})
		}
		return nil
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
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
	loc := cfg.Intake.Location
	proc := pipeline.NewProcessor(rt, cfg.Intake.OwnAddresses, loc, clock.Wall)
	msgs := make([]replay.Message, fs.NArg())
	for i, path := range fs.Args() {
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		msgs[i] = replay.Message{Name: path, Raw: raw}
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	return replay.Try(ctx, st, proc, msgs, *dedup, func(t replay.Tried) error {
		if *asJSON {
			return enc.Encode(t.Result(loc))
		}
		replay.WriteTrace(stdout, t, loc)
		return nil
	})
}
