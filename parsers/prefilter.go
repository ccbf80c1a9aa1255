package parsers

import (
	"encoding/binary"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// Go's regexp has no multi-literal prefilter: an alternation of keywords
// ("ХОЛОДИЛ|ВИТРИН|...") or an expression that starts with one is tried at
// every position of the text, and that dominated free-text extraction. A
// litRegexp knows a set of literals one of which starts every match (or
// starts right after a leading context character, as in (?:^|[^\pL])...).
// It finds their occurrences with one scan of the text and runs the
// expression, anchored, only where a match can start. The matches are those
// of FindAllStringSubmatchIndex, exactly; the tests compare the two.

const (
	maxPrefixLits  = 64 // literals in a prefix set before giving up on extending it
	maxClassPrefix = 8  // runes of a character class expanded into literals
	unboundedLen   = -1
)

// litRegexp runs re only at candidate start positions.
type litRegexp struct {
	re      *regexp.Regexp // the expression as given, for reference
	atStart *regexp.Regexp // anchored, for a match starting at offset 0
	inside  *regexp.Regexp // anchored, ^ made unmatchable: for a match starting past 0
	back    bool           // a match starts one rune before its literal
	maxLen  int            // bytes a match can span; unboundedLen when unbounded
	lits    []string
	index   *litIndex // nil when the literals are scanned for by a caller
}

// newLitRegexp prepares tree (parsed with syntax.Perl, not modified) for
// candidate-driven matching. It returns nil when the expression does not
// suit: it looks behind its start (multi-line ^, \b, \B), or no finite set
// of non-empty literals starts every match.
func newLitRegexp(tree *syntax.Regexp) *litRegexp {
	if looksBehind(tree) {
		return nil
	}
	rest, back := tree, false
	if tree.Op == syntax.OpConcat && len(tree.Sub) > 1 && isContextAlt(tree.Sub[0]) {
		rest, back = &syntax.Regexp{Op: syntax.OpConcat, Sub: tree.Sub[1:], Flags: tree.Flags}, true
	}
	lits, _, ok := prefixes(rest)
	if !ok || len(lits) == 0 || len(lits) > maxPrefixLits {
		return nil
	}
	for _, l := range lits {
		if l == "" {
			return nil
		}
	}
	slices.Sort(lits)
	lits = slices.Compact(lits)
	src := tree.String()
	re, err := regexp.Compile(src)
	if err != nil {
		return nil
	}
	atStart, err := regexp.Compile(`^(?:` + src + `)`)
	if err != nil {
		return nil
	}
	inner, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	noBeginText(inner)
	inside, err := regexp.Compile(`^(?:` + inner.String() + `)`)
	if err != nil {
		return nil
	}
	if re.NumSubexp() != atStart.NumSubexp() || re.NumSubexp() != inside.NumSubexp() {
		return nil
	}
	return &litRegexp{re: re, atStart: atStart, inside: inside, back: back, maxLen: maxMatchLen(tree), lits: lits}
}

// mustLitRegexp is newLitRegexp over a pattern; it panics when the pattern
// does not suit, for expressions fixed in the source.
func mustLitRegexp(pattern string) *litRegexp {
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic(err)
	}
	m := newLitRegexp(tree)
	if m == nil {
		panic("parsers: no literal prefilter for " + pattern)
	}
	m.index = newLitIndex(m.lits, nil)
	return m
}

// foldedLitRegexp is mustLitRegexp for a case-insensitive pattern, to run over
// foldText output.
func foldedLitRegexp(pattern string) *litRegexp {
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic(err)
	}
	if !foldTree(tree) {
		panic("parsers: cannot fold " + pattern)
	}
	m := newLitRegexp(tree)
	if m == nil {
		panic("parsers: no literal prefilter for " + pattern)
	}
	m.index = newLitIndex(m.lits, nil)
	return m
}

// findAll is FindAllStringSubmatchIndex(text, n) of the expression.
func (m *litRegexp) findAll(text string, n int) [][]int {
	var cands []int
	m.index.scan(text, func(p, _ int) { cands = append(cands, p) })
	return m.findAllAt(text, cands, n)
}

// findAllAt is FindAllStringSubmatchIndex(text, n) given cands, the
// ascending positions of the literals in text (or a superset of them).
func (m *litRegexp) findAllAt(text string, cands []int, n int) [][]int {
	var out [][]int
	pos, last := 0, -1
	for _, p := range cands {
		if n >= 0 && len(out) >= n {
			break
		}
		s := p
		if m.back && p > 0 {
			_, w := utf8.DecodeLastRuneInString(text[:p])
			s = p - w
		}
		if s < pos || s == last {
			continue
		}
		last = s
		re := m.inside
		if s == 0 {
			re = m.atStart
		}
		// Within maxLen bytes (plus a rune) every path the expression can
		// take reads the same runes as in the whole text, so a bounded
		// window gives the same match and keeps the engine's setup small.
		end := len(text)
		if m.maxLen != unboundedLen && s+m.maxLen+utf8.UTFMax < end {
			end = s + m.maxLen + utf8.UTFMax
		}
		loc := re.FindStringSubmatchIndex(text[s:end])
		if loc == nil {
			continue
		}
		for i := range loc {
			if loc[i] >= 0 {
				loc[i] += s
			}
		}
		if loc[0] == loc[1] {
			// Cannot happen (every match holds a literal); defer to the
			// expression's own rules for empty matches.
			return m.re.FindAllStringSubmatchIndex(text, n)
		}
		out = append(out, loc)
		pos = loc[1]
	}
	return out
}

// looksBehind reports whether the expression tests the text before a
// position: multi-line ^, \b or \B.
func looksBehind(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	return slices.ContainsFunc(re.Sub, looksBehind)
}

// isContextAlt reports whether re is (?:^|C) (either order) with C one rune.
func isContextAlt(re *syntax.Regexp) bool {
	if re.Op != syntax.OpAlternate || len(re.Sub) != 2 {
		return false
	}
	a, b := re.Sub[0].Op, re.Sub[1].Op
	oneRune := func(op syntax.Op) bool {
		return op == syntax.OpCharClass || op == syntax.OpAnyChar || op == syntax.OpAnyCharNotNL
	}
	return a == syntax.OpBeginText && oneRune(b) || b == syntax.OpBeginText && oneRune(a)
}

func noBeginText(re *syntax.Regexp) {
	if re.Op == syntax.OpBeginText {
		*re = syntax.Regexp{Op: syntax.OpNoMatch, Flags: re.Flags}
		return
	}
	for _, sub := range re.Sub {
		noBeginText(sub)
	}
}

// prefixes returns strings one of which starts every match of re; exact
// when every match is one of them. ok is false when there is no such set.
func prefixes(re *syntax.Regexp) (set []string, exact, ok bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false, false
		}
		for _, r := range re.Rune {
			// U+FFFD in an expression also matches invalid bytes.
			if r == utf8.RuneError || !utf8.ValidRune(r) {
				return nil, false, false
			}
		}
		return []string{string(re.Rune)}, true, true
	case syntax.OpCharClass:
		n := 0
		for k := 0; k+1 < len(re.Rune); k += 2 {
			lo, hi := re.Rune[k], re.Rune[k+1]
			n += int(hi-lo) + 1
			if n > maxClassPrefix || lo <= utf8.RuneError && utf8.RuneError <= hi {
				return nil, false, false
			}
		}
		for k := 0; k+1 < len(re.Rune); k += 2 {
			for r := re.Rune[k]; r <= re.Rune[k+1]; r++ {
				if !utf8.ValidRune(r) {
					return nil, false, false
				}
				set = append(set, string(r))
			}
		}
		return set, true, len(set) > 0
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpAlternate:
		exact = true
		for _, sub := range re.Sub {
			s, e, ok := prefixes(sub)
			if !ok {
				return nil, false, false
			}
			set, exact = append(set, s...), exact && e
		}
		return set, exact, true
	case syntax.OpConcat:
		acc := []string{""}
		for _, sub := range re.Sub {
			s, e, ok := prefixes(sub)
			if !ok || len(acc)*len(s) > maxPrefixLits {
				return acc, false, true
			}
			next := make([]string, 0, len(acc)*len(s))
			for _, a := range acc {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			acc = next
			if !e {
				return acc, false, true
			}
		}
		return acc, true, true
	case syntax.OpPlus:
		s, _, ok := prefixes(re.Sub[0])
		return s, false, ok
	case syntax.OpRepeat:
		if re.Min < 1 {
			return []string{""}, false, true
		}
		s, _, ok := prefixes(re.Sub[0])
		return s, false, ok
	case syntax.OpQuest:
		s, e, ok := prefixes(re.Sub[0])
		if !ok {
			return []string{""}, false, true
		}
		return append(s, ""), e, true
	case syntax.OpStar:
		return []string{""}, false, true
	}
	return nil, false, false
}

// maxMatchLen bounds the bytes a match of re spans, counting every rune as
// utf8.UTFMax bytes; unboundedLen when there is no bound.
func maxMatchLen(re *syntax.Regexp) int {
	const limit = 1 << 20
	switch re.Op {
	case syntax.OpLiteral:
		return utf8.UTFMax * len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpCapture, syntax.OpQuest:
		return maxMatchLen(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return unboundedLen
	case syntax.OpRepeat:
		n := maxMatchLen(re.Sub[0])
		if re.Max < 0 || n == unboundedLen || n*re.Max > limit {
			return unboundedLen
		}
		return n * re.Max
	case syntax.OpConcat, syntax.OpAlternate:
		total := 0
		for _, sub := range re.Sub {
			n := maxMatchLen(sub)
			if n == unboundedLen {
				return unboundedLen
			}
			if re.Op == syntax.OpConcat {
				total += n
			} else {
				total = max(total, n)
			}
		}
		if total > limit {
			return unboundedLen
		}
		return total
	}
	return 0 // empty-width operators and no match
}

// litIndex finds occurrences of a set of literals in one pass: the first
// four bytes of each position are hashed into a bit set, and only on a hit
// are the literals with those four bytes compared. Literals shorter than four
// bytes are compared where their first byte occurs.
type litIndex struct {
	lits    []string
	owner   []int // a value per literal passed back by scan
	bits    [1 << 10]uint64
	buckets map[uint32][]int32
	short   []int32
	first   [256]bool // first bytes of short literals
}

func newLitIndex(lits []string, owner []int) *litIndex {
	x := &litIndex{lits: lits, owner: owner, buckets: map[uint32][]int32{}}
	if x.owner == nil {
		x.owner = make([]int, len(lits))
	}
	for i, l := range lits {
		if len(l) < 4 {
			x.short = append(x.short, int32(i))
			x.first[l[0]] = true
			continue
		}
		k := binary.LittleEndian.Uint32([]byte(l[:4]))
		h := litHash(k)
		x.bits[h>>6] |= 1 << (h & 63)
		x.buckets[k] = append(x.buckets[k], int32(i))
	}
	return x
}

func litHash(k uint32) uint32 { return (k * 0x9E3779B1) >> 16 }

// scan calls yield(position, owner) for every occurrence of every literal,
// in ascending order of position.
func (x *litIndex) scan(text string, yield func(p, owner int)) {
	for i := 0; i < len(text); i++ {
		if x.first[text[i]] {
			for _, id := range x.short {
				if strings.HasPrefix(text[i:], x.lits[id]) {
					yield(i, x.owner[id])
				}
			}
		}
		if i+4 > len(text) {
			continue
		}
		k := uint32(text[i]) | uint32(text[i+1])<<8 | uint32(text[i+2])<<16 | uint32(text[i+3])<<24
		if h := litHash(k); x.bits[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, id := range x.buckets[k] {
			if strings.HasPrefix(text[i:], x.lits[id]) {
				yield(i, x.owner[id])
			}
		}
	}
}

// Digit windows. Every match of the case-sensitive code and reference
// expressions (codeLettered, refLettered, refDigits) holds an ASCII digit (\d
// is ASCII in RE2), starts at most digitLead bytes before its first digit and
// ends at most digitTrail bytes after its last one. Run over the windows
// around digit runs (margins of digitLead and digitTrail, touching windows
// merged), such an expression finds exactly the matches of a whole-text
// search: no match starts in the text between windows; a window's edge is at
// least a margin away from any digit, so `^` at a window start and `$` at its
// end cannot complete a match that the whole text would not have; and the
// search enters each window with nothing consumed past the window before.
const (
	// A context rune, five letters and a dash: at most 7 runes of 4 bytes.
	digitLead = 32
	// The rune after the last digit.
	digitTrail = 8
)

// digitWindows returns [start, end) byte ranges of text around its ASCII
// digits, on rune boundaries; nil when text has no digit.
func digitWindows(text string) [][2]int {
	var out [][2]int
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < '0' || c > '9' {
			continue
		}
		j := i + 1
		for j < len(text) && '0' <= text[j] && text[j] <= '9' {
			j++
		}
		s, e := max(i-digitLead, 0), min(j+digitTrail, len(text))
		for s > 0 && !utf8.RuneStart(text[s]) {
			s--
		}
		for e < len(text) && !utf8.RuneStart(text[e]) {
			e++
		}
		if k := len(out) - 1; k >= 0 && s <= out[k][1] {
			out[k][1] = e
		} else {
			out = append(out, [2]int{s, e})
		}
		i = j - 1
	}
	return out
}

// findAllInWindows is re.FindAllStringSubmatchIndex(text, n) for an
// expression whose matches obey the digitLead and digitTrail bounds, searched
// only inside wins (from digitWindows(text)).
func findAllInWindows(re *regexp.Regexp, text string, wins [][2]int, n int) [][]int {
	var out [][]int
	for _, w := range wins {
		for _, m := range re.FindAllStringSubmatchIndex(text[w[0]:w[1]], n-len(out)) {
			for i := range m {
				if m[i] >= 0 {
					m[i] += w[0]
				}
			}
			out = append(out, m)
		}
		if len(out) >= n {
			break
		}
	}
	return out
}
