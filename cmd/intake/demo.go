package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/ingest/mailbox"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgcluster"
)

// cmdDemo runs the whole job on the embedded sample data: a private
// PostgreSQL (or a fresh database on DATABASE_URL's server), an in-process
// IMAP server holding the sample mailbox, the real mailbox source, the
// pipeline and HTTP.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("demo", stderr, &cf)
	once := fs.Bool("once", false, "exit after the sample mailbox is processed")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP listen address (without users, only this machine is answered)")
	keep := fs.Bool("keep", false, "keep the demo database on DATABASE_URL's server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig("", getenv)
	if err != nil {
		return err
	}
	cfg.HTTP.Addr = *httpAddr
	cfg.Bus.PollInterval = Duration(20 * time.Millisecond)
	log := newLogger(LogConfig{Level: "warn", Format: "text"}, stderr)
	say := func(format string, args ...any) { fmt.Fprintf(stdout, "demo: "+format+"\n", args...) }

	// The database.
	var dbURL string
	if cfg.Database.URL != "" {
		name := fmt.Sprintf("intake_demo_%d", time.Now().Unix())
		u, drop, err := replay.CreateScratch(ctx, cfg.Database.URL, name)
		if err != nil {
			return err
		}
		if !*keep {
			defer drop()
		}
		dbURL = u
		say("using database %s on DATABASE_URL's server", name)
	} else {
		say("no DATABASE_URL: starting a private PostgreSQL from the local binaries")
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			return err
		}
		defer func() {
			if err := c.Stop(); err != nil {
				fmt.Fprintln(stderr, "intake: stopping private PostgreSQL:", err)
			}
		}()
		dbURL = c.URL("postgres")
		say("private PostgreSQL in %s", c.Dir())
	}
	cfg.Database.URL = dbURL
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	for _, f := range demo.Reference() {
		kind := strings.TrimSuffix(f.Name, ".csv")
		sum, err := st.Import(ctx, kind, f.Name, bytes.NewReader(f.Data), nil)
		if err != nil {
			return err
		}
		say("imported %d %s", sum.Rows, kind)
	}

	// The sample mailbox, on an in-process IMAP server.
	mails := demo.Mail()
	imapAddr, stopIMAP, err := startDemoIMAP(mails)
	if err != nil {
		return err
	}
	defer stopIMAP()
	say("sample mailbox with %d messages on imap://%s (in-process server)", len(mails), imapAddr)
	host, portStr, err := net.SplitHostPort(imapAddr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	var node yaml.Node
	if err := node.Encode([]map[string]any{{
		"name": "demo", "host": host, "port": port, "tls": "plain", "username": "demo", "password": "demo",
		"idle": true, "poll_interval": "1s",
	}}); err != nil {
		return err
	}
	if cfg.Mailboxes, err = mailbox.DecodeConfigs(&node); err != nil {
		return err
	}

	eng, err := newEngine(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	src, err := newSources(cfg, eng, quietMailboxLog(log), reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		say("HTTP not served (%v); everything else runs", err)
		ln = nil
	} else {
		say("HTTP API on http://%s (try /api/v1/tickets, /api/v1/unmatched, /metrics)", displayAddr(ln.Addr()))
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error {
		if ln == nil {
			return runWithoutHTTP(gctx, eng, src, log)
		}
		return runServer(gctx, eng, src, ln, log, reg)
	})
	waitErr := waitForOutcomes(ctx, st, len(mails), 3*time.Minute)
	if waitErr == nil {
		if err := printDemoSummary(ctx, st, stdout); err != nil {
			waitErr = err
		}
	}
	if waitErr != nil || *once {
		stop()
		if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) && waitErr == nil {
			waitErr = err
		}
		return waitErr
	}
	say("running; press Ctrl-C to stop")
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost" + strings.TrimPrefix(s, "[::]")
	}
	return s
}

// quietMailboxLog keeps the demo's output to the summary: the mailbox
// source warns that the sample server speaks plain IMAP, which is expected.
func quietMailboxLog(log *slog.Logger) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// runWithoutHTTP runs pipeline and sources when the HTTP port is taken.
func runWithoutHTTP(ctx context.Context, eng *engine, src *sourceSet, log *slog.Logger) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return eng.pipe.Run(gctx) })
	g.Go(func() error { return src.run(gctx) })
	return g.Wait()
}

// startDemoIMAP serves the sample mailbox from memory on a free local port.
func startDemoIMAP(mails []demo.File) (string, func(), error) {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("demo", "demo")
	if err := user.Create("INBOX", nil); err != nil {
		return "", nil, err
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go srv.Serve(ln) //nolint:errcheck
	stop := func() { srv.Close() }
	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		stop()
		return "", nil, err
	}
	defer c.Close()
	if err := c.Login("demo", "demo").Wait(); err != nil {
		stop()
		return "", nil, err
	}
	for _, m := range mails {
		cmd := c.Append("INBOX", int64(len(m.Data)), nil)
		if _, err := cmd.Write(m.Data); err != nil {
			stop()
			return "", nil, err
		}
		if err := cmd.Close(); err != nil {
			stop()
			return "", nil, err
		}
		if _, err := cmd.Wait(); err != nil {
			stop()
			return "", nil, fmt.Errorf("appending %s: %w", m.Name, err)
		}
	}
	c.Logout().Wait() //nolint:errcheck
	return ln.Addr().String(), stop, nil
}

// waitForOutcomes waits until n items have their outcome.
func waitForOutcomes(ctx context.Context, st *store.Store, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		total, pending, err := st.ItemProgress(ctx)
		if err != nil {
			return err
		}
		if pending == 0 && total >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s, %d of the %d messages have no outcome yet", timeout, max(pending, n-max(total, 0)), n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func printDemoSummary(ctx context.Context, st *store.Store, w io.Writer) error {
	counts, err := st.OutcomeCounts(ctx)
	if err != nil {
		return err
	}
	total := 0
	for _, v := range counts {
		total += v
	}
	fmt.Fprintf(w, "demo: received %d, tickets %d, follow-ups %d, duplicates %d, unmatched %d, ignored %d, failed %d\n",
		total, counts["ticket"], counts["follow_up"], counts["duplicate"], counts["unmatched"], counts["ignored"], counts["failed"])
	ts, err := st.ListTickets(ctx, 1000)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TICKET\tCLIENT\tEXTERNAL\tSTORE\tCATEGORY\tPRIORITY\tENGINEER\tSTATE")
	for i := len(ts) - 1; i >= 0; i-- {
		t := ts[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Number, t.Client, deref(t.ExternalID), t.Object,
			deref(t.Category), deref(t.Priority), deref(t.Engineer), t.State)
	}
	return tw.Flush()
}

func deref(p *string) string {
	if p == nil || *p == "" {
		return "-"
	}
	return *p
}
