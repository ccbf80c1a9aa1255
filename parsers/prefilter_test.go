package parsers

import (
	"math/rand/v2"
	"os"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// litPatterns are run both ways (whole-text search and literal-driven) by
// the tests below; (?i) patterns are folded first.
var litPatterns = []string{
	"холодил|витрин|камер|морозил|ларь|температур|компрессор|не холодит|течёт фреон|лар[ья]",
	"электр|розетк|щит|автомат выбило|нет света|проводк|искрит",
	"ламп|светильник|освещен|не горит|моргает",
	"сантех|кран|протеч|засор|канализац|унитаз|раковин|вод[аы]",
	"кондиц|вентиляц|сплит|жарко|тепловая завеса",
	"касс|терминал|сканер|принтер чеков|фискал|эквайринг|pos",
	"двер|входн.. групп|доводчик|автоматическ.. двер|ролл?ет|ворот",
	"плитк|потол|покраск|штукатур|пол |стен[аы]|ремонт помещ",
	"видеонаблюд|камер[аы] наблюд|сигнализац|охран|домофон",
	refNumbered.String(),
	codeNumbered.String(),
	urgentWord.String(),
	notUrgentWord.String(),
	`(?:^|[^\pL])(ab|cd)x*$`,
	`a^b|ab|(?:^|\n)ab`,
	`(?:[^a]|^)(foo|bar)(\d+)?`,
	`(?:.|^)(z)`,
	`foo(bar)?|fo|f[oö]{2,}\z`,
	`x$|xy(?m:$)`,
	"k|s|\u212a",
}

type litCase struct {
	pattern string
	re      *regexp.Regexp // over the text as is
	slow    *regexp.Regexp // the folded expression over folded text; nil for a case-sensitive pattern
	fast    *litRegexp
}

func litCases(t testing.TB) []litCase {
	var out []litCase
	for _, p := range litPatterns {
		for _, fold := range []bool{false, true} {
			pattern := p
			if fold {
				pattern = "(?i)" + foldYo(p)
			}
			tree, err := syntax.Parse(pattern, syntax.Perl)
			require.NoError(t, err)
			c := litCase{pattern: pattern, re: regexp.MustCompile(pattern)}
			if fold {
				if !foldTree(tree) {
					continue
				}
				c.slow = regexp.MustCompile(tree.String())
			}
			c.fast = newLitRegexp(tree)
			if c.fast == nil {
				continue
			}
			c.fast.index = newLitIndex(c.fast.lits, nil)
			out = append(out, c)
		}
	}
	require.Greater(t, len(out), len(litPatterns), "most patterns have a literal prefilter")
	return out
}

// checkLitCase compares the literal-driven search with the regexp's own over
// text, for several match limits.
func checkLitCase(t testing.TB, c litCase, text string) bool {
	slow, fast := c.re, text
	if c.slow != nil {
		folded, ok := foldText(text)
		if !ok {
			return true // the callers use the original expression then
		}
		slow, fast = c.slow, folded
		// The folded search finds what the original finds.
		if !assert.Equal(t, c.re.FindAllStringSubmatchIndex(text, -1), c.slow.FindAllStringSubmatchIndex(folded, -1), "%q over %q", c.pattern, text) {
			return false
		}
	}
	for _, n := range []int{-1, 1, 2, 50} {
		want := slow.FindAllStringSubmatchIndex(fast, n)
		got := c.fast.findAll(fast, n)
		if !assert.Equal(t, want, got, "%q over %q (n=%d)", c.pattern, text, n) {
			return false
		}
	}
	return true
}

// litTexts are the fold test texts, the text of every mail fixture and
// pieces of them glued at random, with invalid bytes in between.
func litTexts(t testing.TB) []string {
	texts := slices.Clone(foldTexts)
	texts = append(texts,
		"ab", "abx", "xab", "\nab\nab", "aab cdxx", "foo12 bar3 afoo4 foobar föö", "xy\nx", "zz\nz",
		"запрос №123456, ЗАЯВКА 654321, магазин 12, маг. № 57, ТТ 3, Store #4",
		"ЗАПРОС\xff123456 заказ\n\n1234567 \xd0заказ 12345",
		"СРОЧНО! не срочно, несрочно Urgent ASAP aſap срочнейшим\nнет  срочности",
	)
	for _, f := range mailFixtures(t) {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		d, err := Normalize(raw)
		if err != nil {
			continue
		}
		texts = append(texts, d.Subject+"\n"+d.Text)
	}
	r := rand.New(rand.NewPCG(1, 2))
	pieces := slices.Clone(texts)
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			p := pieces[r.IntN(len(pieces))]
			i := r.IntN(len(p) + 1)
			j := i + r.IntN(len(p)-i+1)
			b.WriteString(p[i:j])
			if r.IntN(4) == 0 {
				b.WriteByte(byte(0x80 + r.IntN(0x80)))
			}
		}
		texts = append(texts, b.String())
	}
	return texts
}

func TestLitRegexpFindsWhatTheRegexpFinds(t *testing.T) {
	cases := litCases(t)
	for _, text := range litTexts(t) {
		for _, c := range cases {
			if !checkLitCase(t, c, text) {
				return
			}
		}
	}
}

func TestLitRegexpRefuses(t *testing.T) {
	for _, p := range []string{`\bkws`, `(?m)^ab`, `a*b`, `.ab`, `ab|`, `[a-z]x`, `(?i)ab`} {
		tree, err := syntax.Parse(p, syntax.Perl)
		require.NoError(t, err)
		assert.Nil(t, newLitRegexp(tree), p)
	}
}

// slowCategoryMatch is CategoryMatcher.Match as it was before the literal
// prefilter: every expression over every whole text.
func slowCategoryMatch(m *CategoryMatcher, weighted ...any) string {
	type score struct {
		points, longest, first int
	}
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
	best, bestCode := score{}, ""
	for _, c := range m.cats {
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
			for _, loc := range re.FindAllStringIndex(text, 50) {
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

func demoLikeCategories(t testing.TB) *CategoryMatcher {
	var cats []CategoryKeywords
	for i, p := range litPatterns[:9] {
		cats = append(cats, CategoryKeywords{Code: string(rune('a' + i)), Keywords: p})
	}
	cats = append(cats, testCategories...)
	m, err := CompileCategories(cats)
	require.NoError(t, err)
	return m
}

func TestCategoryMatchAsBefore(t *testing.T) {
	m := demoLikeCategories(t)
	texts := litTexts(t)
	for i, text := range texts {
		other := texts[(i*7+3)%len(texts)]
		require.Equal(t, slowCategoryMatch(m, 3, other, 1, text), m.Match(3, other, 1, text), "%q / %q", other, text)
		require.Equal(t, slowCategoryMatch(m, 1, text), m.Match(1, text), "%q", text)
	}
}

func FuzzLitRegexp(f *testing.F) {
	for _, text := range foldTexts {
		f.Add(text)
	}
	f.Add("запрос №123456, ЗАЯВКА 654321, магазин 12, маг. № 57, ТТ 3, Store #4")
	cases := litCases(f)
	m := demoLikeCategories(f)
	f.Fuzz(func(t *testing.T, text string) {
		for _, c := range cases {
			if !checkLitCase(t, c, text) {
				t.FailNow()
			}
		}
		half := text[:len(text)/2]
		require.Equal(t, slowCategoryMatch(m, 3, half, 1, text), m.Match(3, half, 1, text), "%q", text)
	})
}

// slowFindRefs and slowFindCodes are FindRefs and FindCodes as they were
// before the keyword-led expressions ran at their keywords only.
func slowFindRefs(text string) []string {
	type hit struct {
		pos int
		ref string
	}
	var hits []hit
	for _, m := range refLettered.FindAllStringSubmatchIndex(text, 50) {
		ref := text[m[2]:m[3]]
		letters := strings.TrimRightFunc(ref, func(r rune) bool { return unicode.IsDigit(r) || r == '-' })
		if strings.ToUpper(letters) != letters {
			continue
		}
		hits = append(hits, hit{m[2], ref})
	}
	for _, re := range []*regexp.Regexp{refDigits, refNumbered} {
		for _, m := range re.FindAllStringSubmatchIndex(text, 50) {
			hits = append(hits, hit{m[2], text[m[2]:m[3]]})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.pos - b.pos })
	var out []string
	for _, h := range hits {
		if slices.Contains(out, h.ref) {
			continue
		}
		if !strings.ContainsFunc(h.ref, unicode.IsLetter) && NormalizePhone(h.ref) != "" {
			continue
		}
		out = append(out, h.ref)
	}
	return out
}

func slowFindCodes(text string, refs []string) []string {
	type hit struct {
		pos  int
		code string
	}
	var hits []hit
	for _, m := range codeLettered.FindAllStringSubmatchIndex(text, 50) {
		code := text[m[2]:m[3]]
		prefix := strings.ToUpper(strings.TrimRightFunc(code, func(r rune) bool { return !unicode.IsLetter(r) }))
		if i := strings.IndexFunc(prefix, func(r rune) bool { return !unicode.IsLetter(r) }); i >= 0 {
			prefix = prefix[:i]
		}
		if notCodePrefix[prefix] || prefix != strings.ToUpper(prefix) {
			continue
		}
		if w := strings.TrimRightFunc(code, func(r rune) bool { return !unicode.IsLetter(r) }); strings.ToUpper(w) != w {
			continue
		}
		hits = append(hits, hit{m[2], code})
	}
	for _, re := range []*regexp.Regexp{codeNumbered, codeHash} {
		for _, m := range re.FindAllStringSubmatchIndex(text, 50) {
			hits = append(hits, hit{m[2], text[m[2]:m[3]]})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.pos - b.pos })
	var out []string
	for _, h := range hits {
		c := strings.TrimSpace(h.code)
		if c == "" || slices.Contains(out, c) || isRef(c, refs) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func TestFindRefsAndCodesAsBefore(t *testing.T) {
	for _, text := range litTexts(t) {
		refs := slowFindRefs(text)
		require.Equal(t, refs, FindRefs(text), "%q", text)
		require.Equal(t, slowFindCodes(text, refs), FindCodes(text, refs), "%q", text)
	}
}

func FuzzFindRefsAndCodes(f *testing.F) {
	f.Add("запрос №123456, ЗАЯВКА 654321, магазин 12, маг. № 57, ТТ 3, Store #4, ГМ-106 INC0529724")
	f.Add("Заказ\u212a 1234567 магазин 5")
	f.Fuzz(func(t *testing.T, text string) {
		refs := slowFindRefs(text)
		require.Equal(t, refs, FindRefs(text), "%q", text)
		require.Equal(t, slowFindCodes(text, refs), FindCodes(text, refs), "%q", text)
	})
}

var labelTests = []string{"Номер", "Номер заявки", "Приоритет", "Срок:", "Магазин", "ID", "kelvin", "s", "Дата и время"}

var labelTexts = []string{
	"Номер: WO0000000123456\nПриоритет ....: 1 - Высокий (был: Средний)\nСрок:\n21.11.2026 14:00",
	"> НОМЕР ЗАЯВКИ - 123\n|номер заявки: 5\n* Номер   заявки *: x\r\nномер:y\nНомер-\nНомер —z",
	"текст номер: 1\nномер: 2 номер: 3\n\nМагазин: ГМ-106\nмагазин:\n\n ГМ-107\nID: a\nid - b\nKELVIN: \u212aelvin: x\nſ: 1\nS: 2",
	"\xffНомер: 1\n\xd0Номер: 2\nНомер\xff: 3",
}

func checkLabel(t *testing.T, m *labelMatcher, text string) bool {
	folded, ok := foldText(text)
	for _, n := range []int{-1, 1, 5} {
		if !assert.Equal(t, m.re.FindAllStringSubmatchIndex(text, n), m.findAll(text, folded, ok, n), "%q over %q (n=%d)", m.re, text, n) {
			return false
		}
	}
	return true
}

func TestLabelMatcherFindsWhatTheRegexpFinds(t *testing.T) {
	texts := append(slices.Clone(labelTexts), litTexts(t)...)
	for _, l := range labelTests {
		m := newLabelMatcher(l)
		for _, text := range texts {
			if !checkLabel(t, m, text) {
				return
			}
		}
	}
}

func FuzzLabelMatcher(f *testing.F) {
	for _, text := range labelTexts {
		f.Add(text)
	}
	var ms []*labelMatcher
	for _, l := range labelTests {
		ms = append(ms, newLabelMatcher(l))
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range ms {
			if !checkLabel(t, m, text) {
				t.FailNow()
			}
		}
	})
}

// digitTexts adds to litTexts random strings of the runes the code and
// reference expressions care about: digits next to letters of every width,
// separators, line ends, invalid bytes and long digit-free stretches.
func digitTexts(t testing.TB) []string {
	texts := litTexts(t)
	atoms := []string{
		"0", "1", "19", "20", "12345", "00000045097", "-", "/", " ", "\n", "#", "№", "N", "°", "+",
		"A", "ZT", "INT", "ГМ", "ЗНО", "ж", "ω", "\u212a", "𝐀", "\xff", "\xd0", "  ", "x", "٣", "²",
		strings.Repeat("абв ", 12), strings.Repeat("q", 40),
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		texts = append(texts, b.String())
	}
	return texts
}

// checkDigitWindows compares the digit-window search and the codeHash
// prefilter with a whole-text search.
func checkDigitWindows(t *testing.T, text string) {
	wins := digitWindows(text)
	for _, re := range []*regexp.Regexp{codeLettered, refLettered, refDigits} {
		for _, n := range []int{50, 1, 3} {
			require.Equal(t, re.FindAllStringSubmatchIndex(text, n), findAllInWindows(re, text, wins, n), "%s n=%d %q", re, n, text)
		}
	}
	if !mayHaveCodeHash(text) {
		require.Nil(t, codeHash.FindAllStringSubmatchIndex(text, 50), "%q", text)
	}
}

func TestDigitWindowsAsWholeText(t *testing.T) {
	for _, text := range digitTexts(t) {
		checkDigitWindows(t, text)
	}
}

func FuzzDigitWindows(f *testing.F) {
	f.Add("ZT-2026-000123 INC0529724 ГМ-106 MG-04-844 DM/0164 00000045097 INT-12")
	f.Add(strings.Repeat("ы", 20) + "AB12" + strings.Repeat(" ", 30) + "CD-12345\n\xffEF34")
	f.Fuzz(checkDigitWindows)
}

// slowExplicitDue is explicitDue as it was before lines without a digit
// were skipped.
func slowExplicitDue(body string, now time.Time) (time.Time, bool) {
	for i, line := range strings.Split(body, "\n") {
		if i > 300 {
			break
		}
		hit, ok := findDate(line)
		if ok {
			if _, _, _, okT := findTime(line, hit.start, hit.end); !okT && !hit.hasTime {
				continue
			}
			return ParseDate(line, moscowTest, now)
		}
		if reRelDay.MatchString(line) && deadlineCue.MatchString(line) {
			return ParseDate(line, moscowTest, now)
		}
	}
	return time.Time{}, false
}

func checkExplicitDue(t *testing.T, text string) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, moscowTest)
	wantT, wantOK := slowExplicitDue(text, now)
	gotT, gotOK := explicitDue(text, moscowTest, now)
	require.Equal(t, wantOK, gotOK, "%q", text)
	require.True(t, wantT.Equal(gotT), "%q: %v vs %v", text, wantT, gotT)
	for _, line := range strings.Split(text, "\n") {
		if !hasASCIIDigit(line) {
			_, ok := findDate(line)
			require.False(t, ok || deadlineCue.MatchString(line), "%q", line)
		}
		if !hasClockShape(line) {
			require.False(t, deadlineCue.MatchString(line), "%q", line)
		}
	}
}

func TestExplicitDueAsBefore(t *testing.T) {
	texts := append(digitTexts(t), "завтра до 12:00", "сегодня\nдо 12:00", "21 ноября 2026 14:00", "срок: завтра к 9.30\nNov 21, 2026 10:00",
		"сегодня до 9:3", "Сегодня не позднее 1.05", "завтра срок 12:00", "вчера к ы1:00", "1:2:33", "ЗАВТРА ДО 7.451")
	for _, text := range texts {
		checkExplicitDue(t, text)
	}
}

func FuzzExplicitDue(f *testing.F) {
	f.Add("Срок: 21.11.2026 14:00\nзавтра до 12:00\n2026-11-21T10:00Z")
	f.Add("сегодня к 9.3\nTomorrow до 1:00\nзавтра до 7:5")
	f.Fuzz(checkExplicitDue)
}

// firstRunes adds to set every rune that can start a match of re, for the
// expressions made of literals, classes, alternations, concatenations and
// empty-width assertions that the sign-off expressions are.
func firstRunes(t *testing.T, re *syntax.Regexp, set map[rune]bool) {
	t.Helper()
	switch re.Op {
	case syntax.OpCapture:
		firstRunes(t, re.Sub[0], set)
		return
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			firstRunes(t, s, set)
		}
		return
	case syntax.OpConcat:
		for _, s := range re.Sub {
			switch s.Op {
			case syntax.OpBeginText, syntax.OpBeginLine:
			case syntax.OpStar, syntax.OpQuest:
				// Optional: its first runes, and those of what follows.
				firstRunes(t, s.Sub[0], set)
			default:
				firstRunes(t, s, set)
				return
			}
		}
	case syntax.OpLiteral:
		l := re.Rune[0]
		set[l] = true
		for f := l; re.Flags&syntax.FoldCase != 0; {
			if f = unicode.SimpleFold(f); f == l {
				break
			}
			set[f] = true
		}
		return
	case syntax.OpCharClass:
		for i := 0; i < len(re.Rune); i += 2 {
			require.Less(t, re.Rune[i+1]-re.Rune[i], rune(1000), "class %v", re)
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				set[r] = true
			}
		}
		return
	}
	t.Fatalf("firstRunes: op %v in %v", re.Op, re)
}

// TestStartsFolded checks the first-rune tests, over every rune, against
// the runes their expressions can start a match with.
func TestStartsFolded(t *testing.T) {
	for _, c := range []struct {
		first string
		res   []*regexp.Regexp
	}{
		{signOffFirst, []*regexp.Regexp{sigPhraseRe, mobileSigRe}},
		{closingFirst, []*regexp.Regexp{closingLine}},
	} {
		set := map[rune]bool{}
		for _, re := range c.res {
			p, err := syntax.Parse(re.String(), syntax.Perl)
			require.NoError(t, err)
			firstRunes(t, p.Simplify(), set)
		}
		require.Greater(t, len(set), 10)
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if set[r] != startsFolded(string(r)+"x", c.first) {
				t.Fatalf("%q %U %q: startsFolded %v, the expressions %v", c.first, r, r, !set[r], set[r])
			}
		}
		require.False(t, startsFolded("", c.first))
		require.False(t, startsFolded("\xff", c.first))
	}
}

// slowSignatureStart is signatureStart as it was before maySignOff.
func slowSignatureStart(lines []string) int {
	after := make([]int, len(lines)+1)
	for i := len(lines) - 1; i >= 0; i-- {
		after[i] = after[i+1]
		if strings.TrimSpace(lines[i]) != "" {
			after[i]++
		}
	}
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if (t == "--" || t == "—") && after[i+1] <= 30 {
			return i
		}
		if after[i+1] > 15 {
			continue
		}
		if (sigPhraseRe.MatchString(t) && len([]rune(t)) < 80) || mobileSigRe.MatchString(t) {
			return i
		}
	}
	return -1
}

func FuzzSignatureStart(f *testing.F) {
	f.Add("Текст\n\nС уважением,\nИван\n+7 900 000-00-00")
	f.Add("text\nBEST REGARDS\nSent from my iPhone")
	f.Add("ᲃ уважением\nᲂтправлено с iPhone\nKind regards\nſincerely")
	f.Fuzz(func(t *testing.T, text string) {
		lines := strings.Split(text, "\n")
		require.Equal(t, slowSignatureStart(lines), signatureStart(lines), "%q", text)
	})
}

// slowCleanGreetings is cleanGreetings as it was before closingFirst.
func slowCleanGreetings(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	started := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if !started {
			if t == "" || greetingLine.MatchString(t) {
				continue
			}
			started = true
		}
		if closingLine.MatchString(t) && !strings.Contains(strings.ToLower(t), "мастер") {
			break
		}
		out = append(out, t)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func FuzzCleanGreetings(f *testing.F) {
	f.Add("Добрый день!\nНе работает касса.\nСпасибо\nИван")
	f.Add("Коллеги,\nтекст\nЗАРАНЕЕ  СПАСИБО, мастер\n-- \nBest regards")
	f.Add("ᲃ уважением\nтекст\nſent from\nᲂтправлено с\nЖДЁМ")
	f.Fuzz(func(t *testing.T, text string) {
		require.Equal(t, slowCleanGreetings(text), cleanGreetings(text), "%q", text)
	})
}
