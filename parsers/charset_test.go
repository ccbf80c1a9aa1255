package parsers

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	gomail "github.com/emersion/go-message/mail"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
)

// slowDecodeBytes and slowGuessCyrillic are decodeBytes and guessCyrillic as
// they were before decodings and scores were reused.
func slowDecodeBytes(b []byte, label string) (string, string) {
	enc, name, known := lookupCharset(label)
	switch {
	case isASCII(b):
		return string(b), ""
	case !known:
		t, guessed := slowGuessCyrillic(b, len(cyrillicCandidates))
		return t, fmt.Sprintf("unknown charset %q, guessed %s", label, guessed)
	case enc == nil:
		if utf8.Valid(b) {
			return string(b), ""
		}
		if cut := trimPartialRune(b); utf8.Valid(cut) {
			return string(cut), ""
		}
		t, guessed := slowGuessCyrillic(b, len(cyrillicCandidates))
		if invalidUTF8Ratio(b) > 0.2 && readability(t) > 0 {
			if strings.TrimSpace(label) == "" {
				return t, "no charset declared, guessed " + guessed
			}
			return t, fmt.Sprintf("charset %s does not match the bytes, decoded as %s", name, guessed)
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), "invalid UTF-8 repaired"
	}
	t, err := enc.NewDecoder().String(string(b))
	if err != nil {
		t = strings.ToValidUTF8(string(b), "\uFFFD")
	}
	if utf8.Valid(b) && readability(string(b)) > readability(t) {
		return string(b), fmt.Sprintf("charset %s does not match the bytes, decoded as utf-8", name)
	}
	if isCyrillicCandidate(name) {
		best, guessed := slowGuessCyrillic(b, len(cyrillicCandidates))
		if guessed != name && readability(best) > readability(t)+float64(len(b))/8 {
			return best, fmt.Sprintf("charset %s does not match the bytes, decoded as %s", name, guessed)
		}
	}
	return t, ""
}

func slowGuessCyrillic(b []byte, n int) (string, string) {
	bestScore := 0.0
	best, bestName := "", ""
	for i, c := range cyrillicCandidates[:n] {
		t, err := c.enc.NewDecoder().String(string(b))
		if err != nil {
			continue
		}
		s := readability(t)
		if i == 0 || s > bestScore {
			best, bestName, bestScore = t, c.name, s
		}
	}
	return best, bestName
}

var decodeLabels = []string{
	"", "utf-8", "us-ascii", "windows-1251", "cp1251", "koi8-r", "koi8-u", "cp866", "ibm866",
	"iso-8859-5", "l5", "iso-8859-1", "windows-1252", "x-mac-cyrillic", "gb2312", "no-such-charset", `"KOI8-R"`,
}

func checkDecodeBytes(t *testing.T, b []byte) {
	for _, label := range decodeLabels {
		wantT, wantW := slowDecodeBytes(b, label)
		gotT, gotW := decodeBytes(b, label)
		require.Equal(t, wantT, gotT, "%q as %s", b, label)
		require.Equal(t, wantW, gotW, "%q as %s", b, label)
	}
	want, wantName := slowGuessCyrillic(b, 2)
	got, gotName := guessCyrillic(b, 2)
	require.Equal(t, want, got, "%q", b)
	require.Equal(t, wantName, gotName, "%q", b)
}

func decodeSamples() [][]byte {
	ru := "Заявка на ремонт холодильной витрины, магазин ГМ-106. Срочно! "
	var out [][]byte
	for _, enc := range []*charmap.Charmap{charmap.Windows1251, charmap.KOI8R, charmap.CodePage866, charmap.ISO8859_5} {
		b, _ := enc.NewEncoder().String(ru)
		out = append(out, []byte(b))
	}
	out = append(out, []byte(ru), []byte("plain ascii"), []byte(ru[:len(ru)-1]), []byte("caf\xe9 na\xefve"), nil)
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		b := make([]byte, r.IntN(60))
		for i := range b {
			switch r.IntN(3) {
			case 0:
				b[i] = byte(r.IntN(0x80))
			default:
				b[i] = byte(0x80 + r.IntN(0x80))
			}
		}
		if r.IntN(3) == 0 && len(out) > 0 {
			b = append(b, out[r.IntN(4)]...)
		}
		out = append(out, b)
	}
	return out
}

func TestDecodeBytesAsBefore(t *testing.T) {
	for _, b := range decodeSamples() {
		checkDecodeBytes(t, b)
	}
}

func FuzzDecodeBytes(f *testing.F) {
	for _, b := range decodeSamples()[:9] {
		f.Add(b)
	}
	f.Fuzz(checkDecodeBytes)
}

func TestOtherBestBoundsReadability(t *testing.T) {
	skipped := 0
	for _, b := range decodeSamples() {
		for k, declared := range cyrillicCandidates {
			bound := 0.0
			for _, c := range b {
				if c >= 0x80 {
					bound += otherBest[k][c]
				}
			}
			for i, c := range cyrillicCandidates {
				if i == k {
					continue
				}
				d, err := c.enc.NewDecoder().String(string(b))
				require.NoError(t, err)
				require.LessOrEqual(t, readability(d), bound, "%q read as %s, declared %s", b, c.name, declared.name)
			}
			d, _ := declared.enc.NewDecoder().String(string(b))
			if !otherMayReadBetter(b, declared.enc, readability(d)+float64(len(b))/8) {
				skipped++
			}
		}
	}
	require.Positive(t, skipped, "the shortcut never applied")
}

// TestCharsetReaderWords checks that converting an encoded word at once
// gives what the converting reader gives, and a reader io.Copy can write
// out without a buffer of its own.
func TestCharsetReaderWords(t *testing.T) {
	words := map[string][]byte{
		"windows-1251": {0xc8, 0xe2, 0xe0, 0xed, 0xee, 0xe2, ' ', 0xc8, 0x2e},
		"koi8-r":       {0xe9, 0xd7, 0xc1, 0xce, 0xcf, 0xd7},
		"cp866":        {0x88, 0xa2, 0xa0, 0xad, 0xff},
		"iso-8859-5":   {},
		"latin1":       []byte("Jos\xe9"),
		"gb18030":      {0x81},
	}
	for label, in := range words {
		r, err := charsetReader(label, bytes.NewReader(in))
		require.NoError(t, err, label)
		_, ok := r.(io.WriterTo)
		assert.True(t, ok, label)
		got, err := io.ReadAll(r)
		require.NoError(t, err, label)
		enc, _, _ := lookupCharset(label)
		want, err := io.ReadAll(enc.NewDecoder().Reader(bytes.NewReader(in)))
		require.NoError(t, err, label)
		assert.Equal(t, string(want), string(got), label)
	}
	list, err := gomail.ParseAddressList(`=?windows-1251?B?yOLg7e7iIMgu?= <ivanov@example.ru>, =?koi8-r?Q?=E9=D7=C1=CE?= <i@example.ru>`)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "Иванов И.", list[0].Name)
	assert.Equal(t, "Иван", list[1].Name)
}
