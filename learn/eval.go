package learn

import (
	"fmt"
	"io"
	"time"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
)

// EvalFields are the fields Evaluate scores, in report order: whether the
// chain's format was chosen, then the fields of the labels.
var EvalFields = []string{"format", "external_id", "object", "category", "priority", "due"}

// Report is how a format fared on labelled mail.
type Report struct {
	Labelled int
	Correct  map[string]int
	Misses   []string // "file field: got X, want Y"
}

// Accuracy is the share of labelled messages whose field is right.
func (r Report) Accuracy(field string) float64 {
	if r.Labelled == 0 {
		return 0
	}
	return float64(r.Correct[field]) / float64(r.Labelled)
}

// WriteText writes per-field accuracy and up to maxMisses misses.
func (r Report) WriteText(w io.Writer, maxMisses int) {
	fmt.Fprintf(w, "per-field accuracy over %d labelled messages:\n", r.Labelled)
	for _, f := range EvalFields {
		fmt.Fprintf(w, "  %-12s %6.1f%%  (%d/%d)\n", f, 100*r.Accuracy(f), r.Correct[f], r.Labelled)
	}
	if len(r.Misses) > 0 {
		fmt.Fprintf(w, "misses (%d):\n", len(r.Misses))
		for i, m := range r.Misses {
			if i == maxMisses {
				fmt.Fprintf(w, "  ... %d more\n", len(r.Misses)-maxMisses)
				break
			}
			fmt.Fprintln(w, "  "+m)
		}
	}
}

// Evaluate runs msgs, in order, through set's formats as the pipeline
// does, without a database: the format chosen by match (else free-text
// reading), the store by the directory, and an order's later mail
// following it by its number (a follow-up keeps the order's store and
// category and may change its priority and due). Only the messages named
// in score (all when nil) that have a label are scored; the others are
// still run, so that an update finds its order.
func Evaluate(set *rules.Set, msgs []Sample, labels map[string]Label, ref Reference, loc *time.Location, score map[string]bool) Report {
	if loc == nil {
		loc = time.UTC
	}
	kw := make([]parsers.CategoryKeywords, 0, len(ref.Categories))
	for _, c := range ref.Categories {
		kw = append(kw, parsers.CategoryKeywords{Code: c.Code, Keywords: c.Keywords})
	}
	cats, _ := parsers.CompileCategories(kw) // compiled by the loader of the reference data already
	type order struct {
		object, category, priority string
		due                        *time.Time
	}
	orders := map[string]*order{}
	rep := Report{Correct: map[string]int{}}
	for _, m := range msgs {
		d := m.Doc
		if d == nil {
			continue
		}
		x := parsers.ExtractContext{Categories: cats, Now: d.Date, Location: loc}
		var f parsers.Fields
		chosen := ""
		for doc := d; doc != nil && chosen == ""; doc = doc.Forwarded {
			env := rules.NewEnv("mail", doc, doc.Date, doc.Date)
			if cf, _ := set.MatchFormat(env); cf != nil && cf.Format != nil {
				f = cf.Format.Extract(doc, x)
				chosen = cf.Client
			}
		}
		if chosen == "" {
			f = parsers.ExtractFreeText(d, x)
		}
		client := f.Client
		if client == "" {
			client = chosen
		}
		if client == "" {
			if c := ref.Directory.ClientByEmail(d.From.Email); c != nil {
				client = c.Code
			}
		}
		// A letter that quotes a known order's number follows it up.
		viaRef := false
		if f.ExternalID == "" {
			for _, r := range f.Refs {
				if orders[client+"\x00"+r] != nil {
					f.ExternalID, viaRef = r, true
					break
				}
			}
		}
		var got order
		key := client + "\x00" + f.ExternalID
		if o := orders[key]; f.ExternalID != "" && o != nil {
			got = *o
			if f.Priority != "" {
				got.priority = f.Priority
			}
			if f.Due != nil {
				got.due = f.Due
			}
		} else {
			codes := f.Codes
			if f.ObjectCode != "" {
				codes = append([]string{f.ObjectCode}, codes...)
			}
			mo := ref.Directory.MatchObject(routing.Hints{Client: client, Codes: codes, SenderEmail: d.From.Email,
				Phones: f.Phones, Address: f.Address, Text: d.Subject + "\n" + d.NewText, Signature: d.Signature, ObjectName: f.ObjectName})
			if mo.Object != nil {
				got.object = mo.Object.Code
			}
			got.category, got.priority, got.due = f.Category, f.Priority, f.Due
		}
		if f.ExternalID != "" {
			o := got
			orders[key] = &o
		}
		lb, ok := labels[m.Name]
		if !ok || score != nil && !score[m.Name] {
			continue
		}
		rep.Labelled++
		check := func(field, have, want string) {
			if have == want {
				rep.Correct[field]++
				return
			}
			rep.Misses = append(rep.Misses, fmt.Sprintf("%s %s: got %q, want %q", m.Name, field, have, want))
		}
		wantFormat := ""
		if lb.ExternalID != "" && !viaRef {
			wantFormat = ref.Client.Code
		}
		haveFormat := ""
		if chosen == ref.Client.Code {
			haveFormat = chosen
		}
		check("format", haveFormat, wantFormat)
		check("external_id", f.ExternalID, lb.ExternalID)
		check("object", got.object, lb.Object)
		check("category", got.category, lb.Category)
		check("priority", got.priority, lb.Priority)
		haveDue := ""
		if got.due != nil {
			haveDue = got.due.Format(time.RFC3339)
		}
		if want, err := time.Parse(time.RFC3339, lb.Due); err == nil && got.due != nil && want.Equal(*got.due) {
			haveDue = lb.Due
		}
		check("due", haveDue, lb.Due)
	}
	return rep
}
