package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sort"

	"github.com/intakehq/intake/pipeline/parsebench"
)

// cmdBenchParse measures the parse stage (normalize plus extract through the
// shipped rules) on a generated corpus, on one core:
//
//	intake bench parse [--n 5000] [--seed 1] [--rounds 3]
//
// It prints msg/s and MB/s of wall time and per second of process CPU time
// (on a shared machine the two differ by the time spent waiting for the
// core), and the peak RSS (VmHWM).
func cmdBenchParse(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("intake bench parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 5000, "messages in the generated corpus")
	seed := fs.Uint64("seed", 1, "corpus seed")
	rounds := fs.Int("rounds", 3, "passes over the corpus; each is reported")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n <= 0 || *rounds <= 0 {
		return fmt.Errorf("usage: intake bench parse [--n N] [--seed S] [--rounds R]")
	}
	cfg, err := loadConfig("", getenv)
	if err != nil {
		return err
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p, err := parsebench.NewParser(cfg.Intake.Location)
	if err != nil {
		return err
	}
	corpus := parsebench.Corpus(*n, *seed)
	size := parsebench.Size(corpus)
	fmt.Fprintf(stdout, "corpus: %d messages, %.1f MB (%.0f bytes/message), seed %d; GOMAXPROCS=1\n",
		len(corpus), float64(size)/1e6, float64(size)/float64(len(corpus)), *seed)
	// A warm-up pass: compiled expressions, lazily built tables, a grown heap.
	warm := p.Run(corpus)
	if warm.Errors > 0 {
		fmt.Fprintf(stdout, "normalize refused %d messages\n", warm.Errors)
	}
	for r := 1; r <= *rounds; r++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.GC()
		res := p.Run(corpus)
		fmt.Fprintf(stdout, "round %d: %.0f msg/s, %.2f MB/s wall (%v); %.0f msg/s, %.2f MB/s per CPU second (%v)\n",
			r, res.MsgPerSec(), res.MBPerSec(), res.Elapsed.Round(1e6),
			float64(res.Messages)/res.CPU.Seconds(), float64(res.Bytes)/1e6/res.CPU.Seconds(), res.CPU.Round(1e6))
	}
	fmt.Fprintf(stdout, "peak RSS: %.1f MB\n", float64(parsebench.PeakRSS())/(1<<20))
	outcomes := make([]string, 0, len(warm.Formats))
	for k := range warm.Formats {
		outcomes = append(outcomes, k)
	}
	sort.Strings(outcomes)
	fmt.Fprint(stdout, "outcomes:")
	for _, k := range outcomes {
		name := k
		if name == "" {
			name = "free-text"
		}
		fmt.Fprintf(stdout, " %s=%d", name, warm.Formats[k])
	}
	fmt.Fprintln(stdout)
	return nil
}
