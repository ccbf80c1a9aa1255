package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// rulesRequest carries rule and format files: {"files": {"name.yaml": "..."}}.
// A "by" in the body is ignored: the set is recorded as the caller's.
type rulesRequest struct {
	Files   map[string]string `json:"files"`
	Comment string            `json:"comment"`
}

func readRules(r *http.Request) (map[string][]byte, rulesRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return nil, rulesRequest{}, badRequest{err}
	}
	var req rulesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, req, badRequest{errors.New(`body must be {"files": {"name.yaml": "<yaml>"}, "comment": "..."}: ` + err.Error())}
	}
	if len(req.Files) == 0 {
		return nil, req, badRequest{errors.New("no files")}
	}
	files := make(map[string][]byte, len(req.Files))
	for k, v := range req.Files {
		files[k] = []byte(v)
	}
	return files, req, nil
}

func (s *Server) getRules(w http.ResponseWriter, r *http.Request) {
	rs, err := s.Store.LatestRuleSet(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, withFailures(rs, rules.DefaultCounts))
}

// ruleSetView is the stored rule set and how its rules have failed in this
// process since it started: by rule name ("format:NAME" for a format),
// evaluations stopped by the budget and those that failed otherwise.
type ruleSetView struct {
	*store.RuleSet
	BudgetExceeded map[string]int64 `json:"budget_exceeded"`
	EvalErrors     map[string]int64 `json:"eval_errors"`
}

func withFailures(rs *store.RuleSet, c *rules.Counts) ruleSetView {
	return ruleSetView{RuleSet: rs, BudgetExceeded: c.BudgetExceeded(), EvalErrors: c.Errors()}
}

// ruleFailures exports rules.DefaultCounts, where the running sets count,
// as Prometheus counters read at each scrape.
type ruleFailures struct{ counts *rules.Counts }

var (
	ruleBudgetDesc = prometheus.NewDesc("intake_rule_budget_exceeded_total",
		"Rule and format evaluations stopped by their time or memory budget, by rule (format:NAME for a format).", []string{"rule"}, nil)
	ruleErrorsDesc = prometheus.NewDesc("intake_rule_eval_errors_total",
		"Rule and format evaluations that failed with any other run-time error, by rule.", []string{"rule"}, nil)
)

func init() { prometheus.MustRegister(ruleFailures{rules.DefaultCounts}) }

func (c ruleFailures) Describe(ch chan<- *prometheus.Desc) {
	ch <- ruleBudgetDesc
	ch <- ruleErrorsDesc
}

func (c ruleFailures) Collect(ch chan<- prometheus.Metric) {
	for name, n := range c.counts.BudgetExceeded() {
		ch <- prometheus.MustNewConstMetric(ruleBudgetDesc, prometheus.CounterValue, float64(n), name)
	}
	for name, n := range c.counts.Errors() {
		ch <- prometheus.MustNewConstMetric(ruleErrorsDesc, prometheus.CounterValue, float64(n), name)
	}
}

func (s *Server) checkRules(w http.ResponseWriter, r *http.Request) {
	if s.Rules == nil {
		s.writeError(w, r, unprocessable{errString("rules are not configurable on this server")})
		return
	}
	files, _, err := readRules(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Rules.Check(r.Context(), files); err != nil {
		s.writeRulesError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// applyRules stores a new version. A set with any error is refused whole and
// the version in force stays in force.
func (s *Server) applyRules(w http.ResponseWriter, r *http.Request) {
	if s.Rules == nil {
		s.writeError(w, r, unprocessable{errString("rules are not configurable on this server")})
		return
	}
	files, req, err := readRules(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.Rules.Apply(r.Context(), files, actor(r), req.Comment)
	if err != nil {
		s.writeRulesError(w, r, err)
		return
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	s.audit(r, "rules.apply", strconv.FormatInt(v, 10), map[string]any{"files": names, "comment": req.Comment})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "version": v})
}

// ruleProblem is one mistake of a refused rule set, for a client that shows
// each where it is.
type ruleProblem struct {
	File    string `json:"file"`
	Rule    string `json:"rule,omitempty"`
	Format  string `json:"format,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	Snippet string `json:"snippet,omitempty"`
}

// writeRulesError answers 422 with every problem when the files are at
// fault. Any other error (the database failing while a version is stored)
// is ours, not the files', and is not reported as a refusal.
func (s *Server) writeRulesError(w http.ResponseWriter, r *http.Request, err error) {
	var le *rules.LoadError
	if !errors.As(err, &le) {
		s.writeError(w, r, err)
		return
	}
	problems := make([]ruleProblem, len(le.Problems))
	for i, p := range le.Problems {
		problems[i] = ruleProblem{File: p.File, Rule: p.Rule, Format: p.Format, Line: p.Line, Column: p.Column, Message: p.Msg, Snippet: p.Snippet}
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": err.Error(), "problems": problems})
}
