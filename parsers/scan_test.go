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
