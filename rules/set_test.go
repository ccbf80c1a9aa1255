package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustLoad(t testing.TB, yaml string) *Set {
	t.Helper()
	set, err := Load([]File{{Name: "test.yaml", Data: []byte(yaml)}})
	require.NoError(t, err)
	return set
}

func TestEvaluate(t *testing.T) {
	set := mustLoad(t, `
rules:
  - name: tag-pu
    when: from_domain == "pu.example"
    then:
      tags: [pu]
      priority: normal
      continue: true
  - name: pu-urgent
    when: from_domain == "pu.example" && fields.urgent
    then:
      priority: "=fields.priority == 'critical' ? 'critical' : 'high'"
      tags: [urgent, pu]
      sla_hours: 2.5
      due: "=add_workdays(received, 1)"
  - name: never-reached-after-stop
    when: from_domain == "pu.example"
    then:
      tags: [late]
  - name: broken
    when: fields.extra["shop"] matches fields.extra["pattern"]
    then:
      unmatched: pattern
  - name: fallback
    default: true
    then:
      tags: ["=source"]
  - name: assign-vr
    stage: assign
    when: client.code == "VR"
    then:
      exclude_engineers: [E1, E2]
      prefer_engineers: ["=object.engineer"]
      assign_mode: offer
      offer_n: 3
      continue: true
  - name: assign-vr-night
    stage: assign
    when: client.code == "VR" && hour(now) >= 22
    then:
      exclude_engineers: [E2, E3]
      assign_mode: direct
      engineer: E9
`)
	tue := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC) // a Tuesday
	cases := []struct {
		name    string
		stage   string
		env     Env
		matched []string
		want    Actions
		errRule string // a rule whose run-time error must be in the trace
	}{
		{
			name:    "continue merges, the next match stops the stage",
			stage:   StageRoute,
			env:     Env{FromDomain: "pu.example", Fields: Fields{Urgent: true, Priority: "critical"}, Received: tue},
			matched: []string{"tag-pu", "pu-urgent"},
			want: Actions{Tags: []string{"pu", "urgent"}, Priority: "critical", SLAHours: 2.5,
				Due: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)},
		},
		{
			name:    "later rule overrides a single value",
			stage:   StageRoute,
			env:     Env{FromDomain: "pu.example", Fields: Fields{Urgent: true}, Received: tue},
			matched: []string{"tag-pu", "pu-urgent"},
			want: Actions{Tags: []string{"pu", "urgent"}, Priority: "high", SLAHours: 2.5,
				Due: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)},
		},
		{
			name:    "continue rule alone falls through to the first full match",
			stage:   StageRoute,
			env:     Env{FromDomain: "pu.example"},
			matched: []string{"tag-pu", "never-reached-after-stop"},
			want:    Actions{Tags: []string{"pu", "late"}, Priority: "normal"},
		},
		{
			name:    "run-time error counts as no match, default applies",
			stage:   StageRoute,
			env:     Env{Source: "mail", Fields: Fields{Extra: map[string]string{"shop": "x", "pattern": "(("}}},
			matched: []string{"fallback"},
			want:    Actions{Tags: []string{"mail"}},
			errRule: "broken",
		},
		{
			name:    "assign stage merges lists without duplicates",
			stage:   StageAssign,
			env:     Env{Client: Client{Code: "VR"}, Object: Object{Engineer: "E7"}, Now: tue.Add(13 * time.Hour)},
			matched: []string{"assign-vr", "assign-vr-night"},
			want: Actions{ExcludeEngineers: []string{"E1", "E2", "E3"}, PreferEngineers: []string{"E7"},
				AssignMode: AssignDirect, OfferN: 3, Engineer: "E9"},
		},
		{
			name:    "empty expression result sets nothing",
			stage:   StageAssign,
			env:     Env{Client: Client{Code: "VR"}, Now: tue},
			matched: []string{"assign-vr"},
			want:    Actions{ExcludeEngineers: []string{"E1", "E2"}, AssignMode: AssignOffer, OfferN: 3},
		},
		{
			name:  "no rule of the stage matches",
			stage: StageMessage,
			env:   Env{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			res := set.Evaluate(tc.stage, &env)
			assert.Equal(t, tc.matched, res.Matched)
			assert.Equal(t, tc.want, res.Actions)
			for _, te := range res.Trace {
				assert.Equal(t, tc.stage, te.Stage)
				if te.Rule == tc.errRule {
					assert.False(t, te.Matched)
					assert.Contains(t, te.Err, "missing closing )")
				} else {
					assert.Empty(t, te.Err, te.Rule)
				}
			}
			if tc.errRule != "" {
				assert.Contains(t, ruleNames(res.Trace), tc.errRule)
			}
		})
	}
}

func ruleNames(trace []TraceEntry) []string {
	var out []string
	for _, te := range trace {
		out = append(out, te.Rule)
	}
	return out
}

func TestEvaluateTrace(t *testing.T) {
	set := mustLoad(t, `
rules:
  - name: a
    when: subject contains "x"
    then: {tags: [a], continue: true}
  - name: b
    when: subject contains "y"
    then: {priority: low, ignore: true}
  - name: c
    when: "true"
`)
	res := set.Evaluate(StageRoute, &Env{Subject: "xy"})
	assert.Equal(t, []TraceEntry{
		{Rule: "a", Stage: StageRoute, Matched: true, Applied: []string{"tags+=a"}},
		{Rule: "b", Stage: StageRoute, Matched: true, Applied: []string{"priority=low", `ignore=rule b`}},
	}, res.Trace, "c is not evaluated: b stopped the stage")

	res = set.Evaluate("routing", &Env{})
	require.Len(t, res.Trace, 1)
	assert.Equal(t, `unknown stage "routing"`, res.Trace[0].Err)
}

func TestActionErrorIsNoMatch(t *testing.T) {
	set := mustLoad(t, `
rules:
  - name: dynamic-priority
    when: "true"
    then:
      tags: [first]
      priority: "=fields.extra.level"
      continue: true
  - name: dynamic-due
    when: "true"
    then:
      due: "=fields.extra.due"
  - name: last
    default: true
`)
	res := set.Evaluate(StageRoute, &Env{Fields: Fields{Extra: map[string]string{"level": "urgent", "due": "soon"}}})
	assert.Equal(t, []string{"last"}, res.Matched)
	assert.Equal(t, Actions{}, res.Actions, "a rule applies all its actions or none")
	require.Len(t, res.Trace, 3)
	assert.Equal(t, `priority: "urgent" is not one of critical, high, normal, low`, res.Trace[0].Err)
	assert.Equal(t, `due: =fields.extra.due: "soon" is not an RFC 3339 time`, res.Trace[1].Err)

	res = set.Evaluate(StageRoute, &Env{Fields: Fields{Extra: map[string]string{"level": "high"}}})
	assert.Equal(t, []string{"dynamic-priority", "dynamic-due"}, res.Matched, "empty due sets nothing")
	assert.Equal(t, "high", res.Actions.Priority)
}

func TestSelectFormat(t *testing.T) {
	set := mustLoad(t, `
formats:
  - name: a-notify
    client: A
    match: from_domain == "a.example"
    fields: {external_id: {regex: 'A-\d+', in: subject}}
  - name: a-xml
    client: A
    match: from_domain == "a.example" && has_attachment("*.xml")
    fields: {external_id: {xpath: //Id}}
  - name: manual-only
    client: B
    fields: {external_id: {regex: 'B-\d+', in: subject}}
rules:
  - name: b-forwarded-by-director
    stage: message
    when: subject startsWith "B-" && from_domain == "b-stores.example"
    then: {format: manual-only, client: B}
`)
	cases := []struct {
		name   string
		env    Env
		format string
		trace  []string
	}{
		{"first match in file order", Env{FromDomain: "a.example", Attachments: []Attachment{{Name: "o.xml"}}}, "a-notify",
			[]string{"message:b-forwarded-by-director", "format:a-notify"}},
		{"message rule chooses", Env{FromDomain: "b-stores.example", Subject: "B-1 fwd"}, "manual-only",
			[]string{"message:b-forwarded-by-director"}},
		{"format without match is never tried", Env{FromDomain: "x.example"}, "",
			[]string{"message:b-forwarded-by-director", "format:a-notify", "format:a-xml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			f, trace := set.SelectFormat(&env)
			if tc.format == "" {
				assert.Nil(t, f)
			} else {
				require.NotNil(t, f)
				assert.Equal(t, tc.format, f.Name)
				assert.NotNil(t, f.Format)
			}
			var got []string
			for _, te := range trace {
				got = append(got, te.Stage+":"+te.Rule)
			}
			assert.Equal(t, tc.trace, got)
		})
	}
}

func TestDisabledRule(t *testing.T) {
	set := mustLoad(t, `
rules:
  - name: off
    disabled: true
    when: "true"
    then: {tags: [off]}
  - name: on
    when: "true"
`)
	assert.Equal(t, []string{"on"}, set.Evaluate(StageRoute, &Env{}).Matched)
	_, err := Load([]File{{Name: "x.yaml", Data: []byte("rules:\n  - name: off\n    disabled: true\n    when: nope\n")}})
	require.Error(t, err, "a disabled rule is still checked")
}

func TestConcurrentEvaluate(t *testing.T) {
	set := mustLoad(t, `
rules:
  - name: r
    when: re("^ord(er)?-\\d+$", lower(subject)) && subject matches "\\d"
    then: {tags: ["=subject"]}
`)
	done := make(chan bool)
	for i := range 8 {
		go func() {
			ok := true
			for range 200 {
				env := &Env{Subject: "ORDER-" + string(rune('0'+i))}
				res := set.Evaluate(StageRoute, env)
				ok = ok && len(res.Matched) == 1 && res.Actions.Tags[0] == env.Subject
			}
			done <- ok
		}()
	}
	for range 8 {
		assert.True(t, <-done)
	}
}
