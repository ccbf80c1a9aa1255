package learn

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// numberToken finds order-number-like tokens: an optional upper-case
// prefix, an optional dash, and digit groups joined by dashes or slashes
// ("WO0000000948256", "SRV-37063", "ZT-2026-000118", "00000044936").
var numberToken = regexp.MustCompile(`(?:^|[^\p{L}\p{N}])((\p{Lu}{1,6})?(-)?(\p{N}{2,16}(?:[-/]\p{N}{2,16})*))(?:[^\p{L}\p{N}]|$)`)

// token is one order-number-like token of a sample.
type token struct {
	text, prefix, sep string
	groups            []int  // lengths of the digit groups
	joins             string // the separators between them
	digits            int
	start             int // byte offset in its source
}

func tokensOf(s string) []token {
	var out []token
	for _, m := range numberToken.FindAllStringSubmatchIndex(s, -1) {
		t := token{text: s[m[2]:m[3]], start: m[2]}
		if m[4] >= 0 {
			t.prefix = s[m[4]:m[5]]
		}
		if m[6] >= 0 {
			t.sep = s[m[6]:m[7]]
		}
		digits := s[m[8]:m[9]]
		isJoin := func(r rune) bool { return r == '-' || r == '/' }
		for _, r := range digits {
			if isJoin(r) {
				t.joins += string(r)
			}
		}
		for _, g := range strings.FieldsFunc(digits, isJoin) {
			t.groups = append(t.groups, len([]rune(g)))
			t.digits += len([]rune(g))
		}
		switch {
		case t.prefix == "" && t.sep != "":
			continue // "-2026" is a negative number or a range
		case t.prefix == "" && len(t.groups) > 1:
			continue // a date, a phone, a range
		case t.digits < 4:
			continue
		}
		out = append(out, t)
	}
	return out
}

// family groups tokens that are the same kind of number: with or without a
// letter prefix, of the same script, with the same separators.
func (t token) family() string {
	script := ""
	if t.prefix != "" {
		script = "lat"
		for _, r := range t.prefix {
			if r > unicode.MaxASCII {
				script = "cyr"
			}
		}
	}
	return script + "|" + t.sep + "|" + t.joins
}

// isYear tells a bare year from a number.
func (t token) isYear() bool {
	return t.prefix == "" && t.digits == 4 && (strings.HasPrefix(t.text, "19") || strings.HasPrefix(t.text, "20"))
}

// numberShape is the regular expression of a family of tokens.
type numberShape struct {
	prefixes  []string
	sep       string
	joins     string
	lo, hi    []int // per digit group
	latinOnly bool
}

func shapeOf(ts []token) numberShape {
	s := numberShape{latinOnly: true}
	for _, t := range ts {
		if t.prefix != "" && !slices.Contains(s.prefixes, t.prefix) {
			s.prefixes = append(s.prefixes, t.prefix)
		}
		for _, r := range t.prefix {
			if r > unicode.MaxASCII {
				s.latinOnly = false
			}
		}
		s.sep, s.joins = t.sep, t.joins
		if s.lo == nil {
			s.lo, s.hi = slices.Clone(t.groups), slices.Clone(t.groups)
			continue
		}
		for i := range min(len(s.lo), len(t.groups)) {
			s.lo[i] = min(s.lo[i], t.groups[i])
			s.hi[i] = max(s.hi[i], t.groups[i])
		}
	}
	sort.Strings(s.prefixes)
	return s
}

// regex is the shape as a regular expression. One prefix seen in every
// sample is the chain's constant; several mean the prefix varies, so any
// prefix of that length and script is allowed.
func (s numberShape) regex() string {
	return s.build(0, 0)
}

// wide is the shape widened for kinds of mail the samples lacked: a
// letter prefix of any letters of its script, one letter shorter or
// longer, and the last digit group one digit shorter or longer.
func (s numberShape) wide() string {
	return s.build(1, 1)
}

func (s numberShape) build(letterSlack, digitSlack int) string {
	var b strings.Builder
	switch {
	case len(s.prefixes) == 1 && letterSlack == 0:
		b.WriteString(regexp.QuoteMeta(s.prefixes[0]))
	case len(s.prefixes) > 0:
		lo, hi := 99, 0
		for _, p := range s.prefixes {
			lo, hi = min(lo, len([]rune(p))), max(hi, len([]rune(p)))
		}
		class := `[A-Z]`
		if !s.latinOnly {
			class = `[A-ZА-ЯЁ]`
		}
		b.WriteString(class + repeat(max(1, lo-letterSlack), hi+letterSlack))
	}
	b.WriteString(regexp.QuoteMeta(s.sep))
	for i := range s.lo {
		if i > 0 && i-1 < len(s.joins) {
			b.WriteString(regexp.QuoteMeta(s.joins[i-1 : i]))
		}
		lo, hi := s.lo[i], s.hi[i]
		if i == len(s.lo)-1 {
			lo, hi = max(2, lo-digitSlack), hi+digitSlack
		}
		b.WriteString(`\d` + repeat(lo, hi))
	}
	return b.String()
}

func repeat(lo, hi int) string {
	if lo == hi {
		return fmt.Sprintf("{%d}", lo)
	}
	return fmt.Sprintf("{%d,%d}", lo, hi)
}

// bounded wraps a shape so that it is not taken out of a longer token.
func bounded(re string) string {
	return `(?:^|[^\p{L}\p{N}])(?P<value>` + re + `)(?:[^\p{L}\p{N}]|$)`
}

// codePattern generalizes the client's store codes into one regular
// expression: letters kept when every code has the same, else a class of
// their script; digit runs as \d{m,n}; separators as written. The codes of
// one skeleton must cover nine in ten codes; "" when they do not.
func codePattern(codes []string) string {
	type part struct {
		kind   byte // 'd' digits, 'l' letters, 's' separator
		lit    string
		same   bool
		latin  bool
		lo, hi int
	}
	kindOf := func(r rune) byte {
		switch {
		case unicode.IsDigit(r):
			return 'd'
		case unicode.IsLetter(r):
			return 'l'
		}
		return 's'
	}
	groups := map[string][][]part{}
	for _, c := range codes {
		var parts []part
		var skel strings.Builder
		rs := []rune(strings.TrimSpace(c))
		for i := 0; i < len(rs); {
			k := kindOf(rs[i])
			j := i
			for j < len(rs) && kindOf(rs[j]) == k {
				j++
			}
			p := part{kind: k, lit: string(rs[i:j]), same: true, latin: true, lo: j - i, hi: j - i}
			for _, r := range rs[i:j] {
				if r > unicode.MaxASCII {
					p.latin = false
				}
			}
			parts = append(parts, p)
			if k == 's' {
				skel.WriteString(p.lit)
			} else {
				skel.WriteByte(k)
			}
			i = j
		}
		groups[skel.String()] = append(groups[skel.String()], parts)
	}
	best, n := "", 0
	for k, v := range groups {
		if len(v) > n || len(v) == n && k < best {
			best, n = k, len(v)
		}
	}
	if n == 0 || n*10 < len(codes)*9 {
		return ""
	}
	merged := slices.Clone(groups[best][0])
	for _, parts := range groups[best][1:] {
		for i := range merged {
			merged[i].lo = min(merged[i].lo, parts[i].lo)
			merged[i].hi = max(merged[i].hi, parts[i].hi)
			merged[i].same = merged[i].same && merged[i].lit == parts[i].lit
			merged[i].latin = merged[i].latin && parts[i].latin
		}
	}
	var b strings.Builder
	for _, p := range merged {
		switch {
		case p.kind == 'd':
			b.WriteString(`\d` + repeat(p.lo, p.hi))
		case p.kind == 'l' && !p.same && p.latin:
			b.WriteString(`[A-Z]` + repeat(p.lo, p.hi))
		case p.kind == 'l' && !p.same:
			b.WriteString(`[A-ZА-ЯЁ]` + repeat(p.lo, p.hi))
		default:
			b.WriteString(regexp.QuoteMeta(p.lit))
		}
	}
	re := b.String()
	first, last := merged[0], merged[len(merged)-1]
	if first.kind != 's' && first.latin && last.kind != 's' && last.latin {
		re = `\b` + re + `\b`
	}
	return re
}

func isASCIIWord(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// commonSuffix is the longest common ending of ss, cut to whole words.
func commonSuffix(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	suf := []rune(ss[0])
	for _, s := range ss[1:] {
		r := []rune(s)
		n := 0
		for n < len(suf) && n < len(r) && unicode.ToLower(suf[len(suf)-1-n]) == unicode.ToLower(r[len(r)-1-n]) {
			n++
		}
		suf = suf[len(suf)-n:]
	}
	// Cut to a word start so that "запрос №" does not become "рос №".
	out := string(suf)
	if len(suf) > 0 && unicode.IsLetter(suf[0]) {
		for _, s := range ss {
			r := []rune(s)
			if len(r) > len(suf) && unicode.IsLetter(r[len(r)-len(suf)-1]) {
				if i := strings.IndexFunc(out, func(r rune) bool { return !unicode.IsLetter(r) }); i >= 0 {
					out = out[i:]
				} else {
					out = ""
				}
				break
			}
		}
	}
	return out
}

// contextRegex turns literal text before a number into a forgiving
// regular expression: any run of spaces is \s*, the rest quoted.
func contextRegex(s string) string {
	s = strings.TrimLeft(s, " \t")
	var b strings.Builder
	for i, w := range strings.Fields(s) {
		if i > 0 {
			b.WriteString(`\s*`)
		}
		b.WriteString(regexp.QuoteMeta(w))
	}
	if strings.HasSuffix(s, " ") || strings.HasSuffix(s, "\t") {
		b.WriteString(`\s*`)
	}
	return b.String()
}
