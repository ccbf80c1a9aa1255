package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakehq/intake/ingest/mailbox"
	"github.com/intakehq/intake/web"
)

// sourceSet is every source that feeds the inbox.
type sourceSet struct {
	mailboxes *mailbox.Manager
}

func newSources(cfg Config, eng *engine, log *slog.Logger, reg prometheus.Registerer) (*sourceSet, error) {
	s := &sourceSet{}
	if len(cfg.Mailboxes) > 0 {
		var err error
		s.mailboxes, err = mailbox.New(cfg.Mailboxes, eng.inbox, eng.st, log, reg, mailbox.Options{LeasePeriod: cfg.Intake.LeasePeriod.D()})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *sourceSet) run(ctx context.Context) error {
	if s.mailboxes == nil {
		<-ctx.Done()
		return nil
	}
	return s.mailboxes.Run(ctx)
}

// mailboxStatus adapts the mailbox manager for the HTTP server.
func (s *sourceSet) mailboxStatus() web.Mailboxes {
	if s.mailboxes == nil {
		return nil
	}
	return mailboxView{s.mailboxes}
}

type mailboxView struct{ m *mailbox.Manager }

func (v mailboxView) Status() any { return v.m.Status() }
func (v mailboxView) Ready() bool { return v.m.Ready() }
