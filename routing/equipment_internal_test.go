package routing

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// FuzzFindSerialLabels checks findSerialLabels against the expression it
// stands for, run from every position.
func FuzzFindSerialLabels(f *testing.F) {
	for _, s := range []string{
		"S/N: KB-4471-02918.", "SN KB447102918 сломан", "зав. № КВ 4471 02918 не работает",
		"заводской номер: kb-4471-02918", "Серийный номер KB–4471–02918", "serial# 1\nserial no. 2",
		"sn1 sn2 sn3", "ſn X", "ᲃер. № 5", "\u0345sn 7", "(s / n 12)", "isn 12, asn: 3", "s\xffsn 4",
		"витрина КВ 4471 02918 опять течёт, с/н неизвестен; сер.№ 77", "sn", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var want []string
		for _, sm := range serialLabel.FindAllStringSubmatch(text, 20) {
			want = append(want, sm[1])
		}
		assert.Equal(t, want, findSerialLabels(text, 20), "%q", text)
	})
}
