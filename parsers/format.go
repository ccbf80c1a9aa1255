package parsers

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// FormatSpec is one client's notification format as operations write it in
// YAML. It is data: CompileFormat turns it into a Format; nothing in it is
// code except the Match expression, which package rules compiles.
type FormatSpec struct {
	Name        string `yaml:"name"`
	Client      string `yaml:"client"`
	Match       string `yaml:"match"` // expr source, compiled by package rules
	Description string `yaml:"description,omitempty"`
	// Fields maps a field name (external_id, object_code, object_name,
	// address, problem, category, priority, due, status, event, phone, or any
	// other name, which goes to Fields.Extra) to its extractors.
	Fields map[string]Extractors `yaml:"fields"`
	// Priorities maps the client's words to critical|high|normal|low.
	Priorities map[string]string `yaml:"priorities,omitempty"`
	// Categories maps the client's category text to our category code.
	Categories map[string]string `yaml:"categories,omitempty"`
	// Events are tried in the order written; the first pattern that matches
	// (EventsIn, the subject by default) gives the event.
	Events   EventRules `yaml:"events,omitempty"`
	EventsIn string     `yaml:"events_in,omitempty"` // subject|text|new_text|all
	// CodePattern is a regular expression for the client's store codes.
	// Cyrillic and Latin look-alike letters in it match each other.
	CodePattern string   `yaml:"code_pattern,omitempty"`
	Timezone    string   `yaml:"timezone,omitempty"`     // default: the extraction's location (intake.timezone)
	DateFormats []string `yaml:"date_formats,omitempty"` // Go layouts tried before ParseDate
}

// ExtractorSpec says where one field's value is. Exactly one of Labels,
// Table, Regex, XPath and JSON is set.
type ExtractorSpec struct {
	// Labels are synonyms of the label in "label: value" lines of the text.
	Labels []string `yaml:"labels,omitempty"`
	// Table are synonyms of a label cell in an HTML table; the value is the
	// next non-empty cell of the row.
	Table []string `yaml:"table,omitempty"`
	// Regex is applied to In; the group named "value", else the whole match.
	Regex string `yaml:"regex,omitempty"`
	In    string `yaml:"in,omitempty"` // subject|text|new_text|quoted|html|attachment|all; default text
	// XPath is a simple path into an XML attachment: /a/b, //b, /a//b/@attr.
	XPath string `yaml:"xpath,omitempty"`
	// JSON is a dotted path into a JSON attachment: order.shop.code, items.0.id.
	JSON string `yaml:"json,omitempty"`
	// Attachment is a glob on attachment names (case-insensitive) for XPath,
	// JSON and in: attachment. Empty means any attachment.
	Attachment string `yaml:"attachment,omitempty"`
	// Pattern, when set, is applied to the value found: the group named
	// "value", else the whole match; no match means no value.
	Pattern string `yaml:"pattern,omitempty"`
	// Normalize lists operations applied in order: trim, upper, lower,
	// fold_lookalikes, digits, first_line, collapse_spaces, strip_parens.
	Normalize []string `yaml:"normalize,omitempty"`
}

// Extractors is a list of extractors, the first non-empty result wins. In
// YAML it is written either as one mapping or as a list of mappings.
type Extractors []ExtractorSpec

// UnmarshalYAML accepts a single extractor mapping as well as a list.
func (e *Extractors) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var one ExtractorSpec
		if err := n.Decode(&one); err != nil {
			return err
		}
		*e = Extractors{one}
		return nil
	}
	var many []ExtractorSpec
	if err := n.Decode(&many); err != nil {
		return err
	}
	*e = many
	return nil
}

// EventRule maps a pattern (a regular expression, case-insensitive) to an event.
type EventRule struct {
	Pattern string
	Event   string
}

// EventRules keeps the order in which the YAML mapping was written.
type EventRules []EventRule

// UnmarshalYAML reads a mapping in document order.
func (e *EventRules) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: events must be a mapping of pattern to event", n.Line)
	}
	var out EventRules
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, EventRule{Pattern: n.Content[i].Value, Event: n.Content[i+1].Value})
	}
	*e = out
	return nil
}

// MarshalYAML writes the rules back as an ordered mapping.
func (e EventRules) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, r := range e {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: r.Pattern},
			&yaml.Node{Kind: yaml.ScalarNode, Value: r.Event})
	}
	return n, nil
}

// SpecError is a mistake in a FormatSpec. Field is the field name (or the
// top-level key: "events", "code_pattern"...), Key the key inside it
// ("regex", "xpath", a pattern), so the loader can point to the YAML line.
type SpecError struct {
	Field string
	Key   string
	Msg   string
}

func (e *SpecError) Error() string {
	switch {
	case e.Field != "" && e.Key != "":
		return fmt.Sprintf("%s.%s: %s", e.Field, e.Key, e.Msg)
	case e.Field != "":
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return e.Msg
}

// Priority and event values a spec may map to.
var (
	priorityValues = []string{"critical", "high", "normal", "low"}
	eventValues    = []string{"new", "update", "closed", "cancelled", "comment"}
)

// Field names with a place in Fields; any other name goes to Fields.Extra.
var knownFields = []string{"external_id", "object_code", "object_name", "address", "problem",
	"category", "priority", "due", "status", "event", "phone"}

// Format is a compiled FormatSpec. It is immutable and safe for concurrent use.
type Format struct {
	spec        FormatSpec
	fields      []compiledField // in a fixed order
	loc         *time.Location
	events      []compiledEvent
	codeRe      *regexp.Regexp
	priorities  map[string]string // lower-cased keys
	categories  map[string]string // squashed keys
	dateFormats []string
}

type compiledField struct {
	name string
	ex   []*extractor
}

type compiledEvent struct {
	re     *regexp.Regexp
	folded *regexp.Regexp // re for folded text (see foldText); nil when not equivalent
	fast   *litRegexp     // folded run at its literals only (see prefilter.go); nil when not possible
	event  string
}

// newCompiledEvent compiles an event pattern, case-insensitive; with fast
// also the folded and literal-driven forms, which pay for themselves over a
// whole text but not over a subject: printing a parsed expression for them
// walks every rune of a wide class such as \S through unicode.SimpleFold,
// milliseconds for each.
func newCompiledEvent(pattern, event string, fast bool) (compiledEvent, error) {
	re, err := regexp.Compile("(?i)" + pattern)
	if err != nil {
		return compiledEvent{}, err
	}
	ev := compiledEvent{re: re, event: event}
	if !fast {
		return ev, nil
	}
	if tree := foldedTree("(?i)" + pattern); tree != nil {
		ev.folded, _ = regexp.Compile(tree.String())
		if ev.folded != nil {
			if ev.fast = newLitRegexp(tree); ev.fast != nil {
				ev.fast.index = newLitIndex(ev.fast.lits, nil)
			}
		}
	}
	return ev, nil
}

// matches is ev.re.MatchString(text); folded is foldText(text) when ok.
func (ev *compiledEvent) matches(text, folded string, ok bool) bool {
	switch {
	case !ok || ev.folded == nil:
		return ev.re.MatchString(text)
	case ev.fast != nil:
		return len(ev.fast.findAll(folded, 1)) > 0
	default:
		return ev.folded.MatchString(folded)
	}
}

type extractor struct {
	kind      string // labels|table|regex|xpath|json
	labelRes  []*labelMatcher
	labels    []string // squashed, for table
	re        *regexp.Regexp
	in        string
	xpath     []pathStep
	xattr     string
	jsonPath  []string
	glob      string
	pattern   *regexp.Regexp
	normalize []string
}

// Name is the spec's name.
func (f *Format) Name() string { return f.spec.Name }

// Client is the client code the format belongs to.
func (f *Format) Client() string { return f.spec.Client }

// Match is the expr source of the format's match expression.
func (f *Format) Match() string { return f.spec.Match }

// Spec returns a copy of the spec the format was compiled from.
func (f *Format) Spec() FormatSpec { return f.spec }

var normalizeOps = []string{"trim", "upper", "lower", "fold_lookalikes", "digits", "first_line",
	"collapse_spaces", "strip_parens"}

var sources = []string{"subject", "text", "new_text", "quoted", "html", "attachment", "all"}

// CompileFormat checks a spec and compiles its regular expressions and paths.
// Errors are *SpecError.
func CompileFormat(spec FormatSpec) (*Format, error) {
	if strings.TrimSpace(spec.Name) == "" {
		return nil, &SpecError{Field: "name", Msg: "a format needs a name"}
	}
	f := &Format{spec: spec, priorities: map[string]string{}, categories: map[string]string{}}
	if tz := spec.Timezone; tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, &SpecError{Field: "timezone", Msg: fmt.Sprintf("unknown time zone %q", tz)}
		}
		f.loc = loc
	}
	f.dateFormats = spec.DateFormats

	names := make([]string, 0, len(spec.Fields))
	for name := range spec.Fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			return nil, &SpecError{Field: "fields", Msg: "empty field name"}
		}
		list := spec.Fields[name]
		if len(list) == 0 {
			return nil, &SpecError{Field: name, Msg: "no extractor given"}
		}
		cf := compiledField{name: name}
		for _, es := range list {
			ex, err := compileExtractor(name, es)
			if err != nil {
				return nil, err
			}
			cf.ex = append(cf.ex, ex)
		}
		f.fields = append(f.fields, cf)
	}

	for word, p := range spec.Priorities {
		if !slices.Contains(priorityValues, p) {
			return nil, &SpecError{Field: "priorities", Key: word,
				Msg: fmt.Sprintf("%q is not one of %s", p, strings.Join(priorityValues, ", "))}
		}
		f.priorities[strings.ToLower(strings.TrimSpace(word))] = p
	}
	for text, code := range spec.Categories {
		if strings.TrimSpace(code) == "" {
			return nil, &SpecError{Field: "categories", Key: text, Msg: "empty category code"}
		}
		f.categories[squash(text)] = code
	}
	for _, ev := range spec.Events {
		if !slices.Contains(eventValues, ev.Event) {
			return nil, &SpecError{Field: "events", Key: ev.Pattern,
				Msg: fmt.Sprintf("%q is not one of %s", ev.Event, strings.Join(eventValues, ", "))}
		}
		ce, err := newCompiledEvent(ev.Pattern, ev.Event, spec.EventsIn != "" && spec.EventsIn != "subject")
		if err != nil {
			return nil, &SpecError{Field: "events", Key: ev.Pattern, Msg: err.Error()}
		}
		f.events = append(f.events, ce)
	}
	if spec.EventsIn != "" && !slices.Contains(sources, spec.EventsIn) {
		return nil, &SpecError{Field: "events_in", Msg: fmt.Sprintf("unknown source %q", spec.EventsIn)}
	}
	if spec.CodePattern != "" {
		re, err := compileLookalikeRegexp(spec.CodePattern)
		if err != nil {
			return nil, &SpecError{Field: "code_pattern", Msg: err.Error()}
		}
		f.codeRe = re
	}
	return f, nil
}

func compileExtractor(field string, es ExtractorSpec) (*extractor, error) {
	ex := &extractor{in: es.In, glob: strings.ToLower(es.Attachment), normalize: es.Normalize}
	kinds := 0
	if len(es.Labels) > 0 {
		kinds++
		ex.kind = "labels"
		for _, l := range es.Labels {
			if strings.TrimSpace(l) == "" {
				return nil, &SpecError{Field: field, Key: "labels", Msg: "empty label"}
			}
			ex.labelRes = append(ex.labelRes, newLabelMatcher(l))
		}
	}
	if len(es.Table) > 0 {
		kinds++
		ex.kind = "table"
		for _, l := range es.Table {
			if strings.TrimSpace(l) == "" {
				return nil, &SpecError{Field: field, Key: "table", Msg: "empty label"}
			}
			ex.labels = append(ex.labels, squashLabel(l))
		}
	}
	if es.Regex != "" {
		kinds++
		ex.kind = "regex"
		re, err := regexp.Compile(es.Regex)
		if err != nil {
			return nil, &SpecError{Field: field, Key: "regex", Msg: err.Error()}
		}
		ex.re = re
	}
	if es.XPath != "" {
		kinds++
		ex.kind = "xpath"
		steps, attr, err := parsePath(es.XPath)
		if err != nil {
			return nil, &SpecError{Field: field, Key: "xpath", Msg: err.Error()}
		}
		ex.xpath, ex.xattr = steps, attr
	}
	if es.JSON != "" {
		kinds++
		ex.kind = "json"
		p := strings.TrimPrefix(strings.TrimPrefix(es.JSON, "$"), ".")
		if p == "" {
			return nil, &SpecError{Field: field, Key: "json", Msg: "empty path"}
		}
		ex.jsonPath = strings.Split(p, ".")
		if slices.Contains(ex.jsonPath, "") {
			return nil, &SpecError{Field: field, Key: "json", Msg: fmt.Sprintf("bad path %q", es.JSON)}
		}
	}
	switch {
	case kinds == 0:
		return nil, &SpecError{Field: field, Msg: "extractor needs one of labels, table, regex, xpath, json"}
	case kinds > 1:
		return nil, &SpecError{Field: field, Msg: "extractor has more than one of labels, table, regex, xpath, json; list them separately"}
	}
	if es.In != "" {
		if ex.kind != "regex" {
			return nil, &SpecError{Field: field, Key: "in", Msg: "in: applies to regex only"}
		}
		if !slices.Contains(sources, es.In) {
			return nil, &SpecError{Field: field, Key: "in", Msg: fmt.Sprintf("unknown source %q (one of %s)", es.In, strings.Join(sources, ", "))}
		}
	}
	if es.Attachment != "" {
		if _, err := path.Match(ex.glob, ""); err != nil {
			return nil, &SpecError{Field: field, Key: "attachment", Msg: fmt.Sprintf("bad glob %q", es.Attachment)}
		}
	}
	if es.Pattern != "" {
		re, err := regexp.Compile(es.Pattern)
		if err != nil {
			return nil, &SpecError{Field: field, Key: "pattern", Msg: err.Error()}
		}
		ex.pattern = re
	}
	for _, op := range es.Normalize {
		if !slices.Contains(normalizeOps, op) {
			return nil, &SpecError{Field: field, Key: "normalize",
				Msg: fmt.Sprintf("unknown operation %q (one of %s)", op, strings.Join(normalizeOps, ", "))}
		}
	}
	return ex, nil
}

// labelRegexp matches a "label: value" line: any case, runs of spaces,
// a dotted leader ("Адрес .....: x"), a colon or a dash as separator, and
// a "> " quote prefix.
func labelRegexp(label string) *regexp.Regexp {
	words := strings.Fields(strings.TrimRight(strings.TrimSpace(label), ":"))
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(`(?im)^[ \t>*|]*` + strings.Join(words, `[ \t]+`) +
		`[ \t.*]*(?::|[-–—](?:[ \t]|$))[ \t*]*([^\r\n]*)$`)
}

// labelMatcher is a labelRegexp that runs only on the lines holding the
// label's first word. Its matches never span a line break and start at the
// start of a line, so each such line can be matched alone, anchored; the
// word is looked for in folded text (see foldText), as (?i) compares it.
type labelMatcher struct {
	re   *regexp.Regexp
	line *regexp.Regexp // re anchored at the start of its input
	word string         // the first word, folded; "" when re runs over the whole text
}

func newLabelMatcher(label string) *labelMatcher {
	re := labelRegexp(label)
	m := &labelMatcher{re: re}
	words := strings.Fields(strings.TrimRight(strings.TrimSpace(label), ":"))
	if len(words) == 0 || !utf8.ValidString(words[0]) {
		return m
	}
	if w, ok := foldText(words[0]); ok {
		m.word, m.line = w, regexp.MustCompile(`^(?:`+re.String()+`)`)
	}
	return m
}

// findAll is re.FindAllStringSubmatchIndex(text, n); folded is foldText(text)
// when ok.
func (m *labelMatcher) findAll(text, folded string, ok bool, n int) [][]int {
	if m.word == "" || !ok {
		return m.re.FindAllStringSubmatchIndex(text, n)
	}
	var out [][]int
	pos, from := 0, 0
	for from < len(text) && (n < 0 || len(out) < n) {
		i := strings.Index(folded[from:], m.word)
		if i < 0 {
			break
		}
		p := from + i
		start := strings.LastIndexByte(text[:p], '\n') + 1
		end := strings.IndexByte(text[p:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += p
		}
		from = end + 1
		if start < pos {
			continue
		}
		loc := m.line.FindStringSubmatchIndex(text[start:end])
		if loc == nil {
			continue
		}
		for k := range loc {
			if loc[k] >= 0 {
				loc[k] += start
			}
		}
		out = append(out, loc)
		pos = loc[1]
	}
	return out
}

// squash lower-cases, folds ё and drops everything but letters and digits,
// for case- and space-insensitive comparison of labels and categories.
func squash(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r = unicode.ToLower(r); {
		case r == 'ё':
			b.WriteRune('е')
		case isLetterOrDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func squashLabel(s string) string {
	return squash(strings.TrimRight(strings.TrimSpace(s), ":"))
}
