package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
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
	key := eng.cfg.Lifecycle.signingKey
	if key == nil {
		// No link key: no store can have its own link, and receipts are
		// signed with a key of this process (a receipt opened after a
		// restart says the request is unknown; the ticket is not lost).
		key = make([]byte, request.MinKeyLen)
		rand.Read(key) //nolint:errcheck // crypto/rand does not fail
		log.Info("request form: no link key (INTAKE_LINK_KEY): stores' own form links are off; the general form /form/ works")
	}
	if links, err := request.NewLinks(key); err == nil {
		q.Links = links
	}
	return q
}

// cmdFormLink prints the address of a store's own request form: the link a
// dispatcher sends the store's staff (signed, so nobody else can pose as
// that store).
func cmdFormLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("form-link", stderr, &cf)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: intake form-link CLIENT STORE")
	}
	cfg, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.Lifecycle.signingKey == nil {
		return fmt.Errorf("form links are signed with the link key: %w", cfg.Lifecycle.keyErr)
	}
	links, err := request.NewLinks(cfg.Lifecycle.signingKey)
	if err != nil {
		return err
	}
	dd, err := st.LoadDirectory(ctx)
	if err != nil {
		return err
	}
	dir, err := routing.NewDirectory(dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories)
	if err != nil {
		return err
	}
	o := dir.Object(fs.Arg(0), fs.Arg(1))
	if o == nil {
		return fmt.Errorf("no store %q of client %q", fs.Arg(1), fs.Arg(0))
	}
	fmt.Fprintf(stdout, "%s/form/s/%s\n", strings.TrimRight(cfg.Lifecycle.BaseURL, "/"), links.Store(o.Client, o.Code))
	return nil
}
