package rules

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
)

// Budget bounds one evaluation: a rule's when and its action values
// together, or one format's match expression. Past either bound the
// evaluation stops, the rule counts as not matching and the trace says
// which budget it ran out of.
type Budget struct {
	// Time is the wall time the evaluation may take. It is checked on
	// every iteration of a loop (any, all, filter, map, count, reduce...)
	// and before every regular-expression match, so a rule that loops
	// over a large range stops soon after its time is up.
	Time time.Duration
	// Memory is how many bytes the strings and lists the evaluation builds
	// may add up to (repeat, join, replace, split, lower, upper, string,
	// toJSON, toBase64, concat, flatten and string +). It is charged
	// before the allocation, so a request past it allocates nothing.
	// expr's own MemoryBudget (elements of ranges, literals and sorted
	// lists) applies as well.
	Memory int64
}

// DefaultBudget is the budget of a Set whose Budget is zero.
//
// 50 ms is a hundred times what a reasonable rule takes on a large mail
// (see bench_test.go) and short enough that a runaway rule does not stall
// a stage noticeably. 8 MiB is forty passes over a 200 KB body, more than
// any rule that reads a mail needs, and small enough that a few stages
// running at once stay far from the process's memory.
var DefaultBudget = Budget{Time: 50 * time.Millisecond, Memory: 8 << 20}

// Budget kinds, as in TraceEntry.Budget and BudgetError.Kind.
const (
	BudgetTime   = "time"
	BudgetMemory = "memory"
)

// ErrBudgetExceeded is matched (errors.Is) by every *BudgetError.
var ErrBudgetExceeded = errors.New("budget exceeded")

// BudgetError is an evaluation stopped by its Budget.
type BudgetError struct {
	Kind  string // BudgetTime or BudgetMemory
	Limit string // the budget, as a person reads it
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%s budget exceeded (%s)", e.Kind, e.Limit)
}

// Is makes errors.Is(err, ErrBudgetExceeded) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExceeded }

// meter is the running account of one evaluation. It is used by one
// goroutine at a time: Evaluate and MatchFormat make one per rule or format.
type meter struct {
	budget   Budget
	deadline time.Time // monotonic
	left     int64     // bytes
}

func newMeter(b Budget) *meter {
	m := &meter{}
	m.reset(b)
	return m
}

// reset starts a new evaluation with budget b.
func (m *meter) reset(b Budget) {
	if b.Time <= 0 {
		b.Time = DefaultBudget.Time
	}
	if b.Memory <= 0 {
		b.Memory = DefaultBudget.Memory
	}
	*m = meter{budget: b, deadline: time.Now().Add(b.Time), left: b.Memory}
}

// metered returns a shallow copy of env carrying a meter: the metered
// functions find their budget through $env, and an Env the caller shares
// between goroutines is never written to. Evaluate makes one per call and
// resets its meter for each rule, rather than copying the Env per rule.
func metered(env *Env, b Budget) *Env {
	e := *env
	e.meter = newMeter(b)
	return &e
}

// tick fails once the time is up.
func (m *meter) tick() error {
	if time.Now().After(m.deadline) {
		return &BudgetError{Kind: BudgetTime, Limit: m.budget.Time.String()}
	}
	return nil
}

// charge takes n bytes from the budget, failing (and taking nothing) when
// fewer are left. n < 0 stands for an overflowing size.
func (m *meter) charge(n int64) error {
	if n < 0 || n > m.left {
		return &BudgetError{Kind: BudgetMemory, Limit: byteSize(m.budget.Memory)}
	}
	m.left -= n
	return m.tick()
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// budgetKind says which budget err is about: BudgetTime, BudgetMemory
// (ours or expr's element budget), "" for any other error.
func budgetKind(err error) string {
	var be *BudgetError
	if errors.As(err, &be) {
		return be.Kind
	}
	if strings.Contains(err.Error(), "memory budget exceeded") {
		return BudgetMemory
	}
	return ""
}

// meterOf is the meter of the evaluation env belongs to. run sets it on
// its private copy of the Env; an Env the caller holds has none, and a
// function called without one (a test calling it directly) is unmetered.
func meterOf(v any) *meter {
	if e, ok := v.(*Env); ok && e.meter != nil {
		return e.meter
	}
	return newMeter(Budget{Time: time.Hour, Memory: 1 << 62})
}

// elemSize is what one element of a list built at run time is charged: an
// interface value.
const elemSize = 16

// Internal function names the patcher calls; a rule may write them but
// gains nothing by it.
const (
	fnTick   = "_tick"
	fnConcat = "_concat"
	fnAdd    = "_add"
)

// meteredBuiltins are expr builtins replaced by versions that charge the
// meter before they allocate; the patcher gives them $env as their first
// argument.
var meteredBuiltins = []string{
	"repeat", "join", "replace", "split", "splitAfter", "lower", "upper",
	"string", "toJSON", "toBase64", "fromBase64", "concat", "flatten",
}

// original calls expr's own implementation of a builtin.
func original(name string, args ...any) (any, error) {
	f := builtin.Builtins[builtin.Index[name]]
	switch {
	case f.Fast != nil:
		return f.Fast(args[0]), nil
	case f.Func != nil:
		return f.Func(args...)
	case f.Safe != nil:
		out, _, err := f.Safe(args...)
		return out, err
	}
	return nil, fmt.Errorf("%s: no implementation", name)
}

// meteredBuiltin wraps a builtin: cost gives the bytes it will allocate for args
// (without the $env argument), or an error.
func meteredBuiltin(name string, cost func(args []any) (int64, error), types ...any) expr.Option {
	return expr.Function(name, func(p ...any) (any, error) {
		m := meterOf(p[0])
		args := p[1:]
		n, err := cost(args)
		if err != nil {
			return nil, err
		}
		if err := m.charge(n); err != nil {
			return nil, err
		}
		return original(name, args...)
	}, types...)
}

// mul is a*b, -1 when it overflows.
func mul(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	if a != 0 && b > (1<<62)/a {
		return -1
	}
	return a * b
}

func str(v any) string { s, _ := v.(string); return s }

// budgetFunctions are the metered builtins and the internal functions the
// patcher inserts.
func budgetFunctions() []expr.Option {
	opts := make([]expr.Option, 0, 2*len(meteredBuiltins)+3)
	for _, name := range meteredBuiltins {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	sameLen := func(args []any) (int64, error) { return int64(len(str(args[0]))), nil }
	splitCost := func(args []any) (int64, error) {
		s, sep := str(args[0]), str(args[1])
		n := int64(strings.Count(s, sep) + 1)
		if sep == "" {
			n = int64(utf8.RuneCountInString(s))
		}
		if len(args) > 2 {
			if k := int64(runtime.ToInt(args[2])); k >= 0 && k < n {
				n = k
			}
		}
		return mul(n, elemSize), nil
	}
	opts = append(opts,
		expr.Function(fnTick, func(p ...any) (any, error) {
			if err := meterOf(p[0]).tick(); err != nil {
				return nil, err
			}
			return true, nil
		}, new(func(any) bool)),

		expr.Function(fnConcat, func(p ...any) (any, error) {
			a, b := p[1].(string), p[2].(string)
			if err := meterOf(p[0]).charge(int64(len(a)) + int64(len(b))); err != nil {
				return nil, err
			}
			return a + b, nil
		}, new(func(any, string, string) string)),

		// _add is + where the checker cannot tell strings from numbers
		// (#acc in reduce): strings are charged, the rest is expr's +.
		expr.Function(fnAdd, func(p ...any) (any, error) {
			a, aok := p[1].(string)
			b, bok := p[2].(string)
			if aok && bok {
				if err := meterOf(p[0]).charge(int64(len(a)) + int64(len(b))); err != nil {
					return nil, err
				}
				return a + b, nil
			}
			return runtime.Add(p[1], p[2]), nil
		}),

		meteredBuiltin("repeat", func(args []any) (int64, error) {
			n := runtime.ToInt(args[1])
			if n < 0 {
				return 0, fmt.Errorf("invalid argument for repeat (expected positive integer, got %d)", n)
			}
			return mul(int64(len(str(args[0]))), int64(n)), nil
		}, new(func(any, string, int) string)),

		meteredBuiltin("join", func(args []any) (int64, error) {
			glue := int64(0)
			if len(args) > 1 {
				glue = int64(len(str(args[1])))
			}
			var total int64
			add := func(s string) { total += int64(len(s)) + glue }
			switch l := args[0].(type) {
			case []string:
				for _, s := range l {
					add(s)
				}
			case []any:
				for _, x := range l {
					add(str(x))
				}
				total += mul(int64(len(l)), elemSize) // the []string join builds
			}
			return total, nil
		},
			new(func(any, []string, string) string),
			new(func(any, []string) string),
			new(func(any, []any, string) string),
			new(func(any, []any) string),
		),

		meteredBuiltin("replace", func(args []any) (int64, error) {
			s, old, repl := str(args[0]), str(args[1]), str(args[2])
			n := int64(strings.Count(s, old))
			if len(args) > 3 {
				if k := int64(runtime.ToInt(args[3])); k >= 0 && k < n {
					n = k
				}
			}
			grow := mul(n, int64(max(len(repl)-len(old), 0)))
			if grow < 0 {
				return -1, nil
			}
			return int64(len(s)) + grow, nil
		},
			new(func(any, string, string, string) string),
			new(func(any, string, string, string, int) string),
		),

		meteredBuiltin("split", splitCost,
			new(func(any, string, string) []string),
			new(func(any, string, string, int) []string),
		),
		meteredBuiltin("splitAfter", splitCost,
			new(func(any, string, string) []string),
			new(func(any, string, string, int) []string),
		),

		// ToUpper and ToLower can grow a string by half in the worst case
		// (some runes change their UTF-8 length).
		meteredBuiltin("lower", func(args []any) (int64, error) { return 3 * int64(len(str(args[0]))) / 2, nil }, new(func(any, string) string)),
		meteredBuiltin("upper", func(args []any) (int64, error) { return 3 * int64(len(str(args[0]))) / 2, nil }, new(func(any, string) string)),

		meteredBuiltin("toBase64", func(args []any) (int64, error) { return 4*int64(len(str(args[0])))/3 + 4, nil }, new(func(any, string) string)),
		meteredBuiltin("fromBase64", sameLen, new(func(any, string) string)),

		meteredBuiltin("string", func(args []any) (int64, error) {
			return printedSize(reflect.ValueOf(args[0]), 1, DefaultBudget.Memory<<4), nil
		}, new(func(any, any) string)),

		// toJSON indents and may escape (\u003c): counted generously.
		meteredBuiltin("toJSON", func(args []any) (int64, error) {
			return mul(printedSize(reflect.ValueOf(args[0]), 1, DefaultBudget.Memory<<4), 6), nil
		}, new(func(any, any) string)),

		meteredBuiltin("concat", func(args []any) (int64, error) {
			var n int64
			for _, a := range args {
				if v := reflect.ValueOf(a); v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
					n += int64(v.Len())
				}
			}
			return mul(n, elemSize), nil
		}),

		meteredBuiltin("flatten", func(args []any) (int64, error) {
			return mul(leaves(reflect.ValueOf(args[0]), 0, 1<<40), elemSize), nil
		}),
	)
	return opts
}

// leaves counts the non-list elements of a nested list, stopping past
// limit.
func leaves(v reflect.Value, depth int, limit int64) int64 {
	for v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return 1
	}
	if depth > MaxExprDepth {
		return -1
	}
	var n int64
	for i := range v.Len() {
		k := leaves(v.Index(i), depth+1, limit-n)
		if k < 0 {
			return -1
		}
		n += k
		if n > limit {
			return n
		}
	}
	return n
}

// printedSize is an upper estimate of the length of v printed with %v (or
// as JSON, before escapes), stopping once it passes limit: it is charged
// before string() or toJSON() builds the text. depth is the nesting level;
// JSON indents each line by two spaces per level. -1 means too deep.
func printedSize(v reflect.Value, depth int, limit int64) int64 {
	if depth > 2*MaxExprDepth {
		return -1
	}
	indent := int64(2*depth + 2)
	switch v.Kind() {
	case reflect.Invalid:
		return 5
	case reflect.String:
		return int64(v.Len()) + 2
	case reflect.Bool:
		return 5
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return 5
		}
		return printedSize(v.Elem(), depth, limit)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return 4*int64(v.Len()) + 2
		}
		n := int64(2)
		for i := range v.Len() {
			k := printedSize(v.Index(i), depth+1, limit-n)
			if k < 0 {
				return -1
			}
			n += k + indent
			if n > limit {
				return n
			}
		}
		return n
	case reflect.Map:
		n := int64(2)
		it := v.MapRange()
		for it.Next() {
			k := printedSize(it.Key(), depth+1, limit-n)
			e := printedSize(it.Value(), depth+1, limit-n)
			if k < 0 || e < 0 {
				return -1
			}
			n += k + e + indent
			if n > limit {
				return n
			}
		}
		return n
	case reflect.Struct:
		if v.Type() == timeType {
			return 64
		}
		n := int64(2)
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			k := printedSize(v.Field(i), depth+1, limit-n)
			if k < 0 {
				return -1
			}
			n += k + int64(len(f.Name)) + indent
			if n > limit {
				return n
			}
		}
		return n
	}
	return 32 // numbers and the rest
}

// Counts are the evaluation failures of rules and formats by name, kept
// across rule-set versions (a rule keeps its name when it is changed).
// Formats are counted as "format:NAME". Safe for concurrent use.
type Counts struct {
	mu     sync.Mutex
	budget map[string]int64
	errs   map[string]int64
}

// NewCounts returns empty counts.
func NewCounts() *Counts {
	return &Counts{budget: map[string]int64{}, errs: map[string]int64{}}
}

// DefaultCounts is where a Set whose Counts is nil counts, so that the
// server's API and metrics see every set the process has run.
var DefaultCounts = NewCounts()

// add counts one failed evaluation.
func (c *Counts) add(name string, budget bool) {
	c.mu.Lock()
	if budget {
		c.budget[name]++
	} else {
		c.errs[name]++
	}
	c.mu.Unlock()
}

// BudgetExceeded returns, by rule name, how many evaluations ran out of a
// Budget.
func (c *Counts) BudgetExceeded() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.budget)
}

// Errors returns, by rule name, how many evaluations failed with any other
// run-time error.
func (c *Counts) Errors() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.errs)
}
