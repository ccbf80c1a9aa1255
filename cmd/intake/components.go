package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// componentEnv is what an optional part of the server (call webhooks, the
// ticket lifecycle, the outbox with the client connectors) is set up with,
// besides its typed section of the configuration.
type componentEnv struct {
	cfg Config
	eng *engine
	log *slog.Logger
	reg prometheus.Registerer
	mux *http.ServeMux // register routes on it; served beside the API
}

// setupComponents sets up the parts the configuration asks for: their
// routes on one mux, their stage hooks on the processor, and what each runs
// until the server stops. They are set up in the order of their ticket
// hooks: a call's callback, then the lifecycle's tasks, then the
// connectors' status pushes.
func setupComponents(eng *engine, log *slog.Logger, reg prometheus.Registerer) (*http.ServeMux, []func(context.Context) error, error) {
	mux := http.NewServeMux()
	env := func(name string) *componentEnv {
		return &componentEnv{cfg: eng.cfg, eng: eng, log: log.With("component", name), reg: reg, mux: mux}
	}
	var runs []func(context.Context) error
	if cc := eng.cfg.Calls; cc != nil {
		if err := setupCalls(env("calls"), cc); err != nil {
			return nil, nil, fmt.Errorf("calls: %w", err)
		}
	}
	if lc := eng.cfg.Lifecycle; lc.Enabled == nil || *lc.Enabled {
		run, err := setupLifecycle(env("lifecycle"))
		if err != nil {
			return nil, nil, fmt.Errorf("lifecycle: %w", err)
		}
		runs = append(runs, run)
	} else {
		log.Info("lifecycle disabled", "component", "lifecycle")
	}
	run, err := setupOutbox(env("outbox"))
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	runs = append(runs, run)
	return mux, runs, nil
}
