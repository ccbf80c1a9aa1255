package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kinds of reference-data code a rule or format may name literally.
const (
	CodeClient   = "client"
	CodeCategory = "category"
	CodeEngineer = "engineer"
)

// Codes are the codes of the reference data, by kind (CodeClient,
// CodeCategory, CodeEngineer). A kind that is absent is not checked.
type Codes map[string][]string

// codeActions are the actions whose literal values are codes, and their
// kind.
var codeActions = map[string]string{
	"client":            CodeClient,
	"category":          CodeCategory,
	"engineer":          CodeEngineer,
	"exclude_engineers": CodeEngineer,
	"prefer_engineers":  CodeEngineer,
}

// CheckCodes reports every code written literally in the set's files that
// the reference data does not have: a format's client: and the values of
// its categories:, and the client, category and engineer actions of rules
// (engineer, exclude_engineers, prefer_engineers). A value computed by an
// =expression is not known before it runs and is not checked. Load cannot
// see these mistakes, since it has no reference data: a category
// "securty" compiles, and every ticket it routes gets no category.
//
// The problems come as a *LoadError, with file, rule or format, line and
// column, as Load reports its own; nil when every code is known.
func (s *Set) CheckCodes(known Codes) error {
	sets := map[string]map[string]bool{}
	for kind, codes := range known {
		m := make(map[string]bool, len(codes))
		for _, c := range codes {
			m[c] = true
		}
		sets[kind] = m
	}
	var problems []Problem
	for _, f := range s.sources {
		src := newSource(f.Name, f.Data)
		check := func(n *yaml.Node, kind, rule, format string) {
			if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!str" || n.Value == "" || strings.HasPrefix(n.Value, "=") {
				return
			}
			have, ok := sets[kind]
			if !ok || have[n.Value] {
				return
			}
			problems = append(problems, Problem{
				File: f.Name, Rule: rule, Format: format, Line: n.Line, Column: n.Column,
				Snippet: src.snippet(n.Line, n.Column),
				Msg:     unknownCode(kind, n.Value, have),
			})
		}
		dec := yaml.NewDecoder(bytes.NewReader(f.Data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) || err != nil {
				break // Load has reported what does not parse
			}
			root := &doc
			if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
				root = root.Content[0]
			}
			for _, item := range sectionItems(root, "formats") {
				name := scalarValue(mapValue(item, "name"))
				check(mapValue(item, "client"), CodeClient, "", name)
				if cats := mapValue(item, "categories"); cats != nil && cats.Kind == yaml.MappingNode {
					for i := 1; i < len(cats.Content); i += 2 {
						check(cats.Content[i], CodeCategory, "", name)
					}
				}
			}
			for _, item := range sectionItems(root, "rules") {
				name := scalarValue(mapValue(item, "name"))
				then := mapValue(item, "then")
				if then == nil || then.Kind != yaml.MappingNode {
					continue
				}
				for i := 0; i+1 < len(then.Content); i += 2 {
					kind, ok := codeActions[then.Content[i].Value]
					if !ok {
						continue
					}
					v := then.Content[i+1]
					if v.Kind == yaml.SequenceNode {
						for _, e := range v.Content {
							check(e, kind, name, "")
						}
						continue
					}
					check(v, kind, name, "")
				}
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &LoadError{Problems: problems}
}

// sectionItems are the mapping items of the list under key of root.
func sectionItems(root *yaml.Node, key string) []*yaml.Node {
	v := mapValue(root, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return nil
	}
	var out []*yaml.Node
	for _, n := range v.Content {
		if n.Kind == yaml.MappingNode {
			out = append(out, n)
		}
	}
	return out
}

// mapValue is the value of key in mapping n, nil when there is none.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// unknownCode says that code is not one of have, and names the nearest
// code, or all of them when there are few.
func unknownCode(kind, code string, have map[string]bool) string {
	codes := make([]string, 0, len(have))
	for c := range have {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	msg := fmt.Sprintf("unknown %s %q: not in the reference data", kind, code)
	best, bestD := "", 3
	for _, c := range codes {
		if d := editDistance(strings.ToLower(code), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	switch {
	case best != "":
		return msg + fmt.Sprintf(" (did you mean %q?)", best)
	case len(codes) == 0:
		return msg + " (it has no " + kind + " codes)"
	case len(codes) <= 12:
		return msg + " (known: " + strings.Join(codes, ", ") + ")"
	}
	return msg
}
