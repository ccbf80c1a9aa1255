package store

import (
	"context"
	"fmt"

	"github.com/intakehq/intake/lifecycle"
)

// LoadAct gathers a ticket's completion act: the client's legal entity for
// the store, the store, the chain's number, and each done task's engineer,
// times, findings, work and files.
func (l *Lifecycle) LoadAct(ctx context.Context, ticketID int64) (lifecycle.Act, error) {
	t, err := TicketByID(ctx, l.st.Pool, ticketID)
	if err != nil {
		return lifecycle.Act{}, err
	}
	a := lifecycle.Act{Number: t.Number, Contractor: l.cfg.Contractor, Problem: t.Problem, ReceivedAt: t.CreatedAt, SLADue: t.SLADue,
		Location: l.cfg.Location, StoreCode: t.Object}
	if t.ExternalID != nil {
		a.ExternalID = *t.ExternalID
	}
	if t.Priority != nil {
		a.Priority = *t.Priority
	}
	err = l.st.Pool.QueryRow(ctx, `
		SELECT c.name, coalesce(o.legal_entity, ''), coalesce(o.name, ''), coalesce(o.address, ''),
			coalesce((SELECT name FROM categories WHERE code = $3), ''), coalesce(c.legal_entities[1], '')
		FROM clients c LEFT JOIN objects o ON o.client = c.code AND o.code = $2 WHERE c.code = $1`,
		t.Client, t.Object, t.Category).Scan(&a.ClientName, &a.LegalEntity, &a.StoreName, &a.Address, &a.Category, new(string))
	if err != nil {
		return a, fmt.Errorf("ticket %s: reading store and client: %w", t.Number, err)
	}
	if a.LegalEntity == "" {
		// A store without its own entity is served under the client's first.
		if err := l.st.Pool.QueryRow(ctx, `SELECT coalesce(legal_entities[1], '') FROM clients WHERE code = $1`, t.Client).Scan(&a.LegalEntity); err != nil {
			return a, err
		}
	}
	tasks, err := ticketTasks(ctx, l.st.Pool, t.ID)
	if err != nil {
		return a, err
	}
	for _, k := range tasks {
		if k.State != string(lifecycle.Done) {
			continue
		}
		at := lifecycle.ActTask{EngineerCode: k.engineer(), AcceptedAt: k.AcceptedAt, StartedAt: k.StartedAt, DoneAt: k.DoneAt,
			ProblemFound: k.ProblemFound, WorkDone: k.WorkDone}
		if err := l.st.Pool.QueryRow(ctx, `SELECT name FROM engineers WHERE code = $1`, k.engineer()).Scan(&at.Engineer); err != nil {
			return a, err
		}
		files, err := l.st.Attachments(ctx, k.ID)
		if err != nil {
			return a, err
		}
		for _, f := range files {
			at.Attachments = append(at.Attachments, f.Name)
		}
		if k.DoneAt != nil && k.DoneAt.After(a.Date) {
			a.Date = *k.DoneAt
		}
		a.Tasks = append(a.Tasks, at)
	}
	if a.Date.IsZero() {
		a.Date = l.now()
	}
	return a, nil
}
