// Package web is Intake's HTTP side: health, metrics, the JSON API used by
// dispatchers' tools and operations staff, and the dispatchers' pages under
// /ui/. It is the only place where errors become status codes.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/redact"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// Mailboxes reports the mailbox sources' state for /readyz and the API.
type Mailboxes interface {
	Status() any
	Ready() bool
}

// RulesService checks and applies rule sets.
type RulesService interface {
	// Check validates files; the error lists every problem.
	Check(ctx context.Context, files map[string][]byte) error
	// Apply validates and stores files as a new version, recording who
	// applied it and why.
	Apply(ctx context.Context, files map[string][]byte, by, comment string) (version int64, err error)
}

// Server holds the handlers' dependencies.
type Server struct {
	Store     *store.Store
	Log       *slog.Logger
	Gatherer  prometheus.Gatherer
	Mailboxes Mailboxes    // optional
	Rules     RulesService // optional
	// Retry re-queues failed items (all when ids is empty).
	Retry func(ctx context.Context, ids []int64) ([]int64, error)
	// Resolve turns an unmatched item into a ticket for the store a
	// dispatcher chose and returns the ticket id. Optional.
	Resolve func(ctx context.Context, id int64, client, object, by string) (int64, error)
	// Try runs uploaded messages through the stages without writing
	// anything (POST /api/v1/try). Optional.
	Try Trier
	// RuleLab tries, and backtests, rule sets that are not applied yet: the
	// rule editor's (/ui/rules). Optional: without it the editor checks
	// and applies only.
	RuleLab *replay.Lab
	// APITokens are tokens from the configuration, accepted as an admin's
	// "Authorization: Bearer <token>" on /api/v1/ besides users' tokens.
	// The engineer and approval endpoints carry their own credentials.
	APITokens []string
	// Limiter counts failed sign-ins and bearer tokens (auth.NewLimiter
	// when nil).
	Limiter *auth.Limiter
	// Extra serves every path the routes above do not: the routes of
	// optional components (webhooks, engineer API). Optional.
	Extra http.Handler
	// Location is the zone the dispatcher pages show times in (UTC when
	// nil).
	Location *time.Location
	// Lifecycle carries out the dispatchers' actions on the ticket page
	// (assign, offer, add a task, comment, cancel, close). Optional: without
	// it the page shows no actions.
	Lifecycle *lifecycle.Service
	// Now is the clock the pages judge deadlines by, the SLA marks and the
	// home page's counts (clock.Wall when nil).
	Now func() time.Time
	// Directory is the reference data the pipeline routes by, for the
	// store search (loaded from the store on each search when nil).
	Directory func() *routing.Directory
	// Reprocess runs stored mail again (/ui/reprocess). Optional.
	Reprocess Reprocessor
	// Drift keeps the format drift report (banner, /ui/drift). Optional.
	Drift DriftReporter
	// Requests serves the request form, the request API and the ticket
	// page's equipment card. Optional.
	Requests *Requests
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	g := s.Gatherer
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/v1/stats", s.stats)
	mux.HandleFunc("GET /api/v1/items", s.listItems)
	mux.HandleFunc("GET /api/v1/items/{id}", s.getItem)
	mux.HandleFunc("GET /api/v1/items/{id}/raw", s.getItemRaw)
	mux.HandleFunc("POST /api/v1/items/{id}/retry", s.retryItem)
	mux.HandleFunc("POST /api/v1/items/retry-failed", s.retryFailed)
	mux.HandleFunc("POST /api/v1/items/{id}/resolve", s.resolveItem)
	mux.HandleFunc("GET /api/v1/unmatched", s.unmatched)
	mux.HandleFunc("GET /api/v1/tickets", s.listTickets)
	mux.HandleFunc("GET /api/v1/tickets/{id}", s.getTicket)
	mux.HandleFunc("GET /api/v1/mailboxes", s.mailboxes)
	mux.HandleFunc("GET /api/v1/objects/search", s.searchObjects)
	mux.HandleFunc("GET /api/v1/rules", s.getRules)
	mux.HandleFunc("POST /api/v1/rules/check", s.checkRules)
	mux.HandleFunc("POST /api/v1/rules", s.applyRules)
	mux.HandleFunc("POST /api/v1/try", s.try)
	mux.HandleFunc("GET /api/v1/audit", s.auditLog)
	mux.HandleFunc("GET /api/v1/users", s.listUsers)
	mux.HandleFunc("POST /api/v1/users/{name}/disable", s.disableUser)
	s.registerPages(mux)
	s.registerReprocess(mux)
	if s.Requests != nil {
		s.Requests.register(mux)
	}
	if s.Extra != nil {
		mux.Handle("/", s.Extra)
	}
	if s.Limiter == nil {
		s.Limiter = auth.NewLimiter()
	}
	return secureHeaders(s.logRequests(s.authenticate(mux)))
}

// contentSecurityPolicy allows no outside resource at all and no inline
// script: the only scripts are the files under /ui/static/, served from
// the binary (small progressive helpers; every page works without them).
// Inline styles stay allowed (the pages carry their stylesheet and a few
// style attributes, one computed).
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secureHeaders sets, on every response (API, pages, links, acts,
// attachments, webhooks), a CSP and nosniff, so nothing served is run as
// script or read as another type than it was sent as.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, r)
		if r.URL.Path != "/healthz" && r.URL.Path != "/metrics" {
			s.Log.Debug("http", "method", r.Method, "path", redact.Path(r.URL.Path), "status", sw.status, "took", time.Since(start))
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) //nolint:errcheck
}

// errorStatus maps errors to status codes, the one place that does; the
// API answers with JSON (writeError), the pages with HTML (pageError).
func errorStatus(err error) int {
	var bad badRequest
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.As(err, new(unprocessable)):
		return http.StatusUnprocessableEntity
	case errors.As(err, new(forbidden)):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// writeError answers the API with an error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(err)
	if status == http.StatusInternalServerError {
		s.Log.Error("http", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

type badRequest struct{ error }

type unprocessable struct{ error }

// Unprocessable marks err as a request that is well formed but cannot be
// carried out in the current state (422).
func Unprocessable(err error) error { return unprocessable{err} }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := map[string]any{}
	ready := true
	if err := s.Store.Pool.Ping(ctx); err != nil {
		out["database"], ready = err.Error(), false
	} else if err := s.Store.CheckSchema(ctx); err != nil {
		out["database"], ready = err.Error(), false
	} else {
		out["database"] = "ok"
	}
	if s.Mailboxes != nil {
		out["mailboxes"] = s.Mailboxes.Status()
		if !s.Mailboxes.Ready() {
			ready = false
		}
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	out["ready"] = ready
	writeJSON(w, status, out)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest{errors.New("id must be a positive number")}
	}
	return id, nil
}

func queryInt(r *http.Request, key string, def int) int {
	if v, err := strconv.Atoi(r.URL.Query().Get(key)); err == nil {
		return v
	}
	return def
}
