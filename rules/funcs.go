package rules

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
)

// MaxRegexInput is how much of a string the regular-expression helpers look
// at. Go's regexp runs in linear time, so this bounds the cost of one match;
// a work order's useful text fits well within it.
const MaxRegexInput = 64 << 10

// regexCacheSize bounds the compiled patterns kept by one Set. Constant
// patterns are compiled at load; the rest are built from data at run time
// and could otherwise grow without end.
const regexCacheSize = 1024

// regexCache holds compiled patterns by source text.
type regexCache struct {
	mu sync.RWMutex
	m  map[string]*regexp.Regexp
}

func newRegexCache() *regexCache {
	return &regexCache{m: make(map[string]*regexp.Regexp)}
}

func (c *regexCache) get(pattern string) (*regexp.Regexp, error) {
	c.mu.RLock()
	re, ok := c.m[pattern]
	c.mu.RUnlock()
	if ok {
		return re, nil
	}
	if len(pattern) > MaxExprLen {
		// Only a pattern built from data can be this long; compiling and
		// running it would cost more than any budget allows.
		return nil, fmt.Errorf("pattern is too long (%d bytes, at most %d)", len(pattern), MaxExprLen)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= regexCacheSize {
		// Dropping everything is crude but keeps the bound without
		// bookkeeping on the hot path; constant patterns come back on
		// their next use.
		clear(c.m)
	}
	c.m[pattern] = re
	c.mu.Unlock()
	return re, nil
}

func capInput(s string) string {
	if len(s) > MaxRegexInput {
		return s[:MaxRegexInput]
	}
	return s
}

// functions returns the helper functions of the expression language, with
// their types so that misuse fails at compile time. Functions that read the
// environment (has_attachment, domain_in) are written without it in rules;
// envPatcher adds the argument.
func functions(cache *regexCache) []expr.Option {
	return []expr.Option{
		expr.Function("domain", func(p ...any) (any, error) {
			return emailDomain(p[0].(string)), nil
		}, new(func(string) string)),

		// The patcher adds $env: a match is the costly step of most loops,
		// so the time budget is checked before each.
		expr.Function("re", func(p ...any) (any, error) {
			if len(p) > 2 {
				if err := meterOf(p[2]).tick(); err != nil {
					return nil, err
				}
			}
			re, err := cache.get(p[0].(string))
			if err != nil {
				return nil, err
			}
			return re.MatchString(capInput(p[1].(string))), nil
		}, new(func(pattern, s string, env any) bool)),

		expr.Function("normalize_address", func(p ...any) (any, error) {
			return normalizeAddress(p[0].(string)), nil
		}, new(func(string) string)),

		expr.Function("normalize_phone", func(p ...any) (any, error) {
			return normalizePhone(p[0].(string)), nil
		}, new(func(string) string)),

		expr.Function("has_attachment", func(p ...any) (any, error) {
			return hasAttachment(p[0].([]Attachment), p[1].(string)), nil
		}, new(func([]Attachment, string) bool)),

		expr.Function("domain_in", func(p ...any) (any, error) {
			list, err := stringList(p[1])
			if err != nil {
				return nil, fmt.Errorf("domain_in: %w", err)
			}
			return inChunks(list, p[2:], func(l []string) bool { return domainIn(p[0].(string), l) })
		}, // the patcher's 3-argument forms first: expr reports the last
			// form's error when none fits.
			new(func(string, []string, any) bool), new(func(string, []any, any) bool),
			new(func(string, []string) bool), new(func(string, []any) bool)),

		expr.Function("contains_any", func(p ...any) (any, error) {
			list, err := stringList(p[1])
			if err != nil {
				return nil, fmt.Errorf("contains_any: %w", err)
			}
			return inChunks(list, p[2:], func(l []string) bool { return containsAny(p[0].(string), l) })
		}, // the patcher's 3-argument forms first: expr reports the last
			// form's error when none fits.
			new(func(string, []string, any) bool), new(func(string, []any, any) bool),
			new(func(string, []string) bool), new(func(string, []any) bool)),

		expr.Function("workdays_between", func(p ...any) (any, error) {
			return workdaysBetween(p[0].(time.Time), p[1].(time.Time)), nil
		}, new(func(a, b time.Time) int)),

		expr.Function("add_workdays", func(p ...any) (any, error) {
			return addWorkdays(p[0].(time.Time), p[1].(int)), nil
		}, new(func(t time.Time, n int) time.Time)),

		expr.Function("hour", func(p ...any) (any, error) {
			return p[0].(time.Time).Hour(), nil
		}, new(func(time.Time) int)),

		expr.Function("weekday", func(p ...any) (any, error) {
			return isoWeekday(p[0].(time.Time)), nil
		}, new(func(time.Time) int)),
	}
}

// envPatcher rewrites an expression before type checking:
//
//   - `s matches "p"` becomes `re("p", s)`, so the operator shares the
//     bounded pattern cache and the input cap of re();
//   - has_attachment(glob) and domain_in(list) get the environment value
//     they read (attachments, from_domain) as a first argument;
//   - constant patterns are compiled now: a bad one is a load error, and the
//     cache is warm for the first message;
//   - the Budget: every closure body (the predicate of any, all, filter,
//     map, count, reduce...) starts with _tick($env), which stops the
//     evaluation once its time is up; re() and the builtins that allocate
//     (meteredBuiltins) get $env to find the evaluation's meter; string +
//     becomes _concat or _add, which charge the bytes they build;
//   - a constant repeat count past the memory budget is a load error.
//
// Without meter (the first pass of compile) only the budget's load-time
// check is made.
type envPatcher struct {
	cache    *regexCache
	meter    bool
	problems []exprProblem
}

func (p *envPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.PredicateNode:
		if !p.meter {
			return
		}
		if seq, ok := n.Node.(*ast.SequenceNode); ok && len(seq.Nodes) == 2 && isCall(seq.Nodes[0], fnTick) {
			return // patched already
		}
		tick := &ast.CallNode{Callee: ident(fnTick, n), Arguments: []ast.Node{ident("$env", n)}}
		tick.SetLocation(n.Location())
		seq := &ast.SequenceNode{Nodes: []ast.Node{tick, n.Node}}
		seq.SetLocation(n.Node.Location())
		n.Node = seq
	case *ast.BinaryNode:
		switch n.Operator {
		case "matches":
			p.checkPattern(n.Right)
			call := &ast.CallNode{
				Callee:    ident("re", n),
				Arguments: []ast.Node{n.Right, n.Left, ident("$env", n)},
			}
			ast.Patch(node, call)
		case "+":
			if !p.meter {
				return
			}
			l, r := stringish(n.Left.Type()), stringish(n.Right.Type())
			if l == 0 || r == 0 {
				return // a number or a list: no string is built
			}
			fn := fnAdd
			if l == 2 && r == 2 {
				fn = fnConcat
			}
			ast.Patch(node, &ast.CallNode{
				Callee:    ident(fn, n),
				Arguments: []ast.Node{ident("$env", n), n.Left, n.Right},
			})
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if slices.Contains(meteredBuiltins, id.Value) {
			if len(n.Arguments) > 0 && isIdent(n.Arguments[0], "$env") {
				return // patched already
			}
			if id.Value == "repeat" && len(n.Arguments) == 2 {
				p.checkRepeat(n.Arguments[0], n.Arguments[1])
			}
			if !p.meter {
				return
			}
			recall(node, n, append([]ast.Node{ident("$env", n)}, n.Arguments...))
			return
		}
		switch {
		case id.Value == "re" && len(n.Arguments) == 2:
			n.Arguments = append(n.Arguments, ident("$env", n))
			p.checkPattern(n.Arguments[0])
		case id.Value == "has_attachment" && len(n.Arguments) == 1:
			n.Arguments = append([]ast.Node{ident("attachments", n)}, n.Arguments...)
		case id.Value == "domain_in" && len(n.Arguments) == 1:
			n.Arguments = append([]ast.Node{ident("from_domain", n)}, n.Arguments...)
		}
		// Their lists may be built at run time: they check the time as
		// they go.
		if p.meter && (id.Value == "domain_in" || id.Value == "contains_any") &&
			len(n.Arguments) == 2 {
			recall(node, n, append(n.Arguments, ident("$env", n)))
		}
	}
}

// recall replaces call n at node by a call of the same function with args.
// The node must be new: the checker keeps the type (and the overload) it
// found for a call and would not look at the new arguments.
func recall(node *ast.Node, n *ast.CallNode, args []ast.Node) {
	ast.Patch(node, &ast.CallNode{Callee: ident(n.Callee.(*ast.IdentifierNode).Value, n), Arguments: args})
}

// stringish says what the checker knows of an operand of +: 2 a string,
// 1 unknown (an interface: #acc in reduce, a map of any), 0 anything else.
func stringish(t reflect.Type) int {
	switch {
	case t == nil || t.Kind() == reflect.Interface:
		return 1
	case t.Kind() == reflect.String:
		return 2
	}
	return 0
}

func isIdent(n ast.Node, name string) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == name
}

func isCall(n ast.Node, name string) bool {
	c, ok := n.(*ast.CallNode)
	return ok && isIdent(c.Callee, name)
}

// checkRepeat refuses a repeat whose constant count (with a constant
// string, its length) already passes the default memory budget: it could
// never succeed.
func (p *envPatcher) checkRepeat(s, count ast.Node) {
	c, ok := count.(*ast.IntegerNode)
	if !ok {
		return
	}
	size := int64(1)
	if sn, ok := s.(*ast.StringNode); ok {
		size = int64(max(len(sn.Value), 1))
	}
	if n := mul(size, int64(c.Value)); n < 0 || n > DefaultBudget.Memory {
		p.problems = append(p.problems, exprProblem{
			from: count.Location().From,
			msg:  fmt.Sprintf("repeat count %d is past the memory budget of a rule (%s)", c.Value, byteSize(DefaultBudget.Memory)),
		})
	}
}

func ident(name string, at ast.Node) *ast.IdentifierNode {
	id := &ast.IdentifierNode{Value: name}
	id.SetLocation(at.Location())
	return id
}

func (p *envPatcher) checkPattern(n ast.Node) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		return
	}
	if _, err := p.cache.get(s.Value); err != nil {
		p.problems = append(p.problems, exprProblem{
			from: n.Location().From,
			msg:  "bad regular expression: " + strings.TrimPrefix(err.Error(), "error parsing regexp: "),
		})
	}
}

// inChunks runs test over list a thousand items at a time, checking the
// time budget between them: a list built at run time may be long. env is
// the function's trailing $env argument, if the patcher gave one.
func inChunks(list []string, env []any, test func([]string) bool) (any, error) {
	const chunk = 1000
	for len(list) > 0 {
		n := min(len(list), chunk)
		if test(list[:n]) {
			return true, nil
		}
		list = list[n:]
		if len(list) > 0 && len(env) > 0 {
			if err := meterOf(env[0]).tick(); err != nil {
				return nil, err
			}
		}
	}
	return false, nil
}

func stringList(v any) ([]string, error) {
	switch l := v.(type) {
	case []string:
		return l, nil
	case []any:
		out := make([]string, len(l))
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("list item %d is %T, not a string", i, x)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list of strings, got %T", v)
}

// emailDomain returns the lower-case domain of an address, "" without one.
// It accepts "Name <a@b>" forms.
func emailDomain(email string) string {
	if i := strings.LastIndexByte(email, '<'); i >= 0 {
		email = email[i+1:]
	}
	email = strings.TrimRight(strings.TrimSpace(email), ">")
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
}

// domainIn reports whether domain is one of list or a subdomain of one.
func domainIn(domain string, list []string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" {
		return false
	}
	for _, d := range list {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d == "" {
			continue
		}
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// containsAny reports whether s contains one of the words, ignoring case.
func containsAny(s string, words []string) bool {
	ls := strings.ToLower(s)
	for _, w := range words {
		if w != "" && strings.Contains(ls, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// hasAttachment reports whether an attachment matches glob (path.Match
// syntax, case-insensitive). A glob with a "/" is matched against the MIME
// type ("application/pdf", "image/*"), any other against the file name.
func hasAttachment(as []Attachment, glob string) bool {
	glob = strings.ToLower(glob)
	byType := strings.Contains(glob, "/")
	for _, a := range as {
		s := strings.ToLower(a.Name)
		if byType {
			s = strings.ToLower(a.Type)
		}
		if ok, _ := path.Match(glob, s); ok {
			return true
		}
	}
	return false
}

// normalizeAddress is routing's canonical key of an address
// ("city|street type|street|house"), so that rules compare addresses the way
// object matching does.
func normalizeAddress(s string) string {
	return routing.NormalizeAddress(s).Key()
}

// normalizePhone is the E.164 form extraction uses for Fields.Phones.
func normalizePhone(s string) string {
	return parsers.NormalizePhone(s)
}

// isoWeekday numbers Monday 1 to Sunday 7.
func isoWeekday(t time.Time) int {
	if wd := t.Weekday(); wd != time.Sunday {
		return int(wd)
	}
	return 7
}

func isWorkday(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// workdaysBetween counts the Monday-to-Friday dates after a's date up to and
// including b's date (negative when b is before a). Holidays are not known
// to rules.
func workdaysBetween(a, b time.Time) int {
	sign := 1
	if b.Before(a) {
		a, b, sign = b, a, -1
	}
	b = b.In(a.Location())
	da := time.Date(a.Year(), a.Month(), a.Day(), 12, 0, 0, 0, a.Location())
	db := time.Date(b.Year(), b.Month(), b.Day(), 12, 0, 0, 0, a.Location())
	days := int(db.Sub(da).Round(24*time.Hour) / (24 * time.Hour))
	weeks, rest := days/7, days%7
	n := weeks * 5
	d := da
	for range rest {
		d = d.AddDate(0, 0, 1)
		if isWorkday(d) {
			n++
		}
	}
	return sign * n
}

// addWorkdays moves t by n Monday-to-Friday days, keeping the time of day
// (backwards for negative n). A start on a weekend counts from that weekend.
func addWorkdays(t time.Time, n int) time.Time {
	if n == 0 {
		return t
	}
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	// From a weekend, start at the workday before it in the direction of
	// travel: Saturday + 1 is Monday, Saturday - 1 is Friday.
	for !isWorkday(t) {
		t = t.AddDate(0, 0, -step)
	}
	// Whole weeks first, so a large n costs no more than a small one.
	t = t.AddDate(0, 0, step*7*(n/5))
	for n %= 5; n > 0; {
		t = t.AddDate(0, 0, step)
		if isWorkday(t) {
			n--
		}
	}
	return t
}
