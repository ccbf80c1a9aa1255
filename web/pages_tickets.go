package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/intakehq/intake/store"
)

// The tickets: a filtered list, and one ticket with how it was assigned and
// its history.

// ticketScan is how many of the newest tickets the list filters: the store
// lists tickets newest first without filters.
const ticketScan = 1000

type ticketsView struct {
	page
	Tickets []store.Ticket
	States  []string
	Clients []string
	State   string
	Client  string
	Shown   int
	Scanned int
}

func (s *Server) ticketsPage(w http.ResponseWriter, r *http.Request, p page) {
	all, err := s.Store.ListTickets(r.Context(), ticketScan)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	q := r.URL.Query()
	v := ticketsView{States: ticketStates, State: q.Get("state"), Client: strings.ToUpper(strings.TrimSpace(q.Get("client"))), Scanned: len(all)}
	limit := queryInt(r, "limit", 200)
	for _, t := range all {
		if !slices.Contains(v.Clients, t.Client) {
			v.Clients = append(v.Clients, t.Client)
		}
		if (v.State != "" && t.State != v.State) || (v.Client != "" && t.Client != v.Client) || len(v.Tickets) >= limit {
			continue
		}
		v.Tickets = append(v.Tickets, t)
	}
	slices.Sort(v.Clients)
	v.Shown = len(v.Tickets)
	p.Title, p.Nav = "Заявки", "tickets"
	v.page = p
	s.render(w, r, http.StatusOK, "tickets", v)
}
