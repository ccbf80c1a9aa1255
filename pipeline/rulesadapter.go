package pipeline

import (
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
)

// stageResult is a rules stage's merged actions and its trace.
type stageResult struct {
	rules.Actions
	Due   *time.Time
	Trace []rules.TraceEntry
}

func evaluate(rt *Runtime, stage string, env *rules.Env) stageResult {
	if rt.Rules == nil {
		return stageResult{}
	}
	res := rt.Rules.Evaluate(stage, env)
	out := stageResult{Actions: res.Actions, Trace: res.Trace}
	if !res.Actions.Due.IsZero() {
		d := res.Actions.Due
		out.Due = &d
	}
	return out
}

// selectFormat returns the format named by a message-stage rule, else the
// first whose match expression holds; nil for free text.
func selectFormat(rt *Runtime, forced string, env *rules.Env) (*rules.CompiledFormat, []rules.TraceEntry) {
	if rt.Rules == nil {
		return nil, nil
	}
	if forced != "" {
		if f := rt.Rules.Format(forced); f != nil {
			return f, nil
		}
	}
	return rt.Rules.MatchFormat(env)
}

// envFromParsed fills what a source without a document (a call, a
// connector's order) tells the rules: its parse result stands for the
// message.
func envFromParsed(env *rules.Env, pd *Parsed) {
	env.From = pd.From
	env.FromName = pd.FromName
	if i := lastAt(pd.From); i >= 0 {
		env.FromDomain = pd.From[i+1:]
	}
	env.Subject = pd.Subject
	env.NewText = pd.NewText
	env.Text = pd.NewText
	for _, a := range pd.Attachments {
		env.Attachments = append(env.Attachments, rules.Attachment{Name: a.Name, Type: a.ContentType, Size: a.Size})
	}
}

// enrichEnv adds what routing knows to the environment the message was
// parsed with: the extracted fields, the call, the client, the sender as a
// contact and the matched store.
func enrichEnv(env *rules.Env, f parsers.Fields, dir *routing.Directory, client string, obj *routing.Object) {
	env.SetFields(f)
	if env.Source == flow.SourceCall {
		// Call sources describe the call in Extra (call_missed,
		// call_direction, call_duration, call_callee) and the caller as the
		// first phone.
		env.Call.Missed = f.Extra["call_missed"] == "true"
		env.Call.Direction = firstText(f.Extra["call_direction"], "in")
		env.Call.Callee = f.Extra["call_callee"]
		env.Call.Duration, _ = strconv.Atoi(f.Extra["call_duration"])
		if len(f.Phones) > 0 {
			env.Call.Caller = f.Phones[0]
		}
	}
	if c := dir.Client(client); c != nil {
		env.SetClient(*c)
	}
	if c := dir.ContactByEmail(env.From); c != nil {
		env.SetContact(*c)
	}
	if obj != nil {
		env.SetObject(*obj)
	}
}

// firstText returns the first of vs that is not blank.
func firstText(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

func lastAt(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			return i
		}
	}
	return -1
}
