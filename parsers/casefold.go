package parsers

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Case-insensitive regular expressions are slow in Go: every literal rune is
// compared through unicode.SimpleFold and no literal prefix can be scanned
// for. Category keywords run over every message, so they are also compiled
// in a folded form: every letter is replaced by the smallest rune of its
// case-folding orbit (а and А by А), and the expression runs case-sensitive
// over text folded the same way. The two agree exactly when folding keeps
// every rune's byte length, which holds for Cyrillic and Latin text; when it
// does not (the Kelvin sign, the long s, ...) the original expression is used.

// foldCanon is the smallest rune of r's simple case-folding orbit.
func foldCanon(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}
	if r < rune(len(foldTable)) {
		return foldTable[r]
	}
	return foldOrbitMin(r)
}

// foldOrbitMin walks r's folding orbit. foldCanon looks two-byte runes
// (Cyrillic, Greek, accented Latin: most of the mail) up in foldTable instead.
func foldOrbitMin(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// foldTable is foldOrbitMin of every rune below U+0800.
var foldTable = func() (t [0x800]rune) {
	for r := range t {
		t[r] = foldOrbitMin(rune(r))
	}
	return t
}()

// foldMemo remembers foldText of the last string it was asked for.
type foldMemo struct {
	src, folded string
	ok, set     bool
}

func (m *foldMemo) fold(s string) (string, bool) {
	if !m.set || m.src != s {
		m.folded, m.ok = foldText(s)
		m.src, m.set = s, true
	}
	return m.folded, m.ok
}

// foldText folds s rune by rune with foldCanon. ok is false when a rune's
// folded form has another byte length: positions in the result would not
// be positions in s.
func foldText(s string) (string, bool) {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && !('a' <= s[i] && s[i] <= 'z') {
		i++
	}
	if i == len(s) {
		return s, true
	}
	b := make([]byte, i, len(s))
	copy(b, s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, c) // invalid bytes stay as they are, as the regexp reads them
			i++
			continue
		}
		f := foldCanon(r)
		if utf8.RuneLen(f) != size {
			return "", false
		}
		b = utf8.AppendRune(b, f)
		i += size
	}
	return string(b), true
}

// foldedRunes lists, sorted, every rune whose folding orbit has more than
// one member.
var foldedRunes = sync.OnceValue(func() []rune {
	var out []rune
	for r := rune(0); r <= 0x1FFFF; r++ { // no orbit reaches higher
		if unicode.SimpleFold(r) != r {
			out = append(out, r)
		}
	}
	return out
})

// compileFolded compiles pattern (which may set its own flags) for
// case-sensitive matching over foldText output. It returns nil when that
// would not match exactly what the case-insensitive pattern matches: a part
// of the pattern turns case folding off, or the pattern does not parse.
func compileFolded(pattern string) *regexp.Regexp {
	re := foldedTree(pattern)
	if re == nil {
		return nil
	}
	fast, err := regexp.Compile(re.String())
	if err != nil {
		return nil
	}
	return fast
}

// foldedTree is the parsed form of pattern for matching folded text; nil
// when there is none (see compileFolded).
func foldedTree(pattern string) *syntax.Regexp {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil || !foldTree(re) {
		return nil
	}
	return re
}

func foldTree(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		for i, r := range re.Rune {
			if re.Flags&syntax.FoldCase == 0 && unicode.SimpleFold(r) != r {
				return false // case matters here
			}
			re.Rune[i] = foldCanon(r)
		}
		re.Flags &^= syntax.FoldCase
	case syntax.OpCharClass:
		// The class must hold a rune exactly when it holds the rune's
		// folded form, that is hold whole orbits: true of classes parsed
		// under (?i).
		in := func(r rune) bool {
			for k := 0; k+1 < len(re.Rune); k += 2 {
				if re.Rune[k] <= r && r <= re.Rune[k+1] {
					return true
				}
			}
			return false
		}
		runes := foldedRunes()
		for k := 0; k+1 < len(re.Rune); k += 2 {
			lo, _ := slices.BinarySearch(runes, re.Rune[k])
			for _, r := range runes[lo:] {
				if r > re.Rune[k+1] {
					break
				}
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					if !in(f) {
						return false
					}
				}
			}
		}
	}
	for _, sub := range re.Sub {
		if !foldTree(sub) {
			return false
		}
	}
	return true
}

// foldedTexts folds the texts a CategoryMatcher runs over; ok is false when
// one of them cannot be folded in place.
func foldedTexts(texts []string) bool {
	for i, t := range texts {
		f, ok := foldText(t)
		if !ok {
			return false
		}
		texts[i] = f
	}
	return true
}

var yoFolder = strings.NewReplacer("ё", "е", "Ё", "Е")
