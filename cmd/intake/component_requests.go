package main

import (
	"log/slog"
	"time"

	"github.com/intakehq/intake/ingest/request"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/web"
)

// requestsFor wires the request form and the request API: requests are
// stored in the engine's inbox. Stores' own form links are signed with the
// lifecycle's link key (INTAKE_LINK_KEY); without one only the general form
// (the store chosen by search) is offered.
func requestsFor(eng *engine, log *slog.Logger) *web.Requests {
	q := &web.Requests{
		Intake:    &request.Intake{Inbox: eng.inbox},
		Store:     eng.st,
		Directory: func() *routing.Directory { return eng.proc.Runtime().Directory },
		Now:       func() time.Time { return eng.now() },
		Location:  eng.cfg.Intake.Location,
		Log:       log,
	}
	if key, err := lifecycleKey(eng.cfg.Lifecycle, getenv); err == nil {
		if links, err := request.NewLinks(key); err == nil {
			q.Links = links
		}
	}
	return q
}
