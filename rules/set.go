package rules

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/intakehq/intake/parsers"
)

// Set is a compiled rule set: formats and rules. It is immutable and safe
// for concurrent use; to change rules, Load a new Set and swap the pointer
// (atomic.Pointer[Set]).
type Set struct {
	// Version identifies the set once it is stored; the caller sets it
	// after Load and before publishing the set. 0 until then.
	Version int64
	// Budget bounds each rule's and each format's evaluation; zero fields
	// take DefaultBudget's. Like Version, set it before publishing the set.
	Budget Budget
	// Counts receives the evaluations that failed; nil counts in
	// DefaultCounts. Set it before publishing the set.
	Counts *Counts

	sources []File
	hash    string
	formats []*CompiledFormat
	byName  map[string]*CompiledFormat
	rules   []*Rule
	stages  map[string][]*Rule
}

// CompiledFormat is one chain's email format with its compiled match
// expression.
type CompiledFormat struct {
	Name   string
	Client string
	// MatchSource is the match expression; "" when the format is chosen
	// only by a message-stage rule's format action.
	MatchSource string
	Match       *vm.Program
	Format      *parsers.Format
	File        string
	Line        int
}

// Actions is what the matched rules of a stage decided, merged in rule
// order. A later rule (after a continue) overrides single values; tags and
// engineer lists accumulate without duplicates. Zero values mean "not set":
// the pipeline keeps what it had.
type Actions struct {
	Format   string    `json:"format,omitempty"`
	Client   string    `json:"client,omitempty"`
	Object   string    `json:"object,omitempty"`
	Category string    `json:"category,omitempty"`
	Priority string    `json:"priority,omitempty"`
	Due      time.Time `json:"due,omitzero"`
	// SLAHours overrides the category's SLA.
	SLAHours float64  `json:"sla_hours,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	// Ignore is the reason to drop the item without a ticket.
	Ignore string `json:"ignore,omitempty"`
	// Unmatched is the reason to send the item to the dispatchers' queue
	// instead of routing it automatically.
	Unmatched        string   `json:"unmatched,omitempty"`
	Team             string   `json:"team,omitempty"`
	Engineer         string   `json:"engineer,omitempty"`
	ExcludeEngineers []string `json:"exclude_engineers,omitempty"`
	PreferEngineers  []string `json:"prefer_engineers,omitempty"`
	AssignMode       string   `json:"assign_mode,omitempty"` // direct|offer
	OfferN           int      `json:"offer_n,omitempty"`
}

// TraceEntry records one rule (or format) that was evaluated.
type TraceEntry struct {
	Rule    string `json:"rule"`
	Stage   string `json:"stage"` // a stage, or "format" for format matching
	Matched bool   `json:"matched"`
	// Applied lists the actions taken, as key=value.
	Applied []string `json:"applied,omitempty"`
	// Err is a run-time error; the rule then counted as not matching.
	Err string `json:"err,omitempty"`
	// Budget is the Budget the evaluation ran out of (BudgetTime or
	// BudgetMemory), "" when it had enough; Err then says so too.
	Budget string `json:"budget,omitempty"`
}

// StageFormat is the Stage of trace entries for format match expressions.
const StageFormat = "format"

// Result is the outcome of one stage.
type Result struct {
	Actions Actions      `json:"actions"`
	Matched []string     `json:"matched,omitempty"` // rule names, in order
	Trace   []TraceEntry `json:"trace"`
}

// Hash is the hex SHA-256 of the sources (names and contents, in order):
// equal hashes mean the same rule set.
func (s *Set) Hash() string { return s.hash }

// Sources returns copies of the files the set was loaded from.
func (s *Set) Sources() []File {
	out := make([]File, len(s.sources))
	for i, f := range s.sources {
		out[i] = File{Name: f.Name, Data: bytes.Clone(f.Data)}
	}
	return out
}

// Formats returns the formats in the order they are tried.
func (s *Set) Formats() []*CompiledFormat { return slices.Clone(s.formats) }

// Format returns the format with that name, nil if there is none.
func (s *Set) Format(name string) *CompiledFormat { return s.byName[name] }

// Rules returns the rules of a stage in evaluation order ("" for all),
// disabled rules excluded.
func (s *Set) Rules(stage string) []*Rule {
	if stage == "" {
		return slices.Clone(s.rules)
	}
	return slices.Clone(s.stages[stage])
}

// SelectFormat chooses the format to extract a message with. A
// message-stage rule's format action wins; otherwise the first format whose
// match expression is true, in file order. It returns nil for free text.
// The trace holds the message-stage rules and the formats tried; callers
// that also need the message stage's other actions use Evaluate and
// MatchFormat instead.
func (s *Set) SelectFormat(env *Env) (*CompiledFormat, []TraceEntry) {
	res := s.Evaluate(StageMessage, env)
	if name := res.Actions.Format; name != "" {
		if f := s.byName[name]; f != nil {
			return f, res.Trace
		}
		res.Trace = append(res.Trace, TraceEntry{Rule: name, Stage: StageFormat, Err: fmt.Sprintf("unknown format %q", name)})
	}
	f, trace := s.MatchFormat(env)
	return f, append(res.Trace, trace...)
}

// MatchFormat returns the first format whose match expression is true, in
// file order, nil when none is. A run-time error counts as no match.
func (s *Set) MatchFormat(env *Env) (*CompiledFormat, []TraceEntry) {
	var trace []TraceEntry
	env = metered(env, s.Budget)
	for _, f := range s.formats {
		if f.Match == nil {
			continue
		}
		te := TraceEntry{Rule: f.Name, Stage: StageFormat}
		env.meter.reset(s.Budget)
		ok, err := test(f.Match, env)
		te.Matched = ok
		if err != nil {
			s.failed(&te, "format:"+f.Name, err, "")
		}
		trace = append(trace, te)
		if ok {
			return f, trace
		}
	}
	return nil, trace
}

// failed records a failed evaluation in the trace entry and the counts.
// prefix says which part of a rule failed ("due: ").
func (s *Set) failed(te *TraceEntry, name string, err error, prefix string) {
	te.Err = prefix + runError(err)
	te.Budget = budgetKind(err)
	c := s.Counts
	if c == nil {
		c = DefaultCounts
	}
	c.add(name, te.Budget != "")
}

func test(prog *vm.Program, env *Env) (bool, error) {
	out, err := run(prog, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition gave %T, not a boolean", out)
	}
	return b, nil
}

// Evaluate runs the rules of a stage against env, in order. The first rule
// that matches stops the stage unless it says continue; its actions, and
// those of the continue-rules before it, are merged into Result.Actions. A
// rule whose condition or action values fail at run time counts as not
// matching and its error is in the trace. An unknown stage gives an empty
// result with one trace entry saying so.
func (s *Set) Evaluate(stage string, env *Env) Result {
	rules, ok := s.stages[stage]
	if !ok && !slices.Contains(Stages, stage) {
		return Result{Trace: []TraceEntry{{Stage: stage, Err: fmt.Sprintf("unknown stage %q", stage)}}}
	}
	res := Result{Trace: make([]TraceEntry, 0, len(rules))}
	env = metered(env, s.Budget)
	var pending []resolved
	for _, r := range rules {
		te := TraceEntry{Rule: r.Name, Stage: stage}
		matched := r.Default
		// One budget for the condition and the action values together.
		env.meter.reset(s.Budget)
		if r.cond != nil {
			var err error
			matched, err = test(r.cond, env)
			if err != nil {
				s.failed(&te, r.Name, err, "")
			}
		}
		if matched {
			pending = pending[:0]
			for _, a := range r.actions {
				v, err := a.resolve(env)
				if err != nil {
					s.failed(&te, r.Name, err, a.key+": ")
					matched = false
					break
				}
				pending = append(pending, resolved{a.key, v})
			}
		}
		te.Matched = matched
		if matched {
			for _, p := range pending {
				if applied, ok := res.Actions.apply(p.key, p.val); ok {
					te.Applied = append(te.Applied, applied)
				}
			}
			res.Matched = append(res.Matched, r.Name)
		}
		res.Trace = append(res.Trace, te)
		if matched && !r.Continue {
			break
		}
	}
	return res
}

type resolved struct {
	key string
	val any
}

// resolve evaluates an action's value(s) and checks the result.
func (a action) resolve(env *Env) (any, error) {
	if a.spec.list {
		var out []string
		for _, v := range a.list {
			x, err := v.eval(a.spec, env)
			if err != nil {
				return nil, err
			}
			switch x := x.(type) {
			case string:
				out = append(out, x)
			case []string:
				out = append(out, x...)
			}
		}
		return out, nil
	}
	x, err := a.val.eval(a.spec, env)
	if err != nil {
		return nil, err
	}
	if a.val.prog != nil && a.spec.check != nil && x != "" {
		if err := a.spec.check(x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// apply merges one action value; it reports key=value, or false when the
// value is empty and nothing changed.
func (a *Actions) apply(key string, v any) (string, bool) {
	switch v := v.(type) {
	case string:
		if v == "" {
			return "", false
		}
		switch key {
		case "format":
			a.Format = v
		case "client":
			a.Client = v
		case "object":
			a.Object = v
		case "category":
			a.Category = v
		case "priority":
			a.Priority = v
		case "ignore":
			a.Ignore = v
		case "unmatched":
			a.Unmatched = v
		case "team":
			a.Team = v
		case "engineer":
			a.Engineer = v
		case "assign_mode":
			a.AssignMode = v
		}
		return key + "=" + v, true
	case time.Time:
		if v.IsZero() {
			return "", false
		}
		a.Due = v
		return key + "=" + v.Format(time.RFC3339), true
	case float64:
		a.SLAHours = v
		return key + "=" + strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		a.OfferN = v
		return key + "=" + strconv.Itoa(v), true
	case []string:
		if len(v) == 0 {
			return "", false
		}
		switch key {
		case "tags":
			a.Tags = appendNew(a.Tags, v)
		case "exclude_engineers":
			a.ExcludeEngineers = appendNew(a.ExcludeEngineers, v)
		case "prefer_engineers":
			a.PreferEngineers = appendNew(a.PreferEngineers, v)
		}
		return key + "+=" + strings.Join(v, ","), true
	}
	return "", false
}

func appendNew(list, add []string) []string {
	for _, s := range add {
		if s != "" && !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}
