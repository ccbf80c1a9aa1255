package routing

import (
	"fmt"
	"slices"
	"strings"

	"github.com/intakehq/intake/parsers"
)

// MatchThreshold is the confidence from which an address or name match
// chooses a store. Below it only Candidates are returned.
const MatchThreshold = 0.75

// Match methods.
const (
	MethodCode    = "code"
	MethodContact = "contact"
	MethodPhone   = "phone"
	MethodAddress = "address"
	MethodName    = "name"
)

// Hints is what a parser found in a message that may identify the store.
type Hints struct {
	Client      string   // client code when known (from the sender domain or the connector)
	Codes       []string // store codes as written: "0123", "ГМ-106", "магазин 57", "№57"
	SenderEmail string
	Phones      []string // any form; normalized here
	Address     string   // an address field of a structured message
	Text        string   // body text, where an address or code may be embedded
	Signature   string
	ObjectName  string // a store name field
}

// Match is the store found for a message and how sure we are.
type Match struct {
	Object     *Object // nil when no store reached the threshold
	Client     string  // the client, also when no store was found
	Method     string  // code|contact|phone|address|name; "" when none
	Confidence float64 // 0..1
	// Candidates are the best stores by address (top 5), present whenever
	// address matching was tried, so a dispatcher can pick one.
	Candidates []Candidate
	Reason     string
}

// Candidate is one store an address may mean.
type Candidate struct {
	Code    string
	Client  string
	Address string
	Score   float64
}

// storeWords are the words that, before a number, make it a store number:
// "магазин 57", "аптека №12".
var storeWords = map[string]bool{
	"магазин": true, "магазина": true, "магазине": true, "маг": true, "мм": true,
	"аптека": true, "аптеки": true, "аптеке": true, "тт": true, "объект": true,
	"объекта": true, "точка": true, "гипермаркет": true, "супермаркет": true,
	"дискаунтер": true, "филиал": true, "гм": true, "store": true, "shop": true,
}

// MatchObject finds the store a message is about; see the package doc for
// the order of methods.
func (d *Directory) MatchObject(h Hints) Match {
	m := Match{Client: h.Client}
	if m.Client == "" && h.SenderEmail != "" {
		if c := d.ClientByEmail(h.SenderEmail); c != nil {
			m.Client = c.Code
		}
	}

	// 1. Codes given by the parser, then codes found in the text.
	if o, how := d.matchCodes(m.Client, h.Codes, true); o != nil {
		return d.found(m, o, MethodCode, 1, fmt.Sprintf(ReasonCode, how))
	}
	text := h.Text
	if h.Signature != "" {
		text += "\n" + h.Signature
	}
	if o, how := d.codeInText(m.Client, text); o != nil {
		return d.found(m, o, MethodCode, 0.97, fmt.Sprintf(ReasonCodeInText, how))
	}

	// 2. The sender's own store.
	if h.SenderEmail != "" {
		if o := d.contactObject(m.Client, d.byEmail[normalizeEmail(h.SenderEmail)]); o != nil {
			return d.found(m, o, MethodContact, 0.95, fmt.Sprintf(ReasonSender, normalizeEmail(h.SenderEmail)))
		}
	}

	// 3. A phone of a store contact.
	// Explicit phones first, then any in the signature or the text: a
	// director writing from an unknown mailbox still signs with his phone.
	phones := append(slices.Clip(h.Phones), phonesIn(text)...)
	for _, p := range phones {
		e := quickRUPhone(p)
		if e == "" {
			e = parsers.NormalizePhone(p)
		}
		if e == "" {
			continue
		}
		if o := d.contactObject(m.Client, d.byPhone[e]); o != nil {
			return d.found(m, o, MethodPhone, 0.9, fmt.Sprintf(ReasonPhone, e))
		}
	}

	// 4. Address: the address field first, then the free text.
	tried := false
	for _, src := range []struct{ name, s string }{{ReasonAddrField, h.Address}, {ReasonAddrText, text}} {
		if strings.TrimSpace(src.s) == "" {
			continue
		}
		tried = true
		cands, conf, why := d.matchAddress(m.Client, src.s)
		if len(cands) > 0 {
			m.Candidates = toCandidates(d, cands)
		}
		if conf >= MatchThreshold {
			o := &d.objects[cands[0].obj]
			return d.found(m, o, MethodAddress, conf, fmt.Sprintf(ReasonAddress, src.name, why))
		}
		if len(cands) > 0 {
			m.Confidence = conf
			m.Reason = fmt.Sprintf(ReasonAddressUnsure, src.name, why)
			break
		}
	}

	// 5. A store name mention.
	for _, s := range []string{h.ObjectName, text} {
		if s == "" {
			continue
		}
		if o, conf := d.matchName(m.Client, s); o != nil && conf >= MatchThreshold {
			cands := m.Candidates
			m = d.found(m, o, MethodName, conf, ReasonName)
			m.Candidates = cands
			return m
		}
	}
	if m.Reason == "" {
		switch {
		case tried:
			m.Reason = ReasonNoAddress
		default:
			m.Reason = ReasonNothing
		}
	}
	return m
}

func (d *Directory) found(m Match, o *Object, method string, conf float64, reason string) Match {
	m.Object = o
	m.Client = o.Client
	m.Method = method
	m.Confidence = conf
	m.Reason = reason
	return m
}

// matchCodes resolves codes given as hints. Bare numbers and "магазин 57"
// need the client.
func (d *Directory) matchCodes(client string, codes []string, bare bool) (*Object, string) {
	for _, c := range codes {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if o := d.Object(client, c); o != nil {
			return o, fmt.Sprintf("%q", c)
		}
		if client == "" {
			continue
		}
		// "магазин 57", "№57", "57": a store number.
		num := trailingNumber(c)
		if num == "" || !bare && num == c {
			continue
		}
		if o := d.byStoreNumber(client, num); o != nil {
			return o, fmt.Sprintf(ReasonAsStoreNumber, c)
		}
	}
	return nil, ""
}

// byStoreNumber finds a client's store by the number in its name ("№57"),
// else by the zero-padded code for clients with bare-digit codes.
func (d *Directory) byStoreNumber(client, num string) *Object {
	n := strings.TrimLeft(num, "0")
	if is := d.objByNameNum[client+"\x00"+n]; len(is) == 1 {
		return &d.objects[is[0]]
	}
	if p := d.shapes[client].padCode(num); p != "" {
		return d.Object(client, p)
	}
	return nil
}

func trailingNumber(s string) string {
	j := len(s)
	for j > 0 && s[j-1] >= '0' && s[j-1] <= '9' {
		j--
	}
	if j == len(s) {
		return ""
	}
	head := strings.TrimSpace(s[:j])
	head = strings.TrimSpace(strings.TrimSuffix(head, "№"))
	if head != "" && !storeWords[strings.ToLower(strings.TrimRight(head, ". "))] {
		return ""
	}
	return s[j:]
}

// codeInText looks for the client's code shapes in free text (every client's
// when the client is unknown), and for "магазин 57"/"№57" after a store word
// when the client is known.
func (d *Directory) codeInText(client, text string) (*Object, string) {
	if text == "" {
		return nil, ""
	}
	try := func(cl string) (*Object, string) {
		sh := d.shapes[cl]
		if sh == nil || sh.re == nil {
			return nil, ""
		}
		for _, mm := range sh.re.FindAllStringSubmatch(text, 4) {
			if o := d.Object(cl, mm[1]); o != nil {
				return o, fmt.Sprintf("%q", mm[1])
			}
		}
		return nil, ""
	}
	if client != "" {
		if o, how := try(client); o != nil {
			return o, how
		}
		toks := tokenize(text)
		for i, t := range toks {
			if t.kind != tokNum || t.house != t.digits || len(t.digits) > 6 {
				continue
			}
			j := i - 1
			if j >= 0 && toks[j].kind == tokNo {
				j--
			}
			if j >= 0 && toks[j].kind == tokWord && storeWords[toks[j].text] {
				if o := d.byStoreNumber(client, t.digits); o != nil {
					return o, fmt.Sprintf("%q", toks[j].text+" "+t.digits)
				}
			}
		}
		return nil, ""
	}
	var found *Object
	how := ""
	for _, c := range d.clients {
		if o, h := try(c.Code); o != nil {
			if found != nil && found != o {
				return nil, "" // codes of two chains: let other methods decide
			}
			found, how = o, h
		}
	}
	return found, how
}

// contactObject is the one store of the given contacts (scoped to the client
// when known), or nil when they have none or several.
func (d *Directory) contactObject(client string, idx []int) *Object {
	var found *Object
	for _, i := range idx {
		c := &d.contacts[i]
		if c.Object == "" || client != "" && c.Client != client {
			continue
		}
		o := d.Object(c.Client, c.Object)
		if o == nil {
			continue
		}
		if found != nil && found != o {
			return nil
		}
		found = o
	}
	return found
}

// quickRUPhone is the E.164 form of a Russian number written with any
// punctuation ("8 (964) 655-83-85", "+7 964 6558385"), without the cost of a
// full parse; "" when the digits are not shaped like one. It serves only as
// a look-up key: the directory's keys were validated by [parsers.NormalizePhone].
func quickRUPhone(s string) string {
	var buf [16]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return ""
			}
			buf[n] = c
			n++
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '+' || c == '.':
		default:
			return ""
		}
	}
	d := buf[:n]
	switch {
	case n == 11 && (d[0] == '7' || d[0] == '8'):
		return "+7" + string(d[1:])
	case n == 10 && d[0] == '9':
		return "+7" + string(d)
	}
	return ""
}

// phonesIn finds phone-like runs in a signature.
func phonesIn(s string) []string {
	var out []string
	start := -1
	digits := 0
	flush := func(end int) {
		if start >= 0 && digits >= 10 && digits <= 12 {
			out = append(out, s[start:end])
		}
		start, digits = -1, 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if start < 0 {
				start = i
			}
			digits++
		case c == '+' && start < 0:
			start = i
		case c == ' ' || c == '-' || c == '(' || c == ')':
			// inside a number
		default:
			flush(i)
		}
	}
	flush(len(s))
	return out
}

// matchName finds a store by its name ("Пятый угол Пенза №1"): the number
// after № and every word of the name must be in the text.
func (d *Directory) matchName(client, s string) (*Object, float64) {
	toks := tokenize(s)
	if i, ok := d.objByName[strings.Join(wordTexts(toks), " ")]; ok {
		if client == "" || d.objects[i].Client == client {
			return &d.objects[i], 1
		}
	}
	stems := map[string]bool{}
	for _, t := range toks {
		if t.kind == tokWord {
			stems[t.stem] = true
		}
	}
	var found *Object
	for i, t := range toks {
		if t.kind != tokNum || i == 0 || toks[i-1].kind != tokNo {
			continue
		}
		n := strings.TrimLeft(t.digits, "0")
		clients := []string{client}
		if client == "" {
			clients = clients[:0]
			for _, c := range d.clients {
				clients = append(clients, c.Code)
			}
		}
		for _, cl := range clients {
			for _, oi := range d.objByNameNum[cl+"\x00"+n] {
				all := true
				for _, st := range d.nameStems[oi] {
					if !stems[st] {
						all = false
						break
					}
				}
				if all {
					if found != nil && found != &d.objects[oi] {
						return nil, 0
					}
					found = &d.objects[oi]
				}
			}
		}
	}
	if found == nil {
		return nil, 0
	}
	return found, 0.9
}

func toCandidates(d *Directory, cs []scored) []Candidate {
	n := min(len(cs), 5)
	out := make([]Candidate, n)
	for k := range n {
		o := &d.objects[cs[k].obj]
		out[k] = Candidate{Code: o.Code, Client: o.Client, Address: o.Address, Score: round2(cs[k].score)}
	}
	return out
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
