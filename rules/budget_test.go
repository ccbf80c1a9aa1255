package rules

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bombs are conditions that, unbounded, take gigabytes or minutes.
const bombs = `
rules:
  - name: repeat-bomb
    when: len(repeat(text, 1000000)) < 0
  - name: regex-bomb
    when: 'any(1..99999, {text matches "(?i)щщщ.*ъъъ"})'
  - name: range-bomb
    when: len(1..100000000) > 0
  - name: join-bomb
    when: 'len(join(map(1..40000, text), ",")) > 0'
  - name: doubling
    when: 'len(reduce(1..60, #acc + #acc, text)) > 0'
  - name: replace-bomb
    when: 'len(replace(text + text + text + text, "", text)) > 0'
  - name: kept-copies
    when: 'len(map(1..90000, upper(text))) > 0'
  - name: print-bomb
    when: 'len(string(map(1..90000, text))) > 0'
  - name: concat-bomb
    when: |
      let a = 1..90000; len(concat(a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a)) > 0
  - name: word-list-bomb
    when: 'contains_any(text, map(1..90000, text + "!"))'
  - name: fallback
    default: true
`

// bombEnv is a 2 KB mail: enough for every bomb to go off.
func bombEnv() *Env {
	return &Env{Subject: "s", Text: strings.Repeat("Не работает касса, ", 2048/34)}
}

func TestBudgetStopsBombs(t *testing.T) {
	set := mustLoad(t, bombs)
	counts := NewCounts()
	set.Counts = counts
	start := time.Now()
	res := set.Evaluate(StageRoute, bombEnv())
	t.Logf("all bombs evaluated in %v", time.Since(start))

	assert.Equal(t, []string{"fallback"}, res.Matched)
	// The kind where only one budget can stop the rule; the others build
	// their memory in a loop, and on a busy machine time may run out
	// first.
	want := map[string]string{
		"repeat-bomb":    BudgetMemory,
		"regex-bomb":     BudgetTime,
		"range-bomb":     BudgetMemory,
		"join-bomb":      "",
		"doubling":       "",
		"replace-bomb":   "",
		"kept-copies":    "",
		"print-bomb":     "",
		"concat-bomb":    "",
		"word-list-bomb": "",
	}
	require.Len(t, res.Trace, len(want)+1)
	for _, te := range res.Trace[:len(want)] {
		assert.False(t, te.Matched, te.Rule)
		require.NotEmpty(t, te.Budget, "%s: %s", te.Rule, te.Err)
		if want[te.Rule] != "" {
			assert.Equal(t, want[te.Rule], te.Budget, "%s: %s", te.Rule, te.Err)
		}
		assert.Contains(t, te.Err, te.Budget+" budget exceeded", te.Rule)
	}
	got := counts.BudgetExceeded()
	for name := range want {
		assert.EqualValues(t, 1, got[name], name)
	}
	assert.Empty(t, counts.Errors())
}

// TestBudgetBoundsMemory evaluates every bomb once and checks what
// the process allocated meanwhile: far below the gigabytes they ask for.
// The bound is stated in docs/rules.md.
func TestBudgetBoundsMemory(t *testing.T) {
	const bound = 64 << 20
	set := mustLoad(t, bombs)
	set.Counts = NewCounts()
	env := bombEnv()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	set.Evaluate(StageRoute, env)
	runtime.GC() // HeapAlloc is then what the evaluation kept
	runtime.ReadMemStats(&after)
	total := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %.1f MiB in all, heap %.1f MiB after (was %.1f MiB)",
		float64(total)/(1<<20), float64(after.HeapAlloc)/(1<<20), float64(before.HeapAlloc)/(1<<20))
	assert.Less(t, total, uint64(bound), "allocated in all")
	assert.Less(t, after.HeapAlloc, before.HeapAlloc+16<<20, "kept after the evaluation")
}

func TestLongDynamicPatternRefused(t *testing.T) {
	set := mustLoad(t, "rules:\n  - name: p\n    when: subject matches text\n")
	set.Counts = NewCounts()
	res := set.Evaluate(StageRoute, &Env{Subject: "a", Text: strings.Repeat("(a|b)*", 10000)})
	require.Len(t, res.Trace, 1)
	assert.Contains(t, res.Trace[0].Err, "pattern is too long")
	assert.Equal(t, map[string]int64{"p": 1}, set.Counts.Errors())
}

func TestBudgetRefusedAtLoad(t *testing.T) {
	le := loadErr(t, File{Name: "b.yaml", Data: []byte("rules:\n  - name: b\n    when: len(repeat(\"ab\", 100000000)) > 0\n")})
	require.Len(t, le.Problems, 1)
	p := le.Problems[0]
	assert.Equal(t, "b", p.Rule)
	assert.Equal(t, 3, p.Line)
	assert.Equal(t, 28, p.Column)
	assert.Contains(t, p.Msg, "past the memory budget")
}

func TestBudgetOverride(t *testing.T) {
	src := `
rules:
  - name: loop
    when: 'any(to, # == "x@y.example")'
  - name: big
    when: 'len(repeat("a", 2000)) > 0'
    then:
      tags: =lower(subject)
`
	env := &Env{To: []string{"a@b.example"}, Subject: "S"}

	set := mustLoad(t, src)
	set.Counts = NewCounts()
	res := set.Evaluate(StageRoute, env)
	assert.Equal(t, []string{"big"}, res.Matched)
	assert.Equal(t, []string{"s"}, res.Actions.Tags)

	// A budget a loop cannot fit in: decided by the budget, not the clock.
	set.Budget = Budget{Time: time.Nanosecond, Memory: 1000}
	res = set.Evaluate(StageRoute, env)
	assert.Empty(t, res.Matched)
	require.Len(t, res.Trace, 2)
	assert.Equal(t, BudgetTime, res.Trace[0].Budget, res.Trace[0].Err)
	assert.Equal(t, BudgetMemory, res.Trace[1].Budget, res.Trace[1].Err)
	assert.Contains(t, res.Trace[1].Err, "1000 bytes")
}

// TestBudgetInActions: the action values share the rule's budget, and a
// failing action makes the rule not match.
func TestBudgetInActions(t *testing.T) {
	set := mustLoad(t, `
rules:
  - name: r
    when: "true"
    then:
      category: =repeat(text, 100000)
  - name: fallback
    default: true
`)
	set.Counts = NewCounts()
	res := set.Evaluate(StageRoute, bombEnv())
	assert.Equal(t, []string{"fallback"}, res.Matched)
	assert.Equal(t, BudgetMemory, res.Trace[0].Budget)
	assert.True(t, strings.HasPrefix(res.Trace[0].Err, "category: memory budget exceeded"), res.Trace[0].Err)
	assert.Equal(t, map[string]int64{"r": 1}, set.Counts.BudgetExceeded())
}

func TestBudgetCountsConcurrent(t *testing.T) {
	set := mustLoad(t, `
formats:
  - name: f
    match: 'len(repeat(text, len(text) * 5000)) > 0'
    fields:
      problem:
        regex: '(?s)(.*)'
rules:
  - name: bomb
    when: 'len(repeat(text, len(text) * 5000)) > 0'
  - name: broken
    when: 'fromJSON(subject) != nil'
  - name: fallback
    default: true
`)
	set.Counts = NewCounts()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			set.Evaluate(StageRoute, bombEnv())
			f, _ := set.MatchFormat(bombEnv())
			assert.Nil(t, f)
		})
	}
	wg.Wait()
	assert.Equal(t, map[string]int64{"bomb": 8, "format:f": 8}, set.Counts.BudgetExceeded())
	assert.Equal(t, map[string]int64{"broken": 8}, set.Counts.Errors())
}

// TestMeteredBuiltinsKeepTheirMeaning: the metered versions of expr's
// builtins and of + give what expr's give. The time budget is a minute: the
// test is about meaning, and the default 50 ms can run out on a busy
// machine for the cases over 3,000-element lists.
func TestMeteredBuiltinsKeepTheirMeaning(t *testing.T) {
	env := &Env{Subject: "Касса A", To: []string{"a@x", "b@y"}, Fields: Fields{Extra: map[string]string{"n": "1"}}}
	cases := []string{
		`repeat("ab", 3) == "ababab"`,
		`join(to, ",") == "a@x,b@y" && join(["a", "b"]) == "ab"`,
		`replace(subject, "A", "B") == "Касса B" && replace("aaa", "a", "b", 2) == "bba"`,
		`split("a,b,c", ",") == ["a", "b", "c"] && split("a,b,c", ",", 2) == ["a", "b,c"]`,
		`splitAfter("a,b", ",") == ["a,", "b"]`,
		`lower(subject) == "касса a" && upper(subject) == "КАССА A"`,
		`string(1..3) == "[1 2 3]" && string(42) == "42"`,
		`toJSON({"a": 1}) contains "\"a\": 1"`,
		`fromBase64(toBase64(subject)) == subject`,
		`concat([1], [2, 3]) == [1, 2, 3] && flatten([[1], [2, [3]]]) == [1, 2, 3]`,
		`subject + "!" == "Касса A!" && fields.extra["n"] + "2" == "12"`,
		`reduce(1..4, #acc + #, 0) == 10 && reduce(["a", "b"], #acc + #, "") == "ab"`,
		`1 + 2 == 3 && 1.5 + 1 == 2.5 && received + duration("1h") > received`,
		`re("^КАС", upper(subject)) && subject matches "сса"`,
		`count(1..10, # % 2 == 0) == 5 && map(to, domain(#)) == ["x", "y"]`,
		`contains_any(subject, concat(map(1..3000, string(#)), ["КАС"])) && !contains_any(subject, ["z"])`,
		`domain_in(["x"]) == false && domain_in("a.x", concat(map(1..3000, string(#)), ["x"]))`,
	}
	for _, src := range cases {
		t.Run(src, func(t *testing.T) {
			prog, p := newCompiler().compile(src, kindBool)
			require.Nil(t, p, "%+v", p)
			ok, err := test(prog, metered(env, Budget{Time: time.Minute}))
			require.NoError(t, err)
			assert.True(t, ok)
		})
	}
}
