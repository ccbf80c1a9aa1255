package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// cmdAct writes the completion act of a ticket as printable HTML:
//
//	intake act [--config F] [--out act.html] TICKET-ID
//
// TICKET-ID is our number (INT-123) or the bare id (123).
func cmdAct(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("act", stderr, &cf)
	out := fs.String("out", "", "write the act to this file (default: standard output)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: intake act [--config F] [--out act.html] TICKET-ID")
		fs.PrintDefaults()
	}
	// Flags may follow the ticket id: intake act INT-12 --out act.html.
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("act: give one ticket id, e.g. INT-123")
	}
	cfg, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if msg := contractorNotice(cf.config, cfg.Lifecycle.Contractor); msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	var t *store.Ticket
	if n, err := strconv.ParseInt(pos[0], 10, 64); err == nil {
		t, err = store.TicketByID(ctx, st.Pool, n)
		if err != nil {
			return fmt.Errorf("ticket %d: %w", n, err)
		}
	} else {
		t, err = store.TicketByNumber(ctx, st.Pool, strings.ToUpper(pos[0]))
		if err != nil {
			return fmt.Errorf("ticket %s: %w", pos[0], err)
		}
	}
	l, _, err := newLifecycle(cfg, st, func() *routing.Directory { return nil }, clock.Wall)
	if err != nil {
		return err
	}
	act, err := l.LoadAct(ctx, t.ID)
	if err != nil {
		return err
	}
	if len(act.Tasks) == 0 {
		fmt.Fprintf(stderr, "intake act: ticket %s is %s and has no completed work yet; the act lists none\n", t.Number, t.State)
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := lifecycle.RenderAct(w, act); err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(stderr, "act of %s written to %s\n", t.Number, *out)
	}
	return nil
}

// contractorNotice says, when the configuration names no contractor, that
// the act's «Исполнитель» is left blank and where to set it; "" when it
// names one.
func contractorNotice(path, contractor string) string {
	switch {
	case strings.TrimSpace(contractor) != "":
		return ""
	case path == "":
		return "intake act: no configuration file (--config, $INTAKE_CONFIG or ./intake.yaml), so no contractor: " +
			"the act's «Исполнитель» is left blank to fill in by hand; set lifecycle.contractor to your company's name and details"
	}
	return fmt.Sprintf("intake act: %s has no lifecycle.contractor: the act's «Исполнитель» is left blank to fill in by hand; "+
		"set it to your company's name and details (e.g. contractor: \"ООО «Техсервис», ИНН 7701234567\")", path)
}
