package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/intakehq/intake/routing"
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

type ticketView struct {
	page
	T          *store.Ticket
	Events     []eventView
	Assignment *routing.Assignment
	Source     *itemView
	Equipment  *equipmentView
}

type eventView struct {
	store.TicketEvent
	DataText string
}

func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request, p page) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	t, err := store.TicketByID(r.Context(), s.Store.Pool, id)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	events, err := s.Store.TicketEvents(r.Context(), id)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v := ticketView{T: t}
	for _, e := range events {
		v.Events = append(v.Events, eventView{TicketEvent: e, DataText: eventData(e.Data)})
	}
	if len(t.Assignment) > 0 && string(t.Assignment) != "null" {
		var a routing.Assignment
		if json.Unmarshal(t.Assignment, &a) == nil {
			v.Assignment = &a
		}
	}
	if t.SourceItem != 0 {
		if it, err := s.Store.GetItem(r.Context(), t.SourceItem); err == nil {
			it.Raw = nil
			iv := newItemView(*it)
			v.Source = &iv
		}
	}
	v.Equipment = s.Requests.equipmentCard(r.Context(), t.ID)
	p.Title, p.Nav = "Заявка "+t.Number, "tickets"
	v.page = p
	s.render(w, r, http.StatusOK, "ticket", v)
}

// eventData shows an event's data as "key: value" pairs, leaving out the
// empty ones.
func eventData(b []byte) string {
	var m map[string]any
	if len(b) == 0 || json.Unmarshal(b, &m) != nil {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v == nil || v == "" {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if str, ok := m[k].(string); ok {
			parts = append(parts, k+": "+str)
			continue
		}
		val, _ := json.Marshal(m[k]) // decoded from JSON just above, so it encodes again
		parts = append(parts, k+": "+string(val))
	}
	return strings.Join(parts, ", ")
}
