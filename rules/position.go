package rules

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// lineBreaks are what YAML counts as the end of a line, so that line n of a
// yaml.v3 position is line n here: CR LF, a lone CR or LF, and the Unicode
// NEL, LS and PS.
var lineBreaks = regexp.MustCompile("\r\n|[\r\n\u0085\u2028\u2029]")

// source is one YAML file split into lines of runes, so that a position
// inside a scalar's value can be turned into a line and column of the file.
type source struct {
	name  string
	lines [][]rune
}

func newSource(name string, data []byte) *source {
	parts := lineBreaks.Split(string(data), -1)
	s := &source{name: name, lines: make([][]rune, len(parts))}
	for i, p := range parts {
		s.lines[i] = []rune(p)
	}
	return s
}

// snippet is the source line and a caret under the column (both 1-based);
// "" when the line is not in the file.
func (s *source) snippet(line, col int) string {
	if line < 1 || line > len(s.lines) {
		return ""
	}
	text := strings.ReplaceAll(string(s.lines[line-1]), "\t", " ")
	if col < 1 {
		return text
	}
	return text + "\n" + strings.Repeat(" ", col-1) + "^"
}

// pos is a 1-based line and column in the file.
type pos struct{ line, col int }

// valuePos returns the file position of the rune at offset off of the
// scalar n's value. expr reports errors as offsets into the expression; a
// `when` may be plain, quoted ('...' or "..." with escapes) or a block
// scalar (| or >), so the value is walked against the source text. Where
// the walk loses track (an unusual escape or folding), the last position it
// knew is used, which is still the right line in practice.
func (s *source) valuePos(n *yaml.Node, off int) pos {
	start := pos{n.Line, n.Column}
	if off < 0 {
		return start
	}
	ps := s.scalarPositions(n)
	switch {
	case off < len(ps):
		return ps[off]
	case len(ps) > 0:
		last := ps[len(ps)-1]
		return pos{last.line, last.col + 1}
	}
	return start
}

// scalarPositions maps every rune of n.Value to its place in the file, as
// far as it can follow.
func (s *source) scalarPositions(n *yaml.Node) []pos {
	want := []rune(n.Value)
	out := make([]pos, 0, len(want))
	li, ci := n.Line-1, n.Column-1 // 0-based cursor
	if li < 0 || li >= len(s.lines) {
		return nil
	}
	block := n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	indent := 0
	switch {
	case block:
		// The content starts on the line after the indicator, indented
		// as its first non-blank line.
		li, ci = li+1, 0
		for j := li; j < len(s.lines); j++ {
			if t := strings.TrimLeft(string(s.lines[j]), " "); t != "" {
				indent = utf8.RuneCountInString(string(s.lines[j])) - utf8.RuneCountInString(t)
				break
			}
		}
		if li < len(s.lines) {
			ci = min(indent, len(s.lines[li]))
		}
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		ci++ // past the opening quote
	}
	double := n.Style&yaml.DoubleQuotedStyle != 0
	single := n.Style&yaml.SingleQuotedStyle != 0

	nextLine := func() bool {
		li++
		if li >= len(s.lines) {
			return false
		}
		ci = 0
		if block {
			ci = min(indent, len(s.lines[li]))
			return true
		}
		for ci < len(s.lines[li]) && (s.lines[li][ci] == ' ' || s.lines[li][ci] == '\t') {
			ci++
		}
		return true
	}
	restBlank := func() bool {
		for _, r := range s.lines[li][ci:] {
			if !unicode.IsSpace(r) {
				return false
			}
		}
		return true
	}

	for k := 0; k < len(want); {
		r := want[k]
		line := s.lines[li]
		switch {
		case (r == ' ' || r == '\n') && restBlank():
			// A line break in the source: folded to a space, or kept.
			out = append(out, pos{li + 1, ci + 1})
			k++
			if !nextLine() {
				return out
			}
		case ci >= len(line) || restBlank():
			// A blank line that folding swallowed.
			if !nextLine() {
				return out
			}
		case double && line[ci] == '\\':
			out = append(out, pos{li + 1, ci + 1})
			k++
			ci += escapeLen(line[ci:])
		case single && line[ci] == '\'' && ci+1 < len(line) && line[ci+1] == '\'':
			out = append(out, pos{li + 1, ci + 1})
			k++
			ci += 2
		case line[ci] == r:
			out = append(out, pos{li + 1, ci + 1})
			k++
			ci++
		default:
			return out
		}
	}
	return out
}

// escapeLen is the length in runes of the escape sequence at the start of s.
func escapeLen(s []rune) int {
	if len(s) < 2 {
		return len(s)
	}
	n := 2
	switch s[1] {
	case 'x':
		n = 4
	case 'u':
		n = 6
	case 'U':
		n = 10
	}
	return min(n, len(s))
}
