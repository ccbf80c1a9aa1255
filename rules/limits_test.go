package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPathologicalExpressionsRefused(t *testing.T) {
	cases := []struct {
		name string
		when string
		msg  string
	}{
		{"deep nesting", strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200), "nested too deeply"},
		{"deep nesting in a list", strings.Repeat("[", 100) + strings.Repeat("]", 100) + " != nil", "nested too deeply"},
		{"enormous array", "len([" + strings.Repeat("1,", 4000) + "1]) > 0", "exceeds maximum allowed nodes"},
		{"long chain of conditions", strings.Repeat(`subject == "x" || `, 600) + "false", "exceeds maximum allowed nodes"},
		{"too long", `subject == "` + strings.Repeat("x", MaxExprLen) + `"`, "expression is too long"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yaml := fmt.Sprintf("rules:\n  - name: p\n    when: '%s'\n", tc.when)
			start := time.Now()
			le := loadErr(t, File{Name: "p.yaml", Data: []byte(yaml)})
			assert.Less(t, time.Since(start), 2*time.Second)
			require.Len(t, le.Problems, 1)
			assert.Contains(t, le.Problems[0].Msg, tc.msg)
			assert.Equal(t, "p", le.Problems[0].Rule)
			assert.Equal(t, 3, le.Problems[0].Line)
		})
	}
}

func TestPathologicalExpressionsStopped(t *testing.T) {
	set := mustLoad(t, `
rules:
  - name: huge-range
    when: len(1..100000000) > 0
  - name: nested-maps
    when: 'len(map(1..5000, map(1..5000, #))) > 0'
  - name: split-everything
    when: |
      len(map(split(text, ""), map(1..10, #))) > 0
  - name: fallback
    default: true
`)
	env := &Env{Text: strings.Repeat("абв", 40000)}
	start := time.Now()
	res := set.Evaluate(StageRoute, env)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, []string{"fallback"}, res.Matched)
	require.Len(t, res.Trace, 4)
	for _, te := range res.Trace[:3] {
		assert.False(t, te.Matched, te.Rule)
		// The element budget stops them; on a busy machine the time
		// budget may come first.
		assert.Contains(t, te.Err, "budget exceeded", te.Rule)
		assert.NotEmpty(t, te.Budget, te.Rule)
	}
}

func TestHashInPlainScalarHint(t *testing.T) {
	le := loadErr(t, File{Name: "h.yaml", Data: []byte("rules:\n  - name: h\n    when: all(to, # endsWith \"@x.example\")\n")})
	require.Len(t, le.Problems, 1)
	assert.Contains(t, le.Problems[0].Msg, "starts a YAML comment")
}

func TestRunRecoversPanics(t *testing.T) {
	out, err := run(nil, &Env{})
	assert.Nil(t, out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "panic")
}
