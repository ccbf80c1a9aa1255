package parsers

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

func init() {
	// go-message decodes RFC 2047 words in address lists through this hook;
	// give it the same table Normalize uses so both agree on every label.
	message.CharsetReader = charsetReader
}

// charsetReader is message.CharsetReader: it converts input in the named
// charset to UTF-8.
//
// An encoded word of a header comes as a bytes.Reader and its converted
// text is copied out with io.Copy, which makes a 32 KiB buffer for a reader
// that has no WriteTo: one for each display name not in UTF-8, the most
// memory a message's header took (and a converting reader has two 4 KiB
// buffers of its own). Up to maxWordConvert bytes are therefore converted
// at once and handed over as a bytes.Reader, which has WriteTo; a
// conversion error is returned by the reader, as the converting reader
// would (mime.WordDecoder drops a word that fails either way).
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, _, ok := lookupCharset(label)
	if !ok {
		return nil, fmt.Errorf("unknown charset %q", label)
	}
	if enc == nil {
		return input, nil
	}
	if br, ok := input.(*bytes.Reader); ok && br.Len() <= maxWordConvert {
		word := make([]byte, br.Len())
		br.Read(word) //nolint:errcheck // a bytes.Reader reads what it has
		data, err := enc.NewDecoder().Bytes(word)
		if err != nil {
			return failingReader{err}, nil
		}
		return bytes.NewReader(data), nil
	}
	return enc.NewDecoder().Reader(input), nil
}

// maxWordConvert bounds the input charsetReader converts at once.
const maxWordConvert = 4 << 10

// failingReader returns its error on every read.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// lookupCharset resolves a charset label. enc is nil for UTF-8 and its
// subsets; name is the canonical name used in warnings.
func lookupCharset(label string) (enc encoding.Encoding, name string, ok bool) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	if i := strings.IndexByte(l, '*'); i >= 0 { // RFC 2231 language suffix
		l = l[:i]
	}
	switch l {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "unicode-1-1-utf-8", "x-unknown", "unknown-8bit":
		return nil, "utf-8", true
	case "windows-1251", "cp1251", "win-1251", "win1251", "x-cp1251", "cp-1251", "windows1251", "1251":
		return charmap.Windows1251, "windows-1251", true
	case "koi8-r", "koi8r", "koi8", "cskoi8r", "koi":
		return charmap.KOI8R, "koi8-r", true
	case "koi8-u", "koi8u":
		return charmap.KOI8U, "koi8-u", true
	case "cp866", "ibm866", "866", "csibm866", "cp-866", "dos-866", "x-cp866":
		return charmap.CodePage866, "cp866", true
	case "iso-8859-5", "iso8859-5", "iso_8859-5", "cyrillic", "csisolatincyrillic", "iso-ir-144":
		return charmap.ISO8859_5, "iso-8859-5", true
	}
	if e, err := htmlindex.Get(l); err == nil {
		n, _ := htmlindex.Name(e)
		if n == "utf-8" {
			return nil, "utf-8", true
		}
		return e, n, true
	}
	if e, err := ianaindex.MIME.Encoding(l); err == nil && e != nil {
		n, _ := ianaindex.MIME.Name(e)
		return e, strings.ToLower(n), true
	}
	return nil, "", false
}

// cyrillicCandidates are the single-byte charsets a guess chooses among.
var cyrillicCandidates = []struct {
	name string
	enc  encoding.Encoding
}{
	{"windows-1251", charmap.Windows1251},
	{"koi8-r", charmap.KOI8R},
	{"cp866", charmap.CodePage866},
	{"iso-8859-5", charmap.ISO8859_5},
}

// decodeBytes converts b, labelled with charset label, to UTF-8. It checks the
// label against the bytes: a wrong label (UTF-8 that is really windows-1251,
// windows-1251 that is really KOI8-R, ...) loses to the candidate whose text
// reads best. warn is empty when nothing had to be guessed or repaired.
func decodeBytes(b []byte, label string) (text string, warn string) {
	enc, name, known := lookupCharset(label)
	ascii := isASCII(b)
	switch {
	case ascii:
		return string(b), ""
	case !known:
		t, guessed := guessCyrillic(b, len(cyrillicCandidates))
		return t, fmt.Sprintf("unknown charset %q, guessed %s", label, guessed)
	case enc == nil: // UTF-8 declared (or nothing declared)
		if utf8.Valid(b) {
			return string(b), ""
		}
		if cut := trimPartialRune(b); utf8.Valid(cut) {
			// Only the last character was cut short (a truncated body).
			return string(cut), ""
		}
		t, guessed, score := guessCyrillicScored(b, len(cyrillicCandidates), nil)
		if invalidUTF8Ratio(b) > 0.2 && score > 0 {
			if strings.TrimSpace(label) == "" {
				return t, "no charset declared, guessed " + guessed
			}
			return t, fmt.Sprintf("charset %s does not match the bytes, decoded as %s", name, guessed)
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), "invalid UTF-8 repaired"
	}
	t, err := enc.NewDecoder().String(string(b))
	decoded := err == nil
	if err != nil {
		t = strings.ToValidUTF8(string(b), "\uFFFD")
	}
	valid, cyrillic := utf8.Valid(b), isCyrillicCandidate(name)
	var tScore float64
	if valid || cyrillic {
		tScore = readability(t)
	}
	// A single-byte label on valid multi-byte UTF-8 is a frequent mistake.
	if valid && readability(string(b)) > tScore {
		return string(b), fmt.Sprintf("charset %s does not match the bytes, decoded as utf-8", name)
	}
	if cyrillic && !otherMayReadBetter(b, enc, tScore+float64(len(b))/8) {
		return t, ""
	}
	if cyrillic {
		// The declared charset is one of the candidates: reuse its decoding.
		var known *decoding
		if decoded {
			known = &decoding{enc: enc, text: t, score: tScore}
		}
		best, guessed, bestScore := guessCyrillicScored(b, len(cyrillicCandidates), known)
		if guessed != name && bestScore > tScore+float64(len(b))/8 {
			return best, fmt.Sprintf("charset %s does not match the bytes, decoded as %s", name, guessed)
		}
	}
	return t, ""
}

func isCyrillicCandidate(name string) bool {
	for _, c := range cyrillicCandidates {
		if c.name == name {
			return true
		}
	}
	return false
}

// decodeHeaderBytes converts raw 8-bit header bytes: UTF-8 when valid, else
// the better reading of windows-1251 and KOI8-R.
func decodeHeaderBytes(b []byte) (string, bool) {
	if isASCII(b) || utf8.Valid(b) {
		return string(b), false
	}
	t, _ := guessCyrillic(b, 2)
	return t, true
}

// guessCyrillic decodes b with each of the first n candidates and keeps the
// most readable result.
func guessCyrillic(b []byte, n int) (string, string) {
	best, bestName, _ := guessCyrillicScored(b, n, nil)
	return best, bestName
}

// decoding is b decoded with enc, and its readability.
type decoding struct {
	enc   encoding.Encoding
	text  string
	score float64
}

// guessCyrillicScored is guessCyrillic that also returns the readability of
// its choice; known, if not nil, is a successful decoding of b already made,
// used instead of decoding again with its candidate.
func guessCyrillicScored(b []byte, n int, known *decoding) (string, string, float64) {
	bestScore := 0.0
	best, bestName := "", ""
	for i, c := range cyrillicCandidates[:n] {
		var t string
		var s float64
		if known != nil && known.enc == c.enc {
			t, s = known.text, known.score
		} else {
			var err error
			t, err = c.enc.NewDecoder().String(string(b))
			if err != nil {
				continue
			}
			s = readability(t)
		}
		if i == 0 || s > bestScore {
			best, bestName, bestScore = t, c.name, s
		}
	}
	return best, bestName, bestScore
}

// otherBest[k][c] bounds the readability a byte c >= 0x80 adds to b read by
// any candidate but cyrillicCandidates[k]: each byte is one rune in these
// charsets, ASCII reads the same in all of them and adds at most 0.
var otherBest = func() (t [4][256]float64) {
	for k := range cyrillicCandidates {
		for c := 0x80; c < 0x100; c++ {
			best := math.Inf(-1)
			for i, cand := range cyrillicCandidates {
				if i == k {
					continue
				}
				d, err := cand.enc.NewDecoder().String(string([]byte{byte(c)}))
				r, size := utf8.DecodeRuneInString(d)
				if err != nil || size != len(d) {
					best = math.Inf(1) // no bound: never skip
					break
				}
				best = max(best, runeScoreBound(r))
			}
			t[k][c] = best
		}
	}
	return t
}()

// runeScoreBound is the most readability can add for r, whatever precedes it.
func runeScoreBound(r rune) float64 {
	switch {
	case r < 0x80:
		return 0
	case r == utf8.RuneError:
		return -20
	case unicode.Is(unicode.Cyrillic, r):
		if f := ruFreqOf(r); f > 0 {
			return f / 10
		}
		if unicode.IsUpper(r) {
			return 1
		}
		return -3
	case strings.ContainsRune("«»—–№…“”„’‘•·°±€\u00a0", r):
		return 0
	case r >= 0x2500 && r <= 0x25FF:
		return -10
	case r < 0x100:
		return -5
	}
	return -3
}

// otherMayReadBetter reports whether a candidate other than enc (one of
// cyrillicCandidates) might read b with a readability above threshold. It
// sums per-byte bounds, so a false answer is certain; the margin of 1 covers
// rounding in the two sums.
func otherMayReadBetter(b []byte, enc encoding.Encoding, threshold float64) bool {
	k := slices.IndexFunc(cyrillicCandidates, func(c struct {
		name string
		enc  encoding.Encoding
	}) bool {
		return c.enc == enc
	})
	if k < 0 {
		return true
	}
	bound := 0.0
	for _, c := range b {
		if c >= 0x80 {
			bound += otherBest[k][c]
		}
	}
	return bound+1 > threshold
}

// ruFreq is the per-mille frequency of lower-case Russian letters.
var ruFreq = map[rune]float64{
	'о': 110, 'е': 85, 'а': 80, 'и': 74, 'н': 67, 'т': 63, 'с': 55, 'р': 47,
	'в': 45, 'л': 44, 'к': 35, 'м': 32, 'д': 30, 'п': 28, 'у': 26, 'я': 20,
	'ы': 19, 'ь': 17, 'г': 17, 'з': 16, 'б': 16, 'ч': 14, 'й': 12, 'х': 10,
	'ж': 9, 'ш': 7, 'ю': 6, 'ц': 5, 'щ': 4, 'э': 3, 'ф': 2.6, 'ъ': 0.4, 'ё': 0.4,
}

// ruFreqTable is ruFreq indexed by r-'а' ('а' to 'ё'); a map look-up per
// rune was most of readability's time.
var ruFreqTable = func() (t ['ё' - 'а' + 1]float64) {
	for r, f := range ruFreq {
		t[r-'а'] = f
	}
	return t
}()

// ruFreqOf is ruFreq[r], 0 for a rune ruFreq does not hold (every held
// frequency is positive).
func ruFreqOf(r rune) float64 {
	if r < 'а' || r > 'ё' {
		return 0
	}
	return ruFreqTable[r-'а']
}

// readability scores how much t looks like Russian (or plain) text: common
// lower-case letters score, capitals inside a lower-case word, control
// characters, box drawing and stray symbols (typical of a wrong single-byte
// table) cost.
func readability(t string) float64 {
	score := 0.0
	prevLower := false
	for _, r := range t {
		switch {
		case r < 0x80:
			if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
				score -= 20
			}
			prevLower = r >= 'a' && r <= 'z'
			continue
		case r == utf8.RuneError:
			score -= 20
		case unicode.Is(unicode.Cyrillic, r):
			if f := ruFreqOf(r); f > 0 {
				score += f / 10
				prevLower = true
				continue
			}
			if unicode.IsUpper(r) {
				if prevLower {
					score -= 6
				} else {
					score += 1
				}
			} else {
				score -= 3 // Cyrillic letters of other languages: rare here
			}
		case strings.ContainsRune("«»—–№…“”„’‘•·°±€\u00a0", r):
			// usual punctuation in Russian mail
		case r >= 0x2500 && r <= 0x25FF: // box drawing and blocks (CP866 misread)
			score -= 10
		case r < 0x100: // Latin-1 symbols: cp1251 read as iso-8859-1 and the like
			score -= 5
		default:
			score -= 3
		}
		prevLower = false
	}
	return score
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// invalidUTF8Ratio is the share of non-ASCII bytes that do not form valid
// UTF-8 sequences.
func invalidUTF8Ratio(b []byte) float64 {
	high, bad := 0, 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if b[0] >= 0x80 {
			high += size
			if r == utf8.RuneError && size == 1 {
				bad++
			}
		}
		b = b[size:]
	}
	if high == 0 {
		return 0
	}
	return float64(bad) / float64(high)
}

// xmlEncoding returns the encoding named in an XML declaration, "" if none.
func xmlEncoding(b []byte) string {
	head := b
	if len(head) > 256 {
		head = head[:256]
	}
	i := bytes.Index(head, []byte("<?xml"))
	if i < 0 {
		return ""
	}
	decl := head[i:]
	if j := bytes.Index(decl, []byte("?>")); j >= 0 {
		decl = decl[:j]
	}
	k := bytes.Index(decl, []byte("encoding"))
	if k < 0 {
		return ""
	}
	rest := bytes.TrimLeft(decl[k+len("encoding"):], " \t\r\n=")
	if len(rest) == 0 {
		return ""
	}
	q := rest[0]
	if q != '"' && q != '\'' {
		return ""
	}
	rest = rest[1:]
	if e := bytes.IndexByte(rest, q); e >= 0 {
		return string(rest[:e])
	}
	return ""
}

// htmlMetaCharset finds <meta charset=...> or an http-equiv content type in
// the head of an HTML document.
func htmlMetaCharset(b []byte) string {
	head := b
	if len(head) > 2048 {
		head = head[:2048]
	}
	low := bytes.ToLower(head)
	i := bytes.Index(low, []byte("charset="))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(low[i+len("charset="):], `"' `)
	end := bytes.IndexAny(rest, `"'; />`)
	if end < 0 {
		end = len(rest)
	}
	return string(rest[:end])
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}
