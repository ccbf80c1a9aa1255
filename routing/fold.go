package routing

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/intakehq/intake/parsers"
)

// CodeKey is the comparison key for store codes: the code with its letters
// folded by [parsers.FoldLookalikes] (upper case, Cyrillic letters that look
// like Latin ones made Latin) and with spaces, dashes, slashes, dots and
// underscores removed. People retype codes on keyboards of either layout and
// with any separator, so "мг 30/454" and "MG-30-454" have one key.
func CodeKey(s string) string {
	return string(appendCodeKey(nil, s))
}

// appendCodeKey appends CodeKey(s) to b. It works rune by rune (a separator
// stays a separator when folded), so the key of words joined by spaces is
// the keys of the words one after another.
func appendCodeKey(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z':
				b = append(b, c-('a'-'A'))
			case isCodeSeparator(rune(c)):
			default:
				b = append(b, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if isCodeSeparator(r) {
			continue
		}
		b = utf8.AppendRune(b, parsers.FoldRune(r))
	}
	return b
}

// isCodeSeparator reports whether r only separates the parts of a store code.
func isCodeSeparator(r rune) bool {
	switch r {
	case ' ', '-', '/', '.', '_', '\t', '\u00a0', '–', '—', '\\':
		return true
	}
	return false
}

// translit spells Cyrillic capitals in Latin the way codes are transliterated
// when typed ("МГ-30-454" for "MG-30-454", "ВВ0236" for "VV0236").
var translit = map[rune]string{
	'А': "A", 'Б': "B", 'В': "V", 'Г': "G", 'Д': "D", 'Е': "E", 'Ё': "E", 'Ж': "ZH",
	'З': "Z", 'И': "I", 'Й': "I", 'К': "K", 'Л': "L", 'М': "M", 'Н': "N", 'О': "O",
	'П': "P", 'Р': "R", 'С': "S", 'Т': "T", 'У': "U", 'Ф': "F", 'Х': "H", 'Ц': "TS",
	'Ч': "CH", 'Ш': "SH", 'Щ': "SCH", 'Ъ': "", 'Ы': "Y", 'Ь': "", 'Э': "E", 'Ю': "YU", 'Я': "YA",
}

// translitKey is the second comparison key for codes: like CodeKey but
// Cyrillic letters are transliterated instead of matched by shape. Codes are
// compared by shape first and by this only when that finds nothing.
func translitKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if isCodeSeparator(r) {
			continue
		}
		r = unicode.ToUpper(r)
		if t, ok := translit[r]; ok {
			b.WriteString(t)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// normalizeEmail lower-cases an address and strips display-name brackets.
func normalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		s = strings.TrimSuffix(s, ">")
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// emailDomain returns the part after '@', lower-cased.
func emailDomain(email string) string {
	email = normalizeEmail(email)
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return email[i+1:]
}
