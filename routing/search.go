package routing

import (
	"cmp"
	"slices"
	"strings"
)

// Found is one store a dispatcher's search may mean.
type Found struct {
	Client  string  `json:"client"`
	Code    string  `json:"code"`
	Name    string  `json:"name"`
	Address string  `json:"address"`
	Score   float64 `json:"score"` // 0..1, higher first
	By      string  `json:"by"`    // code | address | words
}

// Search scores of the ways a query can name a store.
const (
	searchExactCode  = 1.0
	searchCodePrefix = 0.9
	searchWords      = 0.6 // every word of the query begins a word of the store's name or address
)

// SearchObjects finds the stores a dispatcher means by q: a store code
// (whole, or its beginning), a street and house the address index knows
// ("Ленина 12"), or words of the store's name, address or city
// ("пятый угол пенза"). client, when set, keeps to that client's stores. It
// returns at most limit stores, best first.
func (d *Directory) SearchObjects(client, q string, limit int) []Found {
	q = strings.TrimSpace(q)
	if q == "" || limit <= 0 {
		return nil
	}
	best := map[int]Found{}
	add := func(i int, score float64, by string) {
		o := &d.objects[i]
		if client != "" && o.Client != client {
			return
		}
		if prev, ok := best[i]; ok && prev.Score >= score {
			return
		}
		best[i] = Found{Client: o.Client, Code: o.Code, Name: o.Name, Address: o.Address, Score: round2(score), By: by}
	}

	ix := d.searchIndex()

	// A code, with or without its client.
	if key := CodeKey(q); key != "" {
		for _, i := range d.objByCode[key] {
			add(i, searchExactCode, "code")
		}
		for i, k := range ix.codeKeys {
			if len(key) < len(k) && strings.HasPrefix(k, key) {
				add(i, searchCodePrefix, "code")
			}
		}
	}

	// A street and house number, scored by the address index.
	if cands, _, _ := d.matchAddress(client, q); len(cands) > 0 {
		for _, c := range cands {
			add(c.obj, min(c.score, 0.95), "address")
		}
	}

	// Words: each word of the query begins a word of the store.
	var words []string
	for _, t := range tokenize(q) {
		if t.kind == tokWord || t.kind == tokNum {
			words = append(words, t.text)
		}
	}
	if len(words) > 0 {
		for i, ws := range ix.words {
			if client != "" && d.objects[i].Client != client {
				continue
			}
			if hasAllPrefixes(ws, words) {
				add(i, searchWords, "words")
			}
		}
	}

	out := make([]Found, 0, len(best))
	for _, f := range best {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Found) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Client, b.Client), cmp.Compare(a.Code, b.Code))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// searchIndex is what SearchObjects compares a query with, per store: its
// code key and the words and numbers of its name, address, city and code.
type searchIndex struct {
	codeKeys []string
	words    [][]string
}

// searchIndex builds the index on first use: the pipeline's directories,
// reloaded with the reference data, never pay for it.
func (d *Directory) searchIndex() *searchIndex {
	if ix := d.search.Load(); ix != nil {
		return ix
	}
	ix := &searchIndex{codeKeys: make([]string, len(d.objects)), words: make([][]string, len(d.objects))}
	for i := range d.objects {
		o := &d.objects[i]
		ix.codeKeys[i] = CodeKey(o.Code)
		seen := map[string]bool{}
		for _, t := range tokenize(o.Name + " " + o.Address + " " + o.City + " " + o.Code) {
			if (t.kind == tokWord || t.kind == tokNum) && !seen[t.text] {
				seen[t.text] = true
				ix.words[i] = append(ix.words[i], t.text)
			}
		}
	}
	d.search.CompareAndSwap(nil, ix)
	return d.search.Load()
}

// hasAllPrefixes reports whether every word begins one of have.
func hasAllPrefixes(have, words []string) bool {
	for _, w := range words {
		found := false
		for _, h := range have {
			if strings.HasPrefix(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
