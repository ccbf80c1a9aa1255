package learn

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/intakehq/intake/parsers"
)

// slot is one place a value can be read from in the samples: a "label:
// value" line, a table cell, a path in a JSON or XML attachment. Its values
// are what the real extractor (parsers) reads from each sample, so what the
// proposal promises is what Intake will do.
type slot struct {
	spec   parsers.ExtractorSpec
	label  string   // the label or path, for hints and evidence
	where  string   // "line", "table cell", "JSON", "XML"
	values []string // by sample; "" when the sample lacks it
	order  int      // first position seen, for stable ties
}

// present counts the samples that have a value.
func (s *slot) present() int {
	n := 0
	for _, v := range s.values {
		if v != "" {
			n++
		}
	}
	return n
}

// distinct counts the different values.
func (s *slot) distinct() int {
	seen := map[string]bool{}
	for _, v := range s.values {
		if v != "" {
			seen[v] = true
		}
	}
	return len(seen)
}

// describe names the slot as a person reads it in the mail.
func (s *slot) describe() string {
	switch s.where {
	case "line":
		return fmt.Sprintf("the line %q", s.label+": ...")
	case "table cell":
		return fmt.Sprintf("the table cell after %q", s.label)
	}
	return fmt.Sprintf("%s %s", s.where, s.label)
}

// maxSlots bounds the places looked at: a notification has a few dozen.
const maxSlots = 400

// labelLine is "Label: value" and "Label ......: value" in the text.
var labelLine = regexp.MustCompile(`^[ \t]*([\p{L}][\p{L}\p{N} ./()\-]{0,58}?)[ \t.…]*:[ \t]*(\S.*)?$`)

// findSlots lists the candidate slots of the samples and reads each with
// the extractors of package parsers.
func findSlots(docs []*parsers.Document) ([]*slot, error) {
	type key struct{ kind, label string }
	seen := map[key]*slot{}
	var slots []*slot
	add := func(k key, spec parsers.ExtractorSpec, where string) {
		if _, ok := seen[k]; ok || len(slots) >= maxSlots {
			return
		}
		s := &slot{spec: spec, label: k.label, where: where, order: len(slots)}
		seen[k] = s
		slots = append(slots, s)
	}
	textLabels := map[string]bool{}
	for _, d := range docs {
		for _, line := range strings.Split(d.Text, "\n") {
			m := labelLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			l := strings.TrimRight(strings.TrimSpace(m[1]), " .…")
			if !plausibleLabel(l) {
				continue
			}
			textLabels[squashed(l)] = true
			add(key{"labels", squashed(l)}, parsers.ExtractorSpec{Labels: []string{l}}, "line")
			seen[key{"labels", squashed(l)}].label = l
		}
		for _, t := range d.Tables {
			for _, row := range t {
				if len(row) < 2 {
					continue
				}
				l := strings.TrimRight(strings.TrimSpace(row[0]), ": ")
				if !plausibleLabel(l) || textLabels[squashed(l)] {
					continue
				}
				add(key{"table", squashed(l)}, parsers.ExtractorSpec{Table: []string{l}}, "table cell")
				seen[key{"table", squashed(l)}].label = l
			}
		}
		for _, a := range d.Attachments {
			name := strings.ToLower(a.Name)
			switch {
			case strings.HasSuffix(name, ".json") || strings.HasPrefix(strings.TrimSpace(a.Text), "{"):
				for _, p := range jsonPaths(a.Text) {
					add(key{"json", p}, parsers.ExtractorSpec{JSON: p, Attachment: "*.json"}, "JSON")
				}
			case strings.HasSuffix(name, ".xml") || strings.HasPrefix(strings.TrimSpace(a.Text), "<"):
				for _, p := range xmlPaths(a.Text) {
					add(key{"xpath", p}, parsers.ExtractorSpec{XPath: p, Attachment: "*.xml"}, "XML")
				}
			}
		}
	}
	if len(slots) == 0 {
		return nil, nil
	}
	// Read every slot with the real extractors: one format whose fields
	// are the slots.
	spec := parsers.FormatSpec{Name: "learn-probe", Client: "X", Fields: map[string]parsers.Extractors{}}
	for i, s := range slots {
		spec.Fields[fmt.Sprintf("s%d", i)] = parsers.Extractors{s.spec}
	}
	f, err := parsers.CompileFormat(spec)
	if err != nil {
		return nil, fmt.Errorf("probing the samples: %w", err)
	}
	for _, s := range slots {
		s.values = make([]string, len(docs))
	}
	for j, d := range docs {
		fs := f.Extract(d, parsers.ExtractContext{})
		for i, s := range slots {
			s.values[j] = strings.TrimSpace(fs.Extra[fmt.Sprintf("s%d", i)])
		}
	}
	return slices.DeleteFunc(slots, func(s *slot) bool { return s.present() == 0 }), nil
}

// plausibleLabel rejects what only looks like a label: a URL scheme, a
// sentence, a time.
func plausibleLabel(l string) bool {
	if l == "" || len([]rune(l)) > 50 || len(strings.Fields(l)) > 5 {
		return false
	}
	low := strings.ToLower(l)
	for _, bad := range []string{"http", "https", "mailto", "re", "fw", "fwd", "тема письма"} {
		if low == bad {
			return false
		}
	}
	letters := 0
	for _, r := range l {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters >= 2
}

func squashed(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r == 'ё' {
			r = 'е'
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// jsonPaths lists the dotted paths of the scalar values of a JSON document.
func jsonPaths(text string) []string {
	var v any
	dec := json.NewDecoder(strings.NewReader(strings.TrimPrefix(text, "\ufeff")))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil
	}
	var out []string
	var walk func(prefix string, v any, depth int)
	walk = func(prefix string, v any, depth int) {
		if depth > 8 || len(out) > 300 {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if strings.ContainsAny(k, ". ") {
					continue
				}
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, t[k], depth+1)
			}
		case []any:
			if len(t) > 0 {
				walk(prefix+".0", t[0], depth+1)
			}
		case nil:
		default:
			if prefix != "" {
				out = append(out, prefix)
			}
		}
	}
	walk("", v, 0)
	return out
}

// xmlPaths lists absolute paths of the elements with text, and of their
// attributes, in an XML document.
func xmlPaths(text string) []string {
	dec := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(text, "\ufeff")))
	dec.Strict = false
	dec.Entity = xml.HTMLEntity
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var stack []string
	var out []string
	seen := map[string]bool{}
	hasText := []bool{}
	addPath := func(p string) {
		if !seen[p] && len(out) < 300 {
			seen[p] = true
			out = append(out, p)
		}
	}
	for range 100_000 {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			hasText = append(hasText, false)
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				addPath("/" + strings.Join(stack, "/") + "/@" + a.Name.Local)
			}
		case xml.CharData:
			if len(stack) > 0 && strings.TrimSpace(string(t)) != "" {
				hasText[len(hasText)-1] = true
			}
		case xml.EndElement:
			if len(stack) == 0 {
				break
			}
			if hasText[len(hasText)-1] {
				addPath("/" + strings.Join(stack, "/"))
			}
			stack = stack[:len(stack)-1]
			hasText = hasText[:len(hasText)-1]
		}
	}
	return out
}
