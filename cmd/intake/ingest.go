package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
)

// cmdIngest stores .eml files in the inbox, as if they had arrived in a
// mailbox; the running servers process them. With --wait it waits for
// their outcomes and prints them.
func cmdIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("ingest", stderr, &cf)
	wait := fs.Duration("wait", 0, "wait up to this long for the outcomes (e.g. 30s) and print them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: intake ingest [--wait 30s] FILE.eml...")
	}
	cfg, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	pipe := pipeline.New(pipeline.Config{Bus: cfg.Bus.Kind, NATSURL: cfg.Bus.NATSURL, NATSPrefix: cfg.Bus.NATSPrefix}, st, nil, newLogger(cfg.Log, stderr))
	if err := pipeline.InitSchema(ctx, st.Pool, nil); err != nil {
		return err
	}
	in := ingest.NewInbox(st, pipe.Publish)
	host, _ := os.Hostname()
	type put struct {
		file string
		id   int64
	}
	var puts []put
	for _, path := range fs.Args() {
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(path)
		key, mid := ingest.MailKeys(raw)
		res, err := in.Put(ctx, []ingest.Item{{
			Source: ingest.SourceMail, SourceRef: "file/" + host + abs, DedupKey: key, MessageID: mid, Raw: raw,
			Meta: map[string]any{"file": abs},
		}}, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(stdout, "%s: item %d, %s\n", path, res[0].ID, res[0].Status)
		puts = append(puts, put{path, res[0].ID})
	}
	if *wait <= 0 {
		return nil
	}
	for _, p := range puts {
		if err := waitDone(ctx, st, p.id, *wait); err != nil {
			return fmt.Errorf("%s: %w (is `intake serve` running?)", p.file, err)
		}
		o, err := pipeline.ReadOutcome(ctx, st.Pool, p.id)
		if err != nil {
			return err
		}
		loc, _ := time.LoadLocation(cfg.Intake.Timezone)
		r := toTryResult(filepath.Base(p.file), o, nil, loc)
		fmt.Fprintf(stdout, "%s: %s", p.file, r.Kind)
		if r.Ticket != nil {
			fmt.Fprintf(stdout, " %s", *r.Ticket)
		}
		if r.Reason != nil && *r.Reason != "" {
			fmt.Fprintf(stdout, " (%s)", *r.Reason)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}
