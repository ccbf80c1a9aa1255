package routing

import (
	"strings"
)

// Address is a postal address split into its parts, each normalized: lower
// case, ё as е, no punctuation or quotes, abbreviations expanded. Parts that
// the text does not give are empty.
type Address struct {
	Postcode   string
	Region     string // "самарская обл", "татарстан респ", "москва"
	City       string // "нижний новгород"
	Street     string // "карла маркса"
	StreetType string // canonical: "улица", "проспект", "переулок", ...
	House      string // "12", "12а", "12/1"
	Korpus     string
	Stroenie   string
	// Tokens are the stems of the words of the address that named a place
	// (city, street, region), for fuzzy comparison.
	Tokens []string
}

// Key is a canonical form of the address: equal keys mean the same building.
// Region and postcode are left out: they are optional in what people write.
func (a Address) Key() string {
	var b strings.Builder
	b.WriteString(a.City)
	b.WriteByte('|')
	b.WriteString(a.StreetType)
	b.WriteByte('|')
	b.WriteString(a.Street)
	b.WriteByte('|')
	b.WriteString(a.House)
	if a.Korpus != "" {
		b.WriteString("|к")
		b.WriteString(a.Korpus)
	}
	if a.Stroenie != "" {
		b.WriteString("|с")
		b.WriteString(a.Stroenie)
	}
	return b.String()
}

type markerKind uint8

const (
	mkNone markerKind = iota
	mkRegion
	mkDistrict
	mkCity
	mkStreet
	mkHouse
	mkKorpus
	mkStroenie
	mkLetter
)

type marker struct {
	kind  markerKind
	canon string
}

// markers maps every spelling of an address level marker (folded, without the
// abbreviation dot) to its level and canonical name.
var markers = func() map[string]marker {
	m := map[string]marker{}
	add := func(kind markerKind, canon string, words ...string) {
		for _, w := range words {
			m[w] = marker{kind, canon}
		}
	}
	add(mkRegion, "обл", "обл", "область", "области", "облась")
	add(mkRegion, "край", "край", "крае", "края", "кр")
	add(mkRegion, "респ", "респ", "республика", "республики", "республике")
	add(mkRegion, "ао", "ао", "аок")
	add(mkDistrict, "район", "р-н", "район", "районе", "р-на", "мо", "го")
	add(mkCity, "город", "г", "гор", "город", "городе", "города", "гп")
	add(mkCity, "поселок", "пос", "п", "поселок", "поселке", "пгт", "рп", "дп", "кп")
	add(mkCity, "село", "село", "селе", "с")
	add(mkCity, "деревня", "дер", "деревня", "деревне", "д")
	add(mkCity, "станица", "ст-ца", "станица", "станице", "ст")
	add(mkStreet, "улица", "ул", "улица", "улице", "улицу", "улицы", "у")
	add(mkStreet, "проспект", "пр-т", "пр-кт", "пркт", "прт", "просп", "пр", "проспект", "проспекте", "проспекта", "пр-том")
	add(mkStreet, "переулок", "пер", "переулок", "переулке", "переулка", "пер-к")
	add(mkStreet, "шоссе", "ш", "шоссе", "шос")
	add(mkStreet, "бульвар", "б-р", "бул", "бульв", "бр", "бульвар", "бульваре", "бульвара")
	add(mkStreet, "набережная", "наб", "набережная", "набережной", "наб-я")
	add(mkStreet, "площадь", "пл", "пл-дь", "площадь", "площади")
	add(mkStreet, "микрорайон", "мкр", "мкрн", "мкр-н", "микрорайон", "микрорайоне", "микр")
	add(mkStreet, "проезд", "проезд", "пр-д", "пр-зд", "проезде")
	add(mkStreet, "тупик", "туп", "тупик")
	add(mkStreet, "аллея", "аллея", "ал", "аллее")
	add(mkStreet, "тракт", "тракт", "тр-т")
	add(mkStreet, "линия", "линия", "лин")
	add(mkHouse, "дом", "дом", "доме", "домa", "вл", "влд", "владение", "зд", "здание")
	add(mkKorpus, "корпус", "к", "корп", "корпус", "кор", "крп")
	add(mkStroenie, "строение", "стр", "строение", "стро")
	add(mkLetter, "литера", "лит", "литер", "литера")
	return m
}()

// stopwords are words of free text around an address that never name a place.
var stopwords = map[string]bool{
	"адрес": true, "адресу": true, "по": true, "на": true, "в": true, "во": true, "у": true,
	"нас": true, "магазин": true, "магазина": true, "магазине": true, "маг": true,
	"аптека": true, "аптеке": true, "аптеки": true, "гипермаркет": true, "супермаркет": true,
	"тт": true, "объект": true, "объекте": true, "точка": true, "точке": true, "рф": true,
	"россия": true, "федерация": true, "здравствуйте": true,
	"добрый": true, "день": true, "коллеги": true, "и": true, "к": true, "около": true,
	"возле": true, "напротив": true, "это": true, "мы": true, "я": true, "из": true, "с": true,
	"от": true, "для": true, "наш": true, "наша": true, "наше": true, "здание": true,
	"тц": true, "трц": true, "помещение": true, "пом": true, "кв": true, "офис": true,
	"этаж": true, "литер": true,
}

// markerOf reports the address marker a token is, if any. "д" and "с", "к",
// "п" are markers only where their neighbours make sense of them; the parser
// checks that.
func markerOf(t token) (marker, bool) {
	if t.kind != tokWord {
		return marker{}, false
	}
	m, ok := markers[t.text]
	return m, ok
}

// NormalizeAddress parses an address written the way people write them:
// any order of levels ("Казань г, Гагарина ул, дом 12" or "ул Ленина 5
// Казань"), with or without postcode and region, abbreviated or not, inside a
// sentence ("магазин на ул. Мира, 5"). It never fails; what it cannot place is
// left out.
func NormalizeAddress(s string) Address {
	return parseAddress(tokenize(s))
}

// parseAddress is NormalizeAddress over tokens.
func parseAddress(toks []token) Address {
	var a Address
	used := make([]bool, len(toks))
	isWord := func(i int) bool {
		if i < 0 || i >= len(toks) || used[i] || toks[i].kind != tokWord {
			return false
		}
		if _, ok := markerOf(toks[i]); ok {
			return false
		}
		return !stopwords[toks[i].text] || i > 0 && toks[i-1].kind == tokWord && !used[i-1] && !stopwords[toks[i-1].text]
	}
	numAt := func(i int) bool { return i >= 0 && i < len(toks) && toks[i].kind == tokNum && !used[i] }

	// Pass 1: find markers and decide for each whether its name is written
	// after it ("ул. Ленина") or before it ("Ленина ул"). When both sides hold
	// words, follow the style of the unambiguous markers of the same text.
	type mk struct {
		pos    int
		m      marker
		before bool
		after  bool
	}
	var mks []mk
	for i, t := range toks {
		m, ok := markerOf(t)
		if !ok {
			continue
		}
		switch m.kind {
		case mkHouse, mkKorpus, mkStroenie, mkLetter:
			// A house-level marker needs a number after it.
			if numAt(i + 1) {
				mks = append(mks, mk{pos: i, m: m})
				continue
			}
			if t.text == "д" || t.text == "к" {
				// "д" without a number may be деревня; "к" is a stopword.
				if t.text == "к" {
					continue
				}
				m = markers["деревня"]
			} else {
				continue
			}
		}
		if t.text == "с" || t.text == "у" || t.text == "п" || t.text == "д" || t.text == "ст" || t.text == "кр" {
			// One-letter markers are common words in prose; only a dot or a
			// capitalised name after makes them markers. Without the original
			// case, require the dot or a following word that is not a stopword.
			if !t.dot && !(i+1 < len(toks) && toks[i+1].kind == tokWord && !stopwords[toks[i+1].text]) {
				continue
			}
			if t.text == "у" && !t.dot {
				continue
			}
		}
		mks = append(mks, mk{pos: i, m: m, before: isWord(i - 1), after: isWord(i + 1)})
	}
	suffixVotes, prefixVotes := 0, 0
	for _, x := range mks {
		if x.m.kind >= mkHouse {
			continue
		}
		switch {
		case x.before && !x.after:
			suffixVotes++
		case x.after && !x.before:
			prefixVotes++
		}
	}

	setName := func(kind markerKind, canon string, words []string) {
		name := strings.Join(words, " ")
		switch kind {
		case mkRegion:
			if a.Region == "" {
				a.Region = name + " " + canon
			}
		case mkCity:
			if a.City == "" {
				a.City = name
			}
		case mkStreet:
			if a.Street == "" {
				a.Street = name
				a.StreetType = canon
			}
		}
	}
	takeAfter := func(i int) []string {
		var ws []string
		for j := i + 1; isWord(j) || numberedStreetWord(toks, used, j, len(ws)); j++ {
			used[j] = true
			ws = append(ws, toks[j].text)
			if len(ws) == 4 {
				break
			}
		}
		return ws
	}
	takeBefore := func(i int) []string {
		var ws []string
		for j := i - 1; isWord(j); j-- {
			used[j] = true
			ws = append([]string{toks[j].text}, ws...)
			if len(ws) == 4 {
				break
			}
		}
		return ws
	}
	housePos := -1
	streetEnd := -1
	for _, x := range mks {
		i := x.pos
		if used[i] {
			continue
		}
		switch x.m.kind {
		case mkHouse:
			if a.House == "" {
				used[i], used[i+1] = true, true
				a.House, a.Korpus, a.Stroenie = toks[i+1].house, toks[i+1].korpus, toks[i+1].stroenie
				housePos = i + 1
			}
			continue
		case mkKorpus, mkStroenie, mkLetter:
			continue // read after the house is known
		}
		used[i] = true
		after := isWord(i+1) || numberedStreetWord(toks, used, i+1, 0)
		before := isWord(i - 1)
		var ws []string
		switch {
		case after && !before:
			ws = takeAfter(i)
		case before && !after:
			ws = takeBefore(i)
		case before && after:
			if suffixVotes > prefixVotes {
				ws = takeBefore(i)
			} else {
				ws = takeAfter(i)
			}
		}
		if len(ws) == 0 {
			continue
		}
		if x.m.kind == mkRegion && x.m.canon == "респ" && before && !after {
			// "Удмуртская Республика" vs "Республика Татарстан": both read fine.
		}
		if x.m.kind == mkStreet {
			streetEnd = lastUsedAfter(used, i)
		}
		setName(x.m.kind, x.m.canon, ws)
	}

	// Postcode: a standalone six-digit number.
	for i, t := range toks {
		if t.kind == tokNum && len(t.house) == 6 && len(t.digits) == 6 && !used[i] {
			a.Postcode = t.digits
			used[i] = true
			break
		}
	}

	// House without a marker: the first number after the street name, or
	// after an unlabelled word run ("Победы 2 к4") when no street was marked.
	if a.House == "" {
		from := 0
		if streetEnd >= 0 {
			from = streetEnd + 1
		}
		for i := from; i < len(toks); i++ {
			if numAt(i) && len(toks[i].digits) <= 4 && toks[i].digits != "" {
				if a.Street == "" {
					ws := takeBefore(i)
					if len(ws) == 0 && i >= 2 && toks[i-1].kind == tokSep {
						ws = takeBefore(i - 1) // "Полевая, 114"
					}
					if len(ws) == 0 {
						continue
					}
					a.Street = strings.Join(ws, " ")
				}
				used[i] = true
				a.House, a.Korpus, a.Stroenie = toks[i].house, toks[i].korpus, toks[i].stroenie
				housePos = i
				break
			}
			if streetEnd >= 0 && i > streetEnd+3 {
				break
			}
		}
	}

	// корпус, строение, литера after the house.
	if housePos >= 0 {
		for i := housePos + 1; i < len(toks) && i <= housePos+6; i++ {
			m, ok := markerOf(toks[i])
			if !ok {
				if toks[i].kind == tokWord && !used[i] && len([]rune(toks[i].text)) == 1 && i == housePos+1 && isCyr([]rune(toks[i].text)[0]) {
					// "12 А": a detached house letter.
					a.House += toks[i].text
					used[i] = true
				}
				continue
			}
			if !numAt(i+1) && !(m.kind == mkLetter && i+1 < len(toks) && toks[i+1].kind == tokWord) {
				continue
			}
			switch m.kind {
			case mkKorpus:
				if a.Korpus == "" {
					a.Korpus = toks[i+1].digits
					used[i], used[i+1] = true, true
				}
			case mkStroenie:
				if a.Stroenie == "" {
					a.Stroenie = toks[i+1].digits
					used[i], used[i+1] = true, true
				}
			case mkCity:
				if toks[i].text == "с" && a.Stroenie == "" {
					a.Stroenie = toks[i+1].digits
					used[i], used[i+1] = true, true
				}
			case mkLetter:
				a.House += toks[i+1].text
				used[i], used[i+1] = true, true
			}
		}
	}

	// City without a marker: a leftover run of place words standing on its
	// own (between separators, at either end, or after the house number).
	if a.City == "" {
		for i := 0; i < len(toks); i++ {
			if !isWord(i) || stopwords[toks[i].text] {
				continue
			}
			j := i
			var ws []string
			for ; isWord(j) && len(ws) < 3; j++ {
				ws = append(ws, toks[j].text)
			}
			leftOK := i == 0 || toks[i-1].kind == tokSep || toks[i-1].kind == tokNum || used[i-1]
			rightOK := j == len(toks) || toks[j].kind == tokSep || toks[j].kind == tokNum || used[j]
			if leftOK && rightOK && (a.Region == "" || !strings.HasPrefix(a.Region, strings.Join(ws, " "))) {
				a.City = strings.Join(ws, " ")
				for k := i; k < j; k++ {
					used[k] = true
				}
				break
			}
			i = j
		}
	}
	for _, part := range []string{a.City, a.Street, a.Region} {
		for _, w := range strings.Fields(part) {
			a.Tokens = append(a.Tokens, stem(w))
		}
	}
	return a
}

// numberedStreetWord reports whether toks[j] is the number that starts a
// street name such as "8 Марта" or "40 лет Победы": a short number right after
// a street marker followed by a word.
func numberedStreetWord(toks []token, used []bool, j, taken int) bool {
	if taken != 0 || j < 0 || j+1 >= len(toks) || used[j] || toks[j].kind != tokNum {
		return false
	}
	if len(toks[j].digits) > 2 || toks[j].house != toks[j].digits {
		return false
	}
	next := toks[j+1]
	if next.kind != tokWord {
		return false
	}
	_, isMk := markerOf(next)
	return !isMk && (next.text == "марта" || next.text == "мая" || next.text == "лет" ||
		next.text == "января" || next.text == "октября" || next.text == "ноября" ||
		next.text == "июля" || next.text == "августа" || next.text == "февраля" ||
		next.text == "апреля" || next.text == "июня" || next.text == "сентября" ||
		next.text == "декабря" || next.text == "линия" || next.text == "съезда")
}

func lastUsedAfter(used []bool, i int) int {
	j := i
	for j+1 < len(used) && used[j+1] {
		j++
	}
	return j
}
