package replay

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/intakehq/intake/parsers"
)

// WriteTrace shows everything a person checking a rule wants to see of
// what a message became: the outcome, the fields, how the store was matched
// and the engineer chosen, and every rule tried. Times are in loc.
func WriteTrace(w io.Writer, t Tried, loc *time.Location) {
	o, follows := t.Outcome, t.Follows
	s := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	fmt.Fprintf(w, "== %s\n", t.Message.Name)
	fmt.Fprintf(w, "outcome:     %s", o.Kind)
	if o.Reason != nil && *o.Reason != "" {
		fmt.Fprintf(w, " (%s)", *o.Reason)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "client:      %s\nexternal id: %s\nobject:      %s\ncategory:    %s\npriority:    %s\n",
		s(o.Client), s(o.ExternalID), s(o.Object), s(o.Category), s(o.Priority))
	ticket := s(o.Ticket)
	if o.Ticket != nil && o.Kind == "ticket" {
		ticket += " (the number it would get; nothing is written)"
	}
	fmt.Fprintf(w, "due:         %s\nsla due:     %s\nengineer:    %s\nticket:      %s\nfollows:     %s\n",
		s(rfc3339(o.Due, loc)), s(rfc3339(o.SLADue, loc)), s(o.Engineer), ticket, s(follows))
	if st := t.Stored; st != nil {
		fmt.Fprintf(w, "stored:      already stored as item %d, outcome %s", st.Item, st.Outcome)
		if st.Ticket != nil {
			fmt.Fprintf(w, ", ticket %s", *st.Ticket)
		}
		if o.Kind == "duplicate" {
			fmt.Fprintln(w, "; --dedup: tried as its duplicate")
		} else {
			fmt.Fprintln(w, "; tried as new here")
		}
	}
	if pd := o.Parsed; pd != nil {
		fmt.Fprintf(w, "from:        %s\nsubject:     %s\nformat:      %s\n", pd.From, pd.Subject, orDash(pd.Fields.Format))
		if len(pd.Warnings) > 0 {
			fmt.Fprintf(w, "warnings:    %s\n", strings.Join(pd.Warnings, "; "))
		}
	}
	if d := o.Decision; d != nil {
		if d.Match != nil {
			fmt.Fprintf(w, "match:       method=%s confidence=%.2f %s\n", orDash(d.Match.Method), d.Match.Confidence, d.Match.Reason)
			for _, c := range d.Match.Candidates {
				fmt.Fprintf(w, "  candidate  %s/%s score=%.2f %s\n", c.Client, c.Code, c.Score, c.Address)
			}
		}
		if em := d.Equipment; em != nil {
			switch {
			case em.Equipment != nil:
				e := em.Equipment
				fmt.Fprintf(w, "equipment:   %s (%s) at %s/%s, kind %s; serial %q found by %s in %s\n",
					e.Serial, orDash(e.Model), e.Client, e.Object, e.Kind, em.Serial, em.How, em.Source)
			case len(em.Ambiguous) > 0:
				fmt.Fprintf(w, "equipment:   - (serial %q is registered for clients %s)\n", em.Serial, strings.Join(em.Ambiguous, ", "))
			default:
				fmt.Fprintf(w, "equipment:   - (unknown serials %s)\n", strings.Join(em.Unknown, ", "))
			}
			if d.EquipmentConflict != "" {
				fmt.Fprintf(w, "  conflict   %s\n", d.EquipmentConflict)
			}
		}
		if a := d.Assignment; a != nil {
			fmt.Fprintf(w, "assignment:  %s %s\n", orDash(a.Engineer), a.Reason)
			for _, c := range a.Considered {
				status := "eligible"
				if !c.Eligible {
					status = "filtered: " + c.Rejected
				}
				fmt.Fprintf(w, "  engineer   %s rank=%d fixed=%v distance=%.1fkm load=%d rating=%.2f %s\n",
					c.Code, c.Rank, c.Fixed, c.DistanceKm, c.Load, c.Rating, status)
			}
		}
		fmt.Fprintln(w, "rules:")
		for _, t := range d.Trace {
			mark := " "
			if t.Matched {
				mark = "✓"
			}
			fmt.Fprintf(w, "  %s %-8s %s %s", mark, t.Stage, t.Rule, strings.Join(t.Applied, " "))
			if t.Err != "" {
				fmt.Fprintf(w, " error: %s", t.Err)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteDocument shows a message as the extractors of a format see it:
// operations staff write labels, table labels and regular expressions
// against it.
func WriteDocument(w io.Writer, m Message) {
	doc, err := parsers.Normalize(m.Raw)
	if err != nil {
		fmt.Fprintf(w, "== %s\nunreadable: %v\n\n", m.Name, err)
		return
	}
	fmt.Fprintf(w, "== %s\nfrom:    %s <%s>\nsubject: %s\ndate:    %s\n", m.Name, doc.From.Name, doc.From.Email, doc.Subject, doc.Date.Format(time.RFC3339))
	for _, warn := range doc.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	fmt.Fprintf(w, "--- text (labels:, regex in: text)\n%s\n", strings.TrimRight(doc.Text, "\n"))
	if doc.NewText != doc.Text {
		fmt.Fprintf(w, "--- new text (in: new_text)\n%s\n", strings.TrimRight(doc.NewText, "\n"))
	}
	for i, tbl := range doc.Tables {
		fmt.Fprintf(w, "--- table %d (table:)\n", i+1)
		for _, row := range tbl {
			fmt.Fprintf(w, "  %s\n", strings.Join(row, " | "))
		}
	}
	for _, a := range doc.Attachments {
		fmt.Fprintf(w, "--- attachment %s (%s, %d bytes)\n", a.Name, a.ContentType, a.Size)
		if a.Text != "" {
			fmt.Fprintln(w, strings.TrimRight(a.Text, "\n"))
		}
	}
	if f := doc.Forwarded; f != nil {
		fmt.Fprintf(w, "--- forwarded message from %s: %s\n%s\n", f.From.Email, f.Subject, strings.TrimRight(f.Text, "\n"))
	}
	fmt.Fprintln(w)
}
