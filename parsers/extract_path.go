package parsers

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// pathStep is one step of a simple XML path: a name ("*" for any) reached
// from the previous step as a child, or as any descendant after "//".
type pathStep struct {
	name string
	desc bool
}

// parsePath parses the small path language used by xpath extractors:
// "/a/b", "//b", "/a//b", "a/b" (same as "//a/b"), an optional final "@attr"
// and an optional final "text()". Predicates are not supported.
func parsePath(p string) ([]pathStep, string, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil, "", fmt.Errorf("empty path")
	}
	if strings.ContainsAny(p, "[]()=") && !strings.HasSuffix(p, "text()") {
		return nil, "", fmt.Errorf("path %q: predicates and functions are not supported", p)
	}
	p = strings.TrimSuffix(p, "/text()")
	var steps []pathStep
	attr := ""
	desc := !strings.HasPrefix(p, "/")
	rest := strings.TrimLeft(p, "/")
	if strings.HasPrefix(p, "//") {
		desc = true
	}
	for rest != "" {
		i := strings.Index(rest, "/")
		part := rest
		next := ""
		if i >= 0 {
			part, next = rest[:i], rest[i:]
		}
		switch {
		case part == "":
			return nil, "", fmt.Errorf("path %q: empty step", p)
		case strings.HasPrefix(part, "@"):
			if next != "" || len(part) == 1 {
				return nil, "", fmt.Errorf("path %q: an attribute must be the last step", p)
			}
			attr = part[1:]
		default:
			steps = append(steps, pathStep{name: localName(part), desc: desc})
		}
		desc = strings.HasPrefix(next, "//")
		if strings.HasPrefix(next, "///") {
			return nil, "", fmt.Errorf("path %q: empty step", p)
		}
		rest = strings.TrimLeft(next, "/")
	}
	if len(steps) == 0 {
		return nil, "", fmt.Errorf("path %q: no element step", p)
	}
	return steps, attr, nil
}

func localName(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func pathMatches(stack []string, steps []pathStep) bool {
	if len(steps) == 0 {
		return len(stack) == 0
	}
	st := steps[0]
	eq := func(n string) bool { return st.name == "*" || strings.EqualFold(n, st.name) }
	if st.desc {
		for k := range stack {
			if eq(stack[k]) && pathMatches(stack[k+1:], steps[1:]) {
				return true
			}
		}
		return false
	}
	return len(stack) > 0 && eq(stack[0]) && pathMatches(stack[1:], steps[1:])
}

// xmlLookup returns the text (or attribute) of the first element on the path
// with a non-empty value. The text is already UTF-8: the encoding declaration
// is ignored.
func xmlLookup(doc string, steps []pathStep, attr string) string {
	return xmlLookupIn(xmlTokens(doc), steps, attr)
}

// maxXMLTokens bounds the tokens of one document read.
const maxXMLTokens = 1_000_000

// xmlTokens yields the tokens of doc as xmlLookup reads them: up to the
// first error, at most maxXMLTokens. A token is valid until the next.
func xmlTokens(doc string) iter.Seq[xml.Token] {
	return func(yield func(xml.Token) bool) {
		dec := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(doc, "\ufeff")))
		dec.Strict = false
		dec.Entity = xml.HTMLEntity
		dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
		for range maxXMLTokens {
			tok, err := dec.Token()
			if err != nil || !yield(tok) {
				return
			}
		}
	}
}

func xmlLookupIn(tokens iter.Seq[xml.Token], steps []pathStep, attr string) string {
	var stack []string
	capture := -1 // depth of the element whose text is collected
	var text strings.Builder
	for tok := range tokens {
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if capture >= 0 || !pathMatches(stack, steps) {
				continue
			}
			if attr != "" {
				for _, a := range t.Attr {
					if strings.EqualFold(a.Name.Local, attr) && strings.TrimSpace(a.Value) != "" {
						return strings.TrimSpace(a.Value)
					}
				}
				continue
			}
			capture = len(stack)
			text.Reset()
		case xml.CharData:
			if capture >= 0 {
				text.Write(t)
			}
		case xml.EndElement:
			if capture == len(stack) {
				capture = -1
				if v := strings.TrimSpace(text.String()); v != "" {
					return v
				}
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if capture >= 0 {
		return strings.TrimSpace(text.String())
	}
	return ""
}

// maxXMLMemo bounds the size of an XML document whose tokens a Document
// keeps: a format reads one document with one path per field, and for a
// work order's few kilobytes reading it once is cheaper than once a field.
const maxXMLMemo = 64 << 10

// xmlMemo keeps the tokens of the XML document read last.
type xmlMemo struct {
	src    string
	tokens []xml.Token
}

// lookup is xmlLookup(doc, steps, attr).
func (m *xmlMemo) lookup(doc string, steps []pathStep, attr string) string {
	if len(doc) > maxXMLMemo {
		return xmlLookup(doc, steps, attr)
	}
	if m.tokens == nil || m.src != doc {
		m.src, m.tokens = doc, []xml.Token{}
		for tok := range xmlTokens(doc) {
			m.tokens = append(m.tokens, xml.CopyToken(tok))
		}
	}
	return xmlLookupIn(slices.Values(m.tokens), steps, attr)
}

// jsonLookup follows a dotted path (object keys, array indexes) and returns
// the scalar found as text.
func jsonLookup(doc string, p []string) string {
	dec := json.NewDecoder(strings.NewReader(strings.TrimPrefix(doc, "\ufeff")))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	for _, k := range p {
		switch t := v.(type) {
		case map[string]any:
			next, ok := t[k]
			if !ok {
				for key, val := range t {
					if strings.EqualFold(key, k) {
						next, ok = val, true
						break
					}
				}
			}
			if !ok {
				return ""
			}
			v = next
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(t) {
				return ""
			}
			v = t[i]
		default:
			return ""
		}
	}
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return ""
	default:
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(t); err != nil {
			return ""
		}
		return strings.TrimSpace(b.String())
	}
}
