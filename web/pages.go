package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// The dispatcher pages are server-rendered HTML: one template file per
// page, all sharing layout.html (the frame, the navigation and the CSS) and
// partials.html, parsed once when the program starts.
//
// Sign-in (auth.go): /ui/login takes a user's name and password and starts
// a session held in the database; the cookie carries only its random id.
// Forms carry a CSRF token that must equal a random HttpOnly cookie (double
// submit), and cross-origin browser POSTs are refused outright.

//go:embed templates/*.html
var templateFS embed.FS

// staticFS holds the pages' scripts, served under /ui/static/ to anyone
// (they hold no data). Pages load them with <script src> only: the CSP
// refuses inline script.
//
//go:embed static
var staticFS embed.FS

var pageTemplates = parsePages()

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(pageFuncs).Funcs(catalogueFuncs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		n = strings.TrimPrefix(n, "templates/")
		if n == "layout.html" || n == "partials.html" {
			continue
		}
		out[strings.TrimSuffix(n, ".html")] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n))
	}
	return out
}

var pageFuncs = template.FuncMap{
	"deref": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	"pct": func(f float64) string { return strconv.Itoa(int(f*100+0.5)) + "%" },
	"km": func(f float64) string {
		if f < 0 {
			return "—"
		}
		return strconv.FormatFloat(f, 'f', 1, 64) + " км"
	},
	"clip":    func(n int, s string) string { return clipText(s, n) },
	"stateRU": stateRU,
	"resolveArgs": func(it itemView, csrf string) any {
		return struct {
			Item itemView
			CSRF string
		}{it, csrf}
	},
	"sourceRU": func(s string) string {
		if v, ok := sourceNames[s]; ok {
			return v
		}
		return s
	},
	"channelRU": func(kind string) string {
		if v, ok := channelNames[kind]; ok {
			return v
		}
		return kind
	},
	"outcomeRU": func(p *string) string {
		if p == nil {
			return "в обработке"
		}
		if v, ok := outcomeNames[*p]; ok {
			return v
		}
		return *p
	},
	"rawJSON": func(b []byte) string {
		var buf bytes.Buffer
		if len(b) == 0 || json.Indent(&buf, b, "", "  ") != nil {
			return string(b)
		}
		return buf.String()
	},
}

var stateNames = map[string]string{
	"new": "новая", "awaiting_approval": "на согласовании", "assigned": "назначена", "offered": "предложена",
	"accepted": "принята", "in_progress": "в работе", "postponed": "отложена", "rejected": "отклонена",
	"done": "выполнена", "closed": "закрыта", "cancelled": "отменена",
}

// ticketStates is the order of the state filter.
var ticketStates = []string{"new", "awaiting_approval", "assigned", "offered", "accepted", "in_progress", "postponed", "rejected", "done", "closed", "cancelled"}

func stateRU(s string) string {
	if v, ok := stateNames[s]; ok {
		return v
	}
	return s
}

var outcomeNames = map[string]string{
	store.OutcomeTicket: "заявка", store.OutcomeFollowUp: "дополнение", store.OutcomeDuplicate: "дубликат",
	store.OutcomeIgnored: "пропущено", store.OutcomeUnmatched: "не сопоставлено", store.OutcomeFailed: "ошибка",
}

var channelNames = map[string]string{store.OutboxEmail: "почта", store.OutboxWebhook: "вебхук", store.OutboxConnector: "сервис-деск"}

var sourceNames = map[string]string{flow.SourceMail: "почта", flow.SourceCall: "звонок", flow.SourceConnector: "сервис-деск",
	flow.SourceForm: "форма заявки", flow.SourceAPI: "API заявок"}

// page is what every page's template gets besides its own data.
type page struct {
	Title     string
	Nav       string // the menu entry to highlight
	CSRF      string
	Name      string // who is signed in
	Login     bool   // signed in with a session (a logout button makes sense)
	Configure bool   // may change rules (operations, admin): the menu shows the rule editor
	Flash     string
	FlashBad  bool
	// DriftAlarms are the formats whose chain seems to have changed its
	// template: a banner on every page.
	DriftAlarms []string
	loc         *time.Location
}

// Time formats t in the server's zone.
func (p page) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.loc).Format("02.01.2006 15:04")
}

// TimePtr formats an optional time.
func (p page) TimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return p.Time(*t)
}

// parsedView and decisionView read what the pipeline saved on an item
// (pipeline.Parsed and pipeline.Decision); only the fields the pages show.
type parsedView struct {
	From      string             `json:"from"`
	FromName  string             `json:"from_name"`
	Subject   string             `json:"subject"`
	Date      time.Time          `json:"date"`
	NewText   string             `json:"new_text"`
	Signature string             `json:"signature"`
	Warnings  []string           `json:"warnings"`
	Fields    parsers.Fields     `json:"fields"`
	Forwarded bool               `json:"forwarded"`
	Trace     []rules.TraceEntry `json:"trace"`
}

type decisionView struct {
	Kind       string              `json:"kind"`
	Ticket     int64               `json:"ticket"`
	Client     string              `json:"client"`
	Object     string              `json:"object"`
	Category   string              `json:"category"`
	Priority   string              `json:"priority"`
	Engineer   string              `json:"engineer"`
	Via        string              `json:"via"`
	Match      *routing.Match      `json:"match"`
	Assignment *routing.Assignment `json:"assignment"`
	Trace      []rules.TraceEntry  `json:"trace"`
	Rules      []string            `json:"rules"`
}

// itemView is an item with its saved results decoded.
type itemView struct {
	store.Item
	P parsedView
	D decisionView
}

func newItemView(it store.Item) itemView {
	v := itemView{Item: it}
	if len(it.Parsed) > 0 {
		json.Unmarshal(it.Parsed, &v.P) //nolint:errcheck // a page shows what it can
	}
	if len(it.Decision) > 0 {
		json.Unmarshal(it.Decision, &v.D) //nolint:errcheck
	}
	v.clip()
	return v
}

// Display limits of what an item's sender wrote (in runes). Items saved
// before the pipeline clipped them, or other sources' own text, may be
// longer; the raw message on the API stays whole.
const (
	shownSubject = 500
	shownName    = 200
	shownReason  = 2000
	shownText    = 16 << 10
	shownLines   = 20
)

// clip bounds the fields a page shows, so a 5 MB subject does not make a
// 5 MB page.
func (v *itemView) clip() {
	v.P.Subject = clipText(v.P.Subject, shownSubject)
	v.P.From = clipText(v.P.From, shownName)
	v.P.FromName = clipText(v.P.FromName, shownName)
	v.P.NewText = clipText(v.P.NewText, shownText)
	v.P.Signature = clipText(v.P.Signature, shownReason)
	if len(v.P.Warnings) > shownLines {
		v.P.Warnings = v.P.Warnings[:shownLines]
	}
	for i, w := range v.P.Warnings {
		v.P.Warnings[i] = clipText(w, shownReason)
	}
	v.Reason = clipText(v.Reason, shownReason)
	v.Error = clipText(v.Error, shownReason)
	v.MessageID = clipText(v.MessageID, shownName)
}

// clipText cuts s to at most n runes, marking the cut.
func clipText(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// Sender is who sent the item, as well as is known.
func (v itemView) Sender() string {
	switch {
	case v.P.FromName != "" && v.P.From != "":
		return v.P.FromName + " <" + v.P.From + ">"
	case v.P.From != "":
		return v.P.From
	}
	return v.SourceRef
}

// Candidates are the stores matching considered, best first.
func (v itemView) Candidates() []routing.Candidate {
	if v.D.Match == nil {
		return nil
	}
	return v.D.Match.Candidates
}

// ClientGuess is the client to prefill the manual form with.
func (v itemView) ClientGuess() string {
	for _, c := range []string{v.Client, v.P.Fields.Client, v.D.Client} {
		if c != "" {
			return c
		}
	}
	if v.D.Match != nil {
		return v.D.Match.Client
	}
	return ""
}

// Trace is the rule trace of every stage that ran: the route stage's
// decision carries the parse stage's trace followed by its own.
func (v itemView) Trace() []rules.TraceEntry {
	if len(v.D.Trace) >= len(v.P.Trace) {
		return v.D.Trace
	}
	return v.P.Trace
}

// ResolvedBy is the dispatcher who chose the store ("" when matching did).
func (v itemView) ResolvedBy() string {
	by, _ := strings.CutPrefix(v.D.Via, "dispatcher ")
	if by == v.D.Via {
		return ""
	}
	return by
}

// IsUnmatched reports whether the item waits for a dispatcher.
func (v itemView) IsUnmatched() bool {
	return v.Outcome != nil && *v.Outcome == store.OutcomeUnmatched
}

// IsFailed reports whether the item failed.
func (v itemView) IsFailed() bool { return v.Outcome != nil && *v.Outcome == store.OutcomeFailed }

func (s *Server) registerPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusMovedPermanently) })
	mux.HandleFunc("GET /ui/{$}", s.ui(s.queuePage))
	mux.HandleFunc("GET /ui/home", s.ui(s.homePage))
	mux.HandleFunc("POST /ui/items/ignore", s.ui(s.ignoreItemsPage))
	mux.HandleFunc("POST /ui/items/resolve", s.ui(s.resolveItemsPage))
	mux.HandleFunc("GET /ui/failed", s.ui(s.failedPage))
	mux.HandleFunc("GET /ui/items/{id}", s.ui(s.itemPage))
	mux.HandleFunc("POST /ui/items/{id}/resolve", s.ui(s.resolvePage))
	mux.HandleFunc("POST /ui/items/{id}/retry", s.ui(s.retryPage))
	mux.HandleFunc("POST /ui/items/retry-failed", s.ui(s.retryAllPage))
	mux.HandleFunc("POST /ui/outbox/{id}/retry", s.ui(s.resendPage))
	mux.HandleFunc("GET /ui/tickets", s.ui(s.ticketListPage))
	mux.HandleFunc("GET /ui/tickets/{id}", s.ui(s.ticketPage))
	s.registerRulePages(mux)
	s.ticketActionRoutes(mux)
	s.registerLearnPages(mux)
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /ui/login", s.loginForm)
	mux.HandleFunc("POST /ui/login", s.login)
	mux.HandleFunc("POST /ui/logout", s.logout)
}

const (
	sessionCookie = "intake_session"
	csrfCookie    = "intake_csrf"
	sessionTTL    = 12 * time.Hour
)

var crossOrigin = http.NewCrossOriginProtection()

// ui wraps a page (signed in, see authenticate): the CSRF cookie, and for
// POSTs the CSRF check.
func (s *Server) ui(h func(w http.ResponseWriter, r *http.Request, p page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w)
		p := s.newPage(w, r)
		if r.Method == http.MethodPost {
			if err := checkCSRF(w, r); err != nil {
				s.pageError(w, r, p, err)
				return
			}
		}
		h(w, r, p)
	}
}

func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
}

func (s *Server) newPage(w http.ResponseWriter, r *http.Request) page {
	p := page{CSRF: csrfToken(w, r), loc: s.Location}
	if p.loc == nil {
		p.loc = time.UTC
	}
	if who, ok := PrincipalFrom(r.Context()); ok {
		p.Name, p.Login = who.Name, who.Name != localUser
		p.Configure = who.Role.Allows(auth.Configure)
		p.DriftAlarms = s.driftAlarms()
	}
	return p
}

// csrfToken returns the request's CSRF cookie value for the pages, setting
// a new one when there is none.
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	return csrfCookieValue(w, r, csrfCookie, "/ui/")
}

// csrfCookieValue returns the value of the CSRF cookie name (scoped to
// path), setting a new random one when the request has none.
func csrfCookieValue(w http.ResponseWriter, r *http.Request, name, path string) string {
	if c, err := r.Cookie(name); err == nil && len(c.Value) >= 22 {
		return c.Value
	}
	b := make([]byte, 24)
	rand.Read(b) //nolint:errcheck // never fails
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: path, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	r.AddCookie(&http.Cookie{Name: name, Value: v})
	return v
}

// checkCSRF refuses a form whose token is not the cookie's, and any
// cross-origin browser request.
func checkCSRF(w http.ResponseWriter, r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return forbidden{errors.New("запрос с другого сайта отклонён")}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return badRequest{fmt.Errorf("форма: %w", err)}
	}
	c, err := r.Cookie(csrfCookie)
	got := r.PostForm.Get("csrf")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) != 1 {
		return forbidden{errors.New("форма устарела или открыта не с этой страницы: обновите страницу и повторите")}
	}
	return nil
}

func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// by is who a dispatcher's action is recorded as: the signed-in user.
func (p page) by() string { return p.Name }

// safeNext keeps a post-login redirect on the pages.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

// render executes a page into a buffer first, so that a template error
// gives a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := pageTemplates[name]
	if !ok {
		s.Log.Error("page", "template", name, "error", "no such template")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.Log.Error("page", "template", name, "path", r.URL.Path, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck
}

type errorView struct {
	page
	Status  int
	Heading string
	Message string
	Back    string
}

// pageError shows an error as a page, with the status errorStatus gives.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, p page, err error) {
	status := errorStatus(err)
	v := errorView{page: p, Status: status, Message: err.Error(), Back: "/ui/"}
	switch status {
	case http.StatusNotFound:
		v.Heading = "Не найдено"
	case http.StatusBadRequest:
		v.Heading = "Неверный запрос"
	case http.StatusUnprocessableEntity:
		v.Heading = "Действие невозможно"
	case http.StatusForbidden:
		v.Heading = "Доступ запрещён"
	default:
		s.Log.Error("page", "method", r.Method, "path", r.URL.Path, "error", err)
		v.Heading, v.Message = "Внутренняя ошибка", "Что-то пошло не так; подробности в журнале сервера."
	}
	if ref := r.Header.Get("Referer"); strings.Contains(ref, "/ui/") {
		if i := strings.Index(ref, "/ui/"); i >= 0 {
			v.Back = safeNext(ref[i:])
		}
	}
	v.Title = v.Heading
	s.render(w, r, status, "error", v)
}
