package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf commonFlags
	fs := newFlagSet("verify", stderr, &cf)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, st, err := cf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rt, err := pipeline.LoadRuntime(ctx, st, mustRuleFiles(cfg))
	if err != nil {
		return err
	}
	rep, err := verifyAssignments(ctx, st, rt.Directory)
	if err != nil {
		return err
	}
	rep.print(stdout)
	if len(rep.Violations) > 0 {
		return exitCode(1)
	}
	return nil
}

// assignmentReport is the result of checking every assigned ticket.
type assignmentReport struct {
	Checked    int
	FixedGot   int // tickets that went to the store's fixed engineer
	Violations []string
}

func (r assignmentReport) print(w io.Writer) {
	for _, v := range r.Violations {
		fmt.Fprintln(w, "  "+v)
	}
	fmt.Fprintf(w, "assignments: %d checked, %d to the store's fixed engineer, %d violations\n", r.Checked, r.FixedGot, len(r.Violations))
}

// verifyAssignments checks every ticket's first assignment against the
// rules of assignment: the engineer was active, competent for the category,
// covered the store (OKTMO or radius) and was under capacity, and the
// store's fixed engineer got it when eligible. The load at the time is
// recomputed from the ticket history, not taken from what routing recorded.
func verifyAssignments(ctx context.Context, st *store.Store, dir *routing.Directory) (assignmentReport, error) {
	var rep assignmentReport
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
