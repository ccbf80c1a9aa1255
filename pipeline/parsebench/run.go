package parsebench

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/rules/defaults"
)

// Parser runs the parse stage with the shipped rules and the demo's
// categories.
type Parser struct {
	Rules      *rules.Set
	Categories *parsers.CategoryMatcher
	Own        []string // our own addresses, for loop protection
	Received   time.Time
	// Location is the zone of dates written without one (intake.timezone).
	Location *time.Location
}

// NewParser compiles the shipped rule set (rules/defaults) and the demo's
// category keywords; loc is the zone of dates written without one.
func NewParser(loc *time.Location) (*Parser, error) {
	set, err := rules.Load(defaults.Files())
	if err != nil {
		return nil, fmt.Errorf("shipped rules: %w", err)
	}
	var cats []parsers.CategoryKeywords
	for _, f := range demo.Reference() {
		if f.Name != "categories.csv" {
			continue
		}
		rows, err := csv.NewReader(bytes.NewReader(f.Data)).ReadAll()
		if err != nil {
			return nil, fmt.Errorf("demo categories.csv: %w", err)
		}
		for _, r := range rows[1:] { // code,name,competence,sla_hours,keywords
			cats = append(cats, parsers.CategoryKeywords{Code: r[0], Name: r[1], Keywords: r[4]})
		}
	}
	cm, err := parsers.CompileCategories(cats)
	if err != nil {
		return nil, fmt.Errorf("category keywords: %w", err)
	}
	return &Parser{
		Rules: set, Categories: cm, Own: []string{"zayavki@tehservis.example"},
		Received: time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC), Location: loc,
	}, nil
}

// Outcome is what the parse stage made of one message.
type Outcome struct {
	Ignored string // the classification reason when ignored
	Format  string // the format extracted with; "" for free text
	Fields  parsers.Fields
}

// Parse runs one message through the steps of the pipeline's parse stage:
// Normalize, Classify, the message-stage rules, format selection (for the
// message, else for a forwarded one) and extraction.
func (p *Parser) Parse(raw []byte) (Outcome, error) {
	doc, err := parsers.Normalize(raw)
	if err != nil {
		return Outcome{}, err
	}
	if reason, ok := parsers.Classify(doc, p.Own); ok {
		return Outcome{Ignored: reason}, nil
	}
	env := rules.NewEnv(flow.SourceMail, doc, p.Received, p.Received)
	res := p.Rules.Evaluate(rules.StageMessage, env)
	if res.Actions.Ignore != "" {
		return Outcome{Ignored: res.Actions.Ignore}, nil
	}
	x := parsers.ExtractContext{Categories: p.Categories, Now: p.Received, Location: p.Location}
	var format *rules.CompiledFormat
	if res.Actions.Format != "" {
		format = p.Rules.Format(res.Actions.Format)
	}
	if format == nil {
		format, _ = p.Rules.MatchFormat(env)
	}
	src := doc
	if format == nil && doc.Forwarded != nil {
		fenv := rules.NewEnv(flow.SourceMail, doc.Forwarded, p.Received, p.Received)
		if f, _ := p.Rules.MatchFormat(fenv); f != nil {
			format, src = f, doc.Forwarded
		}
	}
	if format == nil {
		return Outcome{Fields: parsers.ExtractFreeText(doc, x)}, nil
	}
	return Outcome{Format: format.Name, Fields: format.Format.Extract(src, x)}, nil
}

// Result is one measured run over a corpus.
type Result struct {
	Messages int
	Bytes    int64
	Elapsed  time.Duration
	CPU      time.Duration  // process CPU time over the run; 0 when unknown
	Formats  map[string]int // messages per format; "" is free text, "ignored:<reason>" the ignored
	Errors   int            // messages Normalize refused
}

// MsgPerSec is the throughput in messages per second.
func (r Result) MsgPerSec() float64 { return float64(r.Messages) / r.Elapsed.Seconds() }

// MsgPerCPUSec is the throughput per second of process CPU time.
func (r Result) MsgPerCPUSec() float64 { return float64(r.Messages) / r.CPU.Seconds() }

// MBPerSec is the throughput in megabytes (10^6 bytes) of raw mail per second.
func (r Result) MBPerSec() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

// Run parses every message of the corpus once.
func (p *Parser) Run(corpus [][]byte) Result {
	res := Result{Formats: map[string]int{}}
	start, cpu0 := time.Now(), CPUTime()
	for _, raw := range corpus {
		o, err := p.Parse(raw)
		res.Messages++
		res.Bytes += int64(len(raw))
		switch {
		case err != nil:
			res.Errors++
		case o.Ignored != "":
			res.Formats["ignored:"+o.Ignored]++
		default:
			res.Formats[o.Format]++
		}
	}
	res.Elapsed = time.Since(start)
	if cpu0 > 0 {
		res.CPU = CPUTime() - cpu0
	}
	return res
}

// PeakRSS is the process's peak resident set size (VmHWM) in bytes; 0 where
// /proc is not available.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
