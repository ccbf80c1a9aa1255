package replay

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// AssignmentReport is the result of checking every assigned ticket.
type AssignmentReport struct {
	Checked    int
	FixedGot   int // tickets that went to the store's fixed engineer
	Violations []string
}

// WriteText writes the violations, then a summary line.
func (r AssignmentReport) WriteText(w io.Writer) {
	for _, v := range r.Violations {
		fmt.Fprintln(w, "  "+v)
	}
	fmt.Fprintf(w, "assignments: %d checked, %d to the store's fixed engineer, %d violations\n", r.Checked, r.FixedGot, len(r.Violations))
}

// VerifyAssignments checks every ticket's first assignment against the
// rules of assignment: the engineer was active, competent for the category,
// covered the store (OKTMO or radius) and was under capacity, and the
// store's fixed engineer got it when eligible. The load at the time is
// recomputed from the ticket history, not taken from what routing recorded.
func VerifyAssignments(ctx context.Context, st *store.Store, dir *routing.Directory) (AssignmentReport, error) {
	var rep AssignmentReport
	list, err := st.FirstAssignments(ctx)
	if err != nil {
		return rep, err
	}
	for _, r := range list {
		obj := dir.Object(r.Client, r.Object)
		if obj == nil {
			rep.Violations = append(rep.Violations, fmt.Sprintf("%s: store %s/%s is not in the reference data", r.Number, r.Client, r.Object))
			continue
		}
		loads := map[string]int{}
		for _, e := range []string{r.Engineer, obj.Engineer} {
			if e == "" {
				continue
			}
			n, err := st.EngineerLoadAt(ctx, e, r.TicketID)
			if err != nil {
				return rep, err
			}
			loads[e] = n
		}
		rep.Checked++
		if r.Engineer == obj.Engineer {
			rep.FixedGot++
		}
		if err := routing.CheckAssignment(dir, obj, r.Category, r.Engineer, loads); err != nil {
			if !errors.Is(err, routing.ErrAssignmentInvariant) {
				return rep, err
			}
			rep.Violations = append(rep.Violations, fmt.Sprintf("%s: %v", r.Number, err))
		}
	}
	return rep, nil
}
