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

// Reading is what a message became: the chain's format (or "" for free
// text) and the order's fields after the message (a follow-up keeps its
// order's store and category).
type Reading struct {
	Name       string
	Format     string // the format's name, "" when none matched
	Client     string // the client of the format that read it
	ExternalID string
	FollowUp   bool // the number (or a quoted one) is of an earlier message's order
	Object     string
	Category   string
	Priority   string
	Due        *time.Time
	Event      string
	viaRef     bool
}

// Read runs msgs, in order, through set's formats as the pipeline does,
// without a database: the format chosen by match (else free-text reading),
// the store by the directory, and an order's later mail following it by
// its number (a follow-up keeps the order's store and category and may
// change its priority and due).
func Read(set *rules.Set, msgs []Sample, ref Reference, loc *time.Location) []Reading {
	if loc == nil {
		loc = time.UTC
	}
	kw := make([]parsers.CategoryKeywords, 0, len(ref.Categories))
	for _, c := range ref.Categories {
		kw = append(kw, parsers.CategoryKeywords{Code: c.Code, Keywords: c.Keywords})
	}
	cats, _ := parsers.CompileCategories(kw) // compiled by the loader of the reference data already
	orders := map[string]*Reading{}
	var out []Reading
	for _, m := range msgs {
		d := m.Doc
		if d == nil {
			continue
		}
		x := parsers.ExtractContext{Categories: cats, Now: d.Date, Location: loc}
		var f parsers.Fields
		rd := Reading{Name: m.Name}
		for doc := d; doc != nil && rd.Format == ""; doc = doc.Forwarded {
			env := rules.NewEnv("mail", doc, doc.Date, doc.Date)
			if cf, _ := set.MatchFormat(env); cf != nil && cf.Format != nil {
				f = cf.Format.Extract(doc, x)
				rd.Format, rd.Client = cf.Name, cf.Client
			}
		}
		if rd.Format == "" {
			f = parsers.ExtractFreeText(d, x)
		}
		client := f.Client
		if client == "" {
			client = rd.Client
		}
		if client == "" {
			if c := ref.Directory.ClientByEmail(d.From.Email); c != nil {
				client = c.Code
			}
		}
		// A letter that quotes a known order's number follows it up.
		if f.ExternalID == "" {
			for _, r := range f.Refs {
				if orders[client+"\x00"+r] != nil {
					f.ExternalID, rd.viaRef = r, true
					break
				}
			}
		}
		rd.ExternalID, rd.Event = f.ExternalID, f.Event
		key := client + "\x00" + f.ExternalID
		if o := orders[key]; f.ExternalID != "" && o != nil {
			rd.FollowUp = true
			rd.Object, rd.Category, rd.Priority, rd.Due = o.Object, o.Category, o.Priority, o.Due
			if f.Priority != "" {
				rd.Priority = f.Priority
			}
			if f.Due != nil {
				rd.Due = f.Due
			}
		} else {
			codes := f.Codes
			if f.ObjectCode != "" {
				codes = append([]string{f.ObjectCode}, codes...)
			}
			mo := ref.Directory.MatchObject(routing.Hints{Client: client, Codes: codes, SenderEmail: d.From.Email,
				Phones: f.Phones, Address: f.Address, Text: d.Subject + "\n" + d.NewText, Signature: d.Signature, ObjectName: f.ObjectName})
			if mo.Object != nil {
				rd.Object = mo.Object.Code
			}
			rd.Category, rd.Priority, rd.Due = f.Category, f.Priority, f.Due
		}
		if f.ExternalID != "" {
			o := rd
			orders[key] = &o
		}
		out = append(out, rd)
	}
	return out
}

// Evaluate reads msgs as Read does and scores the readings against the
// labels. Only the messages named in score (all when nil) that have a
// label are scored; the others are still read, so that an update finds
// its order.
func Evaluate(set *rules.Set, msgs []Sample, labels map[string]Label, ref Reference, loc *time.Location, score map[string]bool) Report {
	rep := Report{Correct: map[string]int{}}
	for _, rd := range Read(set, msgs, ref, loc) {
		lb, ok := labels[rd.Name]
		if !ok || score != nil && !score[rd.Name] {
			continue
		}
		rep.Labelled++
		check := func(field, have, want string) {
			if have == want {
				rep.Correct[field]++
				return
			}
			rep.Misses = append(rep.Misses, fmt.Sprintf("%s %s: got %q, want %q", rd.Name, field, have, want))
		}
		wantFormat := ""
		if lb.ExternalID != "" && !rd.viaRef {
			wantFormat = ref.Client.Code
		}
		haveFormat := ""
		if rd.Client == ref.Client.Code {
			haveFormat = rd.Client
		}
		check("format", haveFormat, wantFormat)
		check("external_id", rd.ExternalID, lb.ExternalID)
		check("object", rd.Object, lb.Object)
		check("category", rd.Category, lb.Category)
		check("priority", rd.Priority, lb.Priority)
		haveDue := ""
		if rd.Due != nil {
			haveDue = rd.Due.Format(time.RFC3339)
			if want, err := time.Parse(time.RFC3339, lb.Due); err == nil && want.Equal(*rd.Due) {
				haveDue = lb.Due
			}
		}
		check("due", haveDue, lb.Due)
	}
	return rep
}
