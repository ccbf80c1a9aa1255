package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/replay"
)

// cmdIngest stores .eml files in the inbox, as if they had arrived in a
// mailbox; the running servers process them. With --wait it waits for
// their outcomes and prints them.
//
// Each run is a delivery of its own: a file ingested again by a later run is
// recorded as a duplicate of the first, as the same mail arriving twice
// would be. A run given the name of an earlier one (--run) is that run
// repeated, e.g. after it was interrupted: files it stored already are
// reported known and nothing is written for them.
func cmdIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("ingest", stderr, &cf)
	wait := fs.Duration("wait", 0, "wait up to this long for the outcomes (e.g. 30s) and print them")
	runName := fs.String("run", "", "name of this delivery; repeating a run by its name stores nothing twice (default: the current time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: intake ingest [--wait 30s] [--run NAME] FILE.eml...")
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
	in := ingest.NewInbox(st, pipe.Publish, clock.Wall)
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("the host name, part of each file's source reference: %w", err)
	}
	run := *runName
	if run == "" {
		run = time.Now().UTC().Format("20060102T150405.000000000Z")
	}
	type put struct {
		file string
		id   int64
	}
	var puts []put
	// Files are stored in batches, one transaction each, as a mailbox's
	// fetch is.
	const batchFiles, batchBytes = 100, 16 << 20
	var batch []ingest.Item
	var paths []string
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := in.Put(ctx, batch, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(paths, ", "), err)
		}
		for i, r := range res {
			fmt.Fprintf(stdout, "%s: item %d, %s", paths[i], r.ID, r.Status)
			if r.Status == ingest.StatusDuplicate {
				fmt.Fprintf(stdout, " of item %d", r.DuplicateOf)
			}
			fmt.Fprintln(stdout)
			puts = append(puts, put{paths[i], r.ID})
		}
		batch, paths, size = batch[:0], paths[:0], 0
		return nil
	}
	for _, path := range fs.Args() {
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		key, mid := ingest.MailKeys(raw)
		batch = append(batch, ingest.Item{
			Source: flow.SourceMail, SourceRef: ingestRef(host, run, abs), DedupKey: key, MessageID: mid, Raw: raw,
			Meta: map[string]any{"file": abs, "run": run},
		})
		paths = append(paths, path)
		if size += len(raw); len(batch) >= batchFiles || size >= batchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if *wait <= 0 {
		return nil
	}
	for _, p := range puts {
		if err := replay.WaitDone(ctx, st, p.id, *wait); err != nil {
			return fmt.Errorf("%s: %w (is `intake serve` running?)", p.file, err)
		}
		o, err := pipeline.ReadOutcome(ctx, st.Pool, p.id)
		if err != nil {
			return err
		}
		r := replay.ResultOf(filepath.Base(p.file), o, nil, cfg.Intake.Location)
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

// ingestRef is the source position of a file in one run of `intake ingest`.
func ingestRef(host, run, abs string) string {
	return "file/" + host + "/" + run + abs
}
