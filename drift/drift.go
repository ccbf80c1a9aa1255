// Package drift decides when a chain has changed its mail template: for
// each format, and each chain's sender domain mail arrives from without a
// format, the share of recent messages in which a field the format needs
// (the order's number, the store) was not found. When that share reaches a
// threshold an alarm is raised; it clears when the share falls back below
// it (after a fix of the format and reprocessing, the stored parse results
// are the new ones). It decides over counts it is given; the counting is
// store's, the refreshing the pipeline's.
package drift

import (
	"cmp"
	"slices"
	"time"

	"github.com/intakehq/intake/parsers"
)

// Config is the sliding window and the alarm's threshold.
type Config struct {
	// Window is how many of a format's latest messages count.
	Window int `json:"window"`
	// Period bounds the window in time: messages received longer ago do
	// not count.
	Period time.Duration `json:"period_ns"`
	// Threshold is the share of messages missing a required field at and
	// above which the alarm is raised (0..1).
	Threshold float64 `json:"threshold"`
	// MinMessages is how many messages the window must hold before it can
	// raise the alarm: one bad message out of two says little.
	MinMessages int `json:"min_messages"`
}

// Defaults are the configuration's defaults.
var Defaults = Config{Window: 50, Period: 72 * time.Hour, Threshold: 0.5, MinMessages: 5}

// WithDefaults fills in zero fields from Defaults.
func (c Config) WithDefaults() Config {
	c.Window = cmp.Or(c.Window, Defaults.Window)
	c.Period = cmp.Or(c.Period, Defaults.Period)
	c.Threshold = cmp.Or(c.Threshold, Defaults.Threshold)
	c.MinMessages = cmp.Or(c.MinMessages, Defaults.MinMessages)
	return c
}

// The required fields a share is counted over.
const (
	FieldExternalID = "external_id" // the chain's order number
	FieldStore      = "store"       // any of the store's code, name or address
)

// Kinds of what is tracked.
const (
	KindFormat = "format"
	KindDomain = "domain" // a chain's sender domain, mail without a format
)

// Required lists what a format needs: the order's number when the format
// reads one, and the store when it reads its code, name or address. A
// format that reads neither needs nothing and never alarms.
func Required(spec parsers.FormatSpec) []string {
	var out []string
	if _, ok := spec.Fields["external_id"]; ok {
		out = append(out, FieldExternalID)
	}
	for _, f := range []string{"object_code", "object_name", "address"} {
		if _, ok := spec.Fields[f]; ok {
			out = append(out, FieldStore)
			break
		}
	}
	return out
}

// DomainRequired is what mail without a format must give: the store.
var DomainRequired = []string{FieldStore}

// Group is the messages of one format or domain in the window with the
// same fields found: what store counts.
type Group struct {
	Kind, Key   string
	HasExternal bool
	HasStore    bool
	Messages    int
	// Examples are some of the group's items, newest first.
	Examples []int64
}

// Share is one format's or domain's state.
type Share struct {
	Kind     string   `json:"kind"`
	Key      string   `json:"format"` // the format's name, or the domain
	Required []string `json:"required"`
	Messages int      `json:"messages"`
	Missing  int      `json:"missing"`
	// MissingBy counts the messages missing each required field.
	MissingBy map[string]int `json:"missing_by"`
	Share     float64        `json:"share"`
	Alarm     bool           `json:"alarm"`
	// Examples are items missing a required field, newest first.
	Examples []int64 `json:"examples"`
}

// Report is every share, alarms first, then by share.
type Report struct {
	At     time.Time `json:"at"`
	Config Config    `json:"config"`
	Shares []Share   `json:"shares"`
}

// Alarms are the shares with the alarm raised.
func (r *Report) Alarms() []Share {
	if r == nil {
		return nil
	}
	var out []Share
	for _, s := range r.Shares {
		if s.Alarm {
			out = append(out, s)
		}
	}
	return out
}

// maxExamples bounds the examples kept per share.
const maxExamples = 5

// Evaluate turns the groups into shares. required gives a format's
// required fields by name; a format no longer in the rule set needs both.
func Evaluate(groups []Group, required map[string][]string, cfg Config, at time.Time) *Report {
	cfg = cfg.WithDefaults()
	byKey := map[[2]string]*Share{}
	var order [][2]string
	for _, g := range groups {
		k := [2]string{g.Kind, g.Key}
		s := byKey[k]
		if s == nil {
			req := DomainRequired
			if g.Kind == KindFormat {
				var ok bool
				if req, ok = required[g.Key]; !ok {
					req = []string{FieldExternalID, FieldStore}
				}
			}
			s = &Share{Kind: g.Kind, Key: g.Key, Required: req, MissingBy: map[string]int{}}
			byKey[k] = s
			order = append(order, k)
		}
		s.Messages += g.Messages
		missing := false
		for _, f := range s.Required {
			if (f == FieldExternalID && !g.HasExternal) || (f == FieldStore && !g.HasStore) {
				s.MissingBy[f] += g.Messages
				missing = true
			}
		}
		if missing {
			s.Missing += g.Messages
			s.Examples = append(s.Examples, g.Examples...)
		}
	}
	rep := &Report{At: at, Config: cfg}
	for _, k := range order {
		s := byKey[k]
		if s.Messages > 0 {
			s.Share = float64(s.Missing) / float64(s.Messages)
		}
		s.Alarm = len(s.Required) > 0 && s.Messages >= cfg.MinMessages && s.Share >= cfg.Threshold
		slices.SortFunc(s.Examples, func(a, b int64) int { return cmp.Compare(b, a) })
		if len(s.Examples) > maxExamples {
			s.Examples = s.Examples[:maxExamples]
		}
		rep.Shares = append(rep.Shares, *s)
	}
	slices.SortStableFunc(rep.Shares, func(a, b Share) int {
		if a.Alarm != b.Alarm {
			if a.Alarm {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Share, a.Share); c != 0 {
			return c
		}
		return cmp.Compare(a.Kind+a.Key, b.Kind+b.Key)
	})
	return rep
}
