package demo

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Generate builds every file of the sample from a fixed seed: the reference
// CSVs, mail/NNNN.eml in delivery order and mail/labels.jsonl. The same call
// always returns the same bytes; gen/main.go writes them out.
func Generate() map[string][]byte {
	g := &gen{
		r:            rand.New(rand.NewPCG(20261102, 7)),
		files:        map[string][]byte{},
		mgStoreField: map[string]bool{},
	}
	g.dir = buildDirectory(g.r)
	g.regional = []regionalDirector{
		{Client: "PU", Region: "Нижегородская обл.", Email: "rd.052@pyatugol.ru", Person: randomPerson(g.r)},
		{Client: "MG", Region: "Московская обл.", Email: "rd.050@magistral.ru", Person: randomPerson(g.r)},
	}
	g.scenario()
	g.writeReference()
	var labels bytes.Buffer
	for _, l := range g.labels {
		b, err := json.Marshal(l)
		if err != nil {
			panic(err)
		}
		labels.Write(b)
		labels.WriteByte('\n')
	}
	g.files["mail/labels.jsonl"] = labels.Bytes()
	return g.files
}

type gen struct {
	r        *rand.Rand
	dir      *directory
	regional []regionalDirector
	files    map[string][]byte
	labels   []Label
	last     time.Time // delivery time of the previous message

	mgStoreField map[string]bool // Jira issues whose Магазин field is filled
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// order is the state of a work order as the mail so far describes it.
type order struct {
	Client   string
	Ext      string // the client's number; "" for free text
	Obj      *object
	Problem  problem
	Priority string // critical|high|normal|low, "" when not stated
	Due      time.Time
	Created  time.Time
	File     string // the file that created the order
	MsgID    string // Message-ID of that file
	Subject  string
	Author   person // who registered it at the client
	Seq      int    // chain-specific internal number (Jira issue id, Naumen uuid)
	SysID    string // ServiceNow sys_id
}

func (o *order) label(file, kind, note string, follows string) Label {
	l := Label{
		File:       file,
		Kind:       kind,
		Client:     opt(o.Client),
		ExternalID: opt(o.Ext),
		Category:   opt(o.Problem.Category),
		Priority:   opt(o.Priority),
		Follows:    opt(follows),
		Note:       note,
	}
	if o.Obj != nil {
		l.Object = opt(o.Obj.Code)
	}
	if !o.Due.IsZero() {
		l.Due = opt(o.Due.In(msk).Format(time.RFC3339))
	}
	return l
}

// emit stores a message as the next file and returns its name. Delivery
// order is file order, so the delivery time must move forward.
func (g *gen) emit(at time.Time, raw []byte, l Label) string {
	if !at.After(g.last) {
		panic(fmt.Sprintf("message %d delivered at %s, not after %s", len(g.labels)+1, at, g.last))
	}
	g.last = at
	name := fmt.Sprintf("%04d.eml", len(g.labels)+1)
	g.files["mail/"+name] = raw
	l.File = name
	g.labels = append(g.labels, l)
	return name
}

// next is the file name emit will give the next message.
func (g *gen) next() string { return fmt.Sprintf("%04d.eml", len(g.labels)+1) }

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

func (g *gen) alnum(n int) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(len(digits))]
	}
	return string(b)
}

func (g *gen) uuid() string {
	return g.hex(8) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(12)
}

// relay describes how a sender's mail reaches our MX.
type relay struct {
	ReturnPath  string
	Host, IP    string // outbound server that talks to mx1
	Inner, InIP string // internal server in front of it, "" when none
	Domain      string // SPF/DKIM domain; "" for no Authentication-Results
}

// envelope adds the headers our MX puts on top: Return-Path, Delivered-To,
// Received and Authentication-Results.
func (g *gen) envelope(m *message, rl relay, rcpt string, at time.Time) {
	m.h("Return-Path", "<"+rl.ReturnPath+">")
	m.h("Delivered-To", rcpt)
	m.h("Received", fmt.Sprintf("from %s (%s [%s])\r\n\tby mx1.tehservis.example (Postfix) with ESMTPS id %s\r\n\tfor <%s>; %s",
		rl.Host, rl.Host, rl.IP, g.alnum(11+g.r.IntN(3)), rcpt, at.In(msk).Format(receivedLayout)))
	if rl.Inner != "" {
		m.h("Received", fmt.Sprintf("from %s (%s [%s])\r\n\tby %s with ESMTP id %s;\r\n\t%s",
			rl.Inner, rl.Inner, rl.InIP, rl.Host, g.alnum(12), at.Add(-time.Duration(1+g.r.IntN(3))*time.Second).In(msk).Format(dateLayout)))
	}
	if rl.Domain != "" {
		m.h("Authentication-Results", fmt.Sprintf("mx1.tehservis.example;\r\n\tspf=pass (domain of %s designates %s as permitted sender) smtp.mailfrom=%s;\r\n\tdkim=pass header.d=%s",
			rl.Domain, rl.IP, rl.Domain, rl.Domain))
	}
}

// redeliver is the same message again through our second MX: one more
// Received header on top, everything else byte for byte.
func (g *gen) redeliver(orig []byte, at time.Time) []byte {
	h := fmt.Sprintf("Received: from mx2.tehservis.example (mx2.tehservis.example [192.0.2.17])\r\n\tby mx1.tehservis.example (Postfix) with ESMTPS id %s\r\n\tfor <zayavki@tehservis.example>; %s\r\n",
		g.alnum(12), at.In(msk).Format(receivedLayout))
	return append([]byte(h), orig...)
}

// problem is a fault as a store or a service desk words it.
type problem struct {
	Category string
	Summary  string // short description / subject
	Detail   string // one or two sentences
	Free     string // how a store director writes it in a mail
}

var categoryRE = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	r := csv.NewReader(strings.NewReader(categoriesCSV))
	rows, err := r.ReadAll()
	if err != nil {
		panic(err)
	}
	for _, row := range rows[1:] {
		m[row[0]] = regexp.MustCompile("(?i)" + row[4])
	}
	return m
}()

// categoriesIn lists the categories whose keywords occur in text.
func categoriesIn(text string) []string {
	var out []string
	for _, code := range []string{"refrigeration", "electrical", "lighting", "plumbing", "hvac", "pos_it", "doors", "construction", "security"} {
		if categoryRE[code].MatchString(text) {
			out = append(out, code)
		}
	}
	return out
}

// mustMatch panics unless text points at exactly the labelled category, so
// the labels stay true to the keywords in categories.csv.
func mustMatch(cat, text string) {
	got := categoriesIn(text)
	if len(got) != 1 || got[0] != cat {
		panic(fmt.Sprintf("text matches %v, labelled %s: %q", got, cat, text))
	}
}

func (g *gen) writeReference() {
	write := func(name string, rows [][]string) {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.UseCRLF = true
		if err := w.WriteAll(rows); err != nil {
			panic(err)
		}
		g.files[name] = buf.Bytes()
	}
	ff := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

	rows := [][]string{{"code", "name", "legal_entities", "domains"}}
	for _, c := range clients {
		rows = append(rows, []string{c.Code, c.Name, strings.Join(c.LegalEntities, ";"), strings.Join(c.Domains, ";")})
	}
	write("clients.csv", rows)

	rows = [][]string{{"code", "name", "email", "phone", "competences", "areas", "lat", "lon", "radius_km", "max_open", "status", "rating"}}
	for _, e := range g.dir.Engineers {
		rows = append(rows, []string{e.Code, e.Person.Full(), e.Email, e.Phone, strings.Join(e.Competences, ";"), strings.Join(e.Areas, ";"),
			ff(e.Lat), ff(e.Lon), strconv.Itoa(e.RadiusKM), strconv.Itoa(e.MaxOpen), e.Status, ff(e.Rating)})
	}
	write("engineers.csv", rows)

	rows = [][]string{{"client", "code", "name", "address", "city", "region", "oktmo", "lat", "lon", "legal_entity", "engineer"}}
	for _, o := range g.dir.Objects {
		rows = append(rows, []string{o.Client, o.Code, o.Name, o.Address(), o.City.Name, o.RegionName(), o.City.OKTMO, ff(o.Lat), ff(o.Lon), o.LegalEntity, o.Engineer})
	}
	write("objects.csv", rows)

	rows = [][]string{{"client", "object", "name", "role", "email", "phone"}}
	for _, c := range clients {
		for _, o := range g.dir.objectsOf(c.Code) {
			rows = append(rows,
				[]string{o.Client, o.Code, o.Director.Full(), "store_director", o.CorpEmail, o.Phone},
				[]string{o.Client, o.Code, o.Director.Full(), "store_director", o.PersonalEmail, o.Phone})
		}
		for _, rd := range g.regional {
			if rd.Client == c.Code {
				rows = append(rows, []string{rd.Client, "", rd.Person.Full(), "regional_director:" + rd.Region, rd.Email, ""})
			}
		}
	}
	write("contacts.csv", rows)

	g.files["categories.csv"] = []byte(categoriesCSV)
	write("equipment.csv", g.equipmentRows())
}
