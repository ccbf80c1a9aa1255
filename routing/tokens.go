package routing

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies an address token.
type tokKind uint8

const (
	tokWord tokKind = iota + 1
	tokNum
	tokSep // comma, semicolon, parenthesis, colon, line break, dash between spaces
	tokNo  // the "№" sign
)

// token is one word or number of a normalized text. Words are lower case with
// ё folded to е; stem is the word without its inflection ending. A number keeps
// its house letter and any корпус/строение glued to it ("12к2", "5с1").
type token struct {
	kind tokKind
	text string
	stem string
	dot  bool // followed by '.', a hint that the word is an abbreviation

	// Numbers only.
	digits   string // leading digits: "12" of "12а/1к2"
	house    string // digits, letter and fraction: "12а", "12/1"
	korpus   string // glued корпус: "2" of "12к2"
	stroenie string // glued строение: "3" of "12с3"
}

// latinToCyrillic folds Latin letters typed by mistake inside a Russian word.
var latinToCyrillic = map[rune]rune{
	'a': 'а', 'c': 'с', 'e': 'е', 'o': 'о', 'p': 'р', 'x': 'х', 'y': 'у',
	'k': 'к', 'm': 'м', 't': 'т', 'h': 'н', 'b': 'в',
}

func isCyr(r rune) bool { return r >= 'а' && r <= 'я' || r == 'ё' }

// tokenize splits s into address tokens. It never fails: anything it does not
// understand becomes a separator or is skipped.
func tokenize(s string) []token {
	toks := make([]token, 0, len(s)/4+1)
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			j := i
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if unicode.IsLetter(r2) || unicode.IsDigit(r2) {
					j += sz
					continue
				}
				// A hyphen or slash inside a word or number belongs to it:
				// "Ростов-на-Дону", "пр-т", "12/1".
				if (r2 == '-' || r2 == '/') && j+1 < len(s) {
					r3, _ := utf8.DecodeRuneInString(s[j+1:])
					if unicode.IsLetter(r3) || unicode.IsDigit(r3) {
						j += sz
						continue
					}
				}
				break
			}
			dot := j < len(s) && s[j] == '.'
			toks = appendWord(toks, s[i:j], dot)
			i = j
		case r == '№' || r == '#':
			toks = append(toks, token{kind: tokNo, text: "№"})
			i += size
		case r == ',' || r == ';' || r == '(' || r == ')' || r == ':' || r == '\n' || r == '\r' ||
			r == '—' || r == '–' || r == '|' || r == '[' || r == ']' || r == '<' || r == '>':
			if len(toks) == 0 || toks[len(toks)-1].kind != tokSep {
				toks = append(toks, token{kind: tokSep})
			}
			i += size
		case r == '-' && i > 0 && s[i-1] == ' ':
			if len(toks) == 0 || toks[len(toks)-1].kind != tokSep {
				toks = append(toks, token{kind: tokSep})
			}
			i += size
		default:
			i += size
		}
	}
	return toks
}

// appendWord normalizes one raw run of letters and digits and appends it as
// one or more tokens: "д12" becomes "д" "12", "ул.Мира5" is not split further
// than the tokenizer did, "12к2" stays one number.
func appendWord(toks []token, raw string, dot bool) []token {
	w := foldWord(raw)
	if w == "" {
		return toks
	}
	first, _ := utf8.DecodeRuneInString(w)
	if unicode.IsDigit(first) {
		return append(toks, parseNum(w, dot))
	}
	// Letters followed by digits: "д12", "к2", "стр3".
	k := strings.IndexFunc(w, unicode.IsDigit)
	if k > 0 && !strings.ContainsRune(w[:k], '-') {
		toks = append(toks, token{kind: tokWord, text: w[:k], stem: stem(w[:k])})
		return append(toks, parseNum(w[k:], dot))
	}
	return append(toks, token{kind: tokWord, text: w, stem: stem(w), dot: dot})
}

// foldWord lower-cases, folds ё to е and, inside a Cyrillic word, Latin
// look-alikes to Cyrillic.
func foldWord(raw string) string {
	hasCyr := false
	for _, r := range raw {
		if isCyr(unicode.ToLower(r)) {
			hasCyr = true
			break
		}
	}
	// Most words need no change (numbers, lower-case words); returning them
	// as they are saves an allocation per word of every message.
	same := true
	for _, r := range raw {
		if unicode.ToLower(r) != r || r == 'ё' || r == utf8.RuneError {
			same = false
			break
		}
		if hasCyr && r < utf8.RuneSelf {
			if _, ok := latinToCyrillic[r]; ok {
				same = false
				break
			}
		}
	}
	if same {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	for _, r := range raw {
		r = unicode.ToLower(r)
		if r == 'ё' {
			r = 'е'
		}
		if hasCyr {
			if c, ok := latinToCyrillic[r]; ok {
				r = c
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// parseNum reads a house number: digits, an optional letter, an optional
// "/fraction", then optionally a glued корпус ("к2", "корп2") or строение
// ("с3", "стр3").
func parseNum(w string, dot bool) token {
	t := token{kind: tokNum, text: w, dot: dot}
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	t.digits = w[:i]
	rest := w[i:]
	house := t.digits
	// House letter: one Cyrillic letter not starting a корпус/строение marker.
	if r, sz := utf8.DecodeRuneInString(rest); sz > 0 && isCyr(r) {
		after := rest[sz:]
		startsDigit := len(after) > 0 && after[0] >= '0' && after[0] <= '9'
		if !((r == 'к' || r == 'с') && startsDigit) && !hasMarkerPrefix(rest) {
			house += string(r)
			rest = after
		}
	}
	if strings.HasPrefix(rest, "/") {
		j := 1
		for j < len(rest) && (rest[j] >= '0' && rest[j] <= '9') {
			j++
		}
		if r, sz := utf8.DecodeRuneInString(rest[j:]); sz > 0 && isCyr(r) && r != 'к' && r != 'с' {
			j += sz
		}
		house += rest[:j]
		rest = rest[j:]
	}
	rest = strings.TrimPrefix(rest, "-")
	for _, m := range []struct {
		prefix string
		dst    *string
	}{
		{"корпус", &t.korpus}, {"корп", &t.korpus}, {"кор", &t.korpus}, {"к", &t.korpus},
		{"строение", &t.stroenie}, {"стр", &t.stroenie}, {"с", &t.stroenie},
	} {
		if strings.HasPrefix(rest, m.prefix) {
			tail := strings.TrimPrefix(rest[len(m.prefix):], "-")
			j := 0
			for j < len(tail) && tail[j] >= '0' && tail[j] <= '9' {
				j++
			}
			if j > 0 {
				*m.dst = tail[:j]
				rest = tail[j:]
				// "12к2с1"
				if strings.HasPrefix(rest, "с") || strings.HasPrefix(rest, "стр") {
					r2 := strings.TrimPrefix(strings.TrimPrefix(rest, "стр"), "с")
					k := 0
					for k < len(r2) && r2[k] >= '0' && r2[k] <= '9' {
						k++
					}
					if k > 0 {
						t.stroenie = r2[:k]
					}
				}
				break
			}
		}
	}
	t.house = house
	return t
}

func hasMarkerPrefix(s string) bool {
	for _, p := range []string{"корп", "стр", "кор"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// endings are inflection endings stripped by stem, longest first.
var endings = []string{
	"ского", "ская", "ской", "ские", "ских", "скую", "ский",
	"ого", "его", "ому", "ему", "ыми", "ими", "ая", "яя", "ой", "ей", "ый", "ий",
	"ую", "юю", "ое", "ее", "ые", "ие", "ых", "их", "ом", "ем", "ам", "ям", "ах", "ях",
	"а", "я", "у", "ю", "е", "ы", "и", "о", "ь",
}

// stem strips one inflection ending so that "Комсомольская" and
// "Комсомольской", "Мира" and "Миру" meet. It keeps at least three letters.
func stem(w string) string {
	if len(w) < 8 { // fewer than four Cyrillic letters: keep as is
		return w
	}
	for _, e := range endings {
		if strings.HasSuffix(w, e) && utf8.RuneCountInString(w)-utf8.RuneCountInString(e) >= 3 {
			s := w[:len(w)-len(e)]
			// "-ская" keeps its "ск" so the adjective stays apart from the noun
			// (Курская vs Курск is settled by the region marker instead).
			if strings.HasPrefix(e, "ск") {
				s = w[:len(w)-len(e)+len("ск")]
			}
			return s
		}
	}
	return w
}
