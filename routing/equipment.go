package routing

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Equipment is an instrument or machine at a client's store, known by its
// serial number. Kind is a category code: the category of a request about
// it when the request names none. Installed and WarrantyUntil are dates
// "YYYY-MM-DD", "" when unknown.
type Equipment struct {
	Client        string `json:"client"`
	Object        string `json:"object"`
	Serial        string `json:"serial"`
	Model         string `json:"model"`
	Kind          string `json:"kind"`
	Installed     string `json:"installed"`
	WarrantyUntil string `json:"warranty_until"`
}

// UnderWarranty reports whether the equipment is under warranty on the day
// of now in loc (the last day of the warranty included).
func (e Equipment) UnderWarranty(now time.Time, loc *time.Location) bool {
	if e.WarrantyUntil == "" {
		return false
	}
	if loc != nil {
		now = now.In(loc)
	}
	return now.Format(time.DateOnly) <= e.WarrantyUntil
}

// SerialKey is the comparison key of a serial number: the one used for
// store codes (CodeKey), so that look-alike Latin and Cyrillic letters,
// spaces and dashes do not tell serials apart.
func SerialKey(s string) string { return CodeKey(s) }

// Where a serial number was found.
const (
	SerialByLabel = "label" // after "S/N", "зав. №", "серийный номер", ...
	SerialByToken = "token" // a bare word that is a registered serial
	SerialByField = "field" // a serial field of a form, an API request, a connector
)

// SerialSource is one place of a message where serial numbers may be: the
// subject, the text, a table, an attachment, a field. Name is how the trace
// names it ("subject", "text", "table", "attachment:report.xml", "field").
// Field sources hold a serial as written, nothing else.
type SerialSource struct {
	Name  string
	Text  string
	Field bool
}

// EquipmentMatch is the equipment a message names, or why none was bound.
type EquipmentMatch struct {
	// Equipment is nil when no registered serial was found (or one was
	// found for several clients and the message names none of them).
	Equipment *Equipment `json:"equipment,omitempty"`
	Serial    string     `json:"serial,omitempty"` // as written in the message
	Source    string     `json:"source,omitempty"` // a SerialSource's Name
	How       string     `json:"how,omitempty"`    // label | token | field
	// Unknown are serials written after a label (or in a field) that are
	// not in the registry.
	Unknown []string `json:"unknown,omitempty"`
	// Ambiguous lists the clients that have equipment with the serial found
	// when the message's client is not known.
	Ambiguous []string `json:"ambiguous,omitempty"`
}

// serialLabel finds a serial number's label and what follows it on the
// line: "S/N: AB-123", "SN AB123", "зав. № 12345", "заводской номер 12345",
// "серийный номер: X", "serial number X".
var serialLabel = regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}])` + serialLabelRest)

// serialLabelRest is serialLabel from the label on. Every label starts
// with s, з or с (in any case: serialLabelStart).
const serialLabelRest = `(?:s\s?/\s?n|sn|зав\.?\s*№|зав\.?\s*номер|заводской\s+(?:номер|№)|сер(?:ийный|\.)\s*(?:номер|№)|serial\s*(?:number|no\.?|#)?)\s*[:#№.=-]?\s*([^\r\n]{1,60})`

// serialLabelAt is serialLabel matched at the start of its input: a label
// there, or the character before one and the label.
var serialLabelAt = regexp.MustCompile(`(?i)^[^\p{L}\p{N}]?` + serialLabelRest)

// serialLabelStart reports whether r can start a label: whether (?i)
// matches it for s, з or с.
func serialLabelStart(r rune) bool {
	if r < utf8.RuneSelf {
		return serialLabelASCII[r]
	}
	return serialLabelOther[r]
}

var serialLabelASCII, serialLabelOther = func() (ascii [utf8.RuneSelf]bool, other map[rune]bool) {
	other = map[rune]bool{}
	for _, r := range "sзс" {
		f := r
		for {
			if f < utf8.RuneSelf {
				ascii[f] = true
			} else {
				other[f] = true
			}
			if f = unicode.SimpleFold(f); f == r {
				break
			}
		}
	}
	return ascii, other
}()

// findSerialLabels returns what serialLabel.FindAllStringSubmatch(text, n)
// captures, without running the expression from every position of the
// text: a match starts at the start of the text or at the character before
// a label, which is no letter or digit, so the expression is tried
// anchored only where a rune of serialLabelStart follows such a character.
func findSerialLabels(text string, n int) []string {
	var out []string
	pos := 0                    // the end of the last match: the next starts there or later
	prevAt, prev := -1, rune(0) // the rune before i and where it starts
	for i := 0; i < len(text) && len(out) < n; {
		r, size := utf8.DecodeRuneInString(text[i:])
		if serialLabelStart(r) {
			start := -1
			switch {
			case i == 0:
				start = 0
			case prevAt >= pos && !unicode.IsLetter(prev) && !unicode.IsNumber(prev):
				// (?i)[^\p{L}\p{N}] matches no letter or digit: case
				// folding only adds runes to the class it negates.
				start = prevAt
			}
			if start >= 0 {
				if loc := serialLabelAt.FindStringSubmatchIndex(text[start:]); loc != nil {
					out = append(out, text[start+loc[2]:start+loc[3]])
					pos = start + loc[1]
					i, prevAt = pos, -1
					continue
				}
			}
		}
		prevAt, prev = i, r
		i += size
	}
	return out
}

// maxSerialText bounds the bytes of one source searched: a serial is
// written near the top, and a huge attachment must not cost seconds.
const maxSerialText = 64 << 10

// maxSerialWords bounds how many words, written apart, one serial may span
// ("AB 1234 56").
const maxSerialWords = 3

// FindEquipment looks for a registered serial number in sources, in their
// order; in each, serials after a label come before bare words. client, when
// known, limits the search to its equipment.
func (d *Directory) FindEquipment(client string, sources []SerialSource) EquipmentMatch {
	var m EquipmentMatch
	if len(d.equipment) == 0 {
		return m
	}
	var keys []byte // the keys of a source's words, one after another
	var ends []int  // where each word's key ends in keys
	for _, src := range sources {
		if strings.TrimSpace(src.Text) == "" {
			continue
		}
		if len(src.Text) > maxSerialText {
			src.Text = src.Text[:maxSerialText]
		}
		if src.Field {
			if d.bindSerial(&m, client, src.Text, src.Name, SerialByField) {
				return m
			}
			continue
		}
		for _, label := range findSerialLabels(src.Text, 20) {
			words := serialWords(label)
			bound := false
			for n := min(maxSerialWords, len(words)); n >= 1 && !bound; n-- {
				w := strings.Join(words[:n], " ")
				if d.lookupSerial(client, w) != nil || len(d.serialClients(w)) > 0 {
					bound = d.bindSerial(&m, client, w, src.Name, SerialByLabel)
					if !bound {
						break // ambiguous: noted
					}
				}
			}
			if bound {
				return m
			}
			if len(words) > 0 && !slices.Contains(m.Unknown, words[0]) && hasDigit(words[0]) {
				m.Unknown = append(m.Unknown, words[0])
			}
		}
		// The key of words joined by spaces is the words' keys one after
		// another: each word's key is made once, into one buffer, and the
		// key of words[i:i+n] is a slice of it.
		words := serialWords(src.Text)
		keys = keys[:0]
		ends = ends[:0]
		for _, w := range words {
			keys = appendCodeKey(keys, w)
			ends = append(ends, len(keys))
		}
		for i := range words {
			start := 0
			if i > 0 {
				start = ends[i-1]
			}
			for n := min(maxSerialWords, len(words)-i); n >= 1; n-- {
				k := keys[start:ends[i+n-1]]
				if len(k) < 4 || !d.eqKeyLens.has(len(k)) {
					continue
				}
				if _, ok := d.eqByKey[string(k)]; !ok || !hasDigit(string(k)) {
					continue
				}
				if d.bindSerial(&m, client, strings.Join(words[i:i+n], " "), src.Name, SerialByToken) {
					return m
				}
			}
		}
	}
	return m
}

// bindSerial sets m's equipment to the one registered under serial (of
// client when known) and reports whether it did; a serial registered for
// several clients with none known is noted as ambiguous, one not registered
// as unknown.
func (d *Directory) bindSerial(m *EquipmentMatch, client, serial, source, how string) bool {
	serial = strings.TrimSpace(serial)
	if e := d.lookupSerial(client, serial); e != nil {
		m.Equipment, m.Serial, m.Source, m.How = e, serial, source, how
		return true
	}
	if cs := d.serialClients(serial); len(cs) > 1 && client == "" {
		m.Serial, m.Source, m.How, m.Ambiguous = serial, source, how, cs
		return false
	}
	if how == SerialByField && !slices.Contains(m.Unknown, serial) {
		m.Unknown = append(m.Unknown, serial)
	}
	return false
}

// lookupSerial returns the equipment of client with the serial; with client
// "" the serial must be registered for one client only.
func (d *Directory) lookupSerial(client, serial string) *Equipment {
	is := d.eqByKey[SerialKey(serial)]
	var found *Equipment
	for _, i := range is {
		e := &d.equipment[i]
		if client != "" && e.Client != client {
			continue
		}
		if found != nil {
			return nil
		}
		found = e
	}
	return found
}

func (d *Directory) serialClients(serial string) []string {
	var cs []string
	for _, i := range d.eqByKey[SerialKey(serial)] {
		cs = append(cs, d.equipment[i].Client)
	}
	return cs
}

// EquipmentBySerial returns the client's equipment with the serial (compared
// by SerialKey), or nil.
func (d *Directory) EquipmentBySerial(client, serial string) *Equipment {
	for _, i := range d.eqByKey[SerialKey(serial)] {
		if d.equipment[i].Client == client {
			return &d.equipment[i]
		}
	}
	return nil
}

// Equipment returns all registered equipment.
func (d *Directory) Equipment() []Equipment { return slices.Clone(d.equipment) }

// WithEquipment returns a copy of d that also knows the equipment list.
// Equipment of a store d does not know is refused.
func (d *Directory) WithEquipment(list []Equipment) (*Directory, error) {
	nd := *d
	nd.equipment = slices.Clone(list)
	nd.eqByKey = make(map[string][]int, len(list))
	nd.eqKeyLens = keyLengths{}
	for i, e := range nd.equipment {
		if d.Object(e.Client, e.Object) == nil {
			return nil, fmt.Errorf("equipment %q of client %q is at unknown store %q", e.Serial, e.Client, e.Object)
		}
		k := SerialKey(e.Serial)
		nd.eqByKey[k] = append(nd.eqByKey[k], i)
		nd.eqKeyLens.add(len(k))
	}
	return &nd, nil
}

// keyLengths is a set of string lengths, to pass over a candidate key
// quickly when no key of its length is known.
type keyLengths struct {
	short uint64 // bit n: a key of n bytes, n < 64
	long  bool   // a key of 64 bytes or more
}

func (l *keyLengths) add(n int) {
	if n < 64 {
		l.short |= 1 << n
	} else {
		l.long = true
	}
}

func (l keyLengths) has(n int) bool {
	if n < 64 {
		return l.short&(1<<n) != 0
	}
	return l.long
}

// serialWords splits text into the words a serial may be made of: letters,
// digits and the separators inside codes (dashes, slashes, dots), with
// trailing punctuation cut.
func serialWords(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '/' || r == '.' || r == '_' || r == '–')
	})
	out := f[:0]
	for _, w := range f {
		w = strings.Trim(w, "-/._–")
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

func hasDigit(s string) bool {
	return strings.ContainsFunc(s, unicode.IsDigit)
}
