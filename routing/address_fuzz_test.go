package routing

import (
	"encoding/csv"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeAddress feeds addresses as people and the chains write them
// to the address parser and to address matching. NormalizeAddress never
// fails, so the target checks what its callers rely on: the same text gives
// the same parts; parts are folded to lower case (folding them again changes
// nothing: "ϓ" has no lower case and stays), valid UTF-8 for valid input and
// hold no '|' (Key joins them with it, so one would make two buildings equal);
// Tokens stem the words of the parts that name a place. MatchObject over the
// same text keeps its confidence in 0..1 and names only stores it knows.
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range shippedAddresses(f) {
		f.Add(s)
	}
	for _, o := range fixtureObjects() {
		f.Add(o.Address)
	}
	for _, s := range []string{
		"Казань г, Гагарина ул, дом 12", "ул Ленина 5 Казань", "магазин на ул. Мира, 5",
		"Саратов, Полевая 114к2", "Оренбург бул. Кирова 92с3", "пр. Победы, 10/1",
		"ул. 8 Марта, д. 3 лит. А", "Мира 5к1с2", "ул. Ленина, дом № 5", "д 5", "к", "с 1",
		"Ростов-на-Дону, пр-т Ленина 12 А", "КАЗАНЬ, УЛИЦА ГАГАРИНА, 12К2", "ул. Мира д.5 корп.1 стр.2",
	} {
		f.Add(s)
	}
	d := fixtureDirectory(f)
	known := map[string]bool{}
	for _, o := range fixtureObjects() {
		known[o.Client+"/"+o.Code] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := NormalizeAddress(s)
		if again := NormalizeAddress(s); !reflect.DeepEqual(a, again) {
			t.Fatalf("two parses differ:\n%+v\n%+v", a, again)
		}
		parts := []string{a.Postcode, a.Region, a.City, a.Street, a.StreetType, a.House, a.Korpus, a.Stroenie}
		for _, p := range parts {
			if utf8.ValidString(s) && !utf8.ValidString(p) {
				t.Fatalf("part %q is not valid UTF-8 in %+v", p, a)
			}
			if strings.ContainsRune(p, '|') {
				t.Fatalf("part %q holds the key separator in %+v", p, a)
			}
			if strings.ToLower(p) != p {
				t.Fatalf("part %q is not folded to lower case in %+v", p, a)
			}
		}
		if n := len(strings.Fields(a.City + " " + a.Street + " " + a.Region)); n != len(a.Tokens) {
			t.Fatalf("%d tokens for %d place words in %+v", len(a.Tokens), n, a)
		}

		m := d.MatchObject(Hints{Address: s, Text: s})
		if m.Confidence < 0 || m.Confidence > 1 {
			t.Fatalf("confidence %v", m.Confidence)
		}
		for _, c := range m.Candidates {
			if !known[c.Client+"/"+c.Code] {
				t.Fatalf("candidate %s/%s is not a known store", c.Client, c.Code)
			}
		}
		if m.Object != nil && !known[m.Object.Client+"/"+m.Object.Code] {
			t.Fatalf("matched %s/%s, not a known store", m.Object.Client, m.Object.Code)
		}
	})
}

// shippedAddresses reads the addresses of the shipped sample stores.
func shippedAddresses(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, name := range []string{"../demo/objects.csv", "../testdata/newchain/reference/objects.csv"} {
		fh, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		recs, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		col := -1
		for i, h := range recs[0] {
			if h == "address" {
				col = i
			}
		}
		if col < 0 {
			tb.Fatalf("%s: no address column", name)
		}
		for _, r := range recs[1:] {
			out = append(out, r[col])
		}
	}
	return out
}
