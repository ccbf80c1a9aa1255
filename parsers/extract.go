package parsers

import (
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ExtractContext is what extraction needs besides the message: our
// categories (compiled once) and the current time for relative dates.
type ExtractContext struct {
	Categories *CategoryMatcher
	// Now anchors relative dates ("завтра до 12:00"); the message date is
	// used when it is zero.
	Now time.Time
	// Location is the zone of dates written without one (intake.timezone),
	// unless the format names its own; UTC when nil.
	Location *time.Location
}

// location is the zone of dates written without one.
func (x ExtractContext) location() *time.Location {
	if x.Location == nil {
		return time.UTC
	}
	return x.Location
}

// maxValue caps an extracted value; anything longer is not a field.
const maxValue = 4000

// Extract pulls the format's fields out of a document. For a forward, the
// forwarded notification is what counts: when it gives an external number
// (and the outer message gives none or the same) its fields win, and the
// outer message only fills what the inner one lacks.
func (f *Format) Extract(d *Document, x ExtractContext) Fields {
	if d == nil {
		return Fields{Format: f.spec.Name, Client: f.spec.Client}
	}
	out := f.extract(d, x)
	inner := d.Forwarded
	for depth := 0; inner != nil && depth < 5; depth++ {
		fw := f.extract(inner, x)
		if fw.ExternalID != "" && (out.ExternalID == "" || fw.ExternalID == out.ExternalID) {
			return mergeFields(fw, out)
		}
		inner = inner.Forwarded
	}
	return out
}

// mergeFields fills what a lacks from b.
func mergeFields(a, b Fields) Fields {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&a.ObjectCode, b.ObjectCode)
	fill(&a.ObjectName, b.ObjectName)
	fill(&a.Address, b.Address)
	fill(&a.Problem, b.Problem)
	fill(&a.CategoryRaw, b.CategoryRaw)
	fill(&a.Category, b.Category)
	fill(&a.PriorityRaw, b.PriorityRaw)
	fill(&a.Priority, b.Priority)
	fill(&a.Status, b.Status)
	fill(&a.Event, b.Event)
	if a.Due == nil {
		a.Due = b.Due
	}
	a.Phones = mergeStrings(a.Phones, b.Phones)
	a.Codes = mergeStrings(a.Codes, b.Codes)
	a.Emails = mergeStrings(a.Emails, b.Emails)
	a.Refs = mergeStrings(a.Refs, b.Refs)
	for k, v := range b.Extra {
		if _, ok := a.Extra[k]; !ok {
			if a.Extra == nil {
				a.Extra = map[string]string{}
			}
			a.Extra[k] = v
		}
	}
	return a
}

func (f *Format) extract(d *Document, x ExtractContext) Fields {
	out := Fields{Format: f.spec.Name, Client: f.spec.Client}
	raw := map[string]string{}
	for _, cf := range f.fields {
		for _, ex := range cf.ex {
			if v := ex.extract(d); v != "" {
				raw[cf.name] = v
				break
			}
		}
	}
	out.ExternalID = raw["external_id"]
	out.ObjectName = raw["object_name"]
	out.Address = raw["address"]
	out.Problem = raw["problem"]
	out.Status = raw["status"]

	out.ObjectCode = raw["object_code"]
	if f.codeRe != nil {
		if out.ObjectCode != "" {
			if m := f.codeRe.FindString(out.ObjectCode); m != "" {
				out.ObjectCode = m
			}
		}
		for _, src := range []string{d.Subject, d.Text} {
			for _, m := range f.codeRe.FindAllString(src, 20) {
				if !slices.Contains(out.Codes, m) {
					out.Codes = append(out.Codes, m)
				}
			}
		}
		if out.ObjectCode == "" && len(out.Codes) > 0 {
			out.ObjectCode = out.Codes[0]
		}
	}
	if out.ObjectCode != "" && !slices.Contains(out.Codes, out.ObjectCode) {
		out.Codes = append([]string{out.ObjectCode}, out.Codes...)
	}

	// Each category candidate in the order written; the first that maps wins.
	for _, cf := range f.fields {
		if cf.name != "category" {
			continue
		}
		for _, ex := range cf.ex {
			for _, v := range ex.candidates(d) {
				if out.CategoryRaw == "" {
					out.CategoryRaw = v
				}
				if out.Category == "" {
					out.Category = f.category(v, x.Categories)
				}
			}
		}
	}
	if out.Category == "" {
		// The client's words for the problem first, then its description.
		body := raw["description"]
		if body == "" {
			body = d.Text
		}
		out.Category = x.Categories.Match(2, d.Subject, 2, out.Problem, 1, body)
	}

	out.PriorityRaw = raw["priority"]
	if out.PriorityRaw != "" {
		out.Priority = NormalizePriority(out.PriorityRaw, f.spec.Priorities)
	}

	if v := raw["due"]; v != "" {
		now := x.Now
		if now.IsZero() {
			now = d.Date
		}
		if t, ok := f.parseDate(v, x, now); ok {
			out.Due = &t
		}
	}

	out.Event = f.event(d, raw["event"])

	if v := raw["phone"]; v != "" {
		out.Phones = FindPhones(v)
	}
	if out.ExternalID != "" {
		out.Refs = []string{out.ExternalID}
	}
	for name, v := range raw {
		if !slices.Contains(knownFields, name) {
			if out.Extra == nil {
				out.Extra = map[string]string{}
			}
			out.Extra[name] = v
		}
	}
	return out
}

// parseDate reads a due date in the format's zone, else the context's.
func (f *Format) parseDate(v string, x ExtractContext, now time.Time) (time.Time, bool) {
	loc := f.loc
	if loc == nil {
		loc = x.location()
	}
	for _, layout := range f.dateFormats {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), loc); err == nil {
			return t, true
		}
	}
	return ParseDate(v, loc, now)
}

// category maps the client's category text: exactly (ignoring case and
// spaces) through the spec's table, then by containment either way, then by
// our category names, then by our keywords over the client's text.
func (f *Format) category(raw string, m *CategoryMatcher) string {
	if strings.TrimSpace(raw) == "" {
		return ""
	}
	key := squash(raw)
	if c, ok := f.categories[key]; ok {
		return c
	}
	// Longest key first so "Холодильное оборудование / Витрины" beats "Витрины".
	keys := make([]string, 0, len(f.categories))
	for k := range f.categories {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	for _, k := range keys {
		if len(k) >= 4 && strings.Contains(key, k) {
			return f.categories[k]
		}
	}
	for _, k := range keys {
		if len(key) >= 4 && strings.Contains(k, key) {
			return f.categories[k]
		}
	}
	if c := m.byName(raw); c != "" {
		return c
	}
	return m.Match(1, raw)
}

// event gives the event from the extracted "event" field when there is one,
// else from the spec's patterns over EventsIn.
func (f *Format) event(d *Document, field string) string {
	if field != "" {
		if v := strings.ToLower(strings.TrimSpace(field)); slices.Contains(eventValues, v) {
			return v
		}
		for _, ev := range f.events {
			if ev.re.MatchString(field) {
				return ev.event
			}
		}
	}
	in := f.spec.EventsIn
	if in == "" {
		in = "subject"
	}
	src := source(d, in, "")
	var folded string
	ok := false
	if in != "subject" {
		folded, ok = foldText(src)
	}
	for i := range f.events {
		if f.events[i].matches(src, folded, ok) {
			return f.events[i].event
		}
	}
	return ""
}

func source(d *Document, in, glob string) string {
	switch in {
	case "subject":
		return d.Subject
	case "", "text":
		return d.Text
	case "new_text":
		return d.NewText
	case "quoted":
		return d.Quoted
	case "html":
		return d.HTML
	case "attachment":
		return attachmentsText(d, glob)
	case "all":
		return d.Subject + "\n" + d.Text + "\n" + attachmentsText(d, glob)
	}
	return ""
}

func attachmentsText(d *Document, glob string) string {
	var b strings.Builder
	for _, a := range d.Attachments {
		if a.Text != "" && globMatch(glob, a.Name) {
			b.WriteString(a.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func globMatch(glob, name string) bool {
	if glob == "" {
		return true
	}
	ok, err := path.Match(glob, strings.ToLower(name))
	return err == nil && ok
}

func (ex *extractor) extract(d *Document) string {
	v := ex.find(d)
	if v == "" {
		return ""
	}
	if ex.pattern != nil {
		v = submatchValue(ex.pattern, v)
	}
	v = applyNormalize(v, ex.normalize)
	if len(v) > maxValue {
		v = v[:maxValue]
	}
	return strings.TrimSpace(v)
}

// candidates returns the value for each label synonym separately (one
// value for the other kinds), normalized, without empties.
func (ex *extractor) candidates(d *Document) []string {
	var out []string
	add := func(v string) {
		if ex.pattern != nil && v != "" {
			v = submatchValue(ex.pattern, v)
		}
		if v = applyNormalize(v, ex.normalize); v != "" && len(v) <= maxValue {
			out = append(out, v)
		}
	}
	switch ex.kind {
	case "labels":
		for _, re := range ex.labelRes {
			add(findLabel(d, []*labelMatcher{re}))
		}
	case "table":
		for _, l := range ex.labels {
			add(findTable(d.Tables, d.tableKeys.get(d.Tables), []string{l}))
		}
	default:
		add(ex.find(d))
	}
	return out
}

func (ex *extractor) find(d *Document) string {
	switch ex.kind {
	case "labels":
		return findLabel(d, ex.labelRes)
	case "table":
		return findTable(d.Tables, d.tableKeys.get(d.Tables), ex.labels)
	case "regex":
		return submatchValue(ex.re, source(d, ex.in, ex.glob))
	case "xpath":
		for _, a := range d.Attachments {
			if !globMatch(ex.glob, a.Name) || !looksLike(a.Text, '<') {
				continue
			}
			if v := d.xml.lookup(a.Text, ex.xpath, ex.xattr); v != "" {
				return v
			}
		}
	case "json":
		for _, a := range d.Attachments {
			if !globMatch(ex.glob, a.Name) || !(looksLike(a.Text, '{') || looksLike(a.Text, '[')) {
				continue
			}
			if v := jsonLookup(a.Text, ex.jsonPath); v != "" {
				return v
			}
		}
	}
	return ""
}

func looksLike(text string, first byte) bool {
	t := strings.TrimLeft(strings.TrimPrefix(text, "\ufeff"), " \t\r\n")
	return t != "" && t[0] == first
}

func submatchValue(re *regexp.Regexp, s string) string {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return ""
	}
	if i := re.SubexpIndex("value"); i > 0 {
		if m[2*i] < 0 {
			return ""
		}
		return strings.TrimSpace(s[m[2*i]:m[2*i+1]])
	}
	return strings.TrimSpace(s[m[0]:m[1]])
}

// findLabel returns the value of the first label (in the order given) found
// in the text; an empty value means the value is on the next non-empty line.
func findLabel(d *Document, res []*labelMatcher) string {
	text := d.Text
	folded, ok := d.textFold.fold(text)
	for _, re := range res {
		for _, m := range re.findAll(text, folded, ok, 5) {
			if v := strings.TrimSpace(text[m[2]:m[3]]); v != "" {
				return v
			}
			if v := nextLine(text[m[1]:]); v != "" {
				return v
			}
		}
	}
	return ""
}

// nextLine returns the first non-empty line of rest (skipping the end of the
// current line), unless it is a rule or another "label:" line.
func nextLine(rest string) string {
	lines := strings.Split(rest, "\n")
	for i, l := range lines {
		if i == 0 {
			continue // the remainder of the label line
		}
		if i > 3 {
			break
		}
		l = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(l), ">"))
		if l == "" {
			continue
		}
		if strings.Trim(l, "-=_*") == "" || looksLikeLabelLine(l) {
			return ""
		}
		return l
	}
	return ""
}

var labelLine = regexp.MustCompile(`^[\pL][\pL\d .()/№-]{0,40}[ .]*:(?:\s|$)`)

func looksLikeLabelLine(l string) bool {
	return labelLine.MatchString(l) && !strings.Contains(l[:strings.IndexByte(l, ':')], ",")
}

// findTable returns the cell after the first label cell found (labels in the
// order given); when the label cell ends its row, the cell below it. keys
// are squashLabel of the cells (tableKeys).
func findTable(tables, keys [][][]string, labels []string) string {
	for _, want := range labels {
		for ti, t := range tables {
			for r, row := range t {
				for c := range row {
					if keys[ti][r][c] != want {
						continue
					}
					for _, next := range row[c+1:] {
						if v := strings.TrimSpace(next); v != "" {
							return v
						}
					}
					if c == len(row)-1 || allEmpty(row[c+1:]) {
						if r+1 < len(t) && c < len(t[r+1]) {
							if v := strings.TrimSpace(t[r+1][c]); v != "" && keys[ti][r+1][c] != want {
								return v
							}
						}
					}
				}
			}
		}
	}
	return ""
}

// tableKeyMemo keeps squashLabel of every cell of a document's tables, made
// when a format first looks for a label in them.
type tableKeyMemo struct {
	src  [][][]string
	keys [][][]string
}

// get returns squashLabel of each cell of tables.
func (m *tableKeyMemo) get(tables [][][]string) [][][]string {
	if m.keys != nil && len(m.src) == len(tables) && (len(tables) == 0 || &m.src[0] == &tables[0]) {
		return m.keys
	}
	keys := make([][][]string, len(tables))
	for ti, t := range tables {
		keys[ti] = make([][]string, len(t))
		for r, row := range t {
			keys[ti][r] = make([]string, len(row))
			for c, cell := range row {
				keys[ti][r][c] = squashLabel(cell)
			}
		}
	}
	m.src, m.keys = tables, keys
	return keys
}

func allEmpty(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func mergeStrings(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
