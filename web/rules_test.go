package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// overBudget loads a set whose first rule always runs out of its memory
// budget, and evaluates it n times; the set counts in rules.DefaultCounts.
func overBudget(t *testing.T, name string, n int) {
	t.Helper()
	set, err := rules.Load([]rules.File{{Name: "b.yaml", Data: []byte(`
rules:
  - name: ` + name + `
    when: len(repeat(text, len(text) * 100000)) > 0
  - name: fallback
    default: true
`)}})
	require.NoError(t, err)
	for range n {
		res := set.Evaluate(rules.StageRoute, &rules.Env{Text: strings.Repeat("x", 1000)})
		require.Equal(t, rules.BudgetMemory, res.Trace[0].Budget)
	}
}

func TestRuleSetViewShowsFailures(t *testing.T) {
	overBudget(t, "web-test-view", 3)
	b, err := json.Marshal(withFailures(&store.RuleSet{Version: 7, Hash: "h"}, rules.DefaultCounts))
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, 7.0, got["version"])
	assert.Equal(t, "h", got["hash"])
	require.IsType(t, map[string]any{}, got["budget_exceeded"], string(b))
	assert.Equal(t, 3.0, got["budget_exceeded"].(map[string]any)["web-test-view"])
	assert.Contains(t, got, "eval_errors")
}

func TestRuleFailureMetrics(t *testing.T) {
	overBudget(t, "web-test-metric", 2)
	s := &Server{}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `intake_rule_budget_exceeded_total{rule="web-test-metric"} 2`)
}
