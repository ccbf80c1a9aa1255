package routing

import (
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// lookalikes maps Cyrillic capitals to the Latin capitals drawn the same way.
var lookalikes = map[rune]rune{
	'А': 'A', 'В': 'B', 'Е': 'E', 'Ё': 'E', 'К': 'K', 'М': 'M', 'Н': 'H',
	'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'У': 'Y', 'Х': 'X',
}

// FoldLookalikes returns s upper-cased, with Cyrillic letters that look like
// Latin ones replaced by the Latin letter and with spaces, dashes, slashes,
// dots and underscores removed. It is the comparison key for store codes:
// people retype codes on keyboards of either layout and with any separator.
func FoldLookalikes(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '/' || r == '.' || r == '_' || r == '\t' ||
			r == '\u00a0' || r == '–' || r == '—' || r == '\\':
			continue
		}
		r = unicode.ToUpper(r)
		if l, ok := lookalikes[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}

// NormalizePhone parses s as a phone number (default region RU, so "8 (912)
// ..." works) and returns it in E.164 ("+79121234567"), or "" when s is not a
// valid number.
func NormalizePhone(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	n, err := phonenumbers.Parse(s, "RU")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return ""
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}

// translit spells Cyrillic capitals in Latin the way codes are transliterated
// when typed ("МГ-30-454" for "MG-30-454", "ВВ0236" for "VV0236").
var translit = map[rune]string{
	'А': "A", 'Б': "B", 'В': "V", 'Г': "G", 'Д': "D", 'Е': "E", 'Ё': "E", 'Ж': "ZH",
	'З': "Z", 'И': "I", 'Й': "I", 'К': "K", 'Л': "L", 'М': "M", 'Н': "N", 'О': "O",
	'П': "P", 'Р': "R", 'С': "S", 'Т': "T", 'У': "U", 'Ф': "F", 'Х': "H", 'Ц': "TS",
	'Ч': "CH", 'Ш': "SH", 'Щ': "SCH", 'Ъ': "", 'Ы': "Y", 'Ь': "", 'Э': "E", 'Ю': "YU", 'Я': "YA",
}

// translitKey is the second comparison key for codes: like FoldLookalikes but
// Cyrillic letters are transliterated instead of matched by shape. Codes are
// compared by shape first and by this only when that finds nothing.
func translitKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '-', '/', '.', '_', '\t', '\u00a0', '–', '—', '\\':
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
