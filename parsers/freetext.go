package parsers

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ExtractFreeText reads a request written by a person (a store director):
// the problem, our category by keywords, urgency, a due time only when a date
// and a time are written, and everything that can identify the store or the
// order (codes, phones, e-mails, order numbers). It does not resolve the
// store: routing does that from Codes, Address and Phones.
func ExtractFreeText(d *Document, x ExtractContext) Fields {
	var out Fields
	if d == nil {
		return out
	}
	subject := capText(stripSubjectPrefixes(d.Subject), 1000)
	body := d.NewText
	if strings.TrimSpace(body) == "" {
		body = d.Text
	}
	// A person's request is short; what is past this is pasted logs or lists.
	body = capText(body, 16000)
	clean := cleanGreetings(body)
	out.Problem = strings.TrimSpace(joinNonEmpty("\n", subject, clean))
	if len(out.Problem) > maxValue {
		out.Problem = out.Problem[:maxValue]
	}
	out.Category = x.Categories.Match(3, subject, 1, clean)

	if isUrgent(d, subject, body) {
		out.Urgent = true
		out.Priority = "high"
	}

	now := x.Now
	if now.IsZero() {
		now = d.Date
	}
	if t, ok := explicitDue(body, x.location(), now); ok {
		out.Due = &t
	}

	own := body + "\n" + capText(d.Signature, 2000)
	out.Refs = FindRefs(subject + "\n" + own)
	out.Codes = FindCodes(subject+"\n"+own, out.Refs)
	out.Phones = FindPhones(own)
	if len(out.Phones) == 0 {
		out.Phones = FindPhones(capText(d.Text, 16000))
	}
	out.Emails = findEmails(own, d)
	return out
}

var subjectPrefix = regexp.MustCompile(`(?i)^\s*(?:(?:re|fw|fwd|отв|пер|ответ|aw|wg)(?:\[\d+\]|\(\d+\))?\s*:\s*)+`)

func stripSubjectPrefixes(s string) string {
	return strings.TrimSpace(subjectPrefix.ReplaceAllString(s, ""))
}

var (
	greetingLine = regexp.MustCompile(`(?i)^\s*(?:(?:коллеги|уважаемые\s+коллеги|уважаемый\s+\pL+|добрый|доброе|доброй|здравствуйте|привет|день\s+добрый)[\pL\s,]*[!.,]?\s*)$`)
	closingLine  = regexp.MustCompile(`(?i)^\s*(?:спасибо|заранее\s+спасибо|с\s+уважением|благодарю|жд[её]м|отправлено\s+(?:с|из)|sent\s+from|best\s+regards|regards|--)\b?`)
)

// closingFirst holds, in lower case, every rune a match of closingLine can
// start with (its leading \s, the first letters of its phrases, the dash).
const closingFirst = "\t\n\f\r -бжзосbrs"

// cleanGreetings drops greeting lines at the top and closing lines (and all
// after them) at the bottom.
func cleanGreetings(s string) string {
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
		if startsFolded(t, closingFirst) && closingLine.MatchString(t) && !strings.Contains(strings.ToLower(t), "мастер") {
			break
		}
		out = append(out, t)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// capText cuts s to at most n bytes on a rune boundary.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			keep = append(keep, strings.TrimSpace(p))
		}
	}
	return strings.Join(keep, sep)
}

var (
	urgentWord    = regexp.MustCompile(`(?i)(?:^|[^\pL])(срочн\pL*|urgent|asap)`)
	notUrgentWord = regexp.MustCompile(`(?i)(?:^|[^\pL])(?:не|нет|несрочн)\s*срочн`)
)

// isUrgent: "срочно" in the subject or the new text, or X-Priority 1 or
// Importance/Priority high in the headers.
func isUrgent(d *Document, subject, body string) bool {
	for _, s := range []string{subject, body} {
		if matchFolded(urgentWord, urgentWordFast, s) && !matchFolded(notUrgentWord, notUrgentWordFast, s) {
			return true
		}
	}
	h := func(k string) string {
		for key, v := range d.Header {
			if strings.EqualFold(key, k) && len(v) > 0 {
				return strings.ToLower(strings.TrimSpace(v[0]))
			}
		}
		return ""
	}
	if p := h("X-Priority"); strings.HasPrefix(p, "1") {
		return true
	}
	for _, k := range []string{"Importance", "Priority", "X-MSMail-Priority"} {
		if v := h(k); v == "high" || v == "urgent" {
			return true
		}
	}
	return false
}

func hasASCIIDigit(s string) bool {
	return strings.ContainsAny(s, "0123456789")
}

var deadlineCue = regexp.MustCompile(`(?i)(?:^|[^\pL])(?:до|к|не\s+позднее|срок\pL*)\s+(?:\pL+\s+)?\d{1,2}[:.]\d{2}`)

// explicitDue finds a date written with a time. A day named relatively
// ("завтра до 12:00") counts only with a deadline word before the time.
// Times without a zone are in loc.
func explicitDue(body string, loc *time.Location, now time.Time) (time.Time, bool) {
	for i, line := range strings.Split(body, "\n") {
		if i > 300 {
			break
		}
		// Every date expression and deadlineCue needs an ASCII digit, so a
		// line without one can neither hold a date nor a relative deadline.
		if !hasASCIIDigit(line) {
			continue
		}
		hit, ok := findDate(line)
		if ok {
			if _, _, _, okT := findTime(line, hit.start, hit.end); !okT && !hit.hasTime {
				continue
			}
			return ParseDate(line, loc, now)
		}
		// deadlineCue needs a clock time; most lines have none, and testing
		// for one costs less than reRelDay's case-folded scan.
		if hasClockShape(line) && reRelDay.MatchString(line) && deadlineCue.MatchString(line) {
			return ParseDate(line, loc, now)
		}
	}
	return time.Time{}, false
}

// hasClockShape reports whether s holds an ASCII digit, ':' or '.', and two
// ASCII digits in a row, as every match of deadlineCue's \d[:.]\d{2} does.
func hasClockShape(s string) bool {
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	for i := 0; i+3 < len(s); i++ {
		if c := s[i+1]; (c == ':' || c == '.') && isDigit(s[i]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			return true
		}
	}
	return false
}

var (
	// Store codes: a letter prefix and digits ("ГМ-106", "MG-04-844", "DM/0164", "OK-123", "VV0358").
	codeLettered = regexp.MustCompile(`(?:^|[^\pL\pN])(\pL{2,4}(?:[-/ ]?\d{2}[- ]\d{2,4}|[-/ ]?\d{2,4}))(?:[^\pN\-/]|$)`)
	// "магазин 0123", "ТТ №123", "маг. № 57", "аптека 12", and a bare "№ 57".
	codeNumbered = regexp.MustCompile(`(?i)(?:^|[^\pL])(?:магазин\pL*|маг\.?|тт|торгов\pL*\s+точк\pL*|гипермаркет\pL*|супермаркет\pL*|аптек\pL*|филиал\pL*|объект\pL*|store|shop)\s*(?:№|N|#|No\.?)?\s*(\d{1,5})(?:[^\pN.,:]|[.,:](?:\s|$)|$)`)
	codeHash     = regexp.MustCompile(`(?:№|N\s?°|#)\s*(\d{1,5})(?:[^\pN]|$)`)
)

// mayHaveCodeHash reports whether text holds a rune every codeHash match
// starts with or holds (№, # or the ° of "N°"); most text has none.
func mayHaveCodeHash(text string) bool {
	return strings.ContainsAny(text, "#№°")
}

// The keyword-led expressions run over folded text at their keywords only
// (see prefilter.go).
var (
	codeNumberedFast = foldedLitRegexp(codeNumbered.String())
	refNumberedFast  = foldedLitRegexp(refNumbered.String())
)

// The urgency words are looked for in every subject and body.
var (
	urgentWordFast    = foldedLitRegexp(urgentWord.String())
	notUrgentWordFast = foldedLitRegexp(notUrgentWord.String())
)

// matchFolded is re.MatchString(text), through fast as findAllFolded.
func matchFolded(re *regexp.Regexp, fast *litRegexp, text string) bool {
	return len(findAllFolded(re, fast, text, 1)) > 0
}

// findAllFolded is re.FindAllStringSubmatchIndex(text, n), through fast (re
// folded, see foldedLitRegexp) when text can be folded.
func findAllFolded(re *regexp.Regexp, fast *litRegexp, text string, n int) [][]int {
	if folded, ok := foldText(text); ok {
		return fast.findAll(folded, n)
	}
	return re.FindAllStringSubmatchIndex(text, n)
}

// Words that look like a code prefix but are not ("до 12", "на 30").
var notCodePrefix = map[string]bool{
	"ДО": true, "НА": true, "ОТ": true, "ПО": true, "ЗА": true, "В": true, "С": true, "ИЗ": true,
	"УЖЕ": true, "ЕЩЕ": true, "ЕЩЁ": true, "ДОМ": true, "КВ": true, "УЛ": true, "КОРП": true, "СТР": true,
	"ТЕЛ": true, "ЭТАЖ": true, "ОКОЛО": true, "ГОД": true, "ЧАС": true, "МИН": true, "ПРИ": true,
	"ЛИТ": true, "ОФ": true, "ПОМ": true, "ДЕК": true, "НОЯ": true, "ОКТ": true, "СЕН": true, "ЯНВ": true,
	"ФЕВ": true, "МАР": true, "АПР": true, "МАЯ": true, "ИЮН": true, "ИЮЛ": true, "АВГ": true, "ТТ": true,
	"ШТ": true, "ВСЕ": true, "ЧЕМ": true, "УЗО": true, "РУБ": true, "ПОСЛЕ": true, "ЧЕРЕЗ": true,
}

// FindCodes returns candidate store codes written in text, as written, in
// order of appearance; refs (order numbers) are not codes.
func FindCodes(text string, refs []string) []string {
	type hit struct {
		pos  int
		code string
	}
	var hits []hit
	for _, m := range findAllInWindows(codeLettered, text, digitWindows(text), 50) {
		code := text[m[2]:m[3]]
		prefix := strings.ToUpper(strings.TrimRightFunc(code, func(r rune) bool { return !unicode.IsLetter(r) }))
		if i := strings.IndexFunc(prefix, func(r rune) bool { return !unicode.IsLetter(r) }); i >= 0 {
			prefix = prefix[:i]
		}
		if notCodePrefix[prefix] || prefix != strings.ToUpper(prefix) {
			continue
		}
		// Codes are written in capitals ("ГМ", "MG"); a lower-case word
		// before a number is prose ("этаж 2", "касса 3").
		if w := strings.TrimRightFunc(code, func(r rune) bool { return !unicode.IsLetter(r) }); strings.ToUpper(w) != w {
			continue
		}
		hits = append(hits, hit{m[2], code})
	}
	for _, m := range findAllFolded(codeNumbered, codeNumberedFast, text, 50) {
		hits = append(hits, hit{m[2], text[m[2]:m[3]]})
	}
	if mayHaveCodeHash(text) {
		for _, m := range codeHash.FindAllStringSubmatchIndex(text, 50) {
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

func isRef(code string, refs []string) bool {
	for _, r := range refs {
		if strings.Contains(r, code) || strings.Contains(code, r) {
			return true
		}
	}
	return false
}

var (
	// INC0529724, WO0000000948256, SRV-37442, ЗНО-0182067, TSR-37839, INT-12,
	// and numbers that carry the year, as many desks write them: ZT-2026-000123.
	refLettered = regexp.MustCompile(`(?:^|[^\pL\pN])(\pL{2,5}-(?:19|20)\d{2}-\d{3,10}|\pL{2,5}-?\d{5,15}|INT-\d{1,10})(?:[^\pN]|$)`)
	// 00000045097 (eleven digits).
	refDigits = regexp.MustCompile(`(?:^|[^\pN+\-])(\d{11})(?:[^\pN]|$)`)
	// "запрос №310536", "заявка № 123456".
	refNumbered = regexp.MustCompile(`(?i)(?:запрос\pL*|заявк\pL*|обращени\pL*|инцидент\pL*|заказ\pL*|наряд\pL*|ticket|request)\s*(?:№|N|#)?\s*(\d{5,12})(?:[^\pN]|$)`)
)

// FindRefs returns order numbers written in text (the client's or ours), in
// order of appearance.
func FindRefs(text string) []string {
	type hit struct {
		pos int
		ref string
	}
	var hits []hit
	wins := digitWindows(text)
	for _, m := range findAllInWindows(refLettered, text, wins, 50) {
		ref := text[m[2]:m[3]]
		letters := strings.TrimRightFunc(ref, func(r rune) bool { return unicode.IsDigit(r) || r == '-' })
		if strings.ToUpper(letters) != letters {
			continue
		}
		hits = append(hits, hit{m[2], ref})
	}
	for _, m := range findAllInWindows(refDigits, text, wins, 50) {
		hits = append(hits, hit{m[2], text[m[2]:m[3]]})
	}
	for _, m := range findAllFolded(refNumbered, refNumberedFast, text, 50) {
		hits = append(hits, hit{m[2], text[m[2]:m[3]]})
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return a.pos - b.pos })
	var out []string
	for _, h := range hits {
		if slices.Contains(out, h.ref) {
			continue
		}
		if !strings.ContainsFunc(h.ref, unicode.IsLetter) && NormalizePhone(h.ref) != "" {
			continue // a phone written without separators
		}
		out = append(out, h.ref)
	}
	return out
}

var emailRe = regexp.MustCompile(`[\pL\pN._%+\-]+@[\pL\pN.\-]+\.\pL{2,}`)

// findEmails returns addresses written in the text other than the sender's.
func findEmails(text string, d *Document) []string {
	var out []string
	for _, e := range emailRe.FindAllString(text, 20) {
		e = strings.ToLower(strings.TrimRight(e, "."))
		if e == d.From.Email || slices.Contains(out, e) {
			continue
		}
		out = append(out, e)
	}
	return out
}
