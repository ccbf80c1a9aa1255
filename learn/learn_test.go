package learn_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/learn"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
)

// Northwind is a chain invented for these tests, unlike any shipped one:
// its service desk "DeskFlow" writes in English, the card is an HTML
// definition list, and the store (by address only, no code) and the
// deadline are only in a JSON attachment.
type northwind struct {
	ref    learn.Reference
	stores []routing.Object
}

var msk = time.FixedZone("MSK", 3*3600)

func newNorthwind(t testing.TB) northwind {
	t.Helper()
	streets := []string{"Тверская", "Ленина", "Мира", "Садовая", "Гагарина", "Пушкина", "Советская", "Лесная"}
	cities := []string{"Москва", "Казань", "Самара", "Пермь", "Омск"}
	var objs []routing.Object
	for i := range 40 {
		city := cities[i%len(cities)]
		objs = append(objs, routing.Object{
			Client:  "NW",
			Code:    fmt.Sprintf("NW-%03d", i+1),
			Name:    fmt.Sprintf("Northwind %s %d", city, i+1),
			Address: fmt.Sprintf("%d, г. %s, ул. %s, д. %d", 420000+i*37, city, streets[i%len(streets)], 3+i*2),
			City:    city,
		})
	}
	clients := []routing.Client{
		{Code: "NW", Name: "Northwind Mart", Domains: []string{"northwind.example", "desk.northwind.example"}},
		{Code: "XX", Name: "Другая сеть", Domains: []string{"other.example"}},
	}
	cats := []routing.Category{
		{Code: "refrigeration", Name: "Холодильное оборудование", Keywords: "холодил|витрин|refrigerat|freezer|cold"},
		{Code: "electrical", Name: "Электрика", Keywords: "электр|power|socket|wiring"},
		{Code: "lighting", Name: "Освещение", Keywords: "ламп|освещен|lighting|lamp"},
		{Code: "plumbing", Name: "Сантехника", Keywords: "сантех|протеч|plumbing|leak|drain"},
	}
	dir, err := routing.NewDirectory(clients, objs, nil, nil, cats)
	require.NoError(t, err)
	return northwind{ref: learn.Reference{Client: clients[0], Directory: dir, Categories: cats}, stores: objs}
}

var (
	nwCategories = []struct{ text, code string }{
		{"Refrigeration / Cold rooms", "refrigeration"}, {"Power supply", "electrical"},
		{"Lighting", "lighting"}, {"Plumbing and drains", "plumbing"},
	}
	nwPriorities = []struct{ text, level string }{
		{"P1 - Critical", "critical"}, {"P2 - High", "high"}, {"P3 - Medium", "normal"}, {"P4 - Low", "low"},
	}
	nwProblems = []string{"Freezer is warm", "No power at the bakery", "Lamps flicker over the tills", "Leak under the sink", "Cold room door alarm"}
)

// nwMail makes one DeskFlow notification and its label. An update repeats
// the order and changes its priority.
func (nw northwind) mail(r *rand.Rand, n int, id int, update bool, store routing.Object, cat, prio int, due time.Time) ([]byte, learn.Label) {
	num := fmt.Sprintf("DF-%06d", id)
	sent := time.Date(2026, 11, 2, 9, 0, 0, 0, msk).Add(time.Duration(n) * 97 * time.Minute)
	problem := nwProblems[r.IntN(len(nwProblems))]
	verb := "opened"
	if update {
		verb = "updated"
	}
	subject := fmt.Sprintf("[DeskFlow] Ticket #%s %s: %s", num, verb, problem)
	html := fmt.Sprintf(`<html><body><p>Hello team,</p><p>A ticket was %s for your group.</p>
<dl>
<dt>Ticket</dt><dd>%s</dd>
<dt>Issue</dt><dd>%s</dd>
<dt>Service line</dt><dd>%s</dd>
<dt>Urgency</dt><dd>%s</dd>
<dt>State</dt><dd>%s</dd>
<dt>Requested by</dt><dd>Store manager, ext. %d</dd>
</dl>
<p>Site details and the deadline are in the attached ticket.json.</p>
<p>DeskFlow notification service, please do not reply.</p></body></html>`,
		verb, num, problem, nwCategories[cat].text, nwPriorities[prio].text, map[bool]string{false: "Open", true: "In progress"}[update], 100+r.IntN(800))
	att, _ := json.Marshal(map[string]any{
		"ticket": map[string]any{
			"number": num,
			"site":   map[string]any{"label": store.Name, "address": store.Address},
			"sla":    map[string]any{"resolve_by": due.Format(time.RFC3339), "hours": 24},
			"source": "deskflow",
		},
	})
	var b strings.Builder
	fmt.Fprintf(&b, "From: DeskFlow <noreply@desk.northwind.example>\r\nTo: service@tehservis.example\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\nDate: %s\r\nMessage-ID: <nw-%d@desk.northwind.example>\r\n", subject, sent.Format(time.RFC1123Z), n)
	b.WriteString("X-DeskFlow-Instance: northwind-prod\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n")
	b.WriteString("--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(html)
	b.WriteString("\r\n--b1\r\nContent-Type: application/json; name=\"ticket.json\"\r\nContent-Disposition: attachment; filename=\"ticket.json\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.Write(att)
	b.WriteString("\r\n--b1--\r\n")
	return []byte(b.String()), learn.Label{
		ExternalID: num, Object: store.Code, Category: nwCategories[cat].code,
		Priority: nwPriorities[prio].level, Due: due.Format(time.RFC3339),
	}
}

// corpus makes n mails: orders, and now and then an update of an earlier
// one with a new priority.
func (nw northwind) corpus(t *testing.T, n int) ([]learn.Sample, map[string]learn.Label) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	type order struct {
		id, store, cat int
		due            time.Time
	}
	var orders []order
	var samples []learn.Sample
	labels := map[string]learn.Label{}
	for i := range n {
		var raw []byte
		var lb learn.Label
		if i%4 == 3 && len(orders) > 0 {
			o := orders[r.IntN(len(orders))]
			raw, lb = nw.mail(r, i, o.id, true, nw.stores[o.store], o.cat, r.IntN(4), o.due)
		} else {
			o := order{id: 204000 + r.IntN(9000), store: r.IntN(len(nw.stores)), cat: r.IntN(len(nwCategories)),
				due: time.Date(2026, 11, 3+i, 10+r.IntN(8), 0, 0, 0, msk)}
			orders = append(orders, o)
			raw, lb = nw.mail(r, i, o.id, false, nw.stores[o.store], o.cat, r.IntN(4), o.due)
		}
		d, err := parsers.Normalize(raw)
		require.NoError(t, err)
		name := fmt.Sprintf("nw-%02d.eml", i)
		samples = append(samples, learn.Sample{Name: name, Doc: d})
		labels[name] = lb
	}
	return samples, labels
}

func TestLearnInventedChainFromFiveMails(t *testing.T) {
	nw := newNorthwind(t)
	samples, labels := nw.corpus(t, 30)

	p, err := learn.Propose(samples[:5], nw.ref, learn.Options{Name: "nw-deskflow"})
	require.NoError(t, err)
	y, err := p.YAML()
	require.NoError(t, err)
	t.Logf("proposal:\n%s", y)

	// It is a format file as operations write them: it loads and checks.
	set, err := rules.Load([]rules.File{{Name: "nw.yaml", Data: y}})
	require.NoError(t, err, "%s", y)
	require.NotNil(t, set.Format("nw-deskflow"))

	// Where it looked: the definition list for the number, the JSON for
	// the store's address and the deadline, with the evidence.
	spec := p.Spec
	assert.Equal(t, "NW", spec.Client)
	assert.Equal(t, []string{"Urgency"}, spec.Fields["priority"][0].Labels[:1])
	assert.Equal(t, "ticket.site.address", spec.Fields["address"][0].JSON)
	assert.Equal(t, "ticket.sla.resolve_by", spec.Fields["due"][0].JSON)
	assert.Equal(t, "Europe/Moscow", spec.Timezone)
	assert.Contains(t, string(y), "# order number DF-\\d{6}")
	assert.Contains(t, string(y), "of 5 samples")
	assert.Equal(t, "high", spec.Priorities["P2 - High"])
	assert.Equal(t, "low", spec.Priorities["Lowest"], "usual words of the chain's language are added")

	// Measured on the 25 mails it did not see.
	score := map[string]bool{}
	for _, s := range samples[5:] {
		score[s.Name] = true
	}
	rep := learn.Evaluate(set, samples, labels, nw.ref, msk, score)
	var b strings.Builder
	rep.WriteText(&b, 20)
	t.Logf("%s", b.String())
	require.Equal(t, 25, rep.Labelled)
	for _, f := range learn.EvalFields {
		assert.GreaterOrEqual(t, rep.Accuracy(f), 0.96, "field %s", f)
	}
}

// A mail of another chain is not taken by the learned format.
func TestLearnedMatchIsTheChainsOnly(t *testing.T) {
	nw := newNorthwind(t)
	samples, _ := nw.corpus(t, 6)
	p, err := learn.Propose(samples, nw.ref, learn.Options{})
	require.NoError(t, err)
	assert.Equal(t, "nw-learned", p.Spec.Name)
	y, err := p.YAML()
	require.NoError(t, err)
	set, err := rules.Load([]rules.File{{Name: "nw.yaml", Data: y}})
	require.NoError(t, err)

	raw := strings.ReplaceAll(string(mustRaw(t, samples)), "noreply@desk.northwind.example", "director@other.example")
	d, err := parsers.Normalize([]byte(raw))
	require.NoError(t, err)
	f, _ := set.MatchFormat(rules.NewEnv("mail", d, d.Date, d.Date))
	assert.Nil(t, f, "a mail from another chain's domain")

	f, _ = set.MatchFormat(rules.NewEnv("mail", samples[0].Doc, samples[0].Doc.Date, samples[0].Doc.Date))
	assert.NotNil(t, f)
}

func mustRaw(t *testing.T, samples []learn.Sample) []byte {
	t.Helper()
	nw := newNorthwind(t)
	raw, _ := nw.mail(rand.New(rand.NewPCG(1, 2)), 0, 201234, false, nw.stores[0], 0, 1, time.Date(2026, 11, 5, 12, 0, 0, 0, msk))
	return raw
}

func TestLearnRefusesBadInput(t *testing.T) {
	nw := newNorthwind(t)
	samples, _ := nw.corpus(t, 3)
	_, err := learn.Propose(samples[:1], nw.ref, learn.Options{})
	require.ErrorIs(t, err, learn.ErrFewSamples)
	_, err = learn.Propose(samples, learn.Reference{}, learn.Options{})
	require.ErrorIs(t, err, learn.ErrNoClient)
}

// Labels make the choice exact: with them, a number the subject also
// carries in another shape is still the labelled one.
func TestLearnWithLabels(t *testing.T) {
	nw := newNorthwind(t)
	samples, labels := nw.corpus(t, 12)
	p, err := learn.Propose(samples[:5], nw.ref, learn.Options{Labels: labels})
	require.NoError(t, err)
	y, err := p.YAML()
	require.NoError(t, err)
	set, err := rules.Load([]rules.File{{Name: "nw.yaml", Data: y}})
	require.NoError(t, err)
	rep := learn.Evaluate(set, samples, labels, nw.ref, msk, nil)
	assert.Equal(t, 12, rep.Labelled)
	for _, f := range []string{"external_id", "object", "priority", "due"} {
		assert.Equal(t, 1.0, rep.Accuracy(f), "field %s: %v", f, rep.Misses)
	}
}

// Evaluate tells a worse format from a good one: without the priority
// and the number's extractors, those fields are missed.
func TestEvaluateSeesWhatAFormatMisses(t *testing.T) {
	nw := newNorthwind(t)
	samples, labels := nw.corpus(t, 16)
	p, err := learn.Propose(samples[:5], nw.ref, learn.Options{})
	require.NoError(t, err)
	delete(p.Spec.Fields, "priority")
	p.Spec.Fields["external_id"] = p.Spec.Fields["external_id"][:0:0]
	p.Spec.Fields["external_id"] = append(p.Spec.Fields["external_id"], parsers.ExtractorSpec{Labels: []string{"Nothing here"}})
	y, err := p.YAML()
	require.NoError(t, err)
	set, err := rules.Load([]rules.File{{Name: "nw.yaml", Data: y}})
	require.NoError(t, err)
	rep := learn.Evaluate(set, samples, labels, nw.ref, msk, nil)
	assert.Equal(t, 16, rep.Labelled)
	assert.Zero(t, rep.Accuracy("priority"))
	assert.Zero(t, rep.Accuracy("external_id"))
	assert.NotEmpty(t, rep.Misses)
}

// A chain that writes its priority as a bare numeral gets the other
// numerals too.
func TestLearnNumeralPriorities(t *testing.T) {
	nw := newNorthwind(t)
	samples, _ := nw.corpus(t, 5)
	for i, s := range samples {
		raw := strings.NewReplacer("P1 - Critical", "1", "P2 - High", "2", "P3 - Medium", "3", "P4 - Low", "4").Replace(s.Doc.Text)
		samples[i].Doc.Text = raw
	}
	p, err := learn.Propose(samples, nw.ref, learn.Options{})
	require.NoError(t, err)
	for k, want := range map[string]string{"1": "critical", "2": "high", "3": "normal", "4": "low"} {
		assert.Equal(t, want, parsers.NormalizePriority(k, p.Spec.Priorities), k)
	}
}

// With labels, a date form Intake reads otherwise than the chain means
// (month first) is learned as a layout.
func TestLearnDateLayoutFromLabels(t *testing.T) {
	nw := newNorthwind(t)
	samples, labels := nw.corpus(t, 8)
	for i, s := range samples {
		lb := labels[s.Name]
		due, err := time.Parse(time.RFC3339, lb.Due)
		require.NoError(t, err)
		// The JSON's ISO date becomes "01/02/2006 15:04" with the month first.
		for j, a := range s.Doc.Attachments {
			samples[i].Doc.Attachments[j].Text = strings.Replace(a.Text, due.Format(time.RFC3339), due.Format("01/02/2006 15:04"), 1)
		}
	}
	p, err := learn.Propose(samples[:5], nw.ref, learn.Options{Labels: labels})
	require.NoError(t, err)
	assert.Equal(t, []string{"01/02/2006 15:04"}, p.Spec.DateFormats)
	y, err := p.YAML()
	require.NoError(t, err)
	set, err := rules.Load([]rules.File{{Name: "nw.yaml", Data: y}})
	require.NoError(t, err)
	rep := learn.Evaluate(set, samples, labels, nw.ref, msk, nil)
	assert.Equal(t, 1.0, rep.Accuracy("due"), "%v", rep.Misses)
}
