package parsers

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

var scanTexts = []string{
	"<a@b>", "<a@b> <c@d>", "<<a@b>>", "<a b@c>", "< a@b>", "<>", "<a@b", "x <a@b>\t<c@d>,<e@f>",
	"<id@host.ru>\r\n <id2@host.ru>", "<ид@хост>", "<\xff@b>", "<a<b@c>", "<a@b>>", "",
	"From: Иван <i@b.ru>", "*От:* Иван", "Тема : x", "** From: x", "1: x", "Ёлка: x", " From : x ", "From x",
}

// msgIDScanRe is what scanMsgIDs does by hand.
var msgIDScanRe = regexp.MustCompile(`<([^<>\s]+)>`)

func FuzzScanMsgIDs(f *testing.F) {
	for _, s := range scanTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []string
		for _, m := range msgIDScanRe.FindAllStringSubmatch(s, -1) {
			want = append(want, m[1])
		}
		assert.Equal(t, want, scanMsgIDs(s), "%q", s)
	})
}

// FuzzMaybeHeaderLine checks that the quick test passes every line the
// header line expression matches.
func FuzzMaybeHeaderLine(f *testing.F) {
	for _, s := range scanTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if hdrLineRe.MatchString(s) {
			assert.True(t, maybeHeaderLine(s), "%q", s)
		}
	})
}

// FuzzPhoneCandidates compares the run-by-run phone search with a search of
// the whole text.
func FuzzPhoneCandidates(f *testing.F) {
	for _, s := range append(scanTexts, "+7 (495) 123-45-67", "тел. 8 912 345 67 89, 8(800)2000600", "abc8 912 345 67 89",
		"12.03.2026 10:00 8-916-111-22-33", "x+7\u2011916\u2013111 22 33y", "8912345678901234", "\xff89123456789\xd0",
		"ID 1234567890 звоните 89161112233.", "(999) 123 45 67\n\n+44 20 7946 0958") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		assert.Equal(t, phoneCandidate.FindAllStringIndex(s, -1), findPhoneCandidates(s), "%q", s)
	})
}

func TestPhoneCandidatesAsWholeText(t *testing.T) {
	for _, s := range digitTexts(t) {
		if !assert.Equal(t, phoneCandidate.FindAllStringIndex(s, -1), findPhoneCandidates(s), "%q", s) {
			return
		}
	}
}
