package learn_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/intakehq/intake/learn"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/rules"
)

// Whatever mail is among the samples, learning does not panic and what it
// proposes is a format file that loads.
func FuzzPropose(f *testing.F) {
	nw := newNorthwind(f)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 3 {
		raw, _ := nw.mail(r, i, 204100+i, i == 2, nw.stores[i], i%4, i%4, time.Date(2026, 11, 5+i, 12, 0, 0, 0, msk))
		f.Add(raw)
	}
	f.Add([]byte("From: a@b.example\r\nSubject: Заявка №12345: [x] (y) «z»\r\n\r\nПриоритет: 1\r\nСрок: завтра\r\n"))
	base, _ := nw.mail(r, 9, 209999, false, nw.stores[5], 1, 2, time.Date(2026, 11, 20, 10, 0, 0, 0, msk))
	baseDoc, err := parsers.Normalize(base)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := parsers.Normalize(raw)
		if err != nil {
			return
		}
		samples := []learn.Sample{{Name: "a.eml", Doc: baseDoc}, {Name: "b.eml", Doc: d}, {Name: "c.eml", Doc: d}}
		p, err := learn.Propose(samples, nw.ref, learn.Options{})
		if err != nil {
			return
		}
		y, err := p.YAML()
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		if _, err := rules.Load([]rules.File{{Name: "p.yaml", Data: y}}); err != nil {
			t.Fatalf("the proposal does not load: %v\n%s", err, y)
		}
	})
}
