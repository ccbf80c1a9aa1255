package routing

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/intakehq/intake/parsers"
)

// ErrInvalidMasterData is returned by NewDirectory when the master data
// contradicts itself (duplicate keys, references to unknown rows). The error
// lists every problem found, each with the row it is in.
var ErrInvalidMasterData = errors.New("invalid master data")

// Directory is an immutable, indexed snapshot of the master data. All methods
// are safe for concurrent use. Returned pointers point into the snapshot and
// must be treated as read-only.
type Directory struct {
	clients      []Client
	clientByCode map[string]int
	clientByDom  map[string]int

	objects      []Object
	objByKey     map[string]int   // client + "\x00" + CodeKey(code)
	objByCode    map[string][]int // CodeKey(code), any client
	objByTrans   map[string]int   // client + "\x00" + translitKey(code); -1 when two codes meet
	objByNameNum map[string][]int // client + "\x00" + store number from the name
	objByName    map[string]int   // folded name words
	nameStems    [][]string       // per object: stems of the name without "№N"
	shapes       map[string]*codeShape

	engineers []Engineer
	engByCode map[string]int

	contacts   []Contact
	byEmail    map[string][]int
	byPhone    map[string][]int
	categories []Category
	catByCode  map[string]int

	equipment []Equipment
	eqByKey   map[string][]int // SerialKey(serial), any client
	eqKeyLens keyLengths       // the lengths of eqByKey's keys

	addr    addrIndex
	engGeo  engineerIndex
	clNames []clientName
	search  *atomic.Pointer[searchIndex] // built on the first SearchObjects; shared by copies, which keep the stores
}

type clientName struct {
	client string
	stems  []string
}

// NewDirectory builds and indexes a snapshot. The slices are copied; the
// caller may reuse them.
func NewDirectory(clients []Client, objects []Object, engineers []Engineer, contacts []Contact, categories []Category) (*Directory, error) {
	d := &Directory{
		search:       new(atomic.Pointer[searchIndex]),
		clients:      slices.Clone(clients),
		clientByCode: make(map[string]int, len(clients)),
		clientByDom:  map[string]int{},
		objects:      slices.Clone(objects),
		objByKey:     make(map[string]int, len(objects)),
		objByCode:    make(map[string][]int, len(objects)),
		objByTrans:   make(map[string]int, len(objects)),
		objByNameNum: make(map[string][]int, len(objects)),
		objByName:    make(map[string]int, len(objects)),
		nameStems:    make([][]string, len(objects)),
		engineers:    slices.Clone(engineers),
		engByCode:    make(map[string]int, len(engineers)),
		contacts:     slices.Clone(contacts),
		byEmail:      make(map[string][]int, len(contacts)),
		byPhone:      make(map[string][]int, len(contacts)),
		categories:   slices.Clone(categories),
		catByCode:    make(map[string]int, len(categories)),
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	for i, c := range d.clients {
		if c.Code == "" {
			bad("clients row %d: empty code", i+1)
			continue
		}
		if _, dup := d.clientByCode[c.Code]; dup {
			bad("clients row %d: duplicate code %q", i+1, c.Code)
			continue
		}
		d.clientByCode[c.Code] = i
		for _, dom := range c.Domains {
			dom = strings.ToLower(strings.TrimSpace(dom))
			if j, dup := d.clientByDom[dom]; dup && j != i {
				bad("clients row %d: domain %q already belongs to %s", i+1, dom, d.clients[j].Code)
				continue
			}
			d.clientByDom[dom] = i
		}
		if st := quotedName(c.Name); len(st) > 0 {
			d.clNames = append(d.clNames, clientName{client: c.Code, stems: st})
		}
	}
	for i, e := range d.engineers {
		if _, dup := d.engByCode[e.Code]; dup || e.Code == "" {
			bad("engineers row %d: duplicate or empty code %q", i+1, e.Code)
			continue
		}
		d.engByCode[e.Code] = i
	}
	for i, c := range d.categories {
		if _, dup := d.catByCode[c.Code]; dup || c.Code == "" {
			bad("categories row %d: duplicate or empty code %q", i+1, c.Code)
			continue
		}
		if c.Keywords != "" {
			if _, err := regexp.Compile("(?i)" + c.Keywords); err != nil {
				bad("categories row %d (%s): keywords: %w", i+1, c.Code, err)
			}
		}
		d.catByCode[c.Code] = i
	}
	codesByClient := map[string][]string{}
	for i, o := range d.objects {
		if _, ok := d.clientByCode[o.Client]; !ok {
			bad("objects row %d (%s): unknown client %q", i+1, o.Code, o.Client)
			continue
		}
		key := o.Client + "\x00" + CodeKey(o.Code)
		if _, dup := d.objByKey[key]; dup || o.Code == "" {
			bad("objects row %d: duplicate or empty code %q for client %s", i+1, o.Code, o.Client)
			continue
		}
		if o.Engineer != "" {
			if _, ok := d.engByCode[o.Engineer]; !ok {
				bad("objects row %d (%s): unknown engineer %q", i+1, o.Code, o.Engineer)
			}
		}
		d.objByKey[key] = i
		fc := CodeKey(o.Code)
		tk := o.Client + "\x00" + translitKey(o.Code)
		if _, dup := d.objByTrans[tk]; dup {
			d.objByTrans[tk] = -1
		} else {
			d.objByTrans[tk] = i
		}
		d.objByCode[fc] = append(d.objByCode[fc], i)
		codesByClient[o.Client] = append(codesByClient[o.Client], o.Code)
		stems, num := nameParts(o.Name)
		d.nameStems[i] = stems
		if num != "" {
			k := o.Client + "\x00" + num
			d.objByNameNum[k] = append(d.objByNameNum[k], i)
		}
		if o.Name != "" {
			d.objByName[strings.Join(wordTexts(tokenize(o.Name)), " ")] = i
		}
	}
	d.shapes = make(map[string]*codeShape, len(codesByClient))
	for client, codes := range codesByClient {
		d.shapes[client] = learnShape(codes)
	}
	for i, c := range d.contacts {
		if _, ok := d.clientByCode[c.Client]; !ok {
			bad("contacts row %d (%s): unknown client %q", i+1, c.Email, c.Client)
			continue
		}
		if c.Object != "" {
			if _, ok := d.objByKey[c.Client+"\x00"+CodeKey(c.Object)]; !ok {
				bad("contacts row %d (%s): unknown object %s/%s", i+1, c.Email, c.Client, c.Object)
				continue
			}
		}
		if e := normalizeEmail(c.Email); e != "" {
			d.byEmail[e] = append(d.byEmail[e], i)
		}
		if c.Phone != "" {
			p := parsers.NormalizePhone(c.Phone)
			if p == "" {
				bad("contacts row %d (%s): invalid phone %q", i+1, c.Email, c.Phone)
				continue
			}
			d.byPhone[p] = append(d.byPhone[p], i)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMasterData, errors.Join(errs...))
	}
	d.addr = buildAddrIndex(d.objects)
	d.engGeo = buildEngineerIndex(d.engineers)
	return d, nil
}

// quotedName returns the stems of the part of a client name in quotes:
// "Торговая сеть «Пятый угол»" gives пят, угол.
func quotedName(name string) []string {
	i := strings.IndexAny(name, "«\"")
	if i < 0 {
		return nil
	}
	rest := name[i+len(string([]rune(name[i:])[0])):]
	j := strings.IndexAny(rest, "»\"")
	if j < 0 {
		return nil
	}
	return wordStems(tokenize(rest[:j]))
}

var nameNumRe = regexp.MustCompile(`№\s*0*(\d+)`)

// nameParts splits a store name "Пятый угол Пенза №1" into the stems of its
// words and the store number "1" (leading zeros dropped).
func nameParts(name string) ([]string, string) {
	num := ""
	if m := nameNumRe.FindStringSubmatchIndex(name); m != nil {
		num = name[m[2]:m[3]]
		name = name[:m[0]] + name[m[1]:]
	}
	return wordStems(tokenize(name)), num
}

func wordStems(toks []token) []string {
	var out []string
	for _, t := range toks {
		if t.kind == tokWord {
			out = append(out, t.stem)
		}
	}
	return out
}

func wordTexts(toks []token) []string {
	var out []string
	for _, t := range toks {
		if t.kind == tokWord || t.kind == tokNum {
			out = append(out, t.text)
		}
	}
	return out
}

// Client returns the client with the code, or nil.
func (d *Directory) Client(code string) *Client {
	if i, ok := d.clientByCode[code]; ok {
		return &d.clients[i]
	}
	return nil
}

// ClientByDomain returns the client owning the mail domain or a parent of it
// ("mx1.sd.pyatugol.ru" is Пятый угол's through "pyatugol.ru"), or nil.
func (d *Directory) ClientByDomain(domain string) *Client {
	domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	for domain != "" {
		if i, ok := d.clientByDom[domain]; ok {
			return &d.clients[i]
		}
		dot := strings.IndexByte(domain, '.')
		if dot < 0 {
			break
		}
		domain = domain[dot+1:]
	}
	return nil
}

// ClientByEmail returns the client of a sender: by the mail domain, else by
// the contact who owns the address (directors also write from personal
// mailboxes). Nil when unknown or when the address belongs to contacts of
// more than one client.
func (d *Directory) ClientByEmail(email string) *Client {
	if c := d.ClientByDomain(emailDomain(email)); c != nil {
		return c
	}
	client := ""
	for _, i := range d.byEmail[normalizeEmail(email)] {
		c := d.contacts[i].Client
		if client != "" && client != c {
			return nil
		}
		client = c
	}
	return d.Client(client)
}

// Object returns the store of a client by code, compared after
// CodeKey, else by transliteration ("МГ-30-454" is "MG-30-454"). With
// client "" the code must be unique across clients.
func (d *Directory) Object(client, code string) *Object {
	fc := CodeKey(code)
	if client != "" {
		if i, ok := d.objByKey[client+"\x00"+fc]; ok {
			return &d.objects[i]
		}
		if i, ok := d.objByTrans[client+"\x00"+translitKey(code)]; ok && i >= 0 {
			return &d.objects[i]
		}
		return nil
	}
	if is := d.objByCode[fc]; len(is) == 1 {
		return &d.objects[is[0]]
	}
	var found *Object
	for _, c := range d.clients {
		if o := d.Object(c.Code, code); o != nil {
			if found != nil {
				return nil
			}
			found = o
		}
	}
	return found
}

// ContactByEmail returns the contact with the address (case-insensitive), or
// nil. When several contacts share the address (one director running two
// stores), the first is returned; ContactsByEmail returns them all.
func (d *Directory) ContactByEmail(email string) *Contact {
	if is := d.byEmail[normalizeEmail(email)]; len(is) > 0 {
		return &d.contacts[is[0]]
	}
	return nil
}

// ContactsByEmail returns every contact with the address.
func (d *Directory) ContactsByEmail(email string) []Contact {
	return d.pick(d.byEmail[normalizeEmail(email)])
}

// ContactsByPhone returns every contact with the phone, given in any form
// [parsers.NormalizePhone] accepts.
func (d *Directory) ContactsByPhone(phone string) []Contact {
	p := phone
	if !strings.HasPrefix(p, "+") || strings.ContainsAny(p, " -()") {
		p = parsers.NormalizePhone(phone)
	}
	return d.pick(d.byPhone[p])
}

func (d *Directory) pick(is []int) []Contact {
	if len(is) == 0 {
		return nil
	}
	out := make([]Contact, len(is))
	for k, i := range is {
		out[k] = d.contacts[i]
	}
	return out
}

// Engineer returns the engineer with the code, or nil.
func (d *Directory) Engineer(code string) *Engineer {
	if i, ok := d.engByCode[code]; ok {
		return &d.engineers[i]
	}
	return nil
}

// Category returns the category with the code, or nil.
func (d *Directory) Category(code string) *Category {
	if i, ok := d.catByCode[code]; ok {
		return &d.categories[i]
	}
	return nil
}

// Categories returns a copy of all categories in master data order.
func (d *Directory) Categories() []Category { return slices.Clone(d.categories) }

// Objects returns a copy of all stores in master data order.
func (d *Directory) Objects() []Object { return slices.Clone(d.objects) }

// Engineers returns a copy of all engineers in master data order.
func (d *Directory) Engineers() []Engineer { return slices.Clone(d.engineers) }

// Clients returns a copy of all clients in master data order.
func (d *Directory) Clients() []Client { return slices.Clone(d.clients) }

// codeShape is what a client's store codes look like, learned from the codes
// themselves: "ГМ-106" and "ГМ-007" give the shape ГM + three digits.
type codeShape struct {
	re *regexp.Regexp // finds codes of the client in free text; nil when codes are bare digits
	// digitsOnly and width: codes are zero-padded numbers of this width
	// ("0123"), so "магазин 57" means "0057".
	digitsOnly bool
	width      int
}

// learnShape derives a client's code shapes. Each distinct shape (letters
// kept, digits as \d) becomes one alternative of a pattern that tolerates
// look-alike letters, either case and any separator between the characters.
func learnShape(codes []string) *codeShape {
	shapes := map[string]bool{}
	sh := &codeShape{digitsOnly: true}
	for _, c := range codes {
		f := CodeKey(c)
		var b strings.Builder
		for _, r := range f {
			if r >= '0' && r <= '9' {
				b.WriteByte('9')
			} else {
				b.WriteRune(r)
				sh.digitsOnly = false
			}
		}
		shapes[b.String()] = true
		if len(f) > sh.width {
			sh.width = len(f)
		}
	}
	if sh.digitsOnly {
		return sh
	}
	list := make([]string, 0, len(shapes))
	for s := range shapes {
		list = append(list, s)
	}
	// Longest first: RE2 alternation prefers the leftmost alternative.
	slices.SortFunc(list, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	alts := make([]string, len(list))
	for k, s := range list {
		var b strings.Builder
		for n, r := range s {
			if n > 0 {
				b.WriteString(`[\s\-/._]?`)
			}
			switch {
			case r == '9':
				b.WriteString(`\d`)
			default:
				b.WriteString(letterClass(r))
			}
		}
		alts[k] = b.String()
	}
	sh.re = regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}])(` + strings.Join(alts, "|") + `)(?:[^\p{L}\p{N}]|$)`)
	return sh
}

// letterClass is a character class matching a folded code letter, its
// Cyrillic look-alike and the Cyrillic letter it transliterates.
func letterClass(r rune) string {
	alts := []rune{r}
	for _, cyr := range []rune("АБВГДЕЗИКЛМНОПРСТУФХЫЭ") {
		if parsers.FoldLookalikes(string(cyr)) == string(r) || translit[cyr] == string(r) || cyr == r {
			if !slices.Contains(alts, cyr) {
				alts = append(alts, cyr)
			}
		}
	}
	if len(alts) == 1 {
		return regexp.QuoteMeta(string(r))
	}
	var b strings.Builder
	b.WriteByte('[')
	for _, a := range alts {
		b.WriteString(regexp.QuoteMeta(string(a)))
	}
	b.WriteByte(']')
	return b.String()
}

// padCode turns a store number into a client code for clients whose codes
// are zero-padded digits: 57 -> "0057".
func (s *codeShape) padCode(num string) string {
	if s == nil || !s.digitsOnly {
		return ""
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return ""
	}
	return fmt.Sprintf("%0*d", s.width, n)
}
