package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// A component is an optional part of the server (call webhooks, the ticket
// lifecycle, the outbox with the client connectors), set up from its typed
// section of the configuration.
type component struct {
	name string
	// setup builds the component for a running server. It may add HTTP
	// routes and stage hooks; run (optional) runs until ctx ends.
	setup func(ctx context.Context, env *componentEnv) (run func(ctx context.Context) error, err error)
}

// components are set up in this order, which is the order of their ticket
// hooks: a call's callback, then the lifecycle's tasks, then the
// connectors' status pushes.
var components = []component{
	{"calls", setupCalls},
	{"lifecycle", setupLifecycle},
	{"outbox", setupOutbox},
}

// componentEnv is what a component gets to work with.
type componentEnv struct {
	cfg Config
	eng *engine
	log *slog.Logger
	reg prometheus.Registerer
	mux *http.ServeMux // register routes on it; served beside the API
}

// setupComponents sets every component up: their routes on one mux, their
// stage hooks on the processor, and what each runs.
func setupComponents(ctx context.Context, eng *engine, log *slog.Logger, reg prometheus.Registerer) (*http.ServeMux, []func(context.Context) error, error) {
	compMux := http.NewServeMux()
	var runs []func(context.Context) error
	for _, c := range components {
		run, err := c.setup(ctx, &componentEnv{cfg: eng.cfg, eng: eng, log: log.With("component", c.name), reg: reg, mux: compMux})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.name, err)
		}
		if run != nil {
			runs = append(runs, run)
		}
	}
	return compMux, runs, nil
}
