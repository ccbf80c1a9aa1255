// Package linediff compares two texts line by line, as `diff -u` does: the
// lines of a longest common subsequence stay, the others are deleted from
// the old text or inserted from the new one. It is pure and small, for
// texts of the size of rule files; past maxCells of comparison it gives up
// finding the common lines in the middle and shows the middle as replaced,
// which is still a correct diff.
package linediff

import (
	"fmt"
	"strings"
)

// Op says what a line of a diff is.
type Op int

// The ops of a diff line.
const (
	Equal  Op = iota // in both texts
	Delete           // only in the old text
	Insert           // only in the new text
)

// Line is one line of a diff with its 1-based numbers in the old and the
// new text (0 where it is not in that text).
type Line struct {
	Op   Op
	Text string
	Old  int
	New  int
}

// maxCells bounds the comparison table (old lines × new lines of the part
// that differs).
const maxCells = 16 << 20

// split cuts a text into lines, without their line breaks; a final line
// break ends the last line rather than starting an empty one.
func split(s string) []string {
	if s == "" {
		return nil
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// Lines is the diff of old and new: every line of both, in order.
func Lines(old, new string) []Line {
	a, b := split(old), split(new)
	// The common start and end need no table.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	out := make([]Line, 0, len(a)+len(b))
	for i := 0; i < pre; i++ {
		out = append(out, Line{Op: Equal, Text: a[i], Old: i + 1, New: i + 1})
	}
	out = append(out, middle(a[pre:len(a)-suf], b[pre:len(b)-suf], pre)...)
	for k := suf; k > 0; k-- {
		i, j := len(a)-k, len(b)-k
		out = append(out, Line{Op: Equal, Text: a[i], Old: i + 1, New: j + 1})
	}
	return out
}

// middle diffs a and b, which start after off common lines.
func middle(a, b []string, off int) []Line {
	n, m := len(a), len(b)
	var out []Line
	if n*m > maxCells {
		for i, s := range a {
			out = append(out, Line{Op: Delete, Text: s, Old: off + i + 1})
		}
		for j, s := range b {
			out = append(out, Line{Op: Insert, Text: s, New: off + j + 1})
		}
		return out
	}
	// lcs[i][j] is the length of a longest common subsequence of a[i:]
	// and b[j:].
	w := m + 1
	lcs := make([]int32, (n+1)*w)
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out = append(out, Line{Op: Equal, Text: a[i], Old: off + i + 1, New: off + j + 1})
			i++
			j++
		case j < m && (i == n || lcs[i*w+j+1] > lcs[(i+1)*w+j]):
			out = append(out, Line{Op: Insert, Text: b[j], New: off + j + 1})
			j++
		default:
			out = append(out, Line{Op: Delete, Text: a[i], Old: off + i + 1})
			i++
		}
	}
	return out
}

// Hunk is a run of changed lines with up to context unchanged lines
// around them.
type Hunk struct {
	OldStart, OldLines int
	NewStart, NewLines int
	Lines              []Line
}

// Header is the hunk's "@@ -a,b +c,d @@" line.
func (h Hunk) Header() string {
	return fmt.Sprintf("@@ -%d,%d +%d,%d @@", h.OldStart, h.OldLines, h.NewStart, h.NewLines)
}

// Hunks groups the changes of lines with context unchanged lines around
// each; changes closer than 2×context share a hunk. None when nothing
// changed.
func Hunks(lines []Line, context int) []Hunk {
	var hunks []Hunk
	i := 0
	for i < len(lines) {
		if lines[i].Op == Equal {
			i++
			continue
		}
		start := max(i-context, 0)
		end := i
		// Extend over changes and the short runs of equal lines between.
		for end < len(lines) {
			if lines[end].Op != Equal {
				end++
				continue
			}
			run := end
			for run < len(lines) && lines[run].Op == Equal {
				run++
			}
			if run == len(lines) || run-end > 2*context {
				end = min(end+context, len(lines))
				break
			}
			end = run
		}
		h := Hunk{Lines: lines[start:end]}
		for _, l := range h.Lines {
			if l.Op != Insert {
				h.OldLines++
				if h.OldStart == 0 {
					h.OldStart = l.Old
				}
			}
			if l.Op != Delete {
				h.NewLines++
				if h.NewStart == 0 {
					h.NewStart = l.New
				}
			}
		}
		// An empty side starts after the line before it, as diff -u says.
		if h.OldLines == 0 {
			h.OldStart = lineBefore(lines, start, func(l Line) int { return l.Old })
		}
		if h.NewLines == 0 {
			h.NewStart = lineBefore(lines, start, func(l Line) int { return l.New })
		}
		hunks = append(hunks, h)
		i = end
	}
	return hunks
}

func lineBefore(lines []Line, start int, num func(Line) int) int {
	for k := start - 1; k >= 0; k-- {
		if n := num(lines[k]); n > 0 {
			return n
		}
	}
	return 0
}

// Unified is the diff of old and new in the unified format, with context
// lines of context; "" when the texts have the same lines.
func Unified(oldName, newName, old, new string, context int) string {
	hunks := Hunks(Lines(old, new), context)
	if len(hunks) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", oldName, newName)
	for _, h := range hunks {
		b.WriteString(h.Header() + "\n")
		for _, l := range h.Lines {
			b.WriteString(l.Op.Mark() + l.Text + "\n")
		}
	}
	return b.String()
}

// Mark is the line's first column in a unified diff: " ", "-" or "+".
func (o Op) Mark() string {
	switch o {
	case Delete:
		return "-"
	case Insert:
		return "+"
	}
	return " "
}
