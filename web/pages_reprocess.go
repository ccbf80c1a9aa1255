package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/drift"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/store"
)

// Reprocessing (operations): stored mail run again under the rules in
// force, previewed first, then applied; and format drift, which tells when
// a chain changed its template (a banner on every page, /ui/drift, the API).

// Reprocessor runs the items f chooses again, recording changes as by;
// with dryRun nothing is written (pipeline.Processor.Reprocess).
type Reprocessor func(ctx context.Context, f store.ReprocessFilter, by string, dryRun bool) (*pipeline.ReprocessReport, error)

// DriftReporter keeps the format drift report (pipeline.DriftMonitor).
type DriftReporter interface {
	Report() *drift.Report
	Refresh(ctx context.Context) (*drift.Report, error)
}

func (s *Server) registerReprocess(mux *http.ServeMux) {
	mux.HandleFunc("GET /ui/reprocess", s.ui(s.reprocessPage))
	mux.HandleFunc("POST /ui/reprocess", s.ui(s.reprocessApplyPage))
	mux.HandleFunc("GET /ui/drift", s.ui(s.driftPage))
	mux.HandleFunc("POST /api/v1/reprocess", s.reprocessAPI)
	mux.HandleFunc("GET /api/v1/drift", s.driftAPI)
}

// reprocessShown bounds the items one run takes from a page.
const reprocessShown = 1000

var reprocessActionNames = map[string]string{
	pipeline.ReprocessCreated: "новая заявка", pipeline.ReprocessLinked: "приложено к заявке",
	pipeline.ReprocessMerged: "заявки объединены", pipeline.ReprocessUpdated: "заявка исправлена",
	pipeline.ReprocessOutcome: "исход изменён", pipeline.ReprocessReparsed: "поля уточнены",
	pipeline.ReprocessKept: "оставлено как есть", pipeline.ReprocessError: "ошибка",
	pipeline.ReprocessUnchanged: "без изменений",
}

var snapshotFieldNames = map[string]string{
	"outcome": "Исход", "client": "Клиент", "object": "Магазин", "external_id": "Номер клиента",
	"category": "Категория", "priority": "Приоритет", "due": "Срок", "ticket": "Заявка",
}

// reprocessForm is the filter as the page's form writes it.
type reprocessForm struct {
	Unmatched bool
	Client    string
	From, To  string // YYYY-MM-DD, in the server's zone
}

func readReprocessForm(v url.Values) reprocessForm {
	return reprocessForm{Unmatched: v.Get("unmatched") != "", Client: strings.TrimSpace(v.Get("client")),
		From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to"))}
}

// Query is the form as a query string.
func (f reprocessForm) Query() string {
	v := url.Values{}
	if f.Unmatched {
		v.Set("unmatched", "on")
	}
	for k, x := range map[string]string{"client": f.Client, "from": f.From, "to": f.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v.Encode()
}

// filter turns the form into a store filter: the days From and To both
// count, in loc.
func (f reprocessForm) filter(loc *time.Location) (store.ReprocessFilter, error) {
	out := store.ReprocessFilter{Unmatched: f.Unmatched, Client: f.Client, Limit: reprocessShown}
	day := func(name, s string) (*time.Time, error) {
		if s == "" {
			return nil, nil
		}
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return nil, badRequest{fmt.Errorf("%s: дата %q не в виде ГГГГ-ММ-ДД", name, s)}
		}
		return &t, nil
	}
	var err error
	if out.From, err = day("с", f.From); err != nil {
		return out, err
	}
	if out.To, err = day("по", f.To); err != nil {
		return out, err
	}
	if out.To != nil {
		end := out.To.AddDate(0, 0, 1)
		out.To = &end
	}
	if out.From != nil && out.To != nil && !out.From.Before(*out.To) {
		return out, badRequest{errors.New("начало периода позже его конца")}
	}
	if !f.Unmatched && f.Client == "" && out.From == nil && out.To == nil {
		return out, badRequest{errors.New("выберите, что обработать: несопоставленные, клиента или период")}
	}
	return out, nil
}

type reprocessView struct {
	page
	Form    reprocessForm
	Error   string
	Report  *pipeline.ReprocessReport
	Counts  []actionCount
	Fields  []actionCount // items changed, by field
	Rows    []reprocessRow
	Hidden  int // unchanged items not listed
	Applied bool
}

type actionCount struct {
	Action, Name string
	N            int
}

type reprocessRow struct {
	pipeline.ReprocessItem
	ActionName string
	Cells      []snapshotCell
}

type snapshotCell struct {
	Name             string
	Was, Now         string
	WasLink, NowLink string // a ticket's page
	Changed          bool
}

// ticketLink is the page of a ticket by its number (INT-<id>).
func ticketLink(s pipeline.Snapshot) string {
	id, ok := strings.CutPrefix(s.Ticket, "INT-")
	if !ok || s.NewTicket {
		return ""
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return ""
	}
	return "/ui/tickets/" + id
}

func (s *Server) newReprocessView(p page, f reprocessForm, rep *pipeline.ReprocessReport) reprocessView {
	v := reprocessView{page: p, Form: f, Report: rep}
	if rep == nil {
		return v
	}
	for _, a := range pipeline.SortReprocessActions(rep.Counts) {
		v.Counts = append(v.Counts, actionCount{a, reprocessActionNames[a], rep.Counts[a]})
	}
	for _, f := range pipeline.SnapshotFields {
		if n := rep.Fields[f]; n > 0 {
			v.Fields = append(v.Fields, actionCount{f, snapshotFieldNames[f], n})
		}
	}
	for _, it := range rep.Items {
		if len(it.Changed) == 0 && it.Action != pipeline.ReprocessKept && it.Action != pipeline.ReprocessError {
			v.Hidden++
			continue
		}
		row := reprocessRow{ReprocessItem: it, ActionName: reprocessActionNames[it.Action]}
		row.Subject = clipText(row.Subject, shownSubject)
		for _, name := range pipeline.SnapshotFields {
			c := snapshotCell{Name: snapshotFieldNames[name], Was: p.snapshotValue(it.Was, name), Now: p.snapshotValue(it.Now, name)}
			for _, ch := range it.Changed {
				c.Changed = c.Changed || ch == name
			}
			if name == "ticket" {
				c.WasLink, c.NowLink = ticketLink(it.Was), ticketLink(it.Now)
			}
			if c.Was == "" && c.Now == "" {
				continue
			}
			row.Cells = append(row.Cells, c)
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

func (p page) snapshotValue(s pipeline.Snapshot, field string) string {
	switch field {
	case "outcome":
		o := s.Outcome
		if v, ok := outcomeNames[o]; ok {
			return v
		}
		return o
	case "priority":
		if v, ok := priorityNames[s.Priority]; ok {
			return v
		}
		return s.Priority
	case "due":
		return p.TimePtr(s.Due)
	case "ticket":
		if s.NewTicket {
			return "новая (номер при применении)"
		}
		return s.Ticket
	case "client":
		return s.Client
	case "object":
		return s.Object
	case "external_id":
		return s.ExternalID
	case "category":
		if s.CategoryName != "" {
			return s.CategoryName
		}
		return s.Category
	}
	return ""
}

// reprocessPage shows the form and, with preview set, what a run would
// change.
func (s *Server) reprocessPage(w http.ResponseWriter, r *http.Request, p page) {
	p.Title, p.Nav = "Повторная обработка", "reprocess"
	f := readReprocessForm(r.URL.Query())
	v := s.newReprocessView(p, f, nil)
	if r.URL.Query().Get("preview") == "" {
		s.render(w, r, http.StatusOK, "reprocess", v)
		return
	}
	rep, err := s.runReprocess(r.Context(), f, p.by(), true)
	if err != nil {
		var bad badRequest
		if errors.As(err, &bad) {
			v.Error = err.Error()
			s.render(w, r, http.StatusBadRequest, "reprocess", v)
			return
		}
		s.pageError(w, r, p, err)
		return
	}
	s.render(w, r, http.StatusOK, "reprocess", s.newReprocessView(p, f, rep))
}

// reprocessApplyPage applies a run and shows what it changed.
func (s *Server) reprocessApplyPage(w http.ResponseWriter, r *http.Request, p page) {
	p.Title, p.Nav = "Повторная обработка", "reprocess"
	f := readReprocessForm(r.PostForm)
	rep, err := s.runReprocess(r.Context(), f, p.by(), false)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	s.afterReprocess(r, rep)
	p.Flash = fmt.Sprintf("Применено: обработано писем %d, изменилось %d.", len(rep.Items), rep.Changed())
	if n := rep.Counts[pipeline.ReprocessError]; n > 0 {
		p.Flash += fmt.Sprintf(" Не удалось: %d (см. ниже).", n)
		p.FlashBad = true
	}
	p.DriftAlarms = s.driftAlarms() // the run may have cleared an alarm
	v := s.newReprocessView(p, f, rep)
	v.Applied = true
	s.render(w, r, http.StatusOK, "reprocess", v)
}

func (s *Server) runReprocess(ctx context.Context, f reprocessForm, by string, dryRun bool) (*pipeline.ReprocessReport, error) {
	if s.Reprocess == nil {
		return nil, unprocessable{errString("повторная обработка на этом сервере недоступна")}
	}
	fl, err := f.filter(s.loc())
	if err != nil {
		return nil, err
	}
	return s.Reprocess(ctx, fl, by, dryRun)
}

// afterReprocess audits an applied run and refreshes the drift report, so
// that an alarm the run cleared is gone at once.
func (s *Server) afterReprocess(r *http.Request, rep *pipeline.ReprocessReport) {
	s.audit(r, "reprocess.apply", "", map[string]any{"filter": rep.Filter, "counts": rep.Counts})
	if s.Drift != nil {
		if _, err := s.Drift.Refresh(r.Context()); err != nil {
			s.Log.Warn("format drift", "error", err)
		}
	}
}

func (s *Server) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// reprocessAPI: POST /api/v1/reprocess {"unmatched": true, "client": "PU",
// "from": "2026-03-01", "to": "2026-03-02", "dry_run": true}.
func (s *Server) reprocessAPI(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Unmatched bool   `json:"unmatched"`
		Client    string `json:"client"`
		From      string `json:"from"`
		To        string `json:"to"`
		DryRun    bool   `json:"dry_run"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		s.writeError(w, r, badRequest{errString(`body must be {"unmatched": true|false, "client": "...", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "dry_run": true|false}`)})
		return
	}
	rep, err := s.runReprocess(r.Context(), reprocessForm{Unmatched: req.Unmatched, Client: req.Client, From: req.From, To: req.To}, actor(r), req.DryRun)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !req.DryRun {
		s.afterReprocess(r, rep)
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) driftAPI(w http.ResponseWriter, r *http.Request) {
	if s.Drift == nil {
		s.writeError(w, r, unprocessable{errString("format drift is not tracked on this server")})
		return
	}
	writeJSON(w, http.StatusOK, s.Drift.Report())
}

// driftAlarms are the banner's lines: the formats and domains alarming.
func (s *Server) driftAlarms() []string {
	if s.Drift == nil {
		return nil
	}
	var out []string
	for _, a := range s.Drift.Report().Alarms() {
		out = append(out, driftName(a)+" — "+strconv.Itoa(int(a.Share*100+0.5))+"%")
	}
	return out
}

func driftName(s drift.Share) string {
	if s.Kind == drift.KindDomain {
		return "почта с " + s.Key + " (без формата)"
	}
	return "формат " + s.Key
}

var requiredNames = map[string]string{drift.FieldExternalID: "номер заявки клиента", drift.FieldStore: "магазин"}

type driftView struct {
	page
	Report *drift.Report
	Rows   []driftRow
	// CanReprocess: the user may open /ui/reprocess.
	CanReprocess bool
}

// Period is the window's time bound in hours.
func (v driftView) Period() string {
	if v.Report == nil {
		return ""
	}
	return strconv.FormatFloat(v.Report.Config.Period.Hours(), 'f', -1, 64) + " ч"
}

type driftRow struct {
	drift.Share
	Name          string
	RequiredNames []string
	MissingFields []string
	// Few: the share is at the threshold but the window holds too few
	// messages to raise the alarm.
	Few bool
}

func (s *Server) driftPage(w http.ResponseWriter, r *http.Request, p page) {
	p.Title, p.Nav = "Изменения шаблонов", "drift"
	v := driftView{page: p}
	if who, ok := PrincipalFrom(r.Context()); ok {
		v.CanReprocess = who.Role.Allows(auth.Required(http.MethodGet, "/ui/reprocess"))
	}
	if s.Drift != nil {
		v.Report = s.Drift.Report()
	}
	if v.Report != nil {
		for _, sh := range v.Report.Shares {
			row := driftRow{Share: sh, Name: driftName(sh)}
			row.Few = !sh.Alarm && len(sh.Required) > 0 && sh.Messages < v.Report.Config.MinMessages && sh.Share >= v.Report.Config.Threshold
			for _, f := range sh.Required {
				row.RequiredNames = append(row.RequiredNames, requiredNames[f])
				if n := sh.MissingBy[f]; n > 0 {
					row.MissingFields = append(row.MissingFields, fmt.Sprintf("%s: %d", requiredNames[f], n))
				}
			}
			v.Rows = append(v.Rows, row)
		}
	}
	s.render(w, r, http.StatusOK, "drift", v)
}
