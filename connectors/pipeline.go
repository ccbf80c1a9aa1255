package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/store"
)

func randFloat() float64 { return rand.Float64() }

// Parse is the parse stage of "connector" items (pipeline.SourceParser): the
// order becomes fields for the route and ticket stages. The client is the
// connector's; the category and priority are mapped through the
// connector's mapping, the category falling back to our keyword match.
func (r *Registry) Parse(ctx context.Context, tx pgx.Tx, it *store.Item, rt *flow.Runtime) (*flow.Parsed, error) {
	var meta struct {
		Connector string `json:"connector"`
		Refused   bool   `json:"refused"`
	}
	json.Unmarshal(it.Meta, &meta) //nolint:errcheck // checked below
	if meta.Refused {
		// A webhook request the desk did not sign: kept for audit, never
		// read, whatever it claims.
		return nil, store.Finish(ctx, tx, it.ID, store.OutcomeIgnored, "bad signature", nil)
	}
	c := r.byName[meta.Connector]
	if c == nil {
		return nil, store.Finish(ctx, tx, it.ID, store.OutcomeFailed, fmt.Sprintf("connector %q is not configured", meta.Connector), nil)
	}
	var o Order
	if err := json.Unmarshal(it.Raw, &o); err != nil {
		return nil, store.Finish(ctx, tx, it.ID, store.OutcomeFailed, "unreadable order: "+err.Error(), nil)
	}
	m := r.mapping[c.Name()]
	f := parsers.Fields{
		Format: "connector:" + c.Name(), Client: c.Client(), ExternalID: o.ExternalID, ObjectCode: o.ObjectCode,
		Address: o.Address, Problem: strings.TrimSpace(strings.Join(nonEmpty(o.Title, o.Problem), "\n")),
		CategoryRaw: o.Category, PriorityRaw: o.Priority, Due: o.Due, Status: o.Status, Event: o.Event,
		Serial: o.Serial,
	}
	if f.Event == "" {
		f.Event = eventOf(o.Status, m)
	}
	f.Category = lookupFold(m.Categories, o.Category)
	if f.Category == "" && rt != nil {
		f.Category = rt.Categories.Match(2, o.Title, 1, o.Problem)
	}
	f.Priority = parsers.NormalizePriority(o.Priority, m.Priorities)
	return &flow.Parsed{Subject: o.Title, NewText: o.Problem, Date: o.UpdatedAt, Fields: f}, nil
}

func eventOf(status string, m Mapping) string {
	switch {
	case status == "":
		return "update"
	case slices.Contains(m.Closed, status):
		return "closed"
	case slices.Contains(m.Cancelled, status):
		return "cancelled"
	}
	return "update"
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

func lookupFold(m map[string]string, k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	if k == "" {
		return ""
	}
	for mk, v := range m {
		if strings.ToLower(strings.TrimSpace(mk)) == k {
			return v
		}
	}
	return ""
}

// QueuePush queues, in tx, a status push of ticket t's state to its chain's
// desk, if the chain has a connector, the ticket carries the chain's number
// and the state is mapped. key makes it idempotent (e.g. the ticket event
// id). It reports whether a push was queued. The lifecycle calls it on
// every transition; the ticket hook on creation.
func (r *Registry) QueuePush(ctx context.Context, tx pgx.Tx, t *store.Ticket, comment, key string) (bool, error) {
	c := r.byClient[t.Client]
	if c == nil || t.ExternalID == nil || *t.ExternalID == "" {
		return false, nil
	}
	status := r.mapping[c.Name()].States[t.State]
	op := OpStatus
	if status == "" {
		if comment == "" {
			return false, nil
		}
		op = OpComment
	}
	err := store.EnqueueOutbox(ctx, tx, store.OutboxMessage{
		Kind: store.OutboxConnector, Target: c.Name(), TicketID: &t.ID, DedupKey: "push:" + c.Name() + ":" + key,
		Payload: Push{Op: op, ExternalID: *t.ExternalID, Status: status, Comment: comment, TicketID: t.ID},
	})
	return err == nil, err
}

// TicketHook queues a push when a ticket of a connector's chain is created,
// or when a follow-up not coming from the desk itself changes its state
// (pipeline.TicketHook). Changes the desk told us about are not echoed back.
func (r *Registry) TicketHook(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec flow.Decision, created *store.Ticket) error {
	if r.byClient[dec.Client] == nil {
		return nil
	}
	it, err := store.LockItem(ctx, tx, itemID) // already locked by the ticket stage
	if err != nil {
		return err
	}
	source := it.Source
	t, err := store.TicketByID(ctx, tx, ticketID)
	if err != nil {
		return err
	}
	if created != nil { // read again: the lifecycle's hook may have moved it on
		_, err := r.QueuePush(ctx, tx, t, "Принято: "+t.Number, fmt.Sprintf("created:%d", t.ID))
		return err
	}
	if source == flow.SourceConnector {
		return nil
	}
	_, err = r.QueuePush(ctx, tx, t, "", fmt.Sprintf("item:%d:%s", itemID, t.State))
	return err
}
