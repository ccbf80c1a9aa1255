package rules

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"
)

// Stages, in the order the pipeline runs them.
const (
	// StageMessage runs before extraction: choose a format, ignore, set
	// the client.
	StageMessage = "message"
	// StageRoute runs after extraction and object matching: set fields,
	// send to unmatched, ignore, tag, override the SLA. It is the default.
	StageRoute = "route"
	// StageAssign runs when an engineer is chosen: policy hooks.
	StageAssign = "assign"
)

// Stages lists every stage in pipeline order.
var Stages = []string{StageMessage, StageRoute, StageAssign}

// Priorities are the values of the priority action.
var Priorities = []string{"critical", "high", "normal", "low"}

// Assignment modes: give the ticket to one engineer, or offer it to the
// first OfferN candidates and give it to whoever accepts first.
const (
	AssignDirect = "direct"
	AssignOffer  = "offer"
)

// Rule is one compiled rule. It is read-only once loaded.
type Rule struct {
	Name        string
	Description string
	Stage       string
	When        string // expression source; "" for a default rule
	Default     bool   // matches always; ends its stage unless Continue
	Continue    bool   // after matching, go on with the next rule
	Disabled    bool   // kept for checking, never run
	File        string
	Line        int

	cond    *vm.Program
	actions []action

	// load-time only
	fileIdx  int
	src      *source
	nameNode *yaml.Node
}

// Actions returns the action keys of the rule in the order written.
func (r *Rule) Actions() []string {
	out := make([]string, len(r.actions))
	for i, a := range r.actions {
		out[i] = a.key
	}
	return out
}

type compiled struct {
	src  string
	prog *vm.Program
}

// value is an action value: a literal, or an expression (prog != nil).
type value struct {
	lit  any // string, []string, float64, int or time.Time
	prog *vm.Program
	src  string
}

type action struct {
	key  string
	spec *actionSpec
	val  value   // for single-valued actions
	list []value // for list actions
	node *yaml.Node
}

type actionSpec struct {
	kind   kind
	list   bool
	stages []string
	check  func(v any) error // applied to literals at load, to results at run time
}

var actionSpecs = map[string]*actionSpec{
	"format":            {kind: kindString, stages: []string{StageMessage}},
	"client":            {kind: kindString, stages: []string{StageMessage, StageRoute}},
	"object":            {kind: kindString, stages: []string{StageRoute}},
	"category":          {kind: kindString, stages: []string{StageRoute}},
	"priority":          {kind: kindString, stages: []string{StageRoute}, check: oneOf(Priorities)},
	"due":               {kind: kindTime, stages: []string{StageRoute}},
	"sla_hours":         {kind: kindNumber, stages: []string{StageRoute}, check: positive},
	"ignore":            {kind: kindString, stages: []string{StageMessage, StageRoute}},
	"unmatched":         {kind: kindString, stages: []string{StageMessage, StageRoute}},
	"tags":              {kind: kindStrings, list: true, stages: Stages},
	"team":              {kind: kindString, stages: []string{StageAssign}},
	"engineer":          {kind: kindString, stages: []string{StageAssign}},
	"exclude_engineers": {kind: kindStrings, list: true, stages: []string{StageAssign}},
	"prefer_engineers":  {kind: kindStrings, list: true, stages: []string{StageAssign}},
	"assign_mode":       {kind: kindString, stages: []string{StageAssign}, check: oneOf([]string{AssignDirect, AssignOffer})},
	"offer_n":           {kind: kindInt, stages: []string{StageAssign}, check: between(1, 100)},
}

// actionKeys lists the keys allowed under then:, for messages.
var actionKeys = func() []string {
	keys := []string{"continue"}
	for k := range actionSpecs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}()

var ruleKeys = []string{"name", "description", "stage", "when", "default", "continue", "disabled", "then"}

func oneOf(list []string) func(any) error {
	return func(v any) error {
		if s, _ := v.(string); !slices.Contains(list, s) {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(list, ", "))
		}
		return nil
	}
}

func positive(v any) error {
	if f, _ := v.(float64); !(f > 0) || math.IsInf(f, 0) {
		return fmt.Errorf("%v is not a positive number", v)
	}
	return nil
}

func between(lo, hi int) func(any) error {
	return func(v any) error {
		if n, _ := v.(int); n < lo || n > hi {
			return fmt.Errorf("%v is not between %d and %d", v, lo, hi)
		}
		return nil
	}
}

// rule reads one item of rules:.
func (l *loader) rule(n *yaml.Node) {
	r := &Rule{File: l.src.name, Line: n.Line, Stage: StageRoute, fileIdx: l.idx, src: l.src, nameNode: n}
	var when, then *yaml.Node
	get := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(ruleKeys, k.Value) {
			get["?"+k.Value] = k
			continue
		}
		if _, dup := get[k.Value]; dup {
			get["!"+k.Value] = k
			continue
		}
		get[k.Value] = v
	}
	if v := get["name"]; v != nil {
		r.Name = v.Value
		r.nameNode = v
	}
	// The name first: every other problem of the rule is reported with it.
	name := r.Name
	for key, k := range get {
		switch key[0] {
		case '?':
			l.problem(k, name, "", unknownKey("rule key", k.Value, ruleKeys))
		case '!':
			l.problem(k, name, "", fmt.Sprintf("%s given twice", k.Value))
		}
	}
	switch {
	case get["name"] == nil:
		l.problem(n, "", "", "rule has no name")
	case get["name"].Kind != yaml.ScalarNode || strings.TrimSpace(r.Name) == "":
		l.problem(get["name"], "", "", "rule name must be a non-empty string")
	case l.rules[r.Name] != nil:
		first := l.rules[r.Name]
		l.problem(get["name"], name, "", fmt.Sprintf("duplicate rule name (first at %s line %d)", first.File, first.Line))
	default:
		l.rules[r.Name] = r
	}
	if v := get["description"]; v != nil {
		r.Description = v.Value
	}
	if v := get["stage"]; v != nil {
		r.Stage = v.Value
		if !slices.Contains(Stages, r.Stage) {
			l.problem(v, name, "", fmt.Sprintf("unknown stage %q (one of %s)", v.Value, strings.Join(Stages, ", ")))
		}
	}
	r.Default = l.boolKey(get["default"], name)
	r.Continue = l.boolKey(get["continue"], name)
	r.Disabled = l.boolKey(get["disabled"], name)
	when, then = get["when"], get["then"]

	switch {
	case r.Default && when != nil:
		l.problem(when, name, "", "a default rule has no when: it always matches")
	case !r.Default && when == nil:
		l.problem(n, name, "", "rule has no when (write default: true for a rule that always matches)")
	case when != nil && when.Kind != yaml.ScalarNode:
		l.problem(when, name, "", "when must be an expression (a string)")
	case when != nil:
		r.When = when.Value
		if c := l.compileExpr(when, 0, kindBool, name, ""); c != nil {
			r.cond = c.prog
		}
	}

	if then != nil {
		l.actions(r, then)
	}
	if !r.Disabled {
		l.set.rules = append(l.set.rules, r)
		if l.set.stages == nil {
			l.set.stages = map[string][]*Rule{}
		}
		l.set.stages[r.Stage] = append(l.set.stages[r.Stage], r)
	}
}

func (l *loader) boolKey(v *yaml.Node, rule string) bool {
	if v == nil {
		return false
	}
	var b bool
	if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
		l.problem(v, rule, "", fmt.Sprintf("expected true or false, got %q", v.Value))
	}
	return b
}

// actions reads then:.
func (l *loader) actions(r *Rule, then *yaml.Node) {
	if then.Kind == yaml.ScalarNode && then.Tag == "!!null" {
		return
	}
	if then.Kind != yaml.MappingNode {
		l.problem(then, r.Name, "", "then must be a mapping of actions")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(then.Content); i += 2 {
		k, v := then.Content[i], then.Content[i+1]
		if seen[k.Value] {
			l.problem(k, r.Name, "", fmt.Sprintf("action %q given twice", k.Value))
			continue
		}
		seen[k.Value] = true
		if k.Value == "continue" {
			if l.boolKey(v, r.Name) {
				r.Continue = true
			}
			continue
		}
		spec := actionSpecs[k.Value]
		if spec == nil {
			l.problem(k, r.Name, "", unknownKey("action", k.Value, actionKeys))
			continue
		}
		if slices.Contains(Stages, r.Stage) && !slices.Contains(spec.stages, r.Stage) {
			l.problem(k, r.Name, "", fmt.Sprintf("action %q is not allowed in stage %s (only in %s)", k.Value, r.Stage, strings.Join(spec.stages, ", ")))
			continue
		}
		a := action{key: k.Value, spec: spec, node: v}
		ok := true
		if spec.list && v.Kind == yaml.SequenceNode {
			for _, item := range v.Content {
				val, good := l.value(r, a.key, spec, item)
				ok = ok && good
				a.list = append(a.list, val)
			}
		} else {
			val, good := l.value(r, a.key, spec, v)
			ok = good
			if spec.list {
				a.list = []value{val}
			} else {
				a.val = val
			}
		}
		if ok {
			r.actions = append(r.actions, a)
		}
	}
}

// value reads one action value: "=expr" or a literal of the action's kind.
func (l *loader) value(r *Rule, key string, spec *actionSpec, v *yaml.Node) (value, bool) {
	if v.Kind != yaml.ScalarNode {
		l.problem(v, r.Name, "", fmt.Sprintf("%s: expected a single value", key))
		return value{}, false
	}
	if v.Tag == "!!str" && strings.HasPrefix(v.Value, "=") {
		c := l.compileExpr(v, 1, spec.kind, r.Name, "")
		if c == nil {
			return value{}, false
		}
		return value{prog: c.prog, src: c.src}, true
	}
	if v.Tag == "!!null" {
		l.problem(v, r.Name, "", fmt.Sprintf("%s: no value", key))
		return value{}, false
	}
	var lit any
	var err error
	switch spec.kind {
	case kindString, kindStrings:
		lit = v.Value
		if key == "ignore" || key == "unmatched" {
			switch v.Tag {
			case "!!bool":
				if b, _ := strconv.ParseBool(v.Value); b {
					lit = "rule " + r.Name
				} else {
					err = fmt.Errorf("give a reason, or remove the action")
				}
			}
		}
		if lit == "" {
			err = fmt.Errorf("empty value")
		}
	case kindTime:
		lit, err = time.Parse(time.RFC3339, v.Value)
		if err != nil {
			err = fmt.Errorf("expected an RFC 3339 time (2026-01-31T18:00:00+03:00) or =expression, got %q", v.Value)
		}
	case kindNumber:
		var f float64
		f, err = strconv.ParseFloat(v.Value, 64)
		lit = f
		if err != nil {
			err = fmt.Errorf("expected a number, got %q", v.Value)
		}
	case kindInt:
		lit, err = strconv.Atoi(v.Value)
		if err != nil {
			err = fmt.Errorf("expected a whole number, got %q", v.Value)
		}
	}
	if err == nil && spec.check != nil {
		err = spec.check(lit)
	}
	if err != nil {
		l.problem(v, r.Name, "", fmt.Sprintf("%s: %v", key, err))
		return value{}, false
	}
	return value{lit: lit}, true
}

// eval returns the value of v for env, converted to the action's kind.
func (v value) eval(spec *actionSpec, env *Env) (any, error) {
	if v.prog == nil {
		return v.lit, nil
	}
	out, err := run(v.prog, env)
	if err != nil {
		return nil, err
	}
	switch spec.kind {
	case kindString:
		s, ok := out.(string)
		if !ok {
			return nil, fmt.Errorf("=%s: got %T, want a string", v.src, out)
		}
		return s, nil
	case kindTime:
		switch t := out.(type) {
		case time.Time:
			return t, nil
		case string:
			if t == "" {
				return time.Time{}, nil
			}
			tt, err := time.Parse(time.RFC3339, t)
			if err != nil {
				return nil, fmt.Errorf("=%s: %q is not an RFC 3339 time", v.src, t)
			}
			return tt, nil
		}
		return nil, fmt.Errorf("=%s: got %T, want a time", v.src, out)
	case kindNumber:
		switch n := out.(type) {
		case int:
			return float64(n), nil
		case int64:
			return float64(n), nil
		case float64:
			return n, nil
		}
		return nil, fmt.Errorf("=%s: got %T, want a number", v.src, out)
	case kindInt:
		switch n := out.(type) {
		case int:
			return n, nil
		case int64:
			return int(n), nil
		case float64:
			if n == math.Trunc(n) {
				return int(n), nil
			}
		}
		return nil, fmt.Errorf("=%s: got %v, want a whole number", v.src, out)
	case kindStrings:
		if s, ok := out.(string); ok {
			if s == "" {
				return []string(nil), nil
			}
			return []string{s}, nil
		}
		list, err := stringList(out)
		if err != nil {
			return nil, fmt.Errorf("=%s: %w", v.src, err)
		}
		return list, nil
	}
	return out, nil
}
