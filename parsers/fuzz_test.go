package parsers

import (
	"encoding/json"
	"os"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize feeds mutated fixtures to Normalize: it must not panic, must
// either fail with ErrMalformed or return a Document whose text is valid
// UTF-8 and which encodes to JSON.
func FuzzNormalize(f *testing.F) {
	for _, name := range mailFixtures(f) {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\n--x--"))
	f.Add([]byte("Subject: =?utf-8?B?=?= =?x?Q?=ZZ?=\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Normalize(raw)
		if err != nil {
			if d != nil {
				t.Fatal("document with error")
			}
			return
		}
		for _, s := range []string{d.Text, d.NewText, d.Quoted, d.Signature, d.Subject} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %q", s)
			}
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatal(err)
		}
		Classify(d, []string{"intake@tehnoservis.example"})
	})
}
