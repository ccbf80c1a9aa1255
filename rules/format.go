package rules

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/intakehq/intake/parsers"
)

// format reads one item of formats: into a parsers.FormatSpec, compiles it
// with parsers.CompileFormat and compiles its match expression.
func (l *loader) format(n *yaml.Node) {
	name := ""
	var nameNode, matchNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "name":
			nameNode = n.Content[i+1]
			name = nameNode.Value
		case "match":
			matchNode = n.Content[i+1]
		}
	}
	before := len(l.problems)
	l.strictKeys(n, reflect.TypeFor[parsers.FormatSpec](), name)
	if len(l.problems) > before {
		return
	}
	var spec parsers.FormatSpec
	if err := n.Decode(&spec); err != nil {
		l.yamlError(err, "", name)
		return
	}
	cf := &CompiledFormat{Name: spec.Name, Client: spec.Client, MatchSource: spec.Match, File: l.src.name, Line: n.Line}
	f, err := parsers.CompileFormat(spec)
	if err != nil {
		var se *parsers.SpecError
		if errors.As(err, &se) {
			l.problem(specErrorNode(n, se), "", name, se.Error())
		} else {
			l.problem(n, "", name, err.Error())
		}
	}
	cf.Format = f
	if matchNode != nil && strings.TrimSpace(spec.Match) != "" {
		if c := l.compileExpr(matchNode, 0, kindBool, "", name); c != nil {
			cf.Match = c.prog
		}
	}
	if name == "" {
		return // CompileFormat said so
	}
	if first := l.formats[name]; first != nil {
		l.problem(nameNode, "", name, fmt.Sprintf("duplicate format name (first at %s line %d)", first.File, first.Line))
		return
	}
	l.formats[name] = cf
	l.set.formats = append(l.set.formats, cf)
	l.set.byName[name] = cf
}

// strictKeys reports mapping keys that t (a struct with yaml tags, maps,
// slices of those) has no place for: yaml.v3 would drop them silently, and
// a misspelt "regx:" would then extract nothing.
func (l *loader) strictKeys(n *yaml.Node, t reflect.Type, format string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		// A type that reads its own YAML: check it only when it is a list
		// of tagged structs that may be written as one mapping or a list.
		if t.Kind() != reflect.Slice || !hasYAMLTags(t.Elem()) {
			return
		}
		if n.Kind == yaml.MappingNode {
			l.strictKeys(n, t.Elem(), format)
			return
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // Decode will say what is wrong
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "-" || !f.IsExported() {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			fields[tag] = f.Type
			names = append(names, tag)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				l.problem(k, "", format, unknownKey("key", k.Value, names))
				continue
			}
			l.strictKeys(n.Content[i+1], ft, format)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			l.strictKeys(n.Content[i], t.Elem(), format)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for _, item := range n.Content {
			l.strictKeys(item, t.Elem(), format)
		}
	}
}

func hasYAMLTags(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if _, ok := t.Field(i).Tag.Lookup("yaml"); ok {
			return true
		}
	}
	return false
}

// specErrorNode finds the YAML node a *parsers.SpecError is about: Field is
// a top-level key of the format or a field under fields:, Key a key inside
// it (an extractor's "regex", a priority word, an event pattern). It falls
// back to the nearest node found.
func specErrorNode(format *yaml.Node, se *parsers.SpecError) *yaml.Node {
	at := format
	var field *yaml.Node
	if k, v := mappingKey(format, se.Field); k != nil {
		at, field = k, v
	} else if _, fields := mappingKey(format, "fields"); fields != nil {
		if k, v := mappingKey(fields, se.Field); k != nil {
			at, field = k, v
		}
	}
	if field == nil || se.Key == "" {
		return at
	}
	// An extractor list: prefer the item whose value is the bad one.
	items := []*yaml.Node{field}
	if field.Kind == yaml.SequenceNode {
		items = field.Content
	}
	var first *yaml.Node
	for _, item := range items {
		k, v := mappingKey(item, se.Key)
		if k == nil {
			continue
		}
		target := v
		if v.Kind != yaml.ScalarNode || field.Kind == yaml.MappingNode && item == field && se.Field == "events" {
			target = k // events: the pattern is the key
		}
		if first == nil {
			first = target
		}
		if (se.Key == "regex" || se.Key == "pattern") && v.Kind == yaml.ScalarNode {
			if _, err := regexp.Compile(v.Value); err != nil {
				return target
			}
		}
	}
	if first != nil {
		return first
	}
	return at
}

// mappingKey returns the key and value nodes of key in mapping m.
func mappingKey(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode || key == "" {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}
