package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/ingest/mailbox"
	"github.com/intakehq/intake/ingest/mailbox/dovecottest"
	"github.com/intakehq/intake/pipeline/parsebench"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgcluster"
)

// cmdBenchE2E measures the whole path on this machine: a real Dovecot
// mailbox, the mailbox source, the inbox and the pipeline on a fresh
// database, with the sample reference data:
//
//	intake bench e2e [--n 2000] [--batch-size B] [--concurrency C] [--mailbox-batch M]
//	intake bench e2e --idle [--n 200] [--pause 200ms]
//
// Throughput mode loads n sample messages into the mailbox, starts the
// source and the pipeline, and waits until every message has an outcome.
// Idle mode appends new-order messages one at a time to a mailbox the
// source watches with IDLE, and times each from APPEND to its ticket with
// an engineer.
func cmdBenchE2E(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("bench e2e", stderr, &cf)
	idle := fs.Bool("idle", false, "measure latency of single messages through IMAP IDLE instead of throughput")
	drain := fs.Bool("drain", false, "store the messages in the inbox before the start and time the pipeline draining that backlog (no mailbox)")
	n := fs.Int("n", 0, "messages (default 2000; 200 with --idle)")
	pause := fs.Duration("pause", 200*time.Millisecond, "with --idle: pause after each message has its outcome")
	batchSize := fs.Int("batch-size", 0, "pipeline.batch_size (0: from the configuration)")
	concurrency := fs.Int("concurrency", 0, "pipeline.concurrency (0: from the configuration)")
	mailboxBatch := fs.Int("mailbox-batch", 0, "UIDs per FETCH of the mailbox source (0: the mailbox default)")
	busPoll := fs.Duration("bus-poll", 0, "bus.poll_interval (0: from the configuration)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up when the run takes longer")
	cpuProfile := fs.String("cpuprofile", "", "with --drain: write a CPU profile of the server's run to this file")
	top := fs.Int("statements", 0, "with --drain: list this many SQL statements, by the time the server spent waiting for them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n == 0 {
		*n = 2000
		if *idle {
			*n = 200
		}
	}
	if *n < 0 || (*idle && *drain) || *batchSize < 0 || *concurrency < 0 || *mailboxBatch < 0 || *pause < 0 || fs.NArg() > 0 {
		return fmt.Errorf("usage: intake bench e2e [--idle | --drain] [--n N] [--batch-size B] [--concurrency C] [--mailbox-batch M] [--pause D]")
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
	if *batchSize > 0 {
		cfg.Pipeline.BatchSize = *batchSize
	}
	if *concurrency > 0 {
		cfg.Pipeline.Concurrency = *concurrency
	}
	if *busPoll > 0 {
		cfg.Bus.PollInterval = Duration(*busPoll)
	}
	if p := cfg.validate(); len(p) > 0 {
		return errors.New(strings.Join(p, "\n"))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	say := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }

	b := &e2eBench{cfg: cfg, say: say, stderr: stderr, top: *top, cpuProfile: *cpuProfile}
	if err := b.openDatabase(ctx); err != nil {
		return err
	}
	defer b.closeDatabase()
	if *drain {
		return b.runDrain(ctx, *n)
	}

	dv, err := dovecottest.Launch()
	if err != nil {
		return err
	}
	defer dv.Close()
	mb := map[string]any{
		"name": "bench", "host": dv.Host, "port": dv.Port, "tls": "plain",
		"username": dovecottest.User, "password": dovecottest.Password,
		"mode": "move", "processed_folder": "Processed", "idle": true,
	}
	if *mailboxBatch > 0 {
		mb["batch"] = *mailboxBatch
	}
	var node yaml.Node
	if err := node.Encode([]map[string]any{mb}); err != nil {
		return err
	}
	mcfgs, err := mailbox.DecodeConfigs(&node)
	if err != nil {
		return err
	}
	b.cfg.Mailboxes = mcfgs
	b.mailbox = mcfgs[0]
	say("dovecot %s (private instance, maildir in %s)", dv.Addr(), dv.Dir)

	if *idle {
		return b.runIdle(ctx, dv, *n, *pause)
	}
	return b.runThroughput(ctx, dv, *n)
}

// e2eBench is one run of `intake bench e2e`.
type e2eBench struct {
	cfg        Config
	mailbox    mailbox.Config
	st         *store.Store
	counter    *store.StatementCounter
	top        int // statements to list, by time
	cpuProfile string
	say        func(string, ...any)
	stderr     io.Writer
	cleanup    []func()
}

var benchDatabases atomic.Int64

// openDatabase makes a fresh database with the schema and the sample
// reference data: a scratch database on DATABASE_URL's server, else a
// private cluster.
func (b *e2eBench) openDatabase(ctx context.Context) error {
	var dbURL string
	if b.cfg.Database.URL != "" {
		name := fmt.Sprintf("intake_bench_%d_%d", os.Getpid(), benchDatabases.Add(1))
		u, drop, err := replay.CreateScratch(ctx, b.cfg.Database.URL, name)
		if err != nil {
			return err
		}
		b.cleanup = append(b.cleanup, drop)
		dbURL = u
		b.say("database: %s on DATABASE_URL's server (dropped at the end)", name)
	} else {
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			return err
		}
		b.cleanup = append(b.cleanup, func() {
			if err := c.Stop(); err != nil {
				fmt.Fprintln(b.stderr, "intake: stopping private PostgreSQL:", err)
			}
		})
		dbURL = c.URL("postgres")
		b.say("database: private PostgreSQL in %s (no DATABASE_URL)", c.Dir())
	}
	b.cfg.Database.URL = dbURL
	b.counter = &store.StatementCounter{}
	st, err := store.Open(ctx, dbURL, store.WithCounter(b.counter))
	if err != nil {
		return err
	}
	b.st = st
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	for _, f := range demo.Reference() {
		if _, err := st.Import(ctx, strings.TrimSuffix(f.Name, ".csv"), f.Name, bytes.NewReader(f.Data), nil); err != nil {
			return fmt.Errorf("importing %s: %w", f.Name, err)
		}
	}
	return nil
}

func (b *e2eBench) closeDatabase() {
	if b.st != nil {
		b.st.Close()
	}
	for _, f := range slices.Backward(b.cleanup) {
		f()
	}
}

// start runs the server as `intake serve` does (sources, pipeline,
// components, HTTP on a loopback port) until the returned stop is called.
func (b *e2eBench) start(ctx context.Context) (*sourceSet, func() error, error) {
	log := newLogger(LogConfig{Level: "error", Format: "text"}, b.stderr)
	eng, err := newEngine(ctx, b.cfg, b.st, log)
	if err != nil {
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	src, err := newSources(b.cfg, eng, quietMailboxLog(log), reg)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return runServer(gctx, eng, src, ln, log, reg) })
	stop := func() error {
		cancel()
		if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	return src, stop, nil
}

func (b *e2eBench) printSettings() {
	c := b.cfg
	mb := "no mailbox"
	if b.mailbox.Idle != nil {
		mb = fmt.Sprintf("mailbox batch %d, poll_interval %s, idle %v, mode %s", b.mailbox.Batch, b.mailbox.PollInterval, *b.mailbox.Idle, b.mailbox.Mode)
	}
	b.say("settings: pipeline batch_size %d, concurrency %d, lease %s; bus %s, poll_interval %s; %s; GOMAXPROCS %d of %d CPUs",
		c.Pipeline.BatchSize, c.Pipeline.Concurrency, c.Pipeline.Lease.D(), c.Bus.Kind, c.Bus.PollInterval.D(),
		mb, runtime.GOMAXPROCS(0), runtime.NumCPU())
}

func (b *e2eBench) printOutcomes(ctx context.Context) error {
	counts, err := b.st.OutcomeCounts(ctx)
	if err != nil {
		return err
	}
	assigned, err := b.st.AssignedTickets(ctx)
	if err != nil {
		return err
	}
	b.say("outcomes: ticket %d (engineer assigned %d), follow_up %d, duplicate %d, ignored %d, unmatched %d, failed %d",
		counts["ticket"], assigned, counts["follow_up"], counts["duplicate"], counts["ignored"], counts["unmatched"], counts["failed"])
	if p := counts["pending"]; p > 0 {
		b.say("without an outcome: %d", p)
	}
	return nil
}

func (b *e2eBench) printPeakRSS() {
	b.say("peak RSS: %.1f MB (VmHWM of this process, Dovecot and PostgreSQL not counted)", float64(parsebench.PeakRSS())/(1<<20))
}

// runThroughput loads n messages into the mailbox, then starts the source and
// the pipeline and waits for every outcome.
func (b *e2eBench) runThroughput(ctx context.Context, dv *dovecottest.Server, n int) error {
	msgs := sampleMessages(n)
	var size int
	for _, m := range msgs {
		size += len(m)
	}
	if err := dv.Deliver("INBOX", msgs); err != nil {
		return err
	}
	b.say("mailbox: %d sample messages (%.1f MB) in INBOX before the start", n, float64(size)/1e6)
	b.printSettings()

	var t0 time.Time // the database's clock, which stamps arrival and outcome
	if err := b.st.Pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t0); err != nil {
		return err
	}
	_, stop, err := b.start(ctx)
	if err != nil {
		return err
	}
	waitErr := waitForOutcomes(ctx, b.st, n, time.Until(deadlineOf(ctx)))
	if err := stop(); err != nil && waitErr == nil {
		waitErr = err
	}
	if waitErr != nil {
		return waitErr
	}
	var lastIn, lastOut time.Time
	var lat []float64
	spans, err := b.st.DoneSpans(ctx)
	if err != nil {
		return err
	}
	for _, sp := range spans {
		lastIn, lastOut = maxTime(lastIn, sp.Received), maxTime(lastOut, sp.Done)
		lat = append(lat, sp.Done.Sub(sp.Received).Seconds())
	}
	wall := lastOut.Sub(t0)
	b.say("messages: %d", len(lat))
	b.say("wall time: %.2f s from the start of ingest to the last outcome; all stored after %.2f s", wall.Seconds(), lastIn.Sub(t0).Seconds())
	b.say("throughput: %.1f msg/s", float64(len(lat))/wall.Seconds())
	b.say("latency stored -> outcome: %s", summarize(lat))
	if err := b.printOutcomes(ctx); err != nil {
		return err
	}
	b.printPeakRSS()
	return nil
}

// runIdle appends new-order messages one at a time to the mailbox the
// source watches in IDLE and times each from APPEND to its outcome.
func (b *e2eBench) runIdle(ctx context.Context, dv *dovecottest.Server, n int, pause time.Duration) error {
	tmpl, err := newOrderTemplates()
	if err != nil {
		return err
	}
	// The same few stores get every message: their engineers' capacity
	// (max_open) is lifted so that the last order finds one free as the
	// first did.
	if err := b.st.RaiseEngineerCapacity(ctx, n+len(tmpl)); err != nil {
		return err
	}
	b.say("engineers: max_open raised by %d for this run", n+len(tmpl))
	b.printSettings()
	src, stop, err := b.start(ctx)
	if err != nil {
		return err
	}
	runErr := b.idleLoop(ctx, dv, src, tmpl, n, pause)
	if err := stop(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

func (b *e2eBench) idleLoop(ctx context.Context, dv *dovecottest.Server, src *sourceSet, tmpl []orderTemplate, n int, pause time.Duration) error {
	// Wait until the source has read the (empty) folder once: it then
	// waits in IDLE.
	for {
		if st := src.mailboxes.Status(); len(st) > 0 && !st[0].LastSuccess.IsZero() {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the mailbox source did not connect: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(200 * time.Millisecond)
	c, err := dv.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	// Warm-up: each candidate once, not counted. The measured messages
	// are made from those that became a ticket with an engineer.
	// A letter without an order number sent again for the same store
	// follows up the ticket still open there, so numbered orders are
	// preferred.
	var use, unnumbered [][]byte
	var warm []float64
	for i, t := range tmpl {
		r, err := b.appendAndWait(ctx, c, freshOrder(t.raw, i))
		if err != nil {
			return fmt.Errorf("warm-up message %d: %w", i, err)
		}
		warm = append(warm, r.total)
		switch {
		case r.outcome != "ticket" || !r.engineer:
		case t.numbered:
			use = append(use, t.raw)
		default:
			unnumbered = append(unnumbered, t.raw)
		}
	}
	b.say("warm-up: %d new-order samples, %d with an order number and %d without became a ticket with an engineer (not counted: %s)",
		len(tmpl), len(use), len(unnumbered), summarize(warm))
	if len(use) == 0 {
		use = unnumbered
	}
	if len(use) == 0 {
		for _, t := range tmpl {
			use = append(use, t.raw)
		}
	}
	b.say("idle: %d messages made from those, one at a time, %s pause after each outcome", n, pause)

	var total, pipe []float64
	assigned, other := 0, map[string]int{}
	for i := range n {
		raw := freshOrder(use[i%len(use)], len(tmpl)+i)
		r, err := b.appendAndWait(ctx, c, raw)
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		total = append(total, r.total)
		pipe = append(pipe, r.pipeline)
		switch {
		case r.outcome == "ticket" && r.engineer:
			assigned++
		case r.outcome == "ticket":
			other["ticket without engineer"]++
		default:
			other[r.outcome]++
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	b.say("messages: %d, ticket with an engineer %d%s", len(total), assigned, formatOther(other))
	b.say("latency APPEND -> outcome: %s", summarize(total))
	b.say("  of which stored -> outcome (pipeline): %s", summarize(pipe))
	b.say("goal: p99 < 1.5 s")
	if err := b.printOutcomes(ctx); err != nil {
		return err
	}
	b.printPeakRSS()
	return nil
}

type idleResult struct {
	total, pipeline float64 // seconds
	outcome         string
	engineer        bool
}

// appendAndWait appends raw and polls its item by Message-ID until it has an
// outcome.
func (b *e2eBench) appendAndWait(ctx context.Context, c *imapclient.Client, raw []byte) (idleResult, error) {
	_, mid := ingest.MailKeys(raw)
	t0 := time.Now()
	if _, err := dovecottest.AppendRaw(c, "INBOX", raw); err != nil {
		return idleResult{}, err
	}
	deadline := t0.Add(30 * time.Second)
	for {
		p, err := b.st.ProgressByMessageID(ctx, mid)
		if err == nil && p.Stage == store.StageDone {
			return idleResult{total: time.Since(t0).Seconds(), pipeline: p.Pipeline.Seconds(), outcome: p.Outcome, engineer: p.Engineer != ""}, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return idleResult{}, err
		}
		if time.Now().After(deadline) {
			return idleResult{}, fmt.Errorf("no outcome for <%s> 30 s after APPEND", mid)
		}
		select {
		case <-ctx.Done():
			return idleResult{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func formatOther(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, ", %s %d", k, m[k])
	}
	return sb.String()
}

// summarize gives p50, p99 and max of seconds, in milliseconds.
func summarize(sec []float64) string {
	if len(sec) == 0 {
		return "no samples"
	}
	s := slices.Clone(sec)
	slices.Sort(s)
	q := func(p float64) float64 { // nearest rank
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))] * 1000
	}
	return fmt.Sprintf("p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d samples)", q(0.50), q(0.99), s[len(s)-1]*1000, len(s))
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Hour)
}

var (
	messageIDHeader = regexp.MustCompile(`(?im)^(message-id:\s*<)`)
	threadHeaders   = regexp.MustCompile(`(?im)^((?:in-reply-to|references):\s*<)`)
)

// sampleMessages returns n messages: the demo mailbox, then copies of it.
// Each copy has fresh Message-IDs (and replies point at the copy's own
// messages) and fresh order numbers wherever a number is written plainly
// in the raw mail, so that each copy yields about the demo's mix of new
// tickets, follow-ups and the rest.
func sampleMessages(n int) [][]byte {
	mails := demo.Mail()
	ids := demoOrderNumbers()
	out := make([][]byte, 0, n)
	for i := 0; len(out) < n; i++ {
		m := mails[i%len(mails)].Data
		if copy := i / len(mails); copy > 0 {
			m = messageIDHeader.ReplaceAll(m, []byte(fmt.Sprintf("${1}c%d.", copy)))
			m = threadHeaders.ReplaceAll(m, []byte(fmt.Sprintf("${1}c%d.", copy)))
			m = renumberOrders(m, ids, copy)
		}
		out = append(out, m)
	}
	return out
}

// demoOrderNumbers are the clients' order numbers in the demo mail, longest
// first so that none is replaced inside another.
func demoOrderNumbers() []string {
	seen := map[string]bool{}
	var ids []string
	for _, l := range demo.SampleLabels() {
		if l.ExternalID != nil && len(trailingDigits(*l.ExternalID)) >= 4 && !seen[*l.ExternalID] {
			seen[*l.ExternalID] = true
			ids = append(ids, *l.ExternalID)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return len(b) - len(a) })
	return ids
}

func trailingDigits(s string) string {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return s[i:]
}

// renumber gives an order number of the same shape: its last digits (up to
// six) become 9 and seq, so that numbers differ for each seq and from the
// demo's own.
func renumber(id string, seq int) string {
	k := min(len(trailingDigits(id)), 6)
	mod := 1
	for range k - 1 {
		mod *= 10
	}
	return id[:len(id)-k] + fmt.Sprintf("9%0*d", k-1, seq%mod)
}

type orderTemplate struct {
	raw      []byte
	numbered bool // carries the client's order number
}

// newOrderTemplates are the demo messages that make a new ticket and can be
// made new again: their order number, if any, is written plainly.
func newOrderTemplates() ([]orderTemplate, error) {
	mails := map[string][]byte{}
	for _, f := range demo.Mail() {
		mails[f.Name] = f.Data
	}
	var out []orderTemplate
	for _, l := range demo.SampleLabels() {
		raw, ok := mails[l.File]
		if l.Kind != "ticket" || !ok || threadHeaders.Match(raw) {
			continue
		}
		if l.ExternalID != nil && (len(trailingDigits(*l.ExternalID)) < 4 || bytes.Equal(renumberOrders(raw, []string{*l.ExternalID}, 1), raw) ||
			bytes.Contains(bytes.ToLower(raw), []byte("content-transfer-encoding: base64"))) {
			continue
		}
		out = append(out, orderTemplate{raw: raw, numbered: l.ExternalID != nil})
	}
	if len(out) == 0 {
		return nil, errors.New("no new-order messages in the demo mail")
	}
	return out, nil
}

// freshOrder gives raw a new Message-ID and, when it has one, a new order
// number, so it becomes a new ticket.
func freshOrder(raw []byte, seq int) []byte {
	m := messageIDHeader.ReplaceAll(raw, []byte(fmt.Sprintf("${1}bench%d.%d.", os.Getpid(), seq)))
	return renumberOrders(m, demoOrderNumbers(), 50000+seq)
}

var subjectHeader = regexp.MustCompile(`(?im)^subject:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)`)

// renumberOrders replaces each of ids in raw by renumber(id, seq): where it
// is written plainly, split by a quoted-printable soft line break, or inside
// an encoded-word of the subject.
func renumberOrders(raw []byte, ids []string, seq int) []byte {
	for _, id := range ids {
		raw = orderPattern(id).ReplaceAll(raw, []byte(renumber(id, seq)))
	}
	loc := subjectHeader.FindSubmatchIndex(raw)
	if loc == nil || !bytes.Contains(raw[loc[2]:loc[3]], []byte("=?")) {
		return raw
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(string(raw[loc[2]:loc[3]]))
	if err != nil {
		return raw
	}
	changed := subj
	for _, id := range ids {
		changed = strings.ReplaceAll(changed, id, renumber(id, seq))
	}
	if changed == subj {
		return raw
	}
	out := slices.Clone(raw[:loc[2]])
	out = append(out, mime.BEncoding.Encode("UTF-8", changed)...)
	return append(out, raw[loc[3]:]...)
}

var orderPatterns sync.Map // id -> *regexp.Regexp

// orderPattern matches id in raw mail, also when a quoted-printable soft
// line break splits it.
func orderPattern(id string) *regexp.Regexp {
	if re, ok := orderPatterns.Load(id); ok {
		return re.(*regexp.Regexp)
	}
	parts := make([]string, 0, len(id))
	for _, r := range id {
		parts = append(parts, regexp.QuoteMeta(string(r)))
	}
	re := regexp.MustCompile(strings.Join(parts, `(?:=\r?\n)?`))
	orderPatterns.Store(id, re)
	return re
}
