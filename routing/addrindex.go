package routing

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// storeAddr is a store address prepared for scoring.
type storeAddr struct {
	city       []string // stems
	cityKey    string
	street     []string // stems of the lettered words of the street name
	streetType string
	house      string // "12а"
	korpus     string
	stroenie   string
	postcode   string
}

// hkey is an inverted index key: one street word stem and the digits of the
// house number. A store is listed under every word of its street, so a
// message naming "Карла Маркса 5" or just "Маркса 5" finds it, and the house
// number keeps the lists short however many stores share a street name.
type hkey struct {
	stem  string
	house string
}

type cityEntry struct {
	stems []string
	key   string
}

type addrIndex struct {
	stores []storeAddr
	post   map[hkey][]int32
	cities map[string][]cityEntry // by first stem
}

func buildAddrIndex(objects []Object) addrIndex {
	ix := addrIndex{
		stores: make([]storeAddr, len(objects)),
		post:   make(map[hkey][]int32, len(objects)*2),
		cities: map[string][]cityEntry{},
	}
	seenCity := map[string]bool{}
	for i, o := range objects {
		a := NormalizeAddress(o.Address)
		city := o.City
		if city == "" {
			city = a.City
		}
		ct := wordStems(tokenize(city))
		key := strings.Join(ct, " ")
		sa := storeAddr{
			city: ct, cityKey: key, streetType: a.StreetType, house: a.House,
			korpus: a.Korpus, stroenie: a.Stroenie, postcode: a.Postcode,
		}
		for _, w := range strings.Fields(a.Street) {
			if r := []rune(w); len(r) > 0 && unicode.IsLetter(r[0]) {
				sa.street = append(sa.street, stem(w))
			}
		}
		ix.stores[i] = sa
		digits := leadingDigits(a.House)
		if digits == "" {
			continue
		}
		for _, st := range sa.street {
			k := hkey{st, digits}
			ix.post[k] = append(ix.post[k], int32(i))
		}
		if len(ct) > 0 && !seenCity[key] {
			seenCity[key] = true
			ix.cities[ct[0]] = append(ix.cities[ct[0]], cityEntry{stems: ct, key: key})
		}
	}
	return ix
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

type scored struct {
	obj   int
	score float64
	why   string
}

// query is a tokenized text with what every candidate is compared against.
type query struct {
	toks      []token
	stems     map[string]bool
	mentioned map[string]bool // city keys named in the text
	postcodes map[string]bool
}

func (ix *addrIndex) prepare(s string) *query {
	// mentioned and postcodes stay nil (read as empty) until something is
	// found: most texts name no city we know and no postcode.
	q := &query{toks: tokenize(s), stems: map[string]bool{}}
	toks := q.toks
	for i, t := range toks {
		switch t.kind {
		case tokWord:
			q.stems[t.stem] = true
			// A city named as a region ("Курская обл.") is not the city.
			if isRegionMarker(toks, i+1) || isRegionMarker(toks, i-1) {
				continue
			}
			for _, ce := range ix.cities[t.stem] {
				ok := true
				for k, st := range ce.stems[1:] {
					if i+1+k >= len(toks) || toks[i+1+k].kind != tokWord || toks[i+1+k].stem != st {
						ok = false
						break
					}
				}
				if ok {
					if q.mentioned == nil {
						q.mentioned = map[string]bool{}
					}
					q.mentioned[ce.key] = true
				}
			}
		case tokNum:
			if len(t.digits) == 6 && t.house == t.digits {
				if q.postcodes == nil {
					q.postcodes = map[string]bool{}
				}
				q.postcodes[t.digits] = true
			}
		}
	}
	return q
}

func isRegionMarker(toks []token, i int) bool {
	if i < 0 || i >= len(toks) {
		return false
	}
	m, ok := markerOf(toks[i])
	return ok && m.kind == mkRegion
}

// matchAddress scores the stores an address text may mean. It returns them
// best first with the confidence that the first is right.
func (d *Directory) matchAddress(client, s string) ([]scored, float64, string) {
	ix := &d.addr
	q := ix.prepare(s)
	toks := q.toks
	best := map[int]scored{}
	for i, t := range toks {
		if t.kind != tokWord || stopwords[t.text] {
			continue
		}
		if _, isMk := markerOf(t); isMk {
			continue
		}
		lo, hi := max(0, i-3), min(len(toks)-1, i+5)
		for j := lo; j <= hi; j++ {
			n := toks[j]
			if j == i || n.kind != tokNum || n.digits == "" || len(n.digits) > 4 || isSubBuilding(toks, j) {
				continue
			}
			for _, oi := range ix.post[hkey{t.stem, n.digits}] {
				o := int(oi)
				if client != "" && d.objects[o].Client != client {
					continue
				}
				sc, why := ix.score(o, q, i, j)
				if prev, ok := best[o]; !ok || sc > prev.score {
					best[o] = scored{obj: o, score: sc, why: why}
				}
			}
		}
	}
	if len(best) == 0 {
		return nil, 0, ReasonNoStreet
	}
	cands := make([]scored, 0, len(best))
	for _, c := range best {
		if c.score > 0 {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil, 0, ReasonContradicts
	}
	slices.SortFunc(cands, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.obj, b.obj))
	})
	top := cands[0]
	conf := top.score
	why := top.why
	switch {
	case len(cands) > 1 && cands[1].score > top.score-0.1:
		conf = top.score * 0.7
		why = fmt.Sprintf(ReasonSeveral, why)
	case len(q.mentioned) == 0 && client != "":
		// No city in the text, but only one store of the client has this
		// street and house.
		conf += 0.1
		why += ReasonOnlyStore
	}
	return cands, min(conf, 1), why
}

// score compares store o with the street word at toks[i] and the house
// number at toks[j]. House agreement is required; street and city weigh
// most; корпус, строение, street type and postcode adjust.
func (ix *addrIndex) score(o int, q *query, i, j int) (float64, string) {
	st := &ix.stores[o]
	toks := q.toks
	parts := make([]string, 0, 8)

	// Street: share of the store's street words present, minus words of the
	// written street that the store's street does not have.
	matched := 0
	for _, w := range st.street {
		if q.stems[w] {
			matched++
		}
	}
	frac := float64(matched) / float64(max(1, len(st.street)))
	runStart, runEnd := i, i
	for runStart-1 >= 0 && isPlaceWord(toks[runStart-1]) {
		runStart--
	}
	for runEnd+1 < len(toks) && isPlaceWord(toks[runEnd+1]) {
		runEnd++
	}
	extra := 0
	for k := runStart; k <= runEnd; k++ {
		w := toks[k].stem
		if !slices.Contains(st.street, w) && !slices.Contains(st.city, w) {
			extra++
		}
	}
	score := 0.4*frac - 0.05*float64(min(extra, 2))
	parts = append(parts, PartStreet)

	// Street type written next to the name.
	qType := ""
	for _, k := range []int{runStart - 1, runEnd + 1} {
		if k >= 0 && k < len(toks) {
			if m, ok := markerOf(toks[k]); ok && m.kind == mkStreet {
				qType = m.canon
				break
			}
		}
	}
	if qType != "" && st.streetType != "" && qType != st.streetType {
		score -= 0.15
		parts = append(parts, PartStreetType)
	}

	// House, корпус, строение.
	ht := toks[j]
	qHouse, qK, qS, qFrac := ht.house, ht.korpus, ht.stroenie, ""
	if k := strings.IndexByte(qHouse, '/'); k >= 0 {
		qHouse, qFrac = qHouse[:k], qHouse[k+1:]
	}
	for k := j + 1; k < len(toks) && k <= j+4; k++ {
		m, ok := markerOf(toks[k])
		if !ok || k+1 >= len(toks) || toks[k+1].kind != tokNum {
			if ok || toks[k].kind == tokSep {
				continue
			}
			if toks[k].kind == tokWord && k == j+1 && len([]rune(toks[k].text)) == 1 && qHouse == ht.digits {
				qHouse += toks[k].text // "12 А"
			}
			continue
		}
		switch {
		case m.kind == mkKorpus && qK == "":
			qK = toks[k+1].digits
		case (m.kind == mkStroenie || toks[k].text == "с") && qS == "":
			qS = toks[k+1].digits
		}
	}
	switch {
	case qHouse == st.house:
		score += 0.3
	case leadingDigits(qHouse) == qHouse || leadingDigits(st.house) == st.house:
		score += 0.15 // a letter on one side only: "12" vs "12а"
		parts = append(parts, PartLetter)
	default:
		return -1, PartLetter
	}
	parts = append(parts, PartHouse)
	if qFrac != "" && qK == "" && qS == "" {
		switch qFrac {
		case st.korpus:
			qK = qFrac
		case st.stroenie:
			qS = qFrac
		default:
			score -= 0.1
		}
	}
	for _, p := range [][2]string{{qK, st.korpus}, {qS, st.stroenie}} {
		switch {
		case p[0] == p[1]:
		case p[0] == "":
			score -= 0.1
		case p[1] == "":
			score -= 0.2
		default:
			score -= 0.4
		}
	}
	if qK != st.korpus || qS != st.stroenie {
		parts = append(parts, PartKorpus)
	}

	// City.
	switch {
	case q.mentioned[st.cityKey]:
		score += 0.25
		parts = append(parts, PartCity)
	case len(q.mentioned) > 0:
		score -= 0.25
		parts = append(parts, PartOtherCity)
	}
	if st.postcode != "" && q.postcodes[st.postcode] {
		score += 0.05
		parts = append(parts, PartPostcode)
	}
	return min(score, 1), strings.Join(parts, "+")
}

// isSubBuilding reports whether the number at j is a корпус, строение or
// литера number ("стр. 2"), which is never the house number.
func isSubBuilding(toks []token, j int) bool {
	if j == 0 {
		return false
	}
	m, ok := markerOf(toks[j-1])
	return ok && (m.kind == mkKorpus || m.kind == mkStroenie || m.kind == mkLetter || toks[j-1].text == "с")
}

// isPlaceWord is a word that may be part of a street or city name.
func isPlaceWord(t token) bool {
	if t.kind != tokWord || stopwords[t.text] {
		return false
	}
	_, isMk := markerOf(t)
	return !isMk
}
