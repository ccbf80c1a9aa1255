package rules

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadErr(t *testing.T, files ...File) *LoadError {
	t.Helper()
	set, err := Load(files)
	require.Error(t, err)
	require.Nil(t, set, "a set with problems is refused whole")
	var le *LoadError
	require.True(t, errors.As(err, &le), "error is %T", err)
	return le
}

func readFile(t *testing.T, path string) File {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return File{Name: path, Data: data}
}

func TestLoadInvalidSet(t *testing.T) {
	le := loadErr(t, readFile(t, "testdata/invalid.yaml"))

	type want struct {
		Rule         string
		Line, Column int
		Msg          string
	}
	var got []want
	for _, p := range le.Problems {
		assert.Equal(t, "testdata/invalid.yaml", p.File)
		got = append(got, want{p.Rule, p.Line, p.Column, p.Msg})
	}
	assert.Equal(t, []want{
		{"pu-new-order", 5, 42, `unknown name "subjet"`},
		{"pu-new-order", 8, 11, `duplicate rule name (first at testdata/invalid.yaml line 4)`},
		{"pu-new-order", 12, 25, "bad regular expression: missing closing ): `(?i)магазин\\s+(\\d+`"},
		{"pu-new-order", 14, 7, `unknown action "priorty" (did you mean "priority"?)`},
		{"pu-new-order", 15, 7, `action "format" is not allowed in stage route (only in message)`},
		{"vr-due", 17, 12, `unknown stage "routing" (one of message, route, assign)`},
		{"vr-due", 20, 23, `invalid operation: + (mismatched types time.Time and int)`},
		{"fm-format", 23, 15, "bad regular expression: missing closing ]: `[a-z`"},
		{"fm-format", 25, 15, `unknown format "fm-sdp"`},
		{"no-condition", 26, 5, `rule has no when (write default: true for a rule that always matches)`},
	}, got)
}

func TestLoadErrorText(t *testing.T) {
	le := loadErr(t, File{Name: "rules/pu.yaml", Data: []byte(
		"rules:\n" +
			"  - name: pu-new-order\n" +
			"    when: subjet contains \"заявка\"\n")})
	assert.Equal(t, ""+
		"rules/pu.yaml: rule \"pu-new-order\", line 3 col 11: unknown name \"subjet\"\n"+
		"        when: subjet contains \"заявка\"\n"+
		"              ^", le.Error())
}

// TestLoadErrorLineBreaks: YAML ends a line at a lone CR and at the Unicode
// line separators too, and a problem's snippet is the line its number names.
func TestLoadErrorLineBreaks(t *testing.T) {
	for name, br := range map[string]string{"CR LF": "\r\n", "CR": "\r", "LS": "\u2028", "NEL": "\u0085"} {
		t.Run(name, func(t *testing.T) {
			le := loadErr(t, File{Name: "r.yaml", Data: []byte("rules:" + br + "  - name: r" + br + "    when: subjet == \"a\"" + br)})
			require.Len(t, le.Problems, 1)
			p := le.Problems[0]
			assert.Equal(t, 3, p.Line)
			assert.Equal(t, 11, p.Column)
			assert.Equal(t, "    when: subjet == \"a\"\n          ^", p.Snippet)
		})
	}
}

// TestLoadErrorValidUTF8: yaml.v3 quotes a long value cut at a byte count;
// the problem keeps only whole letters.
func TestLoadErrorValidUTF8(t *testing.T) {
	le := loadErr(t, File{Name: "f.yaml", Data: []byte("formats:\n  - categories: вание0\n")})
	require.Len(t, le.Problems, 1)
	assert.True(t, utf8.ValidString(le.Problems[0].Msg), "%q", le.Problems[0].Msg)
	assert.Contains(t, le.Problems[0].Msg, "`ван...`")
}

// TestExprPositions checks that an error inside an expression points at the
// right character of the file whatever the YAML style of the scalar.
func TestExprPositions(t *testing.T) {
	cases := []struct {
		name      string
		yaml      string
		line, col int
	}{
		{"plain", `
rules:
  - name: r
    when: subject == "a" && nope`, 4, 29},
		{"plain folded over lines", `
rules:
  - name: r
    when: subject == "a"
      && nope`, 5, 10},
		{"single quoted", `
rules:
  - name: r
    when: 'subject == ''a'' && nope'`, 4, 32},
		{"double quoted with escapes", `
rules:
  - name: r
    when: "subject == \"a\\tb\" && nope"`, 4, 36},
		{"literal block", `
rules:
  - name: r
    when: |
      subject == "a"
      && nope`, 6, 10},
		{"folded block", `
rules:
  - name: r
    when: >-
      subject == "a"
      && from == "b"
      && nope`, 7, 10},
		{"literal block, more indented line", `
rules:
  - name: r
    when: |-
        subject == "a"
          && nope`, 6, 14},
		{"action value", `
rules:
  - name: r
    when: "true"
    then:
      priority: "=fields.priorty"`, 6, 26},
		{"action value in list", `
rules:
  - name: r
    when: "true"
    then:
      tags: [a, '=upper(nope)']`, 6, 25},
		{"format match", `
formats:
  - name: f
    match: >
      from_domain == "a" &&
      has_attachment("*.pdf") && nope
    fields:
      external_id: {regex: '\d+'}`, 6, 34},
		{"flow mapping after non-ASCII text", `
rules:
  - {name: "приём", description: "ёлка", when: 'subject == "ж" && nope'}`, 3, 67},
		{"no position: wrong result type", `
rules:
  - name: r
    when: subject`, 4, 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			le := loadErr(t, File{Name: "x.yaml", Data: []byte(tc.yaml)})
			require.Len(t, le.Problems, 1, le.Error())
			p := le.Problems[0]
			assert.Equal(t, tc.line, p.Line, le.Error())
			assert.Equal(t, tc.col, p.Column, le.Error())
		})
	}
}

func TestLoadProblems(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		msg  string
	}{
		{"yaml syntax", "rules:\n  - name: a\n   when: x", "did not find expected"},
		{"unknown top-level key", "rule:\n  - name: a", `unknown key "rule" (did you mean "rules"?)`},
		{"rules not a list", "rules: {name: a}", "rules: expected a list"},
		{"unknown rule key", "rules:\n  - name: a\n    wen: 'true'", `unknown rule key "wen" (did you mean "when"?)`},
		{"default with when", "rules:\n  - name: a\n    default: true\n    when: 'true'", "a default rule has no when"},
		{"rule after default", "rules:\n  - name: a\n    default: true\n  - name: b\n    when: 'true'", `rule never runs: it follows default rule "a"`},
		{"action in wrong stage", "rules:\n  - name: a\n    stage: message\n    when: 'true'\n    then: {priority: high}", `action "priority" is not allowed in stage message (only in route)`},
		{"bad priority literal", "rules:\n  - name: a\n    when: 'true'\n    then: {priority: urgent}", `priority: "urgent" is not one of critical, high, normal, low`},
		{"bad due literal", "rules:\n  - name: a\n    when: 'true'\n    then: {due: tomorrow}", "due: expected an RFC 3339 time"},
		{"expression of the wrong type", "rules:\n  - name: a\n    when: 'true'\n    then: {priority: '=fields.urgent'}", "expected string, but got bool"},
		{"sla not a number", "rules:\n  - name: a\n    when: 'true'\n    then: {sla_hours: '=subject'}", "expected a number, but got string"},
		{"ignore false", "rules:\n  - name: a\n    when: 'true'\n    then: {ignore: false}", "ignore: give a reason"},
		{"not a bool", "rules:\n  - name: a\n    when: 'true'\n    continue: yes please", `expected true or false, got "yes please"`},
		{"misused helper", "rules:\n  - name: a\n    when: 'domain_in(\"a.ru\")'", "cannot use string as argument"},
		{"now() is not a clock", "rules:\n  - name: a\n    when: 'now() > received'", "is not callable"},
		{"env methods are not visible", "rules:\n  - name: a\n    when: 'SetFields != nil'", `unknown name "SetFields"`},
		{"unknown field", "rules:\n  - name: a\n    when: 'fields.priorty == \"\"'", `no field "priorty" in fields`},
		{"format unknown key", "formats:\n  - name: f\n    fields:\n      external_id: {regx: 'a'}", `unknown key "regx" (did you mean "regex"?)`},
		{"format bad extractor regex", "formats:\n  - name: f\n    fields:\n      external_id:\n        - labels: [N]\n        - regex: '(('", "external_id.regex: error parsing regexp"},
		{"format bad priority", "formats:\n  - name: f\n    fields: {problem: {labels: [a]}}\n    priorities: {P1: urgent}", `priorities.P1: "urgent" is not one of`},
		{"duplicate format", "formats:\n  - name: f\n    fields: {problem: {labels: [a]}}\n  - name: f\n    fields: {problem: {labels: [a]}}", "duplicate format name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			le := loadErr(t, File{Name: "x.yaml", Data: []byte(tc.yaml)})
			require.NotEmpty(t, le.Problems)
			found := false
			for _, p := range le.Problems {
				assert.NotZero(t, p.Line, le.Error())
				found = found || strings.Contains(p.Msg, tc.msg)
			}
			assert.True(t, found, "want %q in:\n%s", tc.msg, le.Error())
		})
	}
}

func TestSpecErrorPosition(t *testing.T) {
	le := loadErr(t, File{Name: "f.yaml", Data: []byte(`formats:
  - name: f
    fields:
      external_id:
        - regex: 'ok(\d+)'
        - regex: 'bad(('
    events:
      'создана': created
`)})
	require.Len(t, le.Problems, 1, le.Error())
	assert.Equal(t, "f", le.Problems[0].Format)
	// CompileFormat stops at its first mistake: the bad regex, on its line.
	assert.Equal(t, 6, le.Problems[0].Line, le.Error())
	assert.Equal(t, 18, le.Problems[0].Column, le.Error())
}

func TestLoadEmpty(t *testing.T) {
	set, err := Load([]File{{Name: "empty.yaml"}, {Name: "comment.yaml", Data: []byte("# nothing yet\n")}})
	require.NoError(t, err)
	assert.Empty(t, set.Formats())
	assert.Empty(t, set.Rules(""))
	res := set.Evaluate(StageRoute, &Env{})
	assert.Empty(t, res.Matched)
}

func TestHashAndSources(t *testing.T) {
	a := []File{{Name: "a.yaml", Data: []byte("rules: []\n")}}
	b := []File{{Name: "b.yaml", Data: []byte("rules: []\n")}}
	sa, err := Load(a)
	require.NoError(t, err)
	sa2, err := Load(a)
	require.NoError(t, err)
	sb, err := Load(b)
	require.NoError(t, err)
	assert.Equal(t, sa.Hash(), sa2.Hash())
	assert.NotEqual(t, sa.Hash(), sb.Hash(), "the name is part of the hash")
	assert.Len(t, sa.Hash(), 64)

	src := sa.Sources()
	src[0].Data[0] = 'X'
	assert.Equal(t, a[0].Data, sa.Sources()[0].Data, "Sources returns copies")
}
