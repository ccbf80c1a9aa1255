package learn

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
)

// Sample is one notification of the chain.
type Sample struct {
	Name string
	Doc  *parsers.Document
}

// Label is what a sample should become, when operations know it: the
// fields of a labels.jsonl line. "" is unknown.
type Label struct {
	ExternalID string
	Object     string // our store code
	Category   string // our category code
	Priority   string // critical|high|normal|low
	Due        string // RFC 3339
}

// Reference is the reference data the learner draws on.
type Reference struct {
	Client     routing.Client
	Directory  *routing.Directory // its stores and addresses
	Categories []routing.Category
}

// Options name the proposal and give labels by sample name.
type Options struct {
	Name   string // the format's name; default "<client>-learned"
	Labels map[string]Label
}

// Proposal is a proposed format and why.
type Proposal struct {
	Spec parsers.FormatSpec
	// Evidence says, per YAML key ("match", "fields.priority",
	// "priorities"...), what the samples showed and how many agree.
	Evidence map[string]string
	// Unsure lists what a person must look at: fields not found, choices
	// made on few samples.
	Unsure  []string
	Samples int
}

// Errors of bad input.
var (
	ErrFewSamples = errors.New("learning a format needs at least 2 samples (3 to 10 are best)")
	ErrNoClient   = errors.New("the client is not in the reference data")
)

type learner struct {
	samples []Sample
	docs    []*parsers.Document
	ref     Reference
	opt     Options
	labels  []*Label // by sample, nil when unlabelled
	slots   []*slot
	cats    *parsers.CategoryMatcher
	codeRe  *regexp.Regexp
	p       *Proposal
	used    map[*slot]string // slot -> field it went to
	wide    string           // the order number's widened shape, "" when none
}

// Propose learns a format from samples of one chain.
func Propose(samples []Sample, ref Reference, opt Options) (*Proposal, error) {
	if len(samples) < 2 {
		return nil, ErrFewSamples
	}
	if ref.Client.Code == "" || ref.Directory == nil {
		return nil, ErrNoClient
	}
	l := &learner{samples: samples, ref: ref, opt: opt, used: map[*slot]string{}}
	for _, s := range samples {
		if s.Doc == nil {
			return nil, fmt.Errorf("%s: no document", s.Name)
		}
		d := s.Doc
		// A forward's notification is the original: learn from it.
		if d.Forwarded != nil && len(d.Tables) == 0 && len(d.Attachments) == 0 {
			d = d.Forwarded
		}
		l.docs = append(l.docs, d)
		if lb, ok := opt.Labels[s.Name]; ok {
			l.labels = append(l.labels, &lb)
		} else {
			l.labels = append(l.labels, nil)
		}
	}
	name := opt.Name
	if name == "" {
		name = strings.ToLower(ref.Client.Code) + "-learned"
	}
	l.p = &Proposal{
		Spec: parsers.FormatSpec{Name: name, Client: ref.Client.Code,
			Description: fmt.Sprintf("learned from %d samples", len(samples)), Fields: map[string]parsers.Extractors{}},
		Evidence: map[string]string{}, Samples: len(samples),
	}
	l.setAside()
	if len(l.docs) < 2 {
		return nil, ErrFewSamples
	}
	kw := make([]parsers.CategoryKeywords, 0, len(ref.Categories))
	for _, c := range ref.Categories {
		kw = append(kw, parsers.CategoryKeywords{Code: c.Code, Name: c.Name, Keywords: c.Keywords})
	}
	var err error
	if l.cats, err = parsers.CompileCategories(kw); err != nil {
		return nil, fmt.Errorf("our categories: %w", err)
	}
	if l.slots, err = findSlots(l.docs); err != nil {
		return nil, err
	}
	l.timezone()
	l.codePattern()
	id := l.externalID()
	l.store()
	l.problem()
	l.category()
	l.priority()
	l.due()
	l.status()
	l.events()
	l.match(id)
	if _, err := parsers.CompileFormat(l.p.Spec); err != nil {
		return nil, fmt.Errorf("the proposal does not compile (a bug in learning): %w", err)
	}
	return l.p, nil
}

// setAside drops samples from another sender than most (a store
// director's letter among the service desk's): they would blur the shape.
func (l *learner) setAside() {
	by := map[string]int{}
	for _, d := range l.docs {
		by[strings.ToLower(d.From.Email)]++
	}
	top, n := "", 0
	for k, c := range by {
		if c > n || c == n && k < top {
			top, n = k, c
		}
	}
	if n*5 < len(l.docs)*3 || n == len(l.docs) {
		return // no dominant mailbox, or all from it
	}
	var docs []*parsers.Document
	var labels []*Label
	var samples []Sample
	for i, d := range l.docs {
		if strings.ToLower(d.From.Email) != top {
			l.unsure("sample %s is from %s, not the service desk's %s: set aside", l.samples[i].Name, d.From.Email, top)
			continue
		}
		docs, labels, samples = append(docs, d), append(labels, l.labels[i]), append(samples, l.samples[i])
	}
	l.docs, l.labels, l.samples = docs, labels, samples
}

// need is how many samples make a majority.
func (l *learner) need() int { return (len(l.docs) + 1) / 2 }

// enough tells whether hits samples of a slot present in present samples
// support a field that not every kind of mail carries (an update may omit
// the category): two samples at least, and three in five of those that
// have the slot.
func (l *learner) enough(hits, present int) bool {
	return hits >= min(2, len(l.docs)) && hits*5 >= present*3
}

func (l *learner) agree(n int) string { return fmt.Sprintf("%d of %d samples", n, len(l.docs)) }

func (l *learner) unsure(format string, args ...any) {
	l.p.Unsure = append(l.p.Unsure, fmt.Sprintf(format, args...))
}

// hint tells whether a slot's label contains one of the words (stems,
// lower case).
func hint(s *slot, words ...string) bool {
	low := strings.ToLower(strings.ReplaceAll(s.label, "ё", "е"))
	for _, w := range words {
		if strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// best returns the slot with the highest score (ties: fewer samples
// missing, then the first seen), nil when no score is positive.
func (l *learner) best(score func(*slot) float64, skipUsed bool) (*slot, float64) {
	var top *slot
	topScore := 0.0
	for _, s := range l.slots {
		if skipUsed && l.used[s] != "" {
			continue
		}
		sc := score(s)
		if sc > topScore || top != nil && sc == topScore && s.order < top.order {
			top, topScore = s, sc
		}
	}
	return top, topScore
}

// timezone: the zone of the samples' Date headers, when they agree.
func (l *learner) timezone() {
	offsets := map[int]int{}
	for _, d := range l.docs {
		if !d.Date.IsZero() {
			_, off := d.Date.Zone()
			offsets[off]++
		}
	}
	off, n := 0, 0
	for o, c := range offsets {
		if c > n {
			off, n = o, c
		}
	}
	if n == 0 {
		return
	}
	zone := zoneOfOffset(off)
	l.p.Spec.Timezone = zone
	l.p.Evidence["timezone"] = fmt.Sprintf("the Date header of %s is at UTC%+03d:%02d; dates without a zone are read in %s", l.agree(n), off/3600, abs(off%3600)/60, zone)
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// zoneOfOffset names a zone for an offset: Russia's for its offsets, else
// the fixed Etc/GMT zone.
func zoneOfOffset(off int) string {
	ru := map[int]string{2: "Europe/Kaliningrad", 3: "Europe/Moscow", 4: "Europe/Samara", 5: "Asia/Yekaterinburg",
		6: "Asia/Omsk", 7: "Asia/Novosibirsk", 8: "Asia/Irkutsk", 9: "Asia/Yakutsk", 10: "Asia/Vladivostok",
		11: "Asia/Magadan", 12: "Asia/Kamchatka"}
	if off%3600 == 0 {
		if z, ok := ru[off/3600]; ok {
			return z
		}
		h := -off / 3600
		if h == 0 {
			return "UTC"
		}
		return fmt.Sprintf("Etc/GMT%+d", h)
	}
	return "UTC"
}

// codePattern generalizes the client's store codes.
func (l *learner) codePattern() {
	var codes []string
	for _, o := range l.ref.Directory.Objects() {
		if o.Client == l.ref.Client.Code {
			codes = append(codes, o.Code)
		}
	}
	if len(codes) == 0 {
		l.unsure("the client has no stores in the reference data: import objects.csv first")
		return
	}
	re := codePattern(codes)
	if re == "" {
		l.p.Evidence["code_pattern"] = fmt.Sprintf("the client's %d store codes have no common shape; none proposed", len(codes))
		return
	}
	l.codeRe = regexp.MustCompile(re)
	l.p.Spec.CodePattern = re
	ex := codes[:min(3, len(codes))]
	l.p.Evidence["code_pattern"] = fmt.Sprintf("the shape of the client's %d store codes in the reference data (%s...)", len(codes), strings.Join(ex, ", "))
}

// codesIn returns the client's store codes written in v.
func (l *learner) codesIn(v string) []string {
	var out []string
	add := func(c string) {
		if o := l.ref.Directory.Object(l.ref.Client.Code, c); o != nil && !slices.Contains(out, o.Code) {
			out = append(out, o.Code)
		}
	}
	if l.codeRe != nil {
		for _, m := range l.codeRe.FindAllString(parsers.FoldLookalikes(v), 10) {
			add(m)
		}
	}
	if len(out) == 0 && len([]rune(v)) <= 20 {
		add(v)
	}
	return out
}

// externalID finds the order number: a token of one shape that is in the
// subject (or a slot) of most samples and differs between them. It
// returns the shape's regular expression, "" when none was found.
func (l *learner) externalID() string {
	type fam struct {
		tokens  []token
		samples map[int]bool
		values  map[string]bool
		before  []string // subject text before the token, per sample
		labeled int      // samples where the token is the labelled number
		several bool     // a subject has more than one token of the family
	}
	fams := map[string]*fam{}
	for i, d := range l.docs {
		seen := map[string]bool{}
		for _, t := range tokensOf(d.Subject) {
			if t.isYear() || len(l.codesIn(t.text)) > 0 {
				continue
			}
			k := t.family()
			f := fams[k]
			if f == nil {
				f = &fam{samples: map[int]bool{}, values: map[string]bool{}}
				fams[k] = f
			}
			if lb := l.labels[i]; lb != nil && lb.ExternalID != "" && lb.ExternalID == t.text {
				f.labeled++
			}
			if seen[k] {
				f.several = true
				continue // the first of a family in a subject
			}
			seen[k] = true
			f.tokens = append(f.tokens, t)
			f.samples[i] = true
			f.values[t.text] = true
			f.before = append(f.before, d.Subject[:t.start])
		}
	}
	var top *fam
	topScore := 0
	for _, f := range fams {
		sc := f.labeled*100 + len(f.samples)*10 + len(f.values)
		if sc > topScore {
			top, topScore = f, sc
		}
	}
	var shape numberShape
	var exs parsers.Extractors
	var ev []string
	if top != nil && len(top.samples) >= l.need() && (len(top.values) > 1 || len(l.docs) == 1) {
		shape = shapeOf(top.tokens)
	} else {
		// Not in the subject: a slot whose value is a number token that
		// differs per mail and is labelled like a number.
		s, _ := l.best(func(s *slot) float64 {
			var ts []token
			n := 0
			for i, v := range s.values {
				tv := tokensOf(v)
				if len(tv) == 0 || tv[0].isYear() || len(l.codesIn(tv[0].text)) > 0 {
					continue
				}
				if lb := l.labels[i]; lb != nil && lb.ExternalID != "" && lb.ExternalID != tv[0].text {
					continue
				}
				ts = append(ts, tv[0])
				n++
			}
			if n < l.need() || s.distinct() < 2 {
				return 0
			}
			sc := float64(n)
			if hint(s, "номер", "№", "number", "id", "ключ", "key", "ref", "код заяв", "order") {
				sc += 2
			}
			return sc
		}, true)
		if s == nil {
			l.unsure("no order number found: neither the subjects nor a field carry a number that differs per mail; write external_id by hand")
			return ""
		}
		var ts []token
		for _, v := range s.values {
			if tv := tokensOf(v); len(tv) > 0 {
				ts = append(ts, tv[0])
			}
		}
		shape = shapeOf(ts)
		top = nil
	}
	re := shape.regex()
	boundedRe := regexp.MustCompile(bounded(re))
	// The slot that holds the same number, if any: it is read first.
	s, _ := l.best(func(s *slot) float64 {
		n := 0
		for _, v := range s.values {
			if v != "" && boundedRe.MatchString(v) {
				n++
			}
		}
		if n < l.need() {
			return 0
		}
		sc := float64(n)
		if hint(s, "номер", "№", "number", "id", "ключ", "key", "ref") {
			sc += 0.5
		}
		return sc
	}, true)
	if s != nil {
		n := 0
		for _, v := range s.values {
			if boundedRe.MatchString(v) {
				n++
			}
		}
		e := withUsual(s.spec, "external_id")
		e.Pattern = re
		exs = append(exs, e)
		l.used[s] = "external_id"
		ev = append(ev, fmt.Sprintf("%s holds it in %s", s.describe(), l.agree(n)))
	}
	if top != nil {
		// The words before the number only when a subject has two
		// numbers of the shape: they tell which is the order's.
		rx := bounded(re)
		wide := shape.wide()
		if ctx := contextRegex(commonSuffix(top.before)); ctx != "" && top.several {
			rx = `(?i)` + ctx + `(?P<value>` + re + `)(?:[^\p{L}\p{N}]|$)`
			wide = ""
		}
		exs = append(exs, parsers.ExtractorSpec{Regex: rx, In: "subject"})
		if wide != "" && wide != re {
			// A kind of mail the samples lacked may number its orders
			// with another prefix or one more digit.
			exs = append(exs, parsers.ExtractorSpec{Regex: bounded(wide), In: "subject"})
			ev = append(ev, "in case other kinds of mail number differently, also "+wide+" in the subject")
			l.wide = wide
		}
		var vals []string
		for v := range top.values {
			vals = append(vals, v)
		}
		sort.Strings(vals)
		ev = append(ev, fmt.Sprintf("the subject of %s has a number of this shape, different in %d: %s",
			l.agree(len(top.samples)), len(top.values), strings.Join(vals[:min(3, len(vals))], ", ")))
		// Anywhere in the text, for forwards whose subject was rewritten.
		exs = append(exs, parsers.ExtractorSpec{Regex: bounded(re), In: "text"})
	}
	l.p.Spec.Fields["external_id"] = exs
	l.p.Evidence["fields.external_id"] = "order number " + re + ": " + strings.Join(ev, "; ")
	return re
}

// store finds the store code's slot and the address's.
func (l *learner) store() {
	codeHits := func(s *slot) (int, bool) {
		n, exact := 0, true
		for i, v := range s.values {
			cs := l.codesIn(v)
			if len(cs) == 0 {
				continue
			}
			if lb := l.labels[i]; lb != nil && lb.Object != "" && cs[0] != lb.Object {
				continue
			}
			n++
			if routing.CodeKey(v) != routing.CodeKey(cs[0]) {
				exact = false
			}
		}
		return n, exact
	}
	s, _ := l.best(func(s *slot) float64 {
		n, _ := codeHits(s)
		if !l.enough(n, s.present()) {
			return 0
		}
		sc := float64(n)
		if hint(s, "магазин", "объект", "код", "площадк", "подразделен", "store", "shop", "site", "точк", "филиал") {
			sc += 0.5
		}
		return sc
	}, true)
	if s != nil {
		n, exact := codeHits(s)
		e := s.spec
		if !exact && l.codeRe == nil {
			l.unsure("the store code field %s holds more than the code and the codes have no common shape: add a pattern", s.describe())
		}
		l.p.Spec.Fields["object_code"] = parsers.Extractors{withUsual(e, "object_code")}
		l.used[s] = "object_code"
		l.p.Evidence["fields.object_code"] = fmt.Sprintf("%s holds a store code of the client in %s (e.g. %q)", s.describe(), l.agree(n), example(s.values))
	} else {
		// Codes in the subject or text are found by code_pattern.
		n := 0
		for i, d := range l.docs {
			if cs := l.codesIn(d.Subject + "\n" + d.Text); len(cs) > 0 {
				if lb := l.labels[i]; lb == nil || lb.Object == "" || cs[0] == lb.Object {
					n++
				}
			}
		}
		if n > 0 {
			l.p.Evidence["code_pattern"] += fmt.Sprintf("; no field holds the code, but the subject or text of %s contains one, which code_pattern finds", l.agree(n))
		}
	}
	addrHits := func(s *slot) int {
		n := 0
		for i, v := range s.values {
			if len([]rune(v)) < 8 {
				continue
			}
			m := l.ref.Directory.MatchObject(routing.Hints{Client: l.ref.Client.Code, Address: v})
			if m.Object == nil || m.Method != routing.MethodAddress {
				continue
			}
			if lb := l.labels[i]; lb != nil && lb.Object != "" && m.Object.Code != lb.Object {
				continue
			}
			n++
		}
		return n
	}
	a, _ := l.best(func(s *slot) float64 {
		n := addrHits(s)
		if !l.enough(n, s.present()) {
			return 0
		}
		sc := float64(n)
		if hint(s, "адрес", "address", "location", "местополож") {
			sc += 0.5
		}
		return sc
	}, true)
	if a != nil {
		l.p.Spec.Fields["address"] = parsers.Extractors{withUsual(a.spec, "address")}
		l.used[a] = "address"
		l.p.Evidence["fields.address"] = fmt.Sprintf("%s is the address of one of the client's stores in %s (e.g. %q)", a.describe(), l.agree(addrHits(a)), example(a.values))
	}
	if s == nil && a == nil {
		l.unsure("no field gives the store by code or address: Intake will look for codes and addresses in the whole text")
	}
}

// example is the first value of a slot that is not empty, clipped to 60
// runes, to quote as evidence.
func example(vs []string) string {
	for _, v := range vs {
		if v != "" {
			r := []rune(v)
			if len(r) > 60 {
				return string(r[:60]) + "..."
			}
			return v
		}
	}
	return ""
}

// problem is the slot whose text is in the subject; description the long
// text labelled as one.
func (l *learner) problem() {
	inSubject := func(s *slot) int {
		n := 0
		for i, v := range s.values {
			if len(strings.Fields(v)) >= 2 && strings.Contains(strings.ToLower(l.docs[i].Subject), strings.ToLower(v)) {
				n++
			}
		}
		return n
	}
	s, _ := l.best(func(s *slot) float64 {
		if s.distinct() < 2 && len(l.docs) > 1 {
			return 0
		}
		sc := float64(inSubject(s))
		if hint(s, "тема", "кратк", "суть", "summary", "subject", "проблем", "problem", "title", "заголов", "неисправн") {
			sc += 1.5
		}
		if sc < 1.5 {
			return 0
		}
		return sc
	}, true)
	if s != nil {
		l.p.Spec.Fields["problem"] = parsers.Extractors{withUsual(s.spec, "problem")}
		l.used[s] = "problem"
		l.p.Evidence["fields.problem"] = fmt.Sprintf("%s, different per mail; in the subject in %s", s.describe(), l.agree(inSubject(s)))
	} else {
		l.unsure("no problem field found: the subject will be the problem")
	}
	avgLen := func(s *slot) float64 {
		t, n := 0, 0
		for _, v := range s.values {
			if v != "" {
				t += len([]rune(v))
				n++
			}
		}
		if n == 0 {
			return 0
		}
		return float64(t) / float64(n)
	}
	d, _ := l.best(func(s *slot) float64 {
		if !hint(s, "описан", "подробн", "description", "details", "текст", "body", "содержан") || s.distinct() < 2 {
			return 0
		}
		return float64(s.present()) + avgLen(s)/1000
	}, true)
	if d != nil {
		l.p.Spec.Fields["description"] = parsers.Extractors{withUsual(d.spec, "description")}
		l.used[d] = "description"
		l.p.Evidence["fields.description"] = fmt.Sprintf("%s, long text (%.0f characters on average) in %s", d.describe(), avgLen(d), l.agree(d.present()))
	}
}

// ourCategory maps a chain's category text to ours: by our name, then by
// our keywords.
func (l *learner) ourCategory(v string) (string, string) {
	sv := squashed(v)
	if letters(v) < 4 {
		return "", "" // a code such as "ХО" is the chain's, not a word
	}
	for _, c := range l.ref.Categories {
		n := squashed(c.Name)
		if n != "" && (sv == n || strings.Contains(sv, n) || len(sv) >= 4 && strings.Contains(n, sv)) {
			return c.Code, "name «" + c.Name + "»"
		}
	}
	if c := l.cats.Match(1, v); c != "" {
		return c, "keywords"
	}
	return "", ""
}

func (l *learner) category() {
	score := func(s *slot) (mapped, agree int) {
		for i, v := range s.values {
			c, _ := l.ourCategory(v)
			if c == "" {
				continue
			}
			mapped++
			if lb := l.labels[i]; lb == nil || lb.Category == "" || lb.Category == c {
				agree++
			}
		}
		return
	}
	s, _ := l.best(func(s *slot) float64 {
		_, a := score(s)
		if !l.enough(a, s.present()) {
			return 0
		}
		sc := float64(a)
		if hint(s, "категор", "услуг", "компонент", "направлен", "вид работ", "тип работ", "category", "component", "service", "group", "группа оборуд", "система") {
			sc += 1.5
		}
		// A category is a few words, repeated across chains' mail.
		words := 0
		for _, v := range s.values {
			words = max(words, len(strings.Fields(v)))
		}
		if words > 7 {
			sc -= 2
		}
		return sc
	}, true)
	if s == nil {
		l.unsure("no category field found: Intake will take the category from keywords of the problem")
		l.usualOnly("category")
		return
	}
	exs := parsers.Extractors{withUsual(s.spec, "category")}
	l.used[s] = "category"
	// Values seen, mapped.
	m := map[string]string{}
	var lines []string
	for i, v := range s.values {
		if v == "" || m[v] != "" {
			continue
		}
		c, how := l.ourCategory(v)
		if lb := l.labels[i]; lb != nil && lb.Category != "" {
			c, how = lb.Category, "the label"
		}
		if c == "" {
			lines = append(lines, fmt.Sprintf("%q maps to none of ours", v))
			continue
		}
		m[v] = c
		lines = append(lines, fmt.Sprintf("%q -> %s by %s", v, c, how))
	}
	_, a := score(s)
	l.p.Spec.Fields["category"] = exs
	l.p.Spec.Categories = m
	l.p.Evidence["fields.category"] = fmt.Sprintf("%s maps to our categories in %s", s.describe(), l.agree(a))
	sort.Strings(lines)
	l.p.Evidence["categories"] = "seen in the samples: " + strings.Join(lines, "; ") +
		". A value not listed is matched by our category names and keywords"
}

// priorityWords are the usual words of each priority, as stems, most
// specific first.
var priorityWords = []struct {
	re    *regexp.Regexp
	level string
}{
	{regexp.MustCompile(`(?i)критич|авари|наивысш|блокир|highest|blocker|critical|emergency|крайне высок`), "critical"},
	{regexp.MustCompile(`(?i)низк|планов|lowest|\blow\b|minor|planning|trivial|незначит`), "low"},
	{regexp.MustCompile(`(?i)высок|срочн|\bhigh\b|urgent|major|важн`), "high"},
	{regexp.MustCompile(`(?i)средн|обычн|нормальн|умерен|medium|moderate|normal|standard|стандарт`), "normal"},
}

// leadingNumeral is a priority written as a numeral: "2", "P2", "2 - ...".
var leadingNumeral = regexp.MustCompile(`^\s*[PpРр]?([1-5])\s*(?:$|[-–—.:)]\s*\p{L}|\s+\p{L})`)

// priorityOf reads a priority from words, else from a leading numeral
// (1 is the most urgent, as service desks number them).
func priorityOf(v string) (string, string) {
	for _, w := range priorityWords {
		if w.re.MatchString(v) {
			return w.level, "the word"
		}
	}
	if m := leadingNumeral.FindStringSubmatch(v); m != nil && len([]rune(v)) <= 30 {
		return map[string]string{"1": "critical", "2": "high", "3": "normal", "4": "low", "5": "low"}[m[1]], "the numeral"
	}
	return "", ""
}

// priorityVocabulary completes the map with the usual words of the
// chain's language and grammatical gender, so that a level no sample
// showed is still read.
var priorityVocabulary = map[string][][2]string{
	"ru-m": {{"Критический", "critical"}, {"Критичный", "critical"}, {"Аварийный", "critical"}, {"Высокий", "high"}, {"Срочный", "high"},
		{"Средний", "normal"}, {"Обычный", "normal"}, {"Нормальный", "normal"}, {"Низкий", "low"}, {"Плановый", "low"}},
	"ru-f": {{"Критическая", "critical"}, {"Критичная", "critical"}, {"Аварийная", "critical"}, {"Высокая", "high"}, {"Срочная", "high"},
		{"Средняя", "normal"}, {"Обычная", "normal"}, {"Нормальная", "normal"}, {"Низкая", "low"}, {"Плановая", "low"}},
	"en": {{"Critical", "critical"}, {"Highest", "critical"}, {"Blocker", "critical"}, {"Urgent", "high"}, {"High", "high"},
		{"Medium", "normal"}, {"Moderate", "normal"}, {"Normal", "normal"}, {"Low", "low"}, {"Lowest", "low"}, {"Planning", "low"}},
}

func (l *learner) priority() {
	hits := func(s *slot) int {
		n := 0
		named := hint(s, "приоритет", "важност", "срочност", "priority", "urgency", "severity", "impact", "критичност")
		for i, v := range s.values {
			p, how := priorityOf(v)
			if p == "" || len(strings.Fields(v)) > 5 || how != "the word" && !named {
				continue
			}
			if lb := l.labels[i]; lb != nil && lb.Priority != "" && lb.Priority != p {
				continue
			}
			n++
		}
		return n
	}
	s, _ := l.best(func(s *slot) float64 {
		n := hits(s)
		if !l.enough(n, s.present()) {
			return 0
		}
		sc := float64(n)
		if hint(s, "приоритет", "важност", "срочност", "priority", "urgency", "severity", "impact", "критичност") {
			sc += 1.5
		}
		return sc
	}, true)
	if s == nil {
		l.unsure("no priority field found in the samples")
		l.usualOnly("priority")
		l.p.Spec.Priorities = map[string]string{}
		for _, st := range []string{"ru-m", "en"} {
			for _, w := range priorityVocabulary[st] {
				l.p.Spec.Priorities[w[0]] = w[1]
			}
		}
		l.p.Evidence["priorities"] = "the usual words; no sample showed a priority"
		return
	}
	l.used[s] = "priority"
	l.p.Spec.Fields["priority"] = parsers.Extractors{withUsual(s.spec, "priority")}
	m := map[string]string{}
	var seen []string
	styles := map[string]bool{}
	for i, v := range s.values {
		if v == "" {
			continue
		}
		if j := strings.IndexByte(v, '('); j > 0 {
			v = strings.TrimSpace(v[:j]) // "Высокий (был: Средний)"
		}
		p, how := priorityOf(v)
		if lb := l.labels[i]; lb != nil && lb.Priority != "" {
			p, how = lb.Priority, "the label"
		}
		if p == "" {
			seen = append(seen, fmt.Sprintf("%q unknown", v))
			continue
		}
		if _, ok := m[v]; !ok {
			seen = append(seen, fmt.Sprintf("%q -> %s by %s", v, p, how))
		}
		m[v] = p
		for _, w := range strings.FieldsFunc(v, func(r rune) bool { return !isLetter(r) }) {
			lw := strings.ToLower(w)
			if len([]rune(lw)) < 3 {
				continue // "P" of "P1 Авария"
			}
			switch {
			case isLatin(lw):
				styles["en"] = true
			case strings.HasSuffix(lw, "ая") || strings.HasSuffix(lw, "яя"):
				styles["ru-f"] = true
			default:
				styles["ru-m"] = true
			}
		}
	}
	added := 0
	// Bare numerals ("2", "P2"): the other levels by the same numbering.
	for v := range m {
		if m2 := regexp.MustCompile(`^\s*([PpРр]?)[1-5]\s*$`).FindStringSubmatch(v); m2 != nil {
			for i, lvl := range []string{"critical", "high", "normal", "low"} {
				k := m2[1] + strconv.Itoa(i+1)
				if !NormalizeKnown(m, k) {
					m[k] = lvl
					added++
				}
			}
			break
		}
	}
	for st := range styles {
		for _, w := range priorityVocabulary[st] {
			if NormalizeKnown(m, w[0]) {
				continue
			}
			// The chain's numbering, when its values carry one: "2 - Высокий".
			m[w[0]] = w[1]
			added++
		}
	}
	l.p.Spec.Priorities = m
	sort.Strings(seen)
	l.p.Evidence["fields.priority"] = fmt.Sprintf("%s holds a priority word or numeral in %s", s.describe(), l.agree(hits(s)))
	l.p.Evidence["priorities"] = "seen: " + strings.Join(seen, "; ") +
		fmt.Sprintf(". %d usual words of the same language added for levels the samples did not show; a leading \"2 -\" or \"P2\" is skipped when reading", added)
}

// NormalizeKnown tells whether m already has word (any case).
func NormalizeKnown(m map[string]string, word string) bool {
	for k := range m {
		if strings.EqualFold(strings.TrimSpace(k), word) {
			return true
		}
	}
	return false
}

func isLetter(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= 'А' && r <= 'я' || r == 'ё' || r == 'Ё'
}
func isLatin(s string) bool {
	for _, r := range s {
		if r > 'z' {
			return false
		}
	}
	return true
}

// dateLayouts are tried when ParseDate cannot read a value.
var dateLayouts = []string{
	"02.01.2006 15:04", "02.01.2006 15:04:05", "2006/01/02 15:04", "01/02/2006 15:04", "01/02/2006 3:04 PM",
	"02/01/2006 15:04", "2006.01.02 15:04", "020106 1504", "20060102150405", "20060102T150405",
	"02.01.06 15:04", "Jan 2, 2006 15:04", "2 Jan 2006 15:04", "Monday, 02-Jan-06 15:04",
}

func (l *learner) due() {
	loc, err := time.LoadLocation(l.p.Spec.Timezone)
	if err != nil || l.p.Spec.Timezone == "" {
		loc = time.UTC
	}
	type read struct {
		n, future, labelled int
		layout              string
	}
	readSlot := func(s *slot, layout string) read {
		r := read{layout: layout}
		for i, v := range s.values {
			if v == "" || !strings.ContainsAny(v, "0123456789") {
				continue
			}
			var t time.Time
			var ok bool
			if layout == "" {
				t, ok = parsers.ParseDate(v, loc, l.docs[i].Date)
			} else {
				t, err = time.ParseInLocation(layout, strings.TrimSpace(v), loc)
				ok = err == nil
			}
			if !ok {
				continue
			}
			r.n++
			// A deadline is after the mail was written; a creation or
			// registration date is at about the same time.
			if d := l.docs[i].Date; d.IsZero() || t.Sub(d) > 10*time.Minute {
				r.future++
			}
			if lb := l.labels[i]; lb != nil && lb.Due != "" {
				if want, err := time.Parse(time.RFC3339, lb.Due); err == nil && want.Equal(t) {
					r.labelled++
				}
			}
		}
		return r
	}
	// bestLayout reads a slot with Intake's date reading, unless a layout
	// reads more as labelled, or more as deadlines (after the mail):
	// "11/05/2026" is 5 November to a chain that writes the month first.
	bestLayout := func(s *slot) read {
		r := readSlot(s, "")
		if l.enough(r.future, s.present()) && r.labelled == r.n {
			return r
		}
		for _, lay := range dateLayouts {
			rr := readSlot(s, lay)
			if rr.labelled > r.labelled || rr.labelled == r.labelled && rr.future > r.future {
				r = rr
			}
		}
		return r
	}
	var bestRead read
	s, _ := l.best(func(s *slot) float64 {
		r := bestLayout(s)
		if !l.enough(r.future, s.present()) {
			return 0
		}
		sc := float64(r.future) + 3*float64(r.labelled)
		if hint(s, "срок", "due", "deadline", "выполн", "крайн", "планов", "окончан", "заверш", "resolve", "sla", "до ") {
			sc += 1.5
		}
		if hint(s, "создан", "регистрац", "created", "opened", "поступ", "дата письма") {
			sc -= 2
		}
		return sc
	}, true)
	if s == nil {
		l.unsure("no due date field found in the samples")
		l.usualOnly("due")
		return
	}
	bestRead = bestLayout(s)
	l.used[s] = "due"
	l.p.Spec.Fields["due"] = parsers.Extractors{withUsual(s.spec, "due")}
	how := "Intake's date reading"
	if bestRead.layout != "" {
		l.p.Spec.DateFormats = []string{bestRead.layout}
		how = "the Go layout " + strconv.Quote(bestRead.layout)
	}
	l.p.Evidence["fields.due"] = fmt.Sprintf("%s is a date after the mail's own in %s, read by %s (e.g. %q)", s.describe(), l.agree(bestRead.future), how, example(s.values))
}

func (l *learner) status() {
	s, _ := l.best(func(s *slot) float64 {
		if !hint(s, "статус", "состояни", "status", "state", "стади", "этап") {
			return 0
		}
		return float64(s.present())
	}, true)
	if s == nil {
		return
	}
	e := withUsual(s.spec, "status")
	e.Normalize = []string{"strip_parens"}
	l.used[s] = "status"
	l.p.Spec.Fields["status"] = parsers.Extractors{e}
	var vals []string
	for _, v := range s.values {
		if v != "" && !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	l.p.Evidence["fields.status"] = fmt.Sprintf("%s in %s: %s", s.describe(), l.agree(s.present()), strings.Join(vals, ", "))
}

// eventWords are the usual words of what a notification reports, in the
// order they are tried: the specific first.
var eventWords = []struct{ pattern, event string }{
	{`отмен|cancel`, "cancelled"},
	{`закрыт|закрыл|выполнен|решен|решён|решил|resolved|closed|completed|done`, "closed"},
	{`комментар|comment`, "comment"},
	{`измен|обновл|обновил|перенес|updated|changed`, "update"},
	{`зарегистр|создан|создал|назначен|поступил|открыт`, "new"},
	{`нов(ая|ое|ый)|opened|created|registered|assigned|\bnew\b`, "new"},
}

var eventRes = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(eventWords))
	for i, w := range eventWords {
		out[i] = regexp.MustCompile(`(?i)` + w.pattern)
	}
	return out
}()

func (l *learner) events() {
	count := func(src func(d *parsers.Document) string) (int, map[string]int) {
		n := 0
		by := map[string]int{}
		for _, d := range l.docs {
			hit := false
			text := src(d)
			for i, w := range eventWords {
				if eventRes[i].MatchString(text) {
					by[w.event]++
					hit = true
					break
				}
			}
			if hit {
				n++
			}
		}
		return n, by
	}
	in := "subject"
	n, by := count(func(d *parsers.Document) string { return d.Subject })
	if n < l.need() {
		// The event is said in the body's first lines ("X created SRV-1").
		first := func(d *parsers.Document) string {
			lines := strings.SplitN(d.NewText, "\n", 6)
			return strings.Join(lines[:min(5, len(lines))], "\n")
		}
		if n2, by2 := count(first); n2 > n {
			in, n, by = "new_text", n2, by2
		}
	}
	for _, w := range eventWords {
		l.p.Spec.Events = append(l.p.Spec.Events, parsers.EventRule{Pattern: w.pattern, Event: w.event})
	}
	if in != "subject" {
		l.p.Spec.EventsIn = in
	}
	var parts []string
	for _, w := range eventWords {
		if p := fmt.Sprintf("%s %d", w.event, by[w.event]); by[w.event] > 0 && !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	where := map[string]string{"subject": "subject", "new_text": "first lines of the new text"}[in]
	l.p.Evidence["events"] = fmt.Sprintf("the usual event words, tried in this order on the %s; they name the event of %s (%s). Check them against the chain's update mails",
		where, l.agree(n), strings.Join(parts, ", "))
	if n < l.need() {
		l.unsure("the samples' subjects and first lines carry no usual event word: write events by hand (an attachment's field, say, with events_in: all)")
	}
}

// genericHeaders vary by mail client or transport, never identify a chain.
var genericHeaders = []string{"X-Mailer", "X-Priority", "X-Msmail-Priority", "X-Originating-Ip", "X-Spam", "X-Ms-", "X-Received",
	"X-Google", "X-Gm-", "X-Yandex", "X-Mailru", "X-Original", "X-Virus", "X-Forwarded", "X-Envelope", "X-Apple", "X-Uniq", "X-Mimeole"}

// match builds the match expression: the sender, the subject's number,
// stable X- headers, and forwards that carry the chain's marker line.
func (l *learner) match(numberRe string) {
	senders, domains := map[string]int{}, map[string]int{}
	for _, d := range l.docs {
		e := strings.ToLower(d.From.Email)
		senders[e]++
		if i := strings.LastIndexByte(e, '@'); i >= 0 {
			domains[e[i+1:]]++
		}
	}
	keys := func(m map[string]int) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	var cond string
	var ev []string
	clientDomain := false
	for _, d := range keys(domains) {
		if slices.Contains(l.ref.Client.Domains, d) {
			clientDomain = true
		}
	}
	if len(senders) <= 3 && clientDomain {
		// Store directors write from the client's domain too: the
		// service desk's own mailbox tells its notifications apart.
		cond = "from in " + exprList(keys(senders))
		ev = append(ev, fmt.Sprintf("every sample comes from %s", strings.Join(keys(senders), ", ")))
	} else {
		cond = "from_domain in " + exprList(keys(domains))
		ev = append(ev, fmt.Sprintf("every sample comes from the domain %s", strings.Join(keys(domains), ", ")))
	}
	if !clientDomain {
		l.unsure("the samples' sender domain %s is not among the client's domains in the reference data: add it to clients.csv", strings.Join(keys(domains), ", "))
	}
	// The number in the subject is the subject's shape.
	if ex := l.p.Spec.Fields["external_id"]; numberRe != "" && len(ex) > 0 {
		for _, e := range ex {
			if e.In == "subject" {
				re := regexp.MustCompile(e.Regex)
				n := 0
				for _, d := range l.docs {
					if re.MatchString(d.Subject) {
						n++
					}
				}
				if n == len(l.docs) {
					sr := numberRe
					if l.wide != "" {
						sr = l.wide
					}
					cond = "(" + cond + ") && subject matches " + strconv.Quote(bounded(sr))
					ev = append(ev, "every subject carries the order number")
				}
				break
			}
		}
	}
	// Stable headers that only a service desk sets.
	var hdrs []string
	for k, vs := range l.docs[0].Header {
		ck := canonical(k)
		if !strings.HasPrefix(ck, "X-") || slices.ContainsFunc(genericHeaders, func(g string) bool { return strings.HasPrefix(ck, g) }) {
			continue
		}
		v := strings.Join(vs, ", ")
		if v == "" || len(v) > 60 {
			continue
		}
		same := true
		for _, d := range l.docs[1:] {
			if strings.Join(headerValues(d, k), ", ") != v {
				same = false
				break
			}
		}
		if same {
			hdrs = append(hdrs, fmt.Sprintf("headers[%s] == %s", strconv.Quote(ck), strconv.Quote(v)))
		}
	}
	sort.Strings(hdrs)
	if len(hdrs) > 2 {
		hdrs = hdrs[:2]
	}
	if len(hdrs) > 0 && len(l.ref.Client.Domains) > 0 {
		cond += "\n|| " + strings.Join(hdrs, " && ") + " && domain_in(" + exprList(l.ref.Client.Domains) + ")"
		ev = append(ev, fmt.Sprintf("header %s in every sample", strings.Join(hdrs, ", ")))
	}
	// Forwards by store staff: the chain's marker line and the number.
	if marker := l.markerLine(); marker != "" && numberRe != "" {
		cond += "\n|| subject matches \"(?i)^\\\\s*(fwd?|fw|пер)\\\\s*:\" && text matches " + strconv.Quote(regexp.QuoteMeta(marker)) +
			" && text matches " + strconv.Quote(bounded(numberRe))
		ev = append(ev, fmt.Sprintf("a forward is known by the line %q, in every sample", marker))
	}
	l.p.Spec.Match = cond
	l.p.Evidence["match"] = strings.Join(ev, "; ")
}

func canonical(k string) string {
	parts := strings.Split(strings.ToLower(k), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

func headerValues(d *parsers.Document, k string) []string {
	if vs, ok := d.Header[k]; ok {
		return vs
	}
	for hk, vs := range d.Header {
		if strings.EqualFold(hk, k) {
			return vs
		}
	}
	return nil
}

// markerLine is the longest line every sample's text has, with words in
// it: a footer such as "This message was sent by Atlassian Jira".
func (l *learner) markerLine() string {
	count := map[string]int{}
	for _, d := range l.docs {
		seen := map[string]bool{}
		for _, line := range strings.Split(d.Text, "\n") {
			line = strings.TrimSpace(line)
			if n := len([]rune(line)); n < 15 || n > 90 || seen[line] || strings.Contains(line, "http") {
				continue
			}
			if len(tokensOf(line)) > 0 || letters(line) < 10 {
				continue
			}
			seen[line] = true
			count[line]++
		}
	}
	best := ""
	for line, c := range count {
		if c == len(l.docs) && (len(line) > len(best) || len(line) == len(best) && line < best) {
			best = line
		}
	}
	return best
}

func exprList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// usualLabels are the labels service desks commonly give each field. A
// proposal lists them after the label the samples showed, so that a kind
// of mail the samples lacked (an incident beside work orders) is still
// read; when no sample showed the field at all, they are the proposal.
var usualLabels = map[string][]string{
	"external_id": {"Номер", "Номер заявки", "Номер обращения", "Номер запроса", "Номер инцидента", "Номер заказа", "Ключ", "Number", "Ticket", "Key"},
	"object_code": {"Магазин", "Код магазина", "Объект", "Код объекта", "Store", "Store code"},
	"address":     {"Адрес", "Адрес магазина", "Адрес объекта", "Address"},
	"problem":     {"Краткое описание", "Тема", "Суть обращения", "Summary", "Subject"},
	"description": {"Описание", "Подробное описание", "Description"},
	"category":    {"Категория", "Услуга", "Вид работ", "Направление работ", "Category", "Service"},
	"priority":    {"Приоритет", "Важность", "Срочность", "Priority", "Urgency"},
	"due":         {"Срок исполнения", "Срок решения", "Срок выполнения", "Крайний срок", "Плановая дата завершения", "Выполнить до", "Due date", "Due", "Deadline"},
	"status":      {"Статус", "Состояние", "Status", "State"},
}

// withUsual appends the usual labels of field to a labels or table
// extractor.
func withUsual(e parsers.ExtractorSpec, field string) parsers.ExtractorSpec {
	add := func(list []string) []string {
		out := slices.Clone(list)
		for _, u := range usualLabels[field] {
			if !slices.ContainsFunc(out, func(l string) bool { return squashed(l) == squashed(u) }) {
				out = append(out, u)
			}
		}
		return out
	}
	switch {
	case len(e.Labels) > 0:
		e.Labels = add(e.Labels)
	case len(e.Table) > 0:
		e.Table = add(e.Table)
	}
	return e
}

// usualOnly proposes the usual labels for a field no sample showed.
func (l *learner) usualOnly(field string) {
	l.p.Spec.Fields[field] = parsers.Extractors{
		{Labels: usualLabels[field]},
		{Table: usualLabels[field]},
	}
	l.p.Evidence["fields."+field] = "no sample shows this field; these are the labels service desks usually give it"
}
