package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is one YAML source of a rule set.
type File struct {
	Name string // shown in errors: "rules/pu.yaml"
	Data []byte
}

// Problem is one mistake in a rule set, located in its file.
type Problem struct {
	File   string
	Rule   string // name of the rule it is in, "" when not in a rule
	Format string // name of the format it is in, "" when not in a format
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based, in characters; 0 when unknown
	// Snippet is the offending source line and, under it, a caret at
	// Column.
	Snippet string
	Msg     string
}

// Heading is the problem on one line:
//
//	rules/pu.yaml: rule "pu-new-order", line 3 col 18: unknown name "subjet"
func (p Problem) Heading() string {
	var b strings.Builder
	b.WriteString(p.File)
	b.WriteString(":")
	sep := " "
	switch {
	case p.Rule != "":
		fmt.Fprintf(&b, " rule %q", p.Rule)
		sep = ", "
	case p.Format != "":
		fmt.Fprintf(&b, " format %q", p.Format)
		sep = ", "
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%sline %d", sep, p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, " col %d", p.Column)
		}
		b.WriteString(":")
	} else if sep == ", " {
		b.WriteString(":")
	}
	b.WriteString(" ")
	b.WriteString(p.Msg)
	return b.String()
}

// String is the heading followed by the indented snippet.
func (p Problem) String() string {
	if p.Snippet == "" {
		return p.Heading()
	}
	return p.Heading() + "\n    " + strings.ReplaceAll(p.Snippet, "\n", "\n    ")
}

// LoadError is every problem found in a rule set. A set with any problem is
// refused whole.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "\n")
}

// Load parses and compiles a rule set from YAML files, in the order given:
// formats are tried and rules run in file order, then in the order written.
// It reports every problem it finds as a *LoadError; the set is then nil
// and the caller keeps its active one.
func Load(files []File) (*Set, error) {
	l := &loader{
		c:       newCompiler(),
		rules:   map[string]*Rule{},
		formats: map[string]*CompiledFormat{},
		set:     &Set{byName: map[string]*CompiledFormat{}},
	}
	h := sha256.New()
	for i, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Name, len(f.Data))
		h.Write(f.Data)
		l.set.sources = append(l.set.sources, File{Name: f.Name, Data: bytes.Clone(f.Data)})
		l.file(i, f)
	}
	l.set.hash = hex.EncodeToString(h.Sum(nil))
	l.finish()
	if len(l.problems) > 0 {
		slices.SortStableFunc(l.problems, func(a, b located) int {
			if a.file != b.file {
				return a.file - b.file
			}
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		e := &LoadError{Problems: make([]Problem, len(l.problems))}
		for i, p := range l.problems {
			e.Problems[i] = p.Problem
		}
		return nil, e
	}
	return l.set, nil
}

// located is a problem with the index of its file, for sorting.
type located struct {
	Problem
	file int
}

type loader struct {
	c        *compiler
	set      *Set
	rules    map[string]*Rule
	formats  map[string]*CompiledFormat
	problems []located

	// current file
	idx int
	src *source
}

// problem records a mistake at node n (nil: no position).
func (l *loader) problem(n *yaml.Node, rule, format, msg string) {
	p := pos{}
	if n != nil {
		p = pos{n.Line, n.Column}
	}
	l.problemAt(p, rule, format, msg)
}

func (l *loader) problemAt(p pos, rule, format, msg string) {
	l.problems = append(l.problems, located{file: l.idx, Problem: Problem{
		File: l.src.name, Rule: rule, Format: format,
		Line: p.line, Column: p.col,
		Snippet: l.src.snippet(p.line, p.col),
		Msg:     msg,
	}})
}

var yamlLineRe = regexp.MustCompile(`line (\d+): (.*)`)

func (l *loader) file(idx int, f File) {
	l.idx, l.src = idx, newSource(f.Name, f.Data)
	dec := yaml.NewDecoder(bytes.NewReader(f.Data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			l.yamlError(err, "", "")
			return
		}
		l.document(&doc)
	}
}

// yamlError turns a yaml.v3 error ("yaml: line 4: did not find expected
// key", or a list of unmarshal errors) into problems.
func (l *loader) yamlError(err error, rule, format string) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		// yaml.v3 shortens a long value it quotes at a byte count, which
		// may cut a Cyrillic letter in two: drop the broken half, or every
		// page and terminal that shows the message shows garbage.
		m = strings.ToValidUTF8(strings.TrimPrefix(m, "yaml: "), "")
		if sm := yamlLineRe.FindStringSubmatch(m); sm != nil {
			line, _ := strconv.Atoi(sm[1])
			l.problemAt(pos{line: line}, rule, format, sm[2])
			continue
		}
		l.problem(nil, rule, format, m)
	}
}

func (l *loader) document(doc *yaml.Node) {
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return
		}
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return // an empty file
	}
	if doc.Kind != yaml.MappingNode {
		l.problem(doc, "", "", "expected a mapping with formats: and rules:")
		return
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "formats":
			for _, item := range l.list(v, "formats") {
				l.format(item)
			}
		case "rules":
			for _, item := range l.list(v, "rules") {
				l.rule(item)
			}
		default:
			l.problem(k, "", "", unknownKey("key", k.Value, []string{"formats", "rules"}))
		}
	}
}

// list returns the mapping items of a sequence node.
func (l *loader) list(v *yaml.Node, what string) []*yaml.Node {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		l.problem(v, "", "", fmt.Sprintf("%s: expected a list (items starting with \"- \")", what))
		return nil
	}
	var out []*yaml.Node
	for _, item := range v.Content {
		if item.Kind != yaml.MappingNode {
			l.problem(item, "", "", fmt.Sprintf("%s: each item must be a mapping", what))
			continue
		}
		out = append(out, item)
	}
	return out
}

// unknownKey words an unknown key, suggesting the nearest known one.
func unknownKey(what, got string, known []string) string {
	msg := fmt.Sprintf("unknown %s %q", what, got)
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(got, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg + " (known: " + strings.Join(known, ", ") + ")"
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// compileExpr compiles the expression in scalar n starting at rune offset
// skip of its value ("=..." values skip the "="), recording a problem with
// the position mapped into the file.
func (l *loader) compileExpr(n *yaml.Node, skip int, want kind, rule, format string) *compiled {
	src := string([]rune(n.Value)[skip:])
	if strings.TrimSpace(src) == "" {
		l.problem(n, rule, format, "empty expression")
		return nil
	}
	prog, p := l.c.compile(src, want)
	if p != nil {
		at := pos{n.Line, n.Column}
		if p.from >= 0 {
			at = l.src.valuePos(n, skip+p.from)
		}
		msg := p.msg
		if n.Style == 0 && n.LineComment != "" {
			msg += ` (" #" starts a YAML comment: quote the expression or write it as a | block)`
		}
		l.problemAt(at, rule, format, msg)
		return nil
	}
	return &compiled{src: src, prog: prog}
}

// finish runs the checks that need the whole set.
func (l *loader) finish() {
	for _, r := range l.set.rules {
		for _, a := range r.actions {
			if a.key != "format" || a.val.prog != nil {
				continue
			}
			name := a.val.lit.(string)
			if _, ok := l.formats[name]; !ok {
				l.idx, l.src = r.fileIdx, r.src
				l.problem(a.node, r.Name, "", fmt.Sprintf("unknown format %q", name))
			}
		}
	}
	// A default rule ends its stage: anything after it would never run.
	for _, st := range Stages {
		var def *Rule
		for _, r := range l.set.stages[st] {
			if def != nil {
				l.idx, l.src = r.fileIdx, r.src
				l.problem(r.nameNode, r.Name, "", fmt.Sprintf("rule never runs: it follows default rule %q of stage %s (%s line %d)", def.Name, st, def.File, def.Line))
				break
			}
			if r.Default && !r.Continue {
				def = r
			}
		}
	}
}
