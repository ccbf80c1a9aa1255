package parsers

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// split is a text body cut into what the sender wrote, what they quoted or
// forwarded, and their signature.
type split struct {
	newText, quoted, signature string
	forward                    *inlineForward
}

// inlineForward is a forwarded message pasted into the body.
type inlineForward struct {
	header map[string]string // "From", "Date", "To", "Cc", "Subject": raw values
	body   string
}

var (
	// Separators that start a forwarded message.
	fwdSepRe = regexp.MustCompile(`(?i)^-{2,}\s*(?:forwarded message|пересылаемое сообщение|переадресованное сообщение|перенаправленное сообщение|пересланное сообщение)\s*-{2,}$`)
	// iPhone and Apple Mail.
	fwdIntroRe = regexp.MustCompile(`(?i)^(?:начало переадресованного сообщения|begin forwarded message|пересылаемое сообщение)\s*:?$`)
	// Outlook and Thunderbird: used for replies and forwards alike.
	origSepRe = regexp.MustCompile(`(?i)^-{2,}\s*(?:original message|исходное сообщение|ursprüngliche nachricht)\s*-{2,}$`)
	// "On Mon, 9 Nov 2026 at 10:00, Ivan <a@b> wrote:", "09.11.2026 10:00, Иван пишет:",
	// "Иван Петров написал(а):".
	attribRe = regexp.MustCompile(`(?i)(?:wrote|пишет|написал\(а\)|написала?|schrieb|a écrit)\s*:\s*$`)
	// Gmail in Russian and Mail.ru omit the verb: "пн, 9 нояб. 2026 г. в 14:05, Иван <a@b>:".
	attribAddrRe = regexp.MustCompile(`\d.*<[^<>\s]+@[^<>\s]+>\s*:\s*$`)
	ruleRe       = regexp.MustCompile(`^(?:_{8,}|-{8,}|={8,})$`)
	hdrLineRe    = regexp.MustCompile(`^\*?([A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё -]{0,24}?)\*?\s*:\s*(.*)$`)
	fwdSubjectRe = regexp.MustCompile(`(?i)^\s*(?:\[[^\]]*\]\s*)?(?:fwd?|fw|пересл|переслано|tr|wg)\s*(?:\[\d+\])?\s*:`)
	sigPhraseRe  = regexp.MustCompile(`(?i)^(?:с уважением|с наилучшими пожеланиями|всего доброго|всего хорошего|best regards|kind regards|warm regards|regards|best wishes|sincerely|cheers)(?:$|[\s,.!:])`)
	mobileSigRe  = regexp.MustCompile(`(?i)^(?:отправлено (?:с|из|через) |sent from |sent with |get outlook for|получить outlook для|скачайте outlook)`)
)

// headerKeys maps the labels of pasted header lines to canonical names.
var headerKeys = map[string]string{
	"from": "From", "от": "From", "от кого": "From", "von": "From", "отправитель": "From",
	"sent": "Date", "date": "Date", "дата": "Date", "отправлено": "Date", "gesendet": "Date",
	"to": "To", "кому": "To", "an": "To",
	"cc": "Cc", "копия": "Cc", "кому копия": "Cc",
	"subject": "Subject", "тема": "Subject", "betreff": "Subject",
	"reply-to": "Reply-To", "ответить": "Reply-To",
}

func headerLine(l string) (key, value string, ok bool) {
	l = strings.TrimSpace(l)
	if !maybeHeaderLine(l) {
		return "", "", false
	}
	m := hdrLineRe.FindStringSubmatch(l)
	if m == nil {
		return "", "", false
	}
	k, found := headerKeys[strings.ToLower(strings.TrimSpace(m[1]))]
	return k, strings.TrimSpace(m[2]), found
}

// maybeHeaderLine is a quick test that fails for most lines hdrLineRe does
// not match, and never for one it matches: it needs a colon, and a letter
// of its class (ASCII or Cyrillic, which UTF-8 starts with 0xD0 or 0xD1)
// first, after an optional '*'.
func maybeHeaderLine(l string) bool {
	if strings.IndexByte(l, ':') < 0 {
		return false
	}
	l = strings.TrimPrefix(l, "*")
	if l == "" {
		return false
	}
	c := l[0]
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == 0xD0 || c == 0xD1
}

// outlookBlock reports whether lines[i] starts a pasted header block: a From
// line followed closely by a date or subject line.
func outlookBlock(lines []string, i int) bool {
	k, _, ok := headerLine(stripQuote(lines[i]))
	if !ok || k != "From" {
		return false
	}
	seen := 0
	for j := i + 1; j < len(lines) && j <= i+8; j++ {
		l := strings.TrimSpace(stripQuote(lines[j]))
		if l == "" {
			break
		}
		if k, _, ok := headerLine(l); ok && (k == "Date" || k == "Subject" || k == "To") {
			seen++
		}
	}
	return seen >= 2
}

func stripQuote(l string) string {
	t := strings.TrimLeft(l, " ")
	if strings.HasPrefix(t, ">") {
		return strings.TrimPrefix(strings.TrimPrefix(t, ">"), " ")
	}
	return l
}

// splitText separates new text, quoted history, an inline forward and the
// signature. subject tells a forward from a reply when the marker is shared
// (Outlook uses the same header block for both).
// endsWithColon reports whether s ends with ':' and ASCII white space, as
// every attribution line does. It is checked before the attribution
// expressions, which are unanchored and case-insensitive and so cost a scan
// from every position of every line.
func endsWithColon(s string) bool {
	return strings.HasSuffix(strings.TrimRight(s, " \t\n\f\r"), ":")
}

func isAttribution(l string) bool { return endsWithColon(l) && attribRe.MatchString(l) }

func splitText(text, subject string) split {
	var s split
	if text == "" {
		return s
	}
	lines := strings.Split(text, "\n")
	isFwd := fwdSubjectRe.MatchString(subject)
	cut, hdrStart, forward := -1, -1, false
	for i := 0; i < len(lines) && cut < 0; i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case fwdSepRe.MatchString(l) || fwdIntroRe.MatchString(l):
			cut, hdrStart, forward = i, i+1, true
		case origSepRe.MatchString(l):
			cut, hdrStart, forward = i, i+1, isFwd
		case outlookBlock(lines, i):
			cut, hdrStart, forward = i, i, isFwd
			// Take the rule line and blank lines above the block along.
			for j := i - 1; j >= 0; j-- {
				t := strings.TrimSpace(lines[j])
				if t == "" {
					continue
				}
				if ruleRe.MatchString(t) {
					cut = j
				}
				break
			}
		case isAttribution(l) && !strings.HasPrefix(l, ">"):
			cut = i
		case i+1 < len(lines) && isAttribution(lines[i+1]) && len(l) > 0 && !strings.HasPrefix(l, ">") &&
			strings.ContainsAny(l, "0123456789") && len(strings.TrimSpace(lines[i+1])) < 60:
			cut = i // an attribution wrapped over two lines
		case endsWithColon(l) && attribAddrRe.MatchString(l) && nextQuoted(lines, i+1):
			cut = i
		}
	}
	head := lines
	var quoted []string
	if cut >= 0 {
		head = lines[:cut]
		if forward {
			s.forward = parseInlineForward(lines[hdrStart:])
		}
	}
	// Quoted lines interleaved with new text.
	var own []string
	for _, l := range head {
		if strings.HasPrefix(strings.TrimLeft(l, " "), ">") {
			quoted = append(quoted, l)
			continue
		}
		own = append(own, l)
	}
	if cut >= 0 {
		quoted = append(quoted, lines[cut:]...)
	}
	s.quoted = strings.TrimSpace(strings.Join(quoted, "\n"))
	sig := signatureStart(own)
	if sig >= 0 {
		s.signature = strings.TrimSpace(strings.Join(own[sig:], "\n"))
		own = own[:sig]
	}
	s.newText = strings.TrimSpace(strings.Join(own, "\n"))
	return s
}

func nextQuoted(lines []string, i int) bool {
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		return strings.HasPrefix(l, ">")
	}
	return false
}

// signatureStart finds where the signature begins in the sender's own
// lines, -1 if there is none. A long tail after a closing phrase is not a
// signature (the phrase was part of the text).
func signatureStart(lines []string) int {
	// after[i] counts the non-blank lines after line i.
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
		if !maySignOff(t) {
			continue
		}
		if (sigPhraseRe.MatchString(t) && len([]rune(t)) < 80) || mobileSigRe.MatchString(t) {
			return i
		}
	}
	return -1
}

// signOffFirst holds, in lower case, the first letter of every phrase
// sigPhraseRe and mobileSigRe match.
const signOffFirst = "свопbcgkrsw"

// maySignOff reports whether t starts with a letter that case-folds to one
// of signOffFirst: false for most lines, and never for one sigPhraseRe or
// mobileSigRe matches (both are anchored at the start and case-insensitive).
func maySignOff(t string) bool {
	return startsFolded(t, signOffFirst)
}

// startsFolded reports whether the first rune of t, or a rune it case-folds
// to, is in first.
func startsFolded(t, first string) bool {
	r, _ := utf8.DecodeRuneInString(t)
	for f := r; ; {
		if strings.ContainsRune(first, f) {
			return true
		}
		if f = unicode.SimpleFold(f); f == r {
			return false
		}
	}
}

// parseInlineForward reads the pasted header lines after a forward marker
// and the body after them.
func parseInlineForward(lines []string) *inlineForward {
	// Apple Mail quotes the whole forwarded message.
	quotedAll := true
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, ">") {
			quotedAll = false
			break
		}
	}
	if quotedAll {
		for i, l := range lines {
			lines[i] = stripQuote(l)
		}
	}
	f := &inlineForward{header: map[string]string{}}
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	last := ""
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			break
		}
		if k, v, ok := headerLine(l); ok {
			if _, dup := f.header[k]; !dup {
				f.header[k] = v
			}
			last = k
			continue
		}
		if (last == "To" || last == "Cc") && (strings.Contains(l, "@") || strings.HasPrefix(l, ";")) {
			f.header[last] += " " + l
			continue
		}
		if last == "Subject" && len(f.header) >= 2 && i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "" {
			f.header[last] += " " + l // a subject wrapped by the mailer
			continue
		}
		break
	}
	f.body = strings.TrimSpace(strings.Join(lines[i:], "\n"))
	if len(f.header) == 0 && f.body == "" {
		return nil
	}
	return f
}

// document builds the synthetic Document of an inline forward. outer gives
// the time zone for dates written without one.
func (f *inlineForward) document(outer *Document, level int) *Document {
	d := &Document{
		Header:  map[string][]string{},
		Subject: f.header["Subject"],
		Text:    cleanText(f.body),
		Inline:  true,
	}
	d.Size = len(d.Text)
	for k, v := range f.header {
		d.Header[k] = []string{v}
	}
	if from := parseAddressList([]byte(f.header["From"])); len(from) > 0 {
		d.From = from[0]
	} else if v := f.header["From"]; v != "" {
		d.From = Address{Name: v}
	}
	d.To = parseAddressList([]byte(f.header["To"]))
	d.Cc = parseAddressList([]byte(f.header["Cc"]))
	loc := time.UTC
	if !outer.Date.IsZero() {
		loc = outer.Date.Location()
	}
	if t, ok := parseLooseDate(f.header["Date"], loc); ok {
		d.Date = t
	}
	s := splitText(d.Text, d.Subject)
	d.NewText, d.Quoted, d.Signature = s.newText, s.quoted, s.signature
	if s.forward != nil && level < maxForwardDepth {
		d.Forwarded = s.forward.document(d, level+1)
	}
	return d
}

var ruMonths = map[string]time.Month{
	"янв": 1, "фев": 2, "мар": 3, "апр": 4, "мая": 5, "май": 5, "июн": 6, "июл": 7, "авг": 8,
	"сен": 9, "окт": 10, "ноя": 11, "дек": 12,
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
	"sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

var (
	looseTimeRe = regexp.MustCompile(`(?i)(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(am|pm)?`)
	looseTZRe   = regexp.MustCompile(`(?i)(?:gmt|utc)?\s*([+-])(\d{1,2}):?(\d{2})?\b`)
	numDateRe   = regexp.MustCompile(`\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b`)
	isoDateRe   = regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})\b`)
	wordRe      = regexp.MustCompile(`[\p{L}]+|\d+`)
)

// parseLooseDate reads the dates mailers paste into forwarded headers:
// RFC 5322, "вторник, 10 ноября 2026 г. 17:30", "Mon, Nov 9, 2026 at 10:00 AM",
// "10.11.2026 17:30". Without a zone the time is taken in loc.
func parseLooseDate(s string, loc *time.Location) (time.Time, bool) {
	t, ok := parseLooseDateAny(s, loc)
	return t, ok && sensibleTime(t)
}

func parseLooseDateAny(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	var year, day int
	var month time.Month
	rest := s
	if m := numDateRe.FindStringSubmatchIndex(s); m != nil {
		day, _ = strconv.Atoi(s[m[2]:m[3]])
		mo, _ := strconv.Atoi(s[m[4]:m[5]])
		month = time.Month(mo)
		year, _ = strconv.Atoi(s[m[6]:m[7]])
		rest = s[:m[0]] + " " + s[m[1]:]
	} else if m := isoDateRe.FindStringSubmatchIndex(s); m != nil {
		year, _ = strconv.Atoi(s[m[2]:m[3]])
		mo, _ := strconv.Atoi(s[m[4]:m[5]])
		month = time.Month(mo)
		day, _ = strconv.Atoi(s[m[6]:m[7]])
		rest = s[:m[0]] + " " + s[m[1]:]
	} else {
		timeLoc := looseTimeRe.FindStringIndex(s)
		datePart := s
		if timeLoc != nil {
			datePart = s[:timeLoc[0]]
		}
		for _, w := range wordRe.FindAllString(strings.ToLower(datePart), -1) {
			if w[0] >= '0' && w[0] <= '9' {
				n, _ := strconv.Atoi(w)
				switch {
				case len(w) == 4 && year == 0:
					year = n
				case len(w) <= 2 && day == 0 && n >= 1 && n <= 31:
					day = n
				}
				continue
			}
			if month == 0 {
				r := []rune(w)
				if len(r) >= 3 {
					if mo, ok := ruMonths[string(r[:3])]; ok {
						month = mo
					}
				}
			}
		}
		if timeLoc != nil {
			rest = s[timeLoc[0]:]
		} else {
			rest = ""
		}
	}
	if year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	hour, minute, sec := 0, 0, 0
	if m := looseTimeRe.FindStringSubmatch(rest); m != nil {
		hour, _ = strconv.Atoi(m[1])
		minute, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			sec, _ = strconv.Atoi(m[3])
		}
		switch strings.ToLower(m[4]) {
		case "pm":
			if hour < 12 {
				hour += 12
			}
		case "am":
			if hour == 12 {
				hour = 0
			}
		}
		if i := strings.Index(rest, m[0]); i >= 0 {
			rest = rest[i+len(m[0]):]
		}
		if z := looseTZRe.FindStringSubmatch(rest); z != nil {
			h, _ := strconv.Atoi(z[2])
			mi, _ := strconv.Atoi(z[3])
			off := h*3600 + mi*60
			if z[1] == "-" {
				off = -off
			}
			if h <= 14 {
				loc = time.FixedZone("", off)
			}
		}
	}
	if hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	return time.Date(year, month, day, hour, minute, sec, 0, loc), true
}
