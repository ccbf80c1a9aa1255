package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// The dispatcher's home (/ui/home): what waits for dispatchers, each count
// a link to its list. Overdue and at-risk tickets are counted by the rule of
// lifecycle.SLAOf, which the store is given (slaWindow).

// now is the pages' clock.
func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return clock.Wall()
}

// openStates are the states in which a ticket's deadline counts.
var openStates = func() []string {
	var out []string
	for _, st := range lifecycle.States {
		if st.Open() {
			out = append(out, string(st))
		}
	}
	return out
}()

// slaWindow is lifecycle's SLA rule at the pages' now.
func (s *Server) slaWindow() store.SLAWindow {
	return store.SLAWindow{Open: openStates, AtRisk: lifecycle.AtRisk, Now: s.now()}
}

// directory is the reference data to search stores and name clients and
// engineers by.
func (s *Server) directory(ctx context.Context) (*routing.Directory, error) {
	if s.Directory != nil {
		if d := s.Directory(); d != nil {
			return d, nil
		}
	}
	dd, err := s.Store.LoadDirectory(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the reference data: %w", err)
	}
	return routing.NewDirectory(dd.Clients, dd.Objects, dd.Engineers, dd.Contacts, dd.Categories)
}

// homeCount is one number of the home page and the list it opens.
type homeCount struct {
	Label string
	Hint  string
	N     int
	Link  string
	Tone  string // bad | warn | "" (how loud a non-zero count is)
}

type homeView struct {
	page
	Counts []homeCount
	Now    string
}

func (s *Server) homePage(w http.ResponseWriter, r *http.Request, p page) {
	c, err := s.Store.CountDispatch(r.Context(), s.slaWindow())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Nav = "Сводка", "home"
	v := homeView{page: p, Now: p.Time(s.now()), Counts: []homeCount{
		{Label: "Несопоставленные", Hint: "сообщения и звонки без магазина", N: c.Unmatched, Link: "/ui/", Tone: "warn"},
		{Label: "Ошибки", Hint: fmt.Sprintf("сообщений: %d, недоставленных уведомлений: %d", c.Failed, c.DeadOutbox),
			N: c.Failed + c.DeadOutbox, Link: "/ui/failed", Tone: "bad"},
		{Label: "Просрочены", Hint: "открытые заявки после срока", N: c.Overdue, Link: "/ui/tickets?sla=" + store.SLAOverdue, Tone: "bad"},
		{Label: "Под угрозой", Hint: fmt.Sprintf("до срока не больше %s", hoursRU(lifecycle.AtRisk)), N: c.AtRisk,
			Link: "/ui/tickets?sla=" + store.SLAAtRisk, Tone: "warn"},
		{Label: "На согласовании", Hint: "ждут согласования клиента", N: c.AwaitingApproval, Link: "/ui/tickets?state=awaiting_approval"},
		{Label: "Без инженера", Hint: "открытые заявки, инженер не назначен", N: c.Unassigned,
			Link: "/ui/tickets?state=" + stateOpen + "&engineer=" + store.NoEngineer, Tone: "warn"},
	}}
	s.render(w, r, http.StatusOK, "home", v)
}

// hoursRU writes a span in whole hours, in Russian ("2 ч").
func hoursRU(d time.Duration) string { return fmt.Sprintf("%.0f ч", d.Hours()) }
