package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// The ticket page: what the ticket is (with names beside codes), where it
// stands against its deadline, every dispatch and offer round, the store's
// recent tickets, the history in Russian, and the dispatcher's actions
// (pages_ticket_actions.go). Further cards (equipment, say) go in
// ticket.html as sections of their own, fed by fields of ticketView.

// storeHistoryMonths is how far back the store's history goes.
const storeHistoryMonths = 12

type ticketView struct {
	page
	T        *store.Ticket
	Names    store.TicketNames
	Category string // the category's name
	SLA      string // lifecycle.SLA: "", on_time, at_risk, overdue
	Now      time.Time
	Events   []eventView
	// Assignment is routing's decision when the ticket was created.
	Assignment *routing.Assignment
	Tasks      []taskRound
	Source     *itemView
	engineers  map[string]string // code -> name
	// What the dispatcher may do (nil Lifecycle: nothing).
	Can        ticketActions
	Candidates []lifecycle.Candidate // routing's ranking now, eligible first
	Others     []store.EngineerRef   // every other engineer
	Live       []string              // engineers holding live tasks
	OfferN     int
	History    []store.Ticket
	// Equipment is the equipment the ticket is about, with its warranty
	// and earlier tickets (nil when none).
	Equipment *equipmentView
}

type ticketActions struct {
	Any, Assign, Offer, AddTask, Cancel, Close, Comment bool
	Off                                                 string // why there are no actions
}

// taskRound is one task with its offers by round.
type taskRound struct {
	lifecycle.Task
	Rounds []offerRound
}

type offerRound struct {
	N      int
	Offers []lifecycle.Offer
}

type eventView struct {
	store.TicketEvent
	Who      string
	What     string
	ReasonRU string
	DataText string
}

// Engineer is an engineer's name with his code, or the code alone.
func (v ticketView) Engineer(code string) string {
	if n := v.engineers[code]; n != "" {
		return n + " (" + code + ")"
	}
	return code
}

// EngineerPtr is Engineer of an optional code.
func (v ticketView) EngineerPtr(code *string) string {
	if code == nil {
		return ""
	}
	return v.Engineer(*code)
}

// Eligible are the candidates routing would give the work to now.
func (v ticketView) Eligible() []lifecycle.Candidate {
	var out []lifecycle.Candidate
	for _, c := range v.Candidates {
		if c.Eligible {
			out = append(out, c)
		}
	}
	return out
}

// Filtered are the candidates routing left out.
func (v ticketView) Filtered() []lifecycle.Candidate {
	var out []lifecycle.Candidate
	for _, c := range v.Candidates {
		if !c.Eligible {
			out = append(out, c)
		}
	}
	return out
}

// FilteredAtCreation are the engineers routing left out when the ticket was
// created.
func (v ticketView) FilteredAtCreation() []routing.Considered {
	if v.Assignment == nil {
		return nil
	}
	var out []routing.Considered
	for _, c := range v.Assignment.Considered {
		if !c.Eligible {
			out = append(out, c)
		}
	}
	return out
}

// RankedAtCreation are the engineers routing found eligible then.
func (v ticketView) RankedAtCreation() []routing.Considered {
	if v.Assignment == nil {
		return nil
	}
	var out []routing.Considered
	for _, c := range v.Assignment.Considered {
		if c.Eligible {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request, p page) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	ctx := r.Context()
	lc, err := s.Store.LifecycleOf(ctx, id)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	t := lc.Ticket
	v := ticketView{page: p, T: t, Now: s.now(), engineers: map[string]string{}} // page first: the history formats times in its zone
	v.SLA = string(SLAOf(t, v.Now))
	if v.Names, err = s.Store.NamesOf(ctx, t.Client, t.Object, t.Category); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	if t.Category != nil {
		v.Category = nameOr(v.Names.Category, Label(LabelCategory, *t.Category))
	}
	refs, err := s.Store.EngineerRefs(ctx)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	for _, e := range refs {
		v.engineers[e.Code] = e.Name
	}
	for _, k := range lc.Tasks {
		tr := taskRound{Task: k}
		for _, o := range lc.Offers {
			if o.TaskID != k.ID {
				continue
			}
			for len(tr.Rounds) < o.Round {
				tr.Rounds = append(tr.Rounds, offerRound{N: len(tr.Rounds) + 1})
			}
			tr.Rounds[o.Round-1].Offers = append(tr.Rounds[o.Round-1].Offers, o)
		}
		v.Tasks = append(v.Tasks, tr)
		if !lifecycle.State(k.State).Ends() && k.Engineer != nil {
			v.Live = append(v.Live, *k.Engineer)
		}
	}
	for _, e := range lc.Events {
		v.Events = append(v.Events, v.event(e))
	}
	if len(t.Assignment) > 0 && string(t.Assignment) != "null" {
		var a routing.Assignment
		if json.Unmarshal(t.Assignment, &a) == nil {
			v.Assignment = &a
		}
	}
	if t.SourceItem != 0 {
		if it, err := s.Store.GetItem(ctx, t.SourceItem); err == nil {
			it.Raw = nil
			iv := newItemView(*it)
			v.Source = &iv
		}
	}
	since := v.Now.AddDate(0, -storeHistoryMonths, 0)
	if v.History, err = s.Store.StoreHistory(ctx, t.Client, t.Object, since, t.ID, 50); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	v.Can = s.ticketCan(t)
	if v.Can.Assign || v.Can.AddTask {
		a, err := s.Lifecycle.Candidates(ctx, id)
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		v.Candidates, v.OfferN = a.Considered, s.Lifecycle.Config().OfferN
		for _, e := range refs {
			if !slices.ContainsFunc(a.Considered, func(c lifecycle.Candidate) bool { return c.Code == e.Code }) {
				v.Others = append(v.Others, e)
			}
		}
	}
	v.Equipment = s.Requests.equipmentCard(r.Context(), t.ID)
	p.Title, p.Nav = "Заявка "+t.Number, "tickets"
	p.Flash = ticketFlash[r.URL.Query().Get("done")]
	v.page = p
	s.render(w, r, http.StatusOK, "ticket", v)
}

// ticketCan says which actions the ticket's state allows, as the
// lifecycle decides them.
func (s *Server) ticketCan(t *store.Ticket) ticketActions {
	if s.Lifecycle == nil {
		return ticketActions{Off: "Действия с заявками недоступны: жизненный цикл заявок выключен на этом сервере (lifecycle.enabled)."}
	}
	st := lifecycle.State(t.State)
	_, cancelErr := lifecycle.Transition(lifecycle.Status{State: st}, lifecycle.Move{Action: lifecycle.ActCancel, Reason: "-"})
	_, closeErr := lifecycle.Transition(lifecycle.Status{State: st}, lifecycle.Move{Action: lifecycle.ActClose})
	c := ticketActions{
		Assign:  lifecycle.CanReassign(st, nil, "-", nil, "-") == nil,
		AddTask: lifecycle.CanAddTask(st, nil, "-") == nil,
		Cancel:  cancelErr == nil,
		Close:   closeErr == nil,
		Comment: true,
	}
	c.Offer = c.Assign
	c.Any = true
	return c
}

func nameOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// event is a history row in words: who, what, why and the details.
func (v ticketView) event(e store.TicketEvent) eventView {
	ev := eventView{TicketEvent: e, What: Label(LabelEvent, e.Kind), ReasonRU: ReasonRU(e.Reason)}
	ev.Who = v.actor(e.Actor)
	if e.Kind == lifecycle.KindState && e.Reason == "" {
		ev.What = "состояние заявки"
	}
	var data map[string]any
	if json.Unmarshal(e.Data, &data) == nil {
		// A dispatcher's note on an action is its reason, in his words.
		if note, ok := data["note"].(string); ok && note != "" && e.Reason == "" {
			ev.ReasonRU = note
			delete(data, "note")
		}
		if r, ok := data["reason"].(string); ok && strings.HasPrefix(e.Actor, "dispatcher:") && r == fmt.Sprintf(lifecycle.ReasonChosenBy, e.Actor) {
			delete(data, "reason") // "chosen by" the one the row names already
		}
	}
	ev.DataText = v.eventData(data)
	return ev
}

// actor is who did something, with an engineer's name.
func (v ticketView) actor(a string) string {
	if code, ok := strings.CutPrefix(a, "engineer:"); ok {
		return v.Engineer(code) + ", инженер"
	}
	ru, _ := actorRU(a)
	return ru
}

// eventData shows an event's data as Russian "key: value" pairs, engineers
// by name, leaving out the empty ones and what the row shows already.
func (v ticketView) eventData(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k, val := range m {
		if val == nil || val == "" || val == false {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		name := Label(LabelDataKey, k)
		switch val := m[k].(type) {
		case bool:
			parts = append(parts, name)
		case string:
			switch k {
			case "engineer":
				val = v.Engineer(val)
			case "reason", "status":
				val = ReasonRU(val)
			case "category":
				val = Label(LabelCategory, val)
			case "priority":
				val = Label(LabelPriority, val)
			case "event", "via", "direction":
				val = Label(LabelValue, val)
			case "until", "sla_due", "due":
				if tm, err := time.Parse(time.RFC3339Nano, val); err == nil {
					val = v.Time(tm)
				}
			}
			parts = append(parts, name+": "+clipText(val, 500))
		case []any:
			var names []string
			for _, x := range val {
				if code, ok := x.(string); ok && k != "name" {
					names = append(names, v.Engineer(code))
				} else {
					names = append(names, fmt.Sprint(x))
				}
			}
			parts = append(parts, name+": "+strings.Join(names, ", "))
		case float64:
			if k == "task" || k == "item" || k == "approval" {
				parts = append(parts, name+" №"+fmt.Sprint(val))
				continue
			}
			parts = append(parts, name+": "+fmt.Sprint(val))
		default:
			out, _ := json.Marshal(val) // decoded from JSON just above, so it encodes again
			parts = append(parts, name+": "+string(out))
		}
	}
	return strings.Join(parts, "; ")
}
