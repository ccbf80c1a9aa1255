package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/store"
)

const kindMakeTicket = "make_ticket"

// Errors of MakeTicket.
var (
	ErrCallNoStore   = errors.New("the call has no store: a ticket needs one")
	ErrCallHasTicket = errors.New("the call already has a ticket")
)

// TicketRequest is a dispatcher's request to turn a call record into a
// ticket.
type TicketRequest struct {
	Problem  string `json:"problem"`
	Category string `json:"category,omitempty"`
	Priority string `json:"priority,omitempty"`
	By       string `json:"by,omitempty"`
}

// MakeTicket queues a call record's ticket: the request goes through the
// inbox and the stages like any item (routing, rules, assignment, hooks).
// Asking twice for the same call is one request. It returns the item id.
func (rc *Receiver) MakeTicket(ctx context.Context, st *store.Store, callID int64, req TicketRequest) (int64, error) {
	c, err := st.GetCall(ctx, callID)
	if err != nil {
		return 0, err
	}
	if c.Object == "" {
		return 0, fmt.Errorf("call %d: %w", callID, ErrCallNoStore)
	}
	if c.TicketID != nil {
		return 0, fmt.Errorf("call %d: %w (ticket %d)", callID, ErrCallHasTicket, *c.TicketID)
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	ref := fmt.Sprintf("calls/%d/ticket", callID)
	res, err := rc.inbox.Put(ctx, []ingest.Item{{Source: flow.SourceCall, SourceRef: ref, DedupKey: ref, Raw: raw,
		Meta: map[string]any{"kind": kindMakeTicket, "call": callID, "by": req.By}}}, nil)
	if err != nil {
		return 0, err
	}
	return res[0].ID, nil
}

func (rc *Receiver) makeTicket(ctx context.Context, tx pgx.Tx, it *store.Item, callID int64, rt *flow.Runtime) (*flow.Parsed, error) {
	var req TicketRequest
	if err := json.Unmarshal(it.Raw, &req); err != nil {
		return nil, finish(ctx, tx, it.ID, store.OutcomeFailed, "unreadable ticket request: "+err.Error())
	}
	provider, pcid, err := store.CallRef(ctx, tx, callID)
	if err != nil {
		return nil, fmt.Errorf("call %d: %w", callID, err)
	}
	c, err := store.LockCall(ctx, tx, provider, pcid)
	if err != nil {
		return nil, err
	}
	if c.TicketID != nil {
		return nil, finish(ctx, tx, it.ID, store.OutcomeIgnored, fmt.Sprintf("call %d already has ticket %d", c.ID, *c.TicketID))
	}
	if _, err := store.AddCallEvent(ctx, tx, c.ID, it.ID, kindMakeTicket, nil, req); err != nil {
		return nil, err
	}
	problem := strings.TrimSpace(req.Problem)
	if problem == "" {
		problem = fmt.Sprintf("Звонок %s (%s)", c.Phone, c.Contact)
	}
	return &flow.Parsed{
		Subject: "Заявка по звонку", NewText: problem,
		Fields: parsers.Fields{
			Format: "call", Client: c.Client, ObjectCode: c.Object, Problem: problem,
			Category: req.Category, Priority: req.Priority, Event: "new", Phones: []string{c.Phone},
			Extra: map[string]string{"call": fmt.Sprint(c.ID), "call_provider": c.Provider, "call_id": c.CallID},
		},
	}, nil
}
