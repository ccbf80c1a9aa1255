package rules

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckCodes: codes written literally in formats and rules are checked
// against the reference data, each reported at its line and column; values
// computed by expressions and kinds not given are left alone.
func TestCheckCodes(t *testing.T) {
	src := `formats:
  - name: pu-mail
    client: PU
    match: 'from_domain == "pu.example"'
    fields:
      external_id: {regex: 'WO(\d+)'}
    categories:
      Холод: refrigeration
      Безопасность: securty
rules:
  - name: alarms
    when: 'subject contains "сигнализация"'
    then:
      category: securty
      client: ZZZ
  - name: computed
    when: 'true'
    continue: true
    then:
      category: '=lower(fields.category)'
  - name: route-default
    default: true
  - name: pin
    stage: assign
    when: 'true'
    then:
      engineer: ENG-0001
      prefer_engineers: [ENG-0002, ENG-9999]
`
	set, err := Load([]File{{Name: "ops.yaml", Data: []byte(src)}})
	require.NoError(t, err, "unknown codes compile: only the reference data knows them")
	known := Codes{
		CodeClient:   {"PU", "PL"},
		CodeCategory: {"refrigeration", "security", "electrical"},
		CodeEngineer: {"ENG-0001", "ENG-0002"},
	}
	err = set.CheckCodes(known)
	var le *LoadError
	require.True(t, errors.As(err, &le), "error is %T: %v", err, err)
	type got struct {
		Rule, Format string
		Line, Column int
		Msg          string
	}
	var all []got
	for _, p := range le.Problems {
		all = append(all, got{p.Rule, p.Format, p.Line, p.Column, p.Msg})
	}
	assert.Equal(t, []got{
		{"", "pu-mail", 9, 21, `unknown category "securty": not in the reference data (did you mean "security"?)`},
		{"alarms", "", 14, 17, `unknown category "securty": not in the reference data (did you mean "security"?)`},
		{"alarms", "", 15, 15, `unknown client "ZZZ": not in the reference data (known: PL, PU)`},
		{"pin", "", 28, 36, `unknown engineer "ENG-9999": not in the reference data (known: ENG-0001, ENG-0002)`},
	}, all)
	assert.Contains(t, le.Problems[1].Snippet, "category: securty")
	assert.Contains(t, le.Error(), `ops.yaml: rule "alarms", line 14 col 17`)

	// Only the kinds given are checked.
	require.NoError(t, set.CheckCodes(Codes{CodeClient: {"PU", "ZZZ"}}))
	require.NoError(t, set.CheckCodes(nil))
}
