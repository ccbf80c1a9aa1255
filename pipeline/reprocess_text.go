package pipeline

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText writes the report as `intake reprocess` prints it: the counts,
// then each item that changes (every item with all), what it was and what
// it is or would be, in loc.
func (r *ReprocessReport) WriteText(w io.Writer, loc *time.Location, all bool) {
	mode := "applied"
	verb := "changed"
	if r.DryRun {
		mode, verb = "preview, nothing written", "would change"
	}
	fmt.Fprintf(w, "reprocess (%s): %d items, %d %s\n", mode, len(r.Items), r.Changed(), verb)
	if r.Truncated() {
		fmt.Fprintf(w, "  only the oldest %d items were taken: narrow --from/--to or raise --limit for the rest\n", len(r.Items))
	}
	var counts []string
	for _, a := range SortReprocessActions(r.Counts) {
		counts = append(counts, fmt.Sprintf("%s %d", a, r.Counts[a]))
	}
	if len(counts) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(counts, ", "))
	}
	for _, f := range SnapshotFields {
		if n := r.Fields[f]; n > 0 {
			fmt.Fprintf(w, "  %-11s %d\n", f, n)
		}
	}
	for _, it := range r.Items {
		if !all && len(it.Changed) == 0 && it.Action != ReprocessKept && it.Action != ReprocessError {
			continue
		}
		fmt.Fprintf(w, "item %d  %s  %s  %q  [%s]\n", it.ItemID, it.ReceivedAt.In(loc).Format("2006-01-02 15:04"), it.From, it.Subject, it.Action)
		for _, f := range it.Changed {
			fmt.Fprintf(w, "    %-11s %s -> %s\n", f, textValue(it.Was, f, loc), textValue(it.Now, f, loc))
		}
		if it.Note != "" {
			fmt.Fprintf(w, "    note: %s\n", it.Note)
		}
	}
}

func textValue(s Snapshot, field string, loc *time.Location) string {
	switch {
	case field == "ticket" && s.NewTicket:
		return "(new ticket)"
	case field == "due" && s.Due != nil:
		return s.Due.In(loc).Format("2006-01-02 15:04")
	}
	if v := s.field(field); v != "" {
		return v
	}
	return "-"
}
