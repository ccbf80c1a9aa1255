package rules

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Limits on one expression, checked at load. A rule is a condition a person
// can read; anything past these is a mistake or an attack.
const (
	// MaxExprNodes bounds the syntax tree of one expression.
	MaxExprNodes = 1000
	// MaxExprLen bounds the source text of one expression, in bytes.
	MaxExprLen = 16 << 10
	// MaxExprDepth bounds the nesting of brackets in one expression.
	MaxExprDepth = 32
)

// kind is the type an expression must evaluate to.
type kind int

const (
	kindBool    kind = iota
	kindString       // string
	kindTime         // time.Time, or an RFC 3339 string
	kindNumber       // int or float
	kindInt          // int
	kindStrings      // a list of strings, or one string
)

func (k kind) String() string {
	return [...]string{"a boolean", "a string", "a time", "a number", "an integer", "a list of strings"}[k]
}

// exprProblem is a compile error inside an expression; from is the rune
// offset in the expression, -1 when expr gave no position.
type exprProblem struct {
	from int
	msg  string
}

// compiler compiles the expressions of one Set; they share its pattern cache.
type compiler struct {
	cache   *regexCache
	funcs   []expr.Option
	metered []expr.Option // funcs and the metered builtins
}

func newCompiler() *compiler {
	c := &compiler{cache: newRegexCache()}
	c.funcs = functions(c.cache)
	c.metered = append(functions(c.cache), budgetFunctions()...)
	return c
}

var (
	timeType = reflect.TypeFor[time.Time]()
	quoteRe  = regexp.MustCompile(`^(unknown name|unknown func|unknown method|unknown field) (\S+)`)
	fieldRe  = regexp.MustCompile(`^type rules\.(\w+) has no (field|method) (\w+)`)
)

// compile checks src as written, then compiles it with the budget's
// metering in place. The first pass gives the messages a person can act
// on: expr checks the arguments of its builtins more closely than those of
// functions (an unknown name inside upper() would go unreported), and the
// metered versions of lower, join... are functions.
func (c *compiler) compile(src string, want kind) (*vm.Program, *exprProblem) {
	if p := precheck(src); p != nil {
		return nil, p
	}
	if _, p := c.build(src, want, false); p != nil {
		return nil, p
	}
	return c.build(src, want, true)
}

func (c *compiler) build(src string, want kind, metered bool) (*vm.Program, *exprProblem) {
	patcher := &envPatcher{cache: c.cache, meter: metered}
	funcs := c.funcs
	if metered {
		funcs = c.metered
	}
	opts := make([]expr.Option, 0, len(funcs)+5)
	opts = append(opts,
		expr.Env(Env{}),
		// now() would read the clock; rules read the env's now, which a
		// backtest sets to the original processing time.
		expr.DisableBuiltin("now"),
		expr.MaxNodes(MaxExprNodes),
		expr.Patch(patcher),
	)
	opts = append(opts, funcs...)
	switch want {
	case kindBool:
		opts = append(opts, expr.AsBool())
	case kindString:
		opts = append(opts, expr.AsKind(reflect.String))
	}
	prog, err := expr.Compile(src, opts...)
	if len(patcher.problems) > 0 {
		return nil, &patcher.problems[0]
	}
	if err != nil {
		return nil, fromExprError(err)
	}
	if t := prog.Node().Type(); t != nil && t.Kind() != reflect.Interface && !typeFits(t, want) {
		return nil, &exprProblem{from: -1, msg: fmt.Sprintf("expected %s, but got %s", want, t)}
	}
	return prog, nil
}

func typeFits(t reflect.Type, want kind) bool {
	switch want {
	case kindTime:
		return t == timeType || t.Kind() == reflect.String
	case kindNumber:
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			return true
		}
		return false
	case kindInt:
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return true
		}
		return false
	case kindStrings:
		if t.Kind() == reflect.String {
			return true
		}
		if t.Kind() == reflect.Slice {
			e := t.Elem().Kind()
			return e == reflect.String || e == reflect.Interface
		}
		return false
	}
	return true
}

func fromExprError(err error) *exprProblem {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &exprProblem{from: -1, msg: err.Error()}
	}
	p := &exprProblem{from: -1, msg: cleanMessage(fe.Message)}
	if fe.Snippet != "" {
		p.from = fe.From
	}
	return p
}

func cleanMessage(msg string) string {
	msg = strings.TrimSpace(msg)
	if m := fieldRe.FindStringSubmatch(msg); m != nil {
		// Say it with the names rules use: fields, client, call...
		return fmt.Sprintf("no %s %q in %s", m[2], m[3], strings.ToLower(m[1])) + msg[len(m[0]):]
	}
	return quoteRe.ReplaceAllString(msg, `$1 "$2"`)
}

// precheck refuses expressions whose size or nesting would make parsing
// itself costly, before expr sees them.
func precheck(src string) *exprProblem {
	if len(src) > MaxExprLen {
		return &exprProblem{from: -1, msg: fmt.Sprintf("expression is too long (%d bytes, at most %d)", len(src), MaxExprLen)}
	}
	depth := 0
	var quote rune
	escaped := false
	for off, r := range src {
		switch {
		case quote != 0:
			switch {
			case escaped:
				escaped = false
			case r == '\\' && quote != '`':
				escaped = true
			case r == quote:
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '(' || r == '[' || r == '{':
			depth++
			if depth > MaxExprDepth {
				return &exprProblem{from: utf8.RuneCountInString(src[:off]), msg: fmt.Sprintf("expression is nested too deeply (more than %d brackets)", MaxExprDepth)}
			}
		case r == ')' || r == ']' || r == '}':
			depth--
		}
	}
	return nil
}

// vms reuses expression machines between runs: a run allocates its stack
// otherwise. A vm.VM is not safe for concurrent use; the pool hands each
// goroutine its own.
var vms = sync.Pool{New: func() any { return newVM() }}

// MemoryBudget bounds what one evaluation may allocate in expr's units
// (roughly, elements of the lists it builds and loop iterations); past it
// the evaluation stops with an error. A tenth of expr's default: rules look
// at one message, not at data sets.
const MemoryBudget = 100_000

func newVM() *vm.VM { return &vm.VM{MemoryBudget: MemoryBudget} }

// run evaluates a program within the budget of env's meter (the default
// budget, from now, if env has none). A panic in a helper becomes an
// error, so a broken rule never takes the pipeline down.
func run(prog *vm.Program, env *Env) (out any, err error) {
	if env.meter == nil {
		env = metered(env, Budget{})
	}
	m := vms.Get().(*vm.VM)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
			m = newVM() // its state is unknown; do not reuse it
		}
		// A pooled machine would otherwise keep the last run's values
		// (a let-bound list, an 8 MiB string) alive until its next run.
		clear(m.Stack[:cap(m.Stack)])
		clear(m.Scopes[:cap(m.Scopes)])
		clear(m.Variables)
		vms.Put(m)
	}()
	return m.Run(prog, env)
}

// runError is a run-time error as the trace shows it: one line.
func runError(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		if fe.Snippet != "" {
			return fmt.Sprintf("%s (col %d)", cleanMessage(fe.Message), fe.Column+1)
		}
		return cleanMessage(fe.Message)
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
