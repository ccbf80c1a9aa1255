package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// A component is an optional part of the server (call webhooks, client
// connectors, the outbox, the ticket lifecycle). Each registers itself from
// its own file with registerComponent in an init function, so that serve and
// demo wire it without knowing it.
type componentDef struct {
	name string
	// validate checks the component's configuration section; each problem
	// names its key. Optional.
	validate func(cfg *Config) []string
	// setup builds the component for a running server. It may add HTTP
	// routes and stage hooks; run (optional) runs until ctx ends.
	setup func(ctx context.Context, env *componentEnv) (run func(ctx context.Context) error, err error)
}

// componentEnv is what a component gets to work with.
type componentEnv struct {
	cfg Config
	eng *engine
	log *slog.Logger
	reg prometheus.Registerer
	mux *http.ServeMux // register routes on it; served beside the API
}

var components []componentDef

func registerComponent(c componentDef) { components = append(components, c) }
