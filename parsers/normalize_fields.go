package parsers

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// lookalikes maps upper-case Cyrillic letters to the Latin letters they are
// indistinguishable from in print. Store codes are typed on either keyboard.
var lookalikes = map[rune]rune{
	'А': 'A', 'В': 'B', 'Е': 'E', 'Ё': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O',
	'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X', 'У': 'Y', 'І': 'I', 'Ј': 'J', 'Ѕ': 'S',
}

// latinLookalikes is the reverse of lookalikes, for building patterns.
var latinLookalikes = func() map[rune][]rune {
	m := map[rune][]rune{}
	for c, l := range lookalikes {
		m[l] = append(m[l], c)
	}
	return m
}()

// FoldLookalikes upper-cases s and folds Cyrillic letters that look like
// Latin ones to Latin, so "ГМ-106" and "ГM-106" (Latin M) compare equal.
// Other characters are kept; compare folded values only with folded values.
func FoldLookalikes(s string) string {
	// Most codes and texts are ASCII: up to the first byte that changes,
	// nothing needs to be copied, and a value already folded is returned
	// as it is.
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && (s[i] < 'a' || s[i] > 'z') {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		b.WriteRune(FoldRune(r))
	}
	return b.String()
}

// FoldRune is FoldLookalikes of one rune: r upper-cased, and a Cyrillic
// letter that looks like a Latin one made Latin.
func FoldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	r = unicode.ToUpper(r)
	if r >= lookalikeLow && r < lookalikeLow+rune(len(lookalikeTable)) {
		if l := lookalikeTable[r-lookalikeLow]; l != 0 {
			return l
		}
	}
	return r
}

// lookalikeTable is lookalikes as an array indexed from lookalikeLow: the
// Cyrillic capitals that have a Latin look-alike all lie in U+0400..U+042F.
const lookalikeLow = 0x400

var lookalikeTable = func() (t [0x30]rune) {
	for c, l := range lookalikes {
		if c < lookalikeLow || c >= lookalikeLow+rune(len(t)) {
			panic(fmt.Sprintf("lookalike %q outside the table", c))
		}
		t[c-lookalikeLow] = l
	}
	return t
}()

// twins returns r with its look-alikes in the other alphabet (same case)
// and, if fold, the other case of each.
func twins(r rune, fold bool) []rune {
	set := []rune{r}
	if fold {
		set = append(set, unicode.ToUpper(r), unicode.ToLower(r))
	}
	for _, x := range slices.Clone(set) {
		up := unicode.ToUpper(x)
		partners := latinLookalikes[up]
		if l, ok := lookalikes[up]; ok {
			partners = append(partners, l)
		}
		for _, p := range partners {
			if x != up {
				p = unicode.ToLower(p)
			}
			set = append(set, p)
		}
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// compileLookalikeRegexp compiles a pattern in which every literal letter
// also matches its look-alike in the other alphabet.
func compileLookalikeRegexp(pattern string) (*regexp.Regexp, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	widenLiterals(re)
	return regexp.Compile(re.String())
}

func widenLiterals(re *syntax.Regexp) {
	for _, sub := range re.Sub {
		widenLiterals(sub)
	}
	if re.Op != syntax.OpLiteral {
		return
	}
	fold := re.Flags&syntax.FoldCase != 0
	var parts []*syntax.Regexp
	for _, r := range re.Rune {
		set := twins(r, fold)
		if len(set) == 1 {
			parts = append(parts, &syntax.Regexp{Op: syntax.OpLiteral, Rune: []rune{r}, Flags: re.Flags})
			continue
		}
		cls := &syntax.Regexp{Op: syntax.OpCharClass}
		for _, x := range set {
			cls.Rune = append(cls.Rune, x, x)
		}
		parts = append(parts, cls)
	}
	*re = syntax.Regexp{Op: syntax.OpConcat, Sub: parts, Flags: re.Flags}
	if len(parts) == 1 {
		*re = *parts[0]
	}
}

// NormalizePriority maps a client's priority text to critical|high|normal|low
// through m (client word -> value; keys compared case-insensitively). It
// accepts "2 - Высокий", "Высокий (был: Средний)" and our own values; it
// returns "" when the word is unknown.
func NormalizePriority(word string, m map[string]string) string {
	w := strings.TrimSpace(word)
	if i := strings.IndexByte(w, '('); i > 0 {
		w = strings.TrimSpace(w[:i])
	}
	if w == "" {
		return ""
	}
	lookup := func(s string) string {
		s = strings.ToLower(strings.Join(strings.Fields(s), " "))
		if s == "" {
			return ""
		}
		for k, v := range m {
			if strings.ToLower(strings.Join(strings.Fields(k), " ")) == s {
				return v
			}
		}
		if slices.Contains(priorityValues, s) {
			return s
		}
		return ""
	}
	if p := lookup(w); p != "" {
		return p
	}
	stripped := strings.TrimLeftFunc(w, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsSpace(r) || strings.ContainsRune("-–—.:)P", r)
	})
	if p := lookup(stripped); p != "" {
		return p
	}
	// "Высокий, влияет на продажи": the first word alone.
	if f := strings.FieldsFunc(stripped, func(r rune) bool { return !isLetterOrDigit(r) }); len(f) > 1 {
		return lookup(f[0])
	}
	return ""
}

// NormalizePhone returns the E.164 form of a phone number written in s, read
// as a Russian number unless it has a country code; "" if s is not a phone.
func NormalizePhone(s string) string {
	s = strings.TrimSpace(s)
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-()  .\u2011\u2012\u2013\u2014/", r), unicode.IsSpace(r):
		default:
			return ""
		}
	}
	if digits < 10 || digits > 15 {
		return ""
	}
	num, err := phonenumbers.Parse(s, "RU")
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return ""
	}
	if num.GetCountryCode() == 7 {
		nsn := phonenumbers.GetNationalSignificantNumber(num)
		if len(nsn) != 10 || nsn[0] < '3' || nsn[0] > '9' {
			return ""
		}
	} else if !phonenumbers.IsValidNumber(num) {
		return ""
	}
	return phonenumbers.Format(num, phonenumbers.E164)
}

var phoneCandidate = regexp.MustCompile(`(?:\+\s?\d{1,3}|\b[78])?[\s\-\x{2011}\x{2013}.]*\(?\d{3,5}\)?[\s\-\x{2011}\x{2013}.]*\d{1,3}[\s\-\x{2011}\x{2013}.]*\d{2}[\s\-\x{2011}\x{2013}.]*\d{2}\b`)

// FindPhones returns the distinct phone numbers (E.164) written in text, in
// order of appearance.
func FindPhones(text string) []string {
	var out []string
	for _, loc := range findPhoneCandidates(text) {
		// Not the tail of a longer number (an order number, a date).
		if loc[0] > 0 {
			prev := text[loc[0]-1]
			if prev >= '0' && prev <= '9' || prev == '/' || prev == '.' || prev == '-' {
				continue
			}
		}
		if loc[1] < len(text) && (text[loc[1]] == '.' || text[loc[1]] == ':') && loc[1]+1 < len(text) && text[loc[1]+1] >= '0' && text[loc[1]+1] <= '9' {
			continue
		}
		cand := strings.TrimSpace(text[loc[0]:loc[1]])
		if !strings.HasPrefix(cand, "+") && !strings.HasPrefix(cand, "8") && !strings.HasPrefix(cand, "7") &&
			!strings.HasPrefix(cand, "(") && !strings.ContainsAny(cand, " -()") {
			continue // a bare run of digits is an order number more often than a phone
		}
		if p := NormalizePhone(cand); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// findPhoneCandidates is phoneCandidate.FindAllStringIndex(text, -1), run
// only over the stretches of text a match can lie in. A match is made of
// ASCII digits (eight at least), white space (\s is ASCII), '+', '(', ')',
// '-', '.', U+2011 and U+2013, so it lies inside a maximal run of these
// (phoneRuns); the run is searched with the rune on either side of it,
// which \b looks at.
func findPhoneCandidates(text string) [][]int {
	var out [][]int
	for _, w := range phoneRuns(text) {
		for _, loc := range phoneCandidate.FindAllStringIndex(text[w[0]:w[1]], -1) {
			out = append(out, []int{loc[0] + w[0], loc[1] + w[0]})
		}
	}
	return out
}

// phoneRuns returns the maximal runs of the runes a phone number is written
// with that hold eight ASCII digits or more, each widened by the rune
// before and the rune after it.
func phoneRuns(text string) [][2]int {
	var out [][2]int
	for i := 0; i < len(text); {
		start, digits := i, 0
		for i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				if !isPhoneByte(c) {
					break
				}
				if '0' <= c && c <= '9' {
					digits++
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			if r != '\u2011' && r != '\u2013' {
				break
			}
			i += size
		}
		if digits >= 8 {
			ws, we := start, i
			if ws > 0 {
				_, n := utf8.DecodeLastRuneInString(text[:ws])
				ws -= n
			}
			if we < len(text) {
				_, n := utf8.DecodeRuneInString(text[we:])
				we += n
			}
			out = append(out, [2]int{ws, we})
		}
		if i == start {
			_, n := utf8.DecodeRuneInString(text[i:])
			i += n
		}
	}
	return out
}

func isPhoneByte(c byte) bool {
	switch {
	case '0' <= c && c <= '9':
		return true
	case c == '+', c == '(', c == ')', c == '-', c == '.', c == '\t', c == '\n', c == '\f', c == '\r', c == ' ':
		return true
	}
	return false
}

// CategoryKeywords is one row of categories.csv: our code, its name and a
// regular-expression alternation of keywords ("холодил|витрин|лар[ья]").
type CategoryKeywords struct {
	Code     string
	Name     string // optional, used for fuzzy matching of client categories
	Keywords string
}

// CategoryMatcher finds our category in problem text. Build it once with
// CompileCategories; it is safe for concurrent use.
type CategoryMatcher struct {
	cats  []compiledCategory
	index *litIndex // literals of every category's fast form, owned by category index
}

type compiledCategory struct {
	code, name string
	re         *regexp.Regexp
	folded     *regexp.Regexp // re for folded text (see foldText); nil when not equivalent
	fast       *litRegexp     // folded run at its literals only (see prefilter.go); nil when not possible
}

// CompileCategories compiles the keyword alternations (case-insensitive; ё
// and е are the same letter).
func CompileCategories(cats []CategoryKeywords) (*CategoryMatcher, error) {
	m := &CategoryMatcher{}
	for _, c := range cats {
		if c.Code == "" {
			return nil, fmt.Errorf("category with keywords %q has no code", c.Keywords)
		}
		cc := compiledCategory{code: c.Code, name: squash(c.Name)}
		if kw := strings.TrimSpace(c.Keywords); kw != "" {
			re, err := regexp.Compile("(?i)" + foldYo(kw))
			if err != nil {
				return nil, fmt.Errorf("category %s: keywords: %w", c.Code, err)
			}
			cc.re = re
			if tree := foldedTree("(?i)" + foldYo(kw)); tree != nil {
				cc.folded, _ = regexp.Compile(tree.String())
				if cc.folded != nil {
					cc.fast = newLitRegexp(tree)
				}
			}
		}
		m.cats = append(m.cats, cc)
	}
	var lits []string
	var owner []int
	for i, c := range m.cats {
		if c.fast != nil {
			lits = append(lits, c.fast.lits...)
			for range c.fast.lits {
				owner = append(owner, i)
			}
		}
	}
	if len(lits) > 0 {
		m.index = newLitIndex(lits, owner)
	}
	return m, nil
}

func foldYo(s string) string { return yoFolder.Replace(s) }

// Match returns the category whose keywords match best: each match in a
// text counts its weight, ties go to the longer match, then to the earlier
// one. Texts are paired with weights: Match(2, subject, 1, body). "" when
// nothing matches.
func (m *CategoryMatcher) Match(weighted ...any) string {
	if m == nil {
		return ""
	}
	type score struct {
		points, longest, first int
	}
	// Fold the texts once for all categories.
	n := len(weighted) / 2
	weights := make([]int, n)
	texts := make([]string, n)
	for i := range n {
		weights[i], _ = weighted[2*i].(int)
		text, _ := weighted[2*i+1].(string)
		texts[i] = foldYo(text)
	}
	folded := slices.Clone(texts)
	foldedOK := foldedTexts(folded)
	// cands[i][c]: where category c's literals occur in folded text i.
	var cands [][][]int
	if foldedOK && m.index != nil {
		cands = make([][][]int, n)
		for i, text := range folded {
			cands[i] = make([][]int, len(m.cats))
			m.index.scan(text, func(p, c int) { cands[i][c] = append(cands[i][c], p) })
		}
	}
	best, bestCode := score{}, ""
	for ci, c := range m.cats {
		if c.re == nil {
			continue
		}
		re, texts := c.re, texts
		if c.folded != nil && foldedOK {
			re, texts = c.folded, folded
		}
		s := score{first: int(^uint(0) >> 1)}
		offset := 0
		for i, text := range texts {
			w := weights[i]
			var locs [][]int
			if cands != nil && c.fast != nil {
				locs = c.fast.findAllAt(text, cands[i][ci], 50)
			} else {
				locs = re.FindAllStringIndex(text, 50)
			}
			for _, loc := range locs {
				s.points += w
				s.longest = max(s.longest, loc[1]-loc[0])
				s.first = min(s.first, offset+loc[0])
			}
			offset += len(text) + 1
		}
		if s.points == 0 {
			continue
		}
		if bestCode == "" || s.points > best.points ||
			s.points == best.points && (s.longest > best.longest || s.longest == best.longest && s.first < best.first) {
			best, bestCode = s, c.code
		}
	}
	return bestCode
}

// byName finds a category whose name equals or contains the client's text
// (or the other way round), comparing without case and spaces.
func (m *CategoryMatcher) byName(text string) string {
	if m == nil {
		return ""
	}
	t := squash(text)
	if t == "" {
		return ""
	}
	for _, c := range m.cats {
		if c.name == t || c.code == t {
			return c.code
		}
	}
	for _, c := range m.cats {
		if c.name != "" && len(t) >= 5 && (strings.Contains(c.name, t) || strings.Contains(t, c.name)) {
			return c.code
		}
	}
	return ""
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// applyNormalize runs the named operations over v.
func applyNormalize(v string, ops []string) string {
	for _, op := range ops {
		switch op {
		case "trim":
			v = strings.TrimSpace(v)
		case "upper":
			v = strings.ToUpper(v)
		case "lower":
			v = strings.ToLower(v)
		case "fold_lookalikes":
			v = FoldLookalikes(v)
		case "digits":
			v = strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, v)
		case "first_line":
			v = strings.TrimSpace(v)
			if i := strings.IndexAny(v, "\r\n"); i >= 0 {
				v = v[:i]
			}
		case "collapse_spaces":
			v = strings.Join(strings.Fields(v), " ")
		case "strip_parens":
			v = stripParens(v)
		}
	}
	return strings.TrimSpace(v)
}

var parens = regexp.MustCompile(`\s*\([^()]*\)`)

// stripParens drops parenthesised asides: "В работе (было: Назначен)".
func stripParens(v string) string {
	if out := strings.TrimSpace(parens.ReplaceAllString(v, "")); out != "" {
		return out
	}
	return v
}
