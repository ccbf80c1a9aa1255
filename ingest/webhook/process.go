package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
)

// Parse is the parse stage of "call" items (pipeline.SourceParser). It
// applies the event to its call and either finishes the item itself or, for
// the end of a missed call from a store, returns the call-back ticket's
// fields for the route and ticket stages.
func (rc *Receiver) Parse(ctx context.Context, tx pgx.Tx, it *store.Item, rt *flow.Runtime) (*flow.Parsed, error) {
	var meta struct {
		Provider string `json:"provider"`
		Kind     string `json:"kind"`
		Call     int64  `json:"call"`
		Refused  bool   `json:"refused"`
	}
	json.Unmarshal(it.Meta, &meta) //nolint:errcheck // an empty meta is handled below
	if meta.Refused {
		return nil, store.Finish(ctx, tx, it.ID, store.OutcomeIgnored, "bad signature", nil)
	}
	if meta.Kind == kindMakeTicket {
		return rc.makeTicket(ctx, tx, it, meta.Call, rt)
	}
	p := rc.providers[meta.Provider]
	if p == nil {
		return nil, finish(ctx, tx, it.ID, store.OutcomeFailed, fmt.Sprintf("calls from provider %q are not configured", meta.Provider))
	}
	r, body, err := readRaw(it.Raw)
	if err != nil {
		return nil, finish(ctx, tx, it.ID, store.OutcomeFailed, err.Error())
	}
	ev, err := p.parse(r, body)
	if err != nil {
		return nil, finish(ctx, tx, it.ID, store.OutcomeFailed, "unreadable call event: "+err.Error())
	}
	c, err := store.LockCall(ctx, tx, ev.Provider, ev.CallID)
	if err != nil {
		return nil, err
	}
	var at *time.Time
	if !ev.At.IsZero() {
		at = &ev.At
	}
	fresh, err := store.AddCallEvent(ctx, tx, c.ID, it.ID, ev.Name, at, ev)
	if err != nil {
		return nil, err
	}
	if !fresh {
		return nil, finish(ctx, tx, it.ID, store.OutcomeIgnored, fmt.Sprintf("call %d: event already applied", c.ID))
	}
	rc.apply(c, ev, rt.Directory)
	if !ev.Terminal() || c.Disposition != "" {
		if err := store.SaveCall(ctx, tx, c); err != nil {
			return nil, err
		}
		reason := fmt.Sprintf("call %d: %s recorded", c.ID, ev.Kind)
		if c.Disposition != "" {
			reason = fmt.Sprintf("call %d: %s recorded; the call was already handled (%s)", c.ID, ev.Kind, c.Disposition)
		}
		return nil, finish(ctx, tx, it.ID, store.OutcomeIgnored, reason)
	}
	return rc.conclude(ctx, tx, it, c, ev)
}

// apply folds an event into the call.
func (rc *Receiver) apply(c *store.Call, ev CallEvent, dir *routing.Directory) {
	c.Events++
	if c.Direction == "" {
		c.Direction = ev.Direction
	}
	if c.Line == "" {
		c.Line = ev.Line
	}
	if c.Phone == "" && ev.External != "" {
		c.Phone = cmp.Or(parsers.NormalizePhone(ev.External), strings.TrimSpace(ev.External))
	}
	if !c.Known && c.Phone != "" {
		rc.identify(c, dir)
	}
	if !ev.At.IsZero() {
		switch ev.Kind {
		case KindStart:
			if c.StartedAt == nil || ev.At.Before(*c.StartedAt) {
				c.StartedAt = &ev.At
			}
		case KindAnswer:
			if c.AnsweredAt == nil {
				c.AnsweredAt = &ev.At
			}
		case KindEnd, KindSummary:
			if c.EndedAt == nil || ev.At.After(*c.EndedAt) {
				c.EndedAt = &ev.At
			}
		}
	}
	switch {
	case ev.Kind == KindAnswer:
		c.Status = store.CallAnswered
	case ev.Terminal():
		answered := c.AnsweredAt != nil || c.Status == store.CallAnswered
		if ev.Answered != nil {
			// The provider's own verdict on the whole call wins (a Mango
			// summary, a Zadarma disposition).
			answered = answered || *ev.Answered
		}
		switch {
		case answered:
			c.Status = store.CallAnswered
		case c.Direction == "out":
			c.Status = store.CallEnded
		default:
			c.Status = store.CallMissed
		}
	}
}

// identify maps the call's phone to a contact, its store and client, or an
// engineer.
func (rc *Receiver) identify(c *store.Call, dir *routing.Directory) {
	cs := dir.ContactsByPhone(c.Phone)
	var best *routing.Contact
	for i := range cs {
		if cs[i].Object != "" && dir.Object(cs[i].Client, cs[i].Object) != nil {
			best = &cs[i]
			break
		}
		if best == nil {
			best = &cs[i]
		}
	}
	if best != nil {
		c.Known, c.Client, c.Contact = true, best.Client, best.Name
		if best.Object != "" && dir.Object(best.Client, best.Object) != nil {
			c.Object = best.Object
		}
		return
	}
	if e := rc.engineers.lookup(dir, c.Phone); e != nil {
		c.Known, c.Contact = true, "engineer "+e.Code+" "+e.Name
	}
}

// conclude decides, once per call, what the end of a call leads to.
func (rc *Receiver) conclude(ctx context.Context, tx pgx.Tx, it *store.Item, c *store.Call, ev CallEvent) (*flow.Parsed, error) {
	switch {
	case !c.Known:
		c.Disposition = store.DispositionRecord
		if err := store.SaveCall(ctx, tx, c); err != nil {
			return nil, err
		}
		return nil, finish(ctx, tx, it.ID, store.OutcomeUnmatched, fmt.Sprintf("call %d: %s call, unknown number %s", c.ID, c.Status, c.Phone))
	case c.Object == "":
		c.Disposition = store.DispositionRecord
		if err := store.SaveCall(ctx, tx, c); err != nil {
			return nil, err
		}
		return nil, finish(ctx, tx, it.ID, store.OutcomeIgnored, fmt.Sprintf("call %d: %s call with %s, no store", c.ID, c.Status, c.Contact))
	case c.Status == store.CallMissed && !rc.signsCall(c.Provider) && c.StartedAt == nil:
		// The end of a call whose start we never had: its call id and
		// disposition are unsigned, so it makes no ticket on its own.
		c.Disposition = store.DispositionRecord
		if err := store.SaveCall(ctx, tx, c); err != nil {
			return nil, err
		}
		return nil, finish(ctx, tx, it.ID, store.OutcomeIgnored, fmt.Sprintf("call %d: missed call without a signed start, kept as a call record", c.ID))
	case c.Status == store.CallMissed:
		c.Disposition = store.DispositionCallback
		if err := store.SaveCall(ctx, tx, c); err != nil {
			return nil, err
		}
		return rc.callbackParsed(c, ev), nil
	case c.Status == store.CallAnswered:
		t, err := store.OpenTicketForObject(ctx, tx, c.Client, c.Object)
		if err == nil {
			c.Disposition, c.TicketID = store.DispositionFollowUp, &t.ID
			if err := store.SaveCall(ctx, tx, c); err != nil {
				return nil, err
			}
			data, err := json.Marshal(map[string]any{"call": c.ID, "provider": c.Provider, "call_id": c.CallID,
				"direction": c.Direction, "phone": c.Phone, "contact": c.Contact, "duration": ev.Duration})
			if err != nil {
				return nil, fmt.Errorf("call %d: encoding the event data: %w", c.ID, err)
			}
			itemID := it.ID
			if err := store.AddEvent(ctx, tx, store.TicketEvent{TicketID: t.ID, Actor: "intake", Kind: EventCall, ItemID: &itemID, Data: data,
				Reason: fmt.Sprintf(ReasonCall, directionWord(c.Direction), c.Contact, c.Phone)}); err != nil {
				return nil, err
			}
			return nil, store.Finish(ctx, tx, it.ID, store.OutcomeFollowUp, fmt.Sprintf("call %d attached to the store's open ticket", c.ID), &t.ID)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	c.Disposition = store.DispositionRecord
	if err := store.SaveCall(ctx, tx, c); err != nil {
		return nil, err
	}
	return nil, finish(ctx, tx, it.ID, store.OutcomeIgnored, fmt.Sprintf("call %d: %s %s call with store %s kept as a call record", c.ID, c.Status, directionWord(c.Direction), c.Object))
}

// signsCall reports whether provider's signature covers the call id and
// the event; an unknown provider does not.
func (rc *Receiver) signsCall(provider string) bool {
	p := rc.providers[provider]
	return p != nil && p.signsCall()
}

func directionWord(d string) string {
	if d == "out" {
		return ReasonOutgoing
	}
	return ReasonIncoming
}

// callbackParsed is the call-back ticket of a missed call, as the route
// stage takes it: client and store code given, phone for matching, the
// configured category and priority (rules may override them).
func (rc *Receiver) callbackParsed(c *store.Call, ev CallEvent) *flow.Parsed {
	when := rc.cfg.Now()
	if c.StartedAt != nil {
		when = *c.StartedAt
	} else if !ev.At.IsZero() {
		when = ev.At
	}
	who := c.Phone
	if c.Contact != "" {
		who = c.Contact + ", " + c.Phone
	}
	problem := fmt.Sprintf("Пропущенный звонок от %s (%s) %s: перезвонить.", who, c.Object, when.In(rc.cfg.Location).Format("02.01.2006 15:04"))
	return &flow.Parsed{
		Subject: "Перезвонить: пропущенный звонок",
		Date:    when,
		NewText: problem,
		Fields: parsers.Fields{
			Format: "call", Client: c.Client, ObjectCode: c.Object, Problem: problem,
			Category: rc.cfg.CallbackCategory, Priority: rc.cfg.CallbackPriority, Event: "new",
			Phones: []string{c.Phone},
			Extra:  map[string]string{"call": fmt.Sprint(c.ID), "call_provider": c.Provider, "call_id": c.CallID, "call_missed": "true"},
		},
	}
}

// TicketHook links a call-back ticket to its call (pipeline.TicketHook).
func (rc *Receiver) TicketHook(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec flow.Decision, created *store.Ticket) error {
	if created == nil {
		return nil
	}
	return store.LinkCallTicket(ctx, tx, itemID, ticketID)
}

func finish(ctx context.Context, tx pgx.Tx, id int64, outcome, reason string) error {
	return store.Finish(ctx, tx, id, outcome, reason, nil)
}

// engineerIndex maps phones to engineers for the directory in force, built
// once per directory snapshot.
type engineerIndex struct {
	mu  sync.Mutex
	dir *routing.Directory
	by  map[string]routing.Engineer
}

func (x *engineerIndex) lookup(dir *routing.Directory, phone string) *routing.Engineer {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.dir != dir {
		x.dir, x.by = dir, map[string]routing.Engineer{}
		for _, e := range dir.Engineers() {
			if p := parsers.NormalizePhone(e.Phone); p != "" {
				x.by[p] = e
			}
		}
	}
	if e, ok := x.by[phone]; ok {
		return &e
	}
	return nil
}
