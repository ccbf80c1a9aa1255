package pipeline

import (
	"context"
	"encoding/json"
	"time"

	"github.com/intakehq/intake/store"
)

// Querier is a pool or a transaction.
type Querier = store.Querier

// Outcome is what happened to one item, in the terms of the `intake try
// --json` contract. For a ticket or follow-up the order's fields are the
// ticket's after the item was applied; a duplicate repeats its original's.
type Outcome struct {
	ItemID     int64      `json:"item_id"`
	MessageID  string     `json:"message_id"`
	Kind       string     `json:"kind"` // ticket | follow_up | duplicate | ignored | unmatched | failed | pending
	Client     *string    `json:"client"`
	ExternalID *string    `json:"external_id"`
	Object     *string    `json:"object"`
	Category   *string    `json:"category"`
	Priority   *string    `json:"priority"`
	Due        *time.Time `json:"due"`
	SLADue     *time.Time `json:"sla_due"`
	Engineer   *string    `json:"engineer"`
	Ticket     *string    `json:"ticket"`
	// FollowsItem is the item that created the order a follow-up or
	// duplicate belongs to.
	FollowsItem *int64    `json:"-"`
	Rules       []string  `json:"rules"`
	Reason      *string   `json:"reason"`
	Decision    *Decision `json:"-"`
	Parsed      *Parsed   `json:"-"`
}

// ReadOutcome reads an item's outcome.
func ReadOutcome(ctx context.Context, q Querier, id int64) (*Outcome, error) {
	st, err := store.ItemStateByID(ctx, q, id)
	if err != nil {
		return nil, err
	}
	outcome, stage, reason, errText, client, msgID := st.Outcome, st.Stage, st.Reason, st.Error, st.Client, st.MessageID
	ticketID, dupOf, parsed, decision := st.TicketID, st.DuplicateOf, st.Parsed, st.Decision
	o := &Outcome{ItemID: id, MessageID: msgID, Kind: outcome, Rules: []string{}}
	if stage != store.StageDone {
		o.Kind = "pending"
	}
	if len(parsed) > 0 {
		var pd Parsed
		if json.Unmarshal(parsed, &pd) == nil {
			o.Parsed = &pd
			o.Rules = append(o.Rules, firedRules(pd.Trace)...)
		}
	}
	if len(decision) > 0 {
		var d Decision
		if json.Unmarshal(decision, &d) == nil {
			o.Decision = &d
			if len(d.Rules) > 0 {
				o.Rules = d.Rules
			} else if len(d.Trace) > 0 {
				o.Rules = firedRules(d.Trace)
			}
		}
	}
	switch outcome {
	case store.OutcomeDuplicate:
		if dupOf != nil {
			orig, err := ReadOutcome(ctx, q, *dupOf)
			if err != nil {
				return nil, err
			}
			orig.ItemID, orig.MessageID, orig.Kind = id, msgID, outcome
			orig.Reason = &reason
			if orig.FollowsItem == nil {
				orig.FollowsItem = dupOf
			}
			return orig, nil
		}
	case store.OutcomeFailed:
		o.Reason = &errText
	default:
		if reason != "" {
			o.Reason = &reason
		}
	}
	if ticketID != nil {
		t, err := store.TicketByID(ctx, q, *ticketID)
		if err != nil {
			return nil, err
		}
		o.Client, o.ExternalID, o.Object = &t.Client, t.ExternalID, &t.Object
		o.Category, o.Priority, o.Due, o.SLADue, o.Engineer = t.Category, t.Priority, t.Due, t.SLADue, t.Engineer
		o.Ticket = &t.Number
		if outcome == store.OutcomeFollowUp {
			src := t.SourceItem
			o.FollowsItem = &src
		}
		return o, nil
	}
	if outcome == store.OutcomeUnmatched || outcome == store.OutcomeFailed {
		if client != "" {
			o.Client = &client
		}
		// What extraction found stays visible to the dispatcher.
		if pd := o.Parsed; pd != nil {
			o.ExternalID = nonEmpty(pd.Fields.ExternalID)
			o.Category = nonEmpty(pd.Fields.Category)
			o.Priority = nonEmpty(pd.Fields.Priority)
			o.Due = pd.Fields.Due
		}
	}
	return o, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
