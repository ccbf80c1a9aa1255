package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// The ticket list (/ui/tickets): filters by state, client, store, engineer,
// standing against the deadline and creation period, paged on the server
// by ticket number (keyset): the links to older and newer pages keep the
// filters.
//
//	/ui/tickets?state=open&client=PU&object=0135&engineer=ENG-0001&sla=overdue&from=2026-03-01&to=2026-03-31&before=ID&after=ID&limit=N

// stateOpen as the state filter selects every open state.
const stateOpen = "open"

// ticketPageSize is the list's default page size.
const ticketPageSize = 50

// priorityNames are the catalogue's names of the priorities.
var priorityNames = catalogueLabels[LabelPriority]

var slaNames = map[string]string{store.SLAOverdue: Label("sla", store.SLAOverdue), store.SLAAtRisk: Label("sla", store.SLAAtRisk)}

type ticketRowView struct {
	store.TicketRow
	Deadline *time.Time
	SLA      string // lifecycle.SLA of the row at the page's now
	Category string // the category's name
	Priority string
}

type option struct{ Value, Label string }

type ticketListView struct {
	page
	Rows      []ticketRowView
	States    []option
	Clients   []option
	Engineers []option
	SLAs      []option
	// The filters as given.
	State, Client, Object, Engineer, SLA, From, To string
	Filtered                                       bool
	Prev, Next                                     string // links, "" when there is no such page
	Limit                                          int
}

func (s *Server) ticketListPage(w http.ResponseWriter, r *http.Request, p page) {
	q := r.URL.Query()
	v := ticketListView{
		State: q.Get("state"), Client: strings.ToUpper(strings.TrimSpace(q.Get("client"))), Object: strings.TrimSpace(q.Get("object")),
		Engineer: strings.TrimSpace(q.Get("engineer")), SLA: q.Get("sla"), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Limit: min(max(queryInt(r, "limit", ticketPageSize), 1), 500),
	}
	f := store.TicketFilter{Client: v.Client, Object: v.Object, Engineer: v.Engineer, Window: s.slaWindow(), Limit: v.Limit,
		Before: int64(queryInt(r, "before", 0)), After: int64(queryInt(r, "after", 0))}
	var bad []string
	switch {
	case v.State == stateOpen:
		f.States = openStates
	case v.State != "" && slices.Contains(ticketStates, v.State):
		f.States = []string{v.State}
	case v.State != "":
		bad, v.State = append(bad, fmt.Sprintf("неизвестное состояние %q", v.State)), ""
	}
	switch v.SLA {
	case "", store.SLAOverdue, store.SLAAtRisk:
		f.SLA = v.SLA
	default:
		bad, v.SLA = append(bad, fmt.Sprintf("неизвестный срок %q", v.SLA)), ""
	}
	if t, ok, err := s.day(p, v.From); err != nil {
		bad, v.From = append(bad, "дата «с»: "+err.Error()), ""
	} else if ok {
		f.CreatedFrom = &t
	}
	if t, ok, err := s.day(p, v.To); err != nil {
		bad, v.To = append(bad, "дата «по»: "+err.Error()), ""
	} else if ok {
		end := t.AddDate(0, 0, 1) // the whole last day
		f.CreatedTo = &end
	}
	rows, more, err := s.Store.TicketPage(r.Context(), f)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	dir, err := s.directory(r.Context())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	now := s.now()
	for _, row := range rows {
		rv := ticketRowView{TicketRow: row, Deadline: row.SLADue}
		if rv.Deadline == nil {
			rv.Deadline = row.Due
		}
		rv.SLA = string(lifecycle.SLAOf(lifecycle.State(row.State), rv.Deadline, now))
		if row.Category != nil {
			rv.Category = *row.Category
			if c := dir.Category(*row.Category); c != nil {
				rv.Category = c.Name
			}
		}
		if row.Priority != nil {
			rv.Priority = cmp.Or(priorityNames[*row.Priority], *row.Priority)
		}
		v.Rows = append(v.Rows, rv)
	}
	v.options(dir)
	v.Filtered = v.State != "" || v.Client != "" || v.Object != "" || v.Engineer != "" || v.SLA != "" || v.From != "" || v.To != ""

	// Keyset links: older pages below the last row, newer above the first.
	keep := url.Values{}
	for k, val := range map[string]string{"state": v.State, "client": v.Client, "object": v.Object, "engineer": v.Engineer, "sla": v.SLA, "from": v.From, "to": v.To} {
		if val != "" {
			keep.Set(k, val)
		}
	}
	if v.Limit != ticketPageSize {
		keep.Set("limit", strconv.Itoa(v.Limit))
	}
	if len(rows) > 0 {
		older := (f.After == 0 && more) || f.After > 0
		newer := (f.After > 0 && more) || f.Before > 0
		if older {
			v.Next = pageLink(keep, "before", rows[len(rows)-1].ID)
		}
		if newer {
			v.Prev = pageLink(keep, "after", rows[0].ID)
		}
	} else if f.Before > 0 || f.After > 0 {
		v.Prev = pageLink(keep, "", 0) // back to the first page
	}
	p.Title, p.Nav = "Заявки", "tickets"
	if len(bad) > 0 {
		p.Flash, p.FlashBad = "Фильтр не применён: "+strings.Join(bad, "; ")+".", true
	}
	v.page = p
	s.render(w, r, http.StatusOK, "tickets", v)
}

func (v *ticketListView) options(dir *routing.Directory) {
	v.States = []option{{stateOpen, "все открытые"}}
	for _, st := range ticketStates {
		v.States = append(v.States, option{st, stateRU(st)})
	}
	for _, c := range dir.Clients() {
		v.Clients = append(v.Clients, option{c.Code, c.Code + " — " + c.Name})
	}
	v.Engineers = []option{{store.NoEngineer, "не назначен"}}
	for _, e := range dir.Engineers() {
		v.Engineers = append(v.Engineers, option{e.Code, e.Name + " (" + e.Code + ")"})
	}
	v.SLAs = []option{{store.SLAOverdue, "просрочены"}, {store.SLAAtRisk, "под угрозой"}}
}

func pageLink(keep url.Values, key string, id int64) string {
	q := url.Values{}
	for k, v := range keep {
		q[k] = v
	}
	if key != "" {
		q.Set(key, strconv.FormatInt(id, 10))
	}
	if len(q) == 0 {
		return "/ui/tickets"
	}
	return "/ui/tickets?" + q.Encode()
}

// day reads a date (2026-03-31) as the start of that day in the pages'
// zone; ok is false when s is empty.
func (s *Server) day(p page, v string) (time.Time, bool, error) {
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := time.ParseInLocation("2006-01-02", v, p.loc)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%q не дата вида 2026-03-31", v)
	}
	return t, true, nil
}

// SLALabel is the row's standing against its deadline in words ("" when on
// time or without one).
func (r ticketRowView) SLALabel() string { return slaNames[r.SLA] }
