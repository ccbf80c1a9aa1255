package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

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
	rows, err := st.Pool.Query(ctx, `
		SELECT t.id, t.number, t.client, t.object, coalesce(t.category, ''),
		       coalesce(e.data->>'engineer', t.engineer, '') AS engineer, t.created_at
		FROM tickets t
		LEFT JOIN ticket_events e ON e.ticket_id = t.id AND e.kind = 'created'
		WHERE coalesce(e.data->>'engineer', t.engineer, '') <> ''
		ORDER BY t.id`)
	if err != nil {
		return rep, err
	}
	type row struct {
		id                               int64
		number, client, object, cat, eng string
		created                          time.Time
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.number, &r.client, &r.object, &r.cat, &r.eng, &r.created); err != nil {
			rows.Close()
			return rep, err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	loadAt := func(engineer string, ticketID int64) (int, error) {
		var n int
		err := st.Pool.QueryRow(ctx, `
			SELECT count(*) FROM tickets u
			WHERE u.id < $2 AND coalesce((SELECT e.data->>'engineer' FROM ticket_events e WHERE e.ticket_id = u.id AND e.kind = 'created' LIMIT 1), u.engineer) = $1
			  AND NOT EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = u.id
			                  AND e.to_state IN ('done', 'closed', 'cancelled')
			                  AND e.at <= (SELECT created_at FROM tickets WHERE id = $2))`, engineer, ticketID).Scan(&n)
		return n, err
	}
	for _, r := range list {
		obj := dir.Object(r.client, r.object)
		if obj == nil {
			rep.Violations = append(rep.Violations, fmt.Sprintf("%s: store %s/%s is not in the reference data", r.number, r.client, r.object))
			continue
		}
		loads := map[string]int{}
		for _, e := range []string{r.eng, obj.Engineer} {
			if e == "" {
				continue
			}
			n, err := loadAt(e, r.id)
			if err != nil {
				return rep, err
			}
			loads[e] = n
		}
		rep.Checked++
		if r.eng == obj.Engineer {
			rep.FixedGot++
		}
		if err := routing.CheckAssignment(dir, obj, r.cat, r.eng, loads); err != nil {
			if !errors.Is(err, routing.ErrAssignmentInvariant) {
				return rep, err
			}
			rep.Violations = append(rep.Violations, fmt.Sprintf("%s: %v", r.number, err))
		}
	}
	return rep, nil
}
