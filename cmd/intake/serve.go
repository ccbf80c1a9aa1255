package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/web"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("serve", stderr, &cf)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (for performance work)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := loadConfig(cf.config, getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if applied, err := st.Migrate(ctx); err != nil {
		return err
	} else if len(applied) > 0 {
		log.Info("migrations applied", "count", len(applied))
	}
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	hasUsers, err := st.HasUsers(ctx)
	if err != nil {
		return err
	}
	addr, err := listenAddr(cfg.HTTP.Addr, cfg.HTTP.APITokens, hasUsers, log)
	if err != nil {
		return err
	}
	eng, err := newEngine(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	sources, err := newSources(cfg, eng, log, prometheus.DefaultRegisterer)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http.addr %s: %w", addr, err)
	}
	log.Info("intake serving", "http", ln.Addr().String(), "bus", cfg.Bus.Kind, "rules_version", eng.proc.Runtime().RulesVersion)
	return runServer(ctx, eng, sources, ln, log, prometheus.DefaultRegisterer)
}

// runServer runs the pipeline, the sources and HTTP until ctx ends, then
// stops intake first, drains the router and shuts the server down.
func runServer(ctx context.Context, eng *engine, src *sourceSet, ln net.Listener, log *slog.Logger, reg prometheus.Registerer) error {
	if err := reg.Register(eng.inbox.Refusals()); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	compMux, runs, err := setupComponents(eng, log, reg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newWebServer(eng, src, compMux, log, reg).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()

	g, gctx := errgroup.WithContext(ctx)
	for _, run := range runs {
		g.Go(func() error { return run(gctx) })
	}
	g.Go(func() error { return eng.pipe.Run(gctx) })
	g.Go(func() error {
		return pipeline.Watch(gctx, eng.st, eng.proc, eng.ruleFiles, eng.cfg.Rules.ReloadInterval.D(), log)
	})
	g.Go(func() error { return src.run(gctx) })
	g.Go(func() error { return eng.drift.Run(gctx, eng.cfg.Drift.Refresh.D(), log) })
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case err := <-httpErr:
			return fmt.Errorf("http: %w", err)
		}
	})
	err = g.Wait()
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		log.Warn("http shutdown", "error", serr)
	}
	log.Info("intake stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// newWebServer is the HTTP side of a running server: the API, the
// dispatcher pages and the components' routes (extra).
func newWebServer(eng *engine, src *sourceSet, extra http.Handler, log *slog.Logger, reg prometheus.Registerer) *web.Server {
	var gatherer prometheus.Gatherer = prometheus.DefaultGatherer
	if g, ok := reg.(prometheus.Gatherer); ok {
		gatherer = g
	}
	return &web.Server{
		Store: eng.st, Log: log, Gatherer: gatherer, Mailboxes: src.mailboxStatus(), Rules: pipeline.StoredRules{Store: eng.st}, Retry: eng.retry,
		Extra: extra, Resolve: eng.resolve, APITokens: eng.cfg.HTTP.APITokens, Location: eng.cfg.Intake.Location,
		RuleLab: &replay.Lab{
			Store: eng.st, AdminURL: eng.cfg.Database.URL, Fallback: eng.ruleFiles,
			OwnAddresses: eng.cfg.Intake.OwnAddresses, Location: eng.cfg.Intake.Location,
			Setup: func(p *pipeline.Processor) { p.SetSLA(eng.cfg.SLA.businessHours, eng.cfg.SLA.overrides) },
		},
		Lifecycle: eng.lifecycle, Now: func() time.Time { return eng.now() },
		Directory: func() *routing.Directory { return eng.proc.Runtime().Directory },
		Reprocess: eng.reprocess, Drift: eng.drift, Requests: requestsFor(eng, log),
		Try: func(ctx context.Context, msgs []replay.Message, dedup bool) ([]replay.Result, error) {
			var out []replay.Result
			err := replay.Try(ctx, eng.st, eng.proc, msgs, dedup, func(t replay.Tried) error {
				out = append(out, t.Result(eng.cfg.Intake.Location))
				return nil
			})
			return out, err
		},
	}
}
