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

type ticketView struct {
	page
	T          *store.Ticket
	Events     []eventView
	Assignment *routing.Assignment
	Source     *itemView
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
