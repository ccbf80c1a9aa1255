package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// Runtime is what the stages decide with: the directory of reference data
// and the rule set in force. Both are immutable snapshots swapped atomically
// when an import or a rules apply changes them.
type Runtime struct {
	Directory    *routing.Directory
	DirVersion   int64
	Rules        *rules.Set
	RulesVersion int64
	Categories   *parsers.CategoryMatcher
}

// Processor implements the stages.
type Processor struct {
	rt  atomic.Pointer[Runtime]
	own []string
	loc *time.Location
	now func() time.Time

	// Set before the pipeline runs; read-only afterwards.
	sources  map[string]SourceParser
	onTicket []TicketHook
	bizHours map[string]*routing.BusinessHours // per client
	slaOver  []routing.SLAOverride
}

// SetSLA installs business hours per client and SLA overrides by client and
// category; rules' sla_hours still win over both.
func (p *Processor) SetSLA(businessHours map[string]*routing.BusinessHours, overrides []routing.SLAOverride) {
	p.bizHours, p.slaOver = businessHours, overrides
}

// slaDue is when a ticket must be done: the chain's stated due wins; else
// a rule's hours, a configured override or the category's hours, counted
// in the client's business hours when it has them. Zero when unknown.
func (p *Processor) slaDue(dir *routing.Directory, received time.Time, client, category string, ruleHours ...float64) time.Time {
	sla := dir.ResolveSLA(client, category, p.slaOver)
	hours := sla.Hours
	if sla.Source == "default" {
		hours = 0 // no category and no override: no SLA clock
	}
	for _, h := range ruleHours {
		if h > 0 {
			hours = h
			break
		}
	}
	if hours <= 0 {
		return time.Time{}
	}
	bh := sla.BusinessHours
	if bh == nil {
		bh = p.bizHours[client]
	}
	return routing.Due(received, hours, bh)
}

// SourceParser is the parse stage for a source other than mail (a call, a
// connector record). It runs inside the stage's transaction with the item
// locked. It either finishes the item itself (store.Finish) and returns
// false, or returns the parse result, which the route and ticket stages then
// treat like a mail's.
type SourceParser func(ctx context.Context, tx pgx.Tx, it *store.Item, rt *Runtime) (*Parsed, error)

// HandleSource installs the parse stage for a source.
func (p *Processor) HandleSource(source string, f SourceParser) {
	if p.sources == nil {
		p.sources = map[string]SourceParser{}
	}
	p.sources[source] = f
}

// TicketHook runs in the ticket stage's transaction after a ticket was
// created (created true) or a follow-up applied to it: the lifecycle creates
// tasks and timers there, connectors queue their status pushes.
type TicketHook func(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec Decision, created bool) error

// OnTicket adds a hook.
func (p *Processor) OnTicket(h TicketHook) { p.onTicket = append(p.onTicket, h) }

func (p *Processor) runHooks(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec Decision, created bool) error {
	for _, h := range p.onTicket {
		if err := h(ctx, tx, ticketID, itemID, dec, created); err != nil {
			return err
		}
	}
	return nil
}

// NewProcessor returns a processor; own are our own addresses (never
// ingested), loc the zone for dates written without one.
func NewProcessor(rt *Runtime, own []string, loc *time.Location) *Processor {
	p := &Processor{own: own, loc: loc, now: time.Now}
	p.rt.Store(rt)
	return p
}

// Runtime returns the snapshot in force.
func (p *Processor) Runtime() *Runtime { return p.rt.Load() }

// Swap installs a new snapshot.
func (p *Processor) Swap(rt *Runtime) { p.rt.Store(rt) }

// Stages returns the three stage functions.
func (p *Processor) Stages() Stages {
	return Stages{Parse: p.Parse, Route: p.Route, Ticket: p.Ticket}
}

// Parsed is what the parse stage saves on the item.
type Parsed struct {
	MessageID   string               `json:"message_id"`
	InReplyTo   []string             `json:"in_reply_to,omitempty"`
	References  []string             `json:"references,omitempty"`
	From        string               `json:"from"`
	FromName    string               `json:"from_name,omitempty"`
	Subject     string               `json:"subject"`
	Date        time.Time            `json:"date"`
	NewText     string               `json:"new_text"`
	Signature   string               `json:"signature,omitempty"`
	Attachments []parsers.Attachment `json:"attachments,omitempty"`
	Warnings    []string             `json:"warnings,omitempty"`
	Fields      parsers.Fields       `json:"fields"`
	Forwarded   bool                 `json:"forwarded,omitempty"`
	Trace       []rules.TraceEntry   `json:"trace,omitempty"`
}

// Decision is what the route stage saves on the item.
type Decision struct {
	Kind       string              `json:"kind"` // ticket | follow_up
	Ticket     int64               `json:"ticket,omitempty"`
	Client     string              `json:"client"`
	Object     string              `json:"object,omitempty"`
	ExternalID string              `json:"external_id,omitempty"`
	Category   string              `json:"category,omitempty"`
	Priority   string              `json:"priority,omitempty"`
	Due        *time.Time          `json:"due,omitempty"`
	SLADue     *time.Time          `json:"sla_due,omitempty"`
	Team       string              `json:"team,omitempty"`
	Tags       []string            `json:"tags,omitempty"`
	Engineer   string              `json:"engineer,omitempty"`
	Event      string              `json:"event,omitempty"`
	Status     string              `json:"status,omitempty"`
	Via        string              `json:"via,omitempty"`        // how a follow-up was recognized
	AwaitItem  int64               `json:"await_item,omitempty"` // follow-up of an item whose ticket was not created yet
	Match      *routing.Match      `json:"match,omitempty"`
	Assignment *routing.Assignment `json:"assignment,omitempty"`
	Trace      []rules.TraceEntry  `json:"trace,omitempty"`
	Rules      []string            `json:"rules,omitempty"` // names of the rules that fired, all stages
}

const maxSavedText = 16 << 10

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8Valid(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Parse normalizes the raw bytes, classifies, selects a format and extracts.
func (p *Processor) Parse(ctx context.Context, tx pgx.Tx, id int64) (bool, error) {
	it, err := store.LockItem(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if it.Stage != store.StageReceived {
		return false, nil // redelivered: this stage already ran
	}
	rt := p.rt.Load()
	if it.Source != store.SourceMail {
		sp := p.sources[it.Source]
		if sp == nil {
			return false, finishFailed(ctx, tx, id, fmt.Sprintf("no parser for source %q", it.Source))
		}
		parsed, err := sp(ctx, tx, it, rt)
		if err != nil || parsed == nil {
			return false, err
		}
		data, err := json.Marshal(parsed)
		if err != nil {
			return false, err
		}
		return true, store.Advance(ctx, tx, id, store.StageParsed, map[string]any{
			"parsed": data, "client": parsed.Fields.Client, "message_id": parsed.MessageID, "rules_version": rt.RulesVersion,
		})
	}
	doc, err := parsers.Normalize(it.Raw)
	if err != nil {
		// Bad input: parked at once with the reason; retrying cannot help.
		return false, finishFailed(ctx, tx, id, "unreadable message: "+err.Error())
	}
	if reason, ok := parsers.Classify(doc, p.own); ok {
		return false, store.Finish(ctx, tx, id, store.OutcomeIgnored, reason, nil, nil)
	}
	now := p.now()
	env := rules.NewEnv(rules.SourceMail, doc, it.ReceivedAt, now)
	msgRes := evaluate(rt, rules.StageMessage, env)
	trace := msgRes.Trace
	if msgRes.Ignore != "" {
		return false, store.Finish(ctx, tx, id, store.OutcomeIgnored, msgRes.Ignore, nil, decisionJSON(Decision{Trace: trace}))
	}
	if msgRes.Unmatched != "" {
		return false, store.Finish(ctx, tx, id, store.OutcomeUnmatched, msgRes.Unmatched, nil, decisionJSON(Decision{Trace: trace}))
	}

	x := parsers.ExtractContext{Categories: rt.Categories, Now: it.ReceivedAt}
	format, ftrace := selectFormat(rt, msgRes.Format, env)
	trace = append(trace, ftrace...)
	src := doc
	if format == nil && doc.Forwarded != nil {
		// A store director forwarding a chain's notification: the inner
		// message is in the chain's format.
		fenv := rules.NewEnv(rules.SourceMail, doc.Forwarded, it.ReceivedAt, now)
		if f, ft := selectFormat(rt, "", fenv); f != nil {
			format, src = f, doc.Forwarded
			trace = append(trace, ft...)
		}
	}
	var fields parsers.Fields
	if format != nil {
		fields = format.Format.Extract(src, x)
		if fields.Client == "" {
			fields.Client = format.Client
		}
		if fields.Format == "" {
			fields.Format = format.Name
		}
	} else {
		fields = parsers.ExtractFreeText(doc, x)
	}
	if msgRes.Client != "" {
		fields.Client = msgRes.Client
	}
	if fields.Client == "" {
		if c := rt.Directory.ClientByEmail(doc.From.Email); c != nil {
			fields.Client = c.Code
		}
	}
	parsed := Parsed{
		MessageID: doc.MessageID, InReplyTo: doc.InReplyTo, References: doc.References,
		From: doc.From.Email, FromName: doc.From.Name, Subject: doc.Subject, Date: doc.Date,
		NewText: clip(doc.NewText, maxSavedText), Signature: clip(doc.Signature, 4<<10),
		Attachments: doc.Attachments, Warnings: doc.Warnings, Fields: fields,
		Forwarded: src != doc, Trace: trace,
	}
	for i := range parsed.Attachments {
		parsed.Attachments[i].Text = clip(parsed.Attachments[i].Text, 4<<10)
	}
	data, err := json.Marshal(parsed)
	if err != nil {
		// Something in the message cannot be represented: bad input.
		return false, finishFailed(ctx, tx, id, "unrepresentable message: "+err.Error())
	}
	return true, store.Advance(ctx, tx, id, store.StageParsed, map[string]any{
		"parsed": data, "client": fields.Client, "message_id": doc.MessageID, "rules_version": rt.RulesVersion,
	})
}

var ourNumber = regexp.MustCompile(`\bINT-(\d{1,12})\b`)

// Route recognizes follow-ups, matches the store, applies rules and assigns
// an engineer.
func (p *Processor) Route(ctx context.Context, tx pgx.Tx, id int64) (bool, error) {
	it, err := store.LockItem(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if it.Stage != store.StageParsed {
		return false, nil
	}
	rt := p.rt.Load()
	var pd Parsed
	if err := json.Unmarshal(it.Parsed, &pd); err != nil {
		return false, finishFailed(ctx, tx, id, "corrupt parse result: "+err.Error())
	}
	f := pd.Fields
	dec := Decision{Client: f.Client, ExternalID: f.ExternalID, Event: f.Event, Status: f.Status, Trace: pd.Trace}

	// A message that refers to a ticket we have is a follow-up on it.
	if t, via, err := findTicket(ctx, tx, pd); err != nil {
		return false, err
	} else if t != nil {
		dec.Kind, dec.Ticket, dec.Via = store.OutcomeFollowUp, t.ID, via
		dec.Client, dec.Object = t.Client, t.Object
		dec.Priority, dec.Due = f.Priority, f.Due
		dec.Rules = firedRules(dec.Trace)
		return true, store.Advance(ctx, tx, id, store.StageRouted, map[string]any{"decision": decisionJSON(dec), "rules_version": rt.RulesVersion})
	}
	// An earlier item it refers to that is not even routed yet (its event
	// was redelivered late, or it is being retried): come back after it.
	if other, err := earlierUnrouted(ctx, tx, id, pd); err != nil {
		return false, err
	} else if other != 0 && it.Attempts < maxDeferrals {
		return false, fmt.Errorf("item %d waits for item %d: %w", id, other, ErrDeferred)
	}
	// Or to an earlier item whose ticket is about to be created: stages
	// take their events in order, so the ticket stage creates that ticket
	// before it takes this item.
	if other, odec, err := earlierRouted(ctx, tx, id, pd); err != nil {
		return false, err
	} else if other != 0 {
		dec.Kind, dec.AwaitItem, dec.Via = store.OutcomeFollowUp, other, "pending_item"
		dec.Client, dec.Object = odec.Client, odec.Object
		dec.Priority, dec.Due = f.Priority, f.Due
		dec.Rules = firedRules(dec.Trace)
		return true, store.Advance(ctx, tx, id, store.StageRouted, map[string]any{"decision": decisionJSON(dec), "rules_version": rt.RulesVersion})
	}

	dir := rt.Directory
	codes := f.Codes
	if f.ObjectCode != "" {
		codes = append([]string{f.ObjectCode}, codes...)
	}
	m := dir.MatchObject(routing.Hints{
		Client: f.Client, Codes: codes, SenderEmail: pd.From, Phones: f.Phones,
		Address: f.Address, Text: pd.Subject + "\n" + pd.NewText, Signature: pd.Signature, ObjectName: f.ObjectName,
	})
	dec.Match = &m
	if dec.Client == "" && m.Client != "" {
		dec.Client = m.Client
	}
	env := rules.NewEnv(it.Source, nil, it.ReceivedAt, p.now())
	fillEnv(env, pd, f, dir, dec.Client, m.Object)
	res := evaluate(rt, rules.StageRoute, env)
	dec.Trace = append(dec.Trace, res.Trace...)
	if res.Ignore != "" {
		dec.Rules = firedRules(dec.Trace)
		return false, store.Finish(ctx, tx, id, store.OutcomeIgnored, res.Ignore, nil, decisionJSON(dec))
	}
	obj := m.Object
	if res.Object != "" {
		client := firstNonEmpty(res.Client, dec.Client)
		if o := dir.Object(client, res.Object); o != nil {
			obj = o
		}
	}
	if res.Client != "" {
		dec.Client = res.Client
	}
	if res.Unmatched != "" || obj == nil {
		reason := res.Unmatched
		if reason == "" {
			reason = firstNonEmpty(m.Reason, "store not identified")
		}
		dec.Rules = firedRules(dec.Trace)
		if err := setItemClient(ctx, tx, id, dec.Client); err != nil {
			return false, err
		}
		return false, store.Finish(ctx, tx, id, store.OutcomeUnmatched, reason, nil, decisionJSON(dec))
	}
	dec.Client, dec.Object = obj.Client, obj.Code
	dec.Category = firstNonEmpty(res.Category, f.Category)
	dec.Priority = firstNonEmpty(res.Priority, f.Priority)
	dec.Due = f.Due
	if res.Due != nil {
		dec.Due = res.Due
	}
	dec.Team, dec.Tags = res.Team, res.Tags
	if dec.Category != "" && dir.Category(dec.Category) == nil {
		dec.Category = "" // not one of ours: leave it to the dispatcher
	}

	// Assignment, with the rules' hooks.
	env.SetObject(*obj)
	env.Fields.Category, env.Fields.Priority = dec.Category, dec.Priority
	ares := evaluate(rt, rules.StageAssign, env)
	dec.Trace = append(dec.Trace, ares.Trace...)
	loads, err := store.OpenLoads(ctx, tx)
	if err != nil {
		return false, err
	}
	pol := routing.Policy{Mode: ares.AssignMode, OfferN: ares.OfferN, Exclude: ares.ExcludeEngineers, Prefer: ares.PreferEngineers, Engineer: ares.Engineer}
	if dec.Category != "" {
		a := dir.Assign(obj, dec.Category, loads, pol)
		dec.Assignment = &a
		dec.Engineer = a.Engineer
	}
	// SLA: a due time stated by the chain wins; else the category's hours
	// (or a rule's override) from receipt.
	if dec.Due != nil {
		d := *dec.Due
		dec.SLADue = &d
	} else if d := p.slaDue(dir, it.ReceivedAt, dec.Client, dec.Category, res.SLAHours, ares.SLAHours); !d.IsZero() {
		dec.SLADue = &d
	}
	dec.Kind = store.OutcomeTicket
	dec.Rules = firedRules(dec.Trace)
	return true, store.Advance(ctx, tx, id, store.StageRouted, map[string]any{"decision": decisionJSON(dec), "client": dec.Client, "rules_version": rt.RulesVersion})
}

// findTicket looks for the ticket a message refers to: the chain's number
// known for the client, a Message-ID it replies to, our number in the
// subject, or a ticket number quoted in the text.
func findTicket(ctx context.Context, tx pgx.Tx, pd Parsed) (*store.Ticket, string, error) {
	f := pd.Fields
	try := func(t *store.Ticket, err error) (*store.Ticket, error) {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return t, err
	}
	if f.ExternalID != "" && f.Client != "" {
		if t, err := try(store.TicketByExternal(ctx, tx, f.Client, f.ExternalID)); t != nil || err != nil {
			return t, "external_id", err
		}
	}
	var ids []string
	for i := len(pd.InReplyTo) - 1; i >= 0; i-- {
		ids = append(ids, pd.InReplyTo[i])
	}
	for i := len(pd.References) - 1; i >= 0; i-- {
		ids = append(ids, pd.References[i])
	}
	if t, err := try(store.TicketByMessageIDs(ctx, tx, ids)); t != nil || err != nil {
		return t, "thread", err
	}
	if m := ourNumber.FindStringSubmatch(pd.Subject); m != nil {
		if t, err := try(store.TicketByNumber(ctx, tx, "INT-"+m[1])); t != nil || err != nil {
			return t, "our_number", err
		}
	}
	if f.ExternalID == "" {
		for _, ref := range f.Refs {
			if t, err := try(store.TicketByExternal(ctx, tx, f.Client, ref)); t != nil || err != nil {
				return t, "quoted_number", err
			}
		}
	}
	return nil, "", nil
}

// ErrDeferred asks the pipeline to put the item's event back at the end of
// its topic: it refers to an earlier item that has not been routed yet. The
// handler never waits for it: a waiting handler would hold the bus up.
var ErrDeferred = errors.New("deferred until an earlier item it refers to is routed")

// maxDeferrals bounds how often an item is put back before it is routed on
// its own (the earlier item may be stuck or failing).
const maxDeferrals = 200

// earlierUnrouted finds an earlier item, not yet past parsing, that this item
// replies to or that carries the same order number.
func earlierUnrouted(ctx context.Context, tx pgx.Tx, id int64, pd Parsed) (int64, error) {
	refs := append(append([]string{}, pd.InReplyTo...), pd.References...)
	f := pd.Fields
	var other int64
	err := tx.QueryRow(ctx, `
		SELECT id FROM inbound_items
		WHERE id < $1 AND stage IN ('received', 'parsed') AND duplicate_of IS NULL
		  AND (message_id = ANY($2)
		       OR ($3 <> '' AND client = $4 AND parsed->'fields'->>'external_id' = $3)
		       OR ($3 = '' AND parsed->'fields'->>'external_id' = ANY($5) AND ($4 = '' OR client = $4)))
		ORDER BY id LIMIT 1`, id, refs, f.ExternalID, f.Client, f.Refs).Scan(&other)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return other, err
}

// earlierRouted finds an earlier item, routed to become a ticket but not yet
// one, that this item replies to or that carries the same order number.
func earlierRouted(ctx context.Context, tx pgx.Tx, id int64, pd Parsed) (int64, Decision, error) {
	refs := append(append([]string{}, pd.InReplyTo...), pd.References...)
	f := pd.Fields
	var other int64
	var raw []byte
	err := tx.QueryRow(ctx, `
		SELECT id, decision FROM inbound_items
		WHERE id < $1 AND stage = 'routed' AND duplicate_of IS NULL AND decision->>'kind' = 'ticket'
		  AND (message_id = ANY($2)
		       OR ($3 <> '' AND client = $4 AND parsed->'fields'->>'external_id' = $3)
		       OR ($3 = '' AND parsed->'fields'->>'external_id' = ANY($5) AND ($4 = '' OR client = $4)))
		ORDER BY id LIMIT 1`, id, refs, f.ExternalID, f.Client, f.Refs).Scan(&other, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, Decision{}, nil
	}
	if err != nil {
		return 0, Decision{}, err
	}
	var d Decision
	if err := json.Unmarshal(raw, &d); err != nil {
		return 0, Decision{}, err
	}
	return other, d, nil
}

// Ticket creates the ticket or applies the follow-up.
func (p *Processor) Ticket(ctx context.Context, tx pgx.Tx, id int64) (bool, error) {
	it, err := store.LockItem(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if it.Stage != store.StageRouted {
		return false, nil
	}
	var dec Decision
	if err := json.Unmarshal(it.Decision, &dec); err != nil {
		return false, finishFailed(ctx, tx, id, "corrupt routing decision: "+err.Error())
	}
	var problem string
	if it.Parsed != nil {
		var pd Parsed
		if json.Unmarshal(it.Parsed, &pd) == nil {
			problem = firstNonEmpty(pd.Fields.Problem, pd.Subject)
		}
	}
	itemID := id
	switch dec.Kind {
	case store.OutcomeTicket:
		nt := store.NewTicket{
			Client: dec.Client, Object: dec.Object, ExternalID: strPtr(dec.ExternalID),
			Category: strPtr(dec.Category), Priority: strPtr(dec.Priority), Due: dec.Due, SLADue: dec.SLADue,
			Team: dec.Team, Tags: dec.Tags, Problem: problem, Engineer: strPtr(dec.Engineer),
			Assignment: dec.Assignment, SourceItem: id, State: "new",
		}
		if dec.Engineer != "" {
			nt.State = "assigned"
		}
		tid, created, err := store.CreateTicket(ctx, tx, nt)
		if err != nil {
			return false, err
		}
		if err := store.AddTicketMessage(ctx, tx, tid, it.MessageID, id); err != nil {
			return false, err
		}
		if !created {
			// The same order by another route (a forward, a second desk):
			// one ticket, this is a follow-up on it.
			if err := store.AddEvent(ctx, tx, store.Event{TicketID: tid, Actor: "intake", Kind: "follow_up", Reason: "same order received again", ItemID: &itemID}); err != nil {
				return false, err
			}
			dec.Ticket = tid
			if err := p.runHooks(ctx, tx, tid, id, dec, false); err != nil {
				return false, err
			}
			return false, store.Finish(ctx, tx, id, store.OutcomeFollowUp, "same external number", &tid, nil)
		}
		data, _ := json.Marshal(map[string]any{"engineer": dec.Engineer, "category": dec.Category, "priority": dec.Priority})
		to := nt.State
		if err := store.AddEvent(ctx, tx, store.Event{TicketID: tid, Actor: "intake", Kind: "created", ToState: to, ItemID: &itemID, Data: data}); err != nil {
			return false, err
		}
		if err := p.runHooks(ctx, tx, tid, id, dec, true); err != nil {
			return false, err
		}
		return false, store.Finish(ctx, tx, id, store.OutcomeTicket, "", &tid, nil)
	case store.OutcomeFollowUp:
		if dec.AwaitItem != 0 && dec.Ticket == 0 {
			var stage string
			var tid *int64
			if err := tx.QueryRow(ctx, `SELECT stage, ticket_id FROM inbound_items WHERE id = $1`, dec.AwaitItem).Scan(&stage, &tid); err != nil {
				return false, err
			}
			switch {
			case tid != nil:
				dec.Ticket = *tid
			case stage == store.StageDone:
				return false, store.Finish(ctx, tx, id, store.OutcomeUnmatched,
					fmt.Sprintf("refers to item %d, which became no ticket", dec.AwaitItem), nil, decisionJSON(dec))
			default:
				return false, fmt.Errorf("item %d: the ticket of item %d it refers to is not created yet", id, dec.AwaitItem)
			}
		}
		t, err := store.TicketByID(ctx, tx, dec.Ticket)
		if err != nil {
			return false, err
		}
		// The chain closing or cancelling its order ends an open ticket; a
		// ticket already done or ended keeps its state (the lifecycle's
		// hook sees the event and settles the tasks).
		state := ""
		if t.State != "done" && t.State != "closed" && t.State != "cancelled" {
			switch dec.Event {
			case "cancelled":
				state = "cancelled"
			case "closed":
				state = "closed"
			}
		}
		if err := store.ApplyFollowUp(ctx, tx, t.ID, strPtr(dec.Priority), dec.Due, state); err != nil {
			return false, err
		}
		if err := store.AddTicketMessage(ctx, tx, t.ID, it.MessageID, id); err != nil {
			return false, err
		}
		data, _ := json.Marshal(map[string]any{"event": dec.Event, "status": dec.Status, "via": dec.Via, "priority": dec.Priority, "due": dec.Due})
		ev := store.Event{TicketID: t.ID, Actor: "intake", Kind: "follow_up", ItemID: &itemID, Data: data, Reason: dec.Status}
		if state != "" && state != t.State {
			ev.FromState, ev.ToState = t.State, state
		}
		if err := store.AddEvent(ctx, tx, ev); err != nil {
			return false, err
		}
		dec.Ticket = t.ID
		if err := p.runHooks(ctx, tx, t.ID, id, dec, false); err != nil {
			return false, err
		}
		tid := t.ID
		return false, store.Finish(ctx, tx, id, store.OutcomeFollowUp, dec.Via, &tid, nil)
	}
	return false, finishFailed(ctx, tx, id, fmt.Sprintf("unknown decision %q", dec.Kind))
}

func finishFailed(ctx context.Context, tx pgx.Tx, id int64, cause string) error {
	_, err := tx.Exec(ctx, `UPDATE inbound_items SET stage = 'done', outcome = 'failed', error = $2, attempts = attempts + 1, updated_at = now()
		WHERE id = $1 AND stage <> 'done'`, id, cause)
	return err
}

func setItemClient(ctx context.Context, tx pgx.Tx, id int64, client string) error {
	_, err := tx.Exec(ctx, `UPDATE inbound_items SET client = $2 WHERE id = $1`, id, client)
	return err
}

func decisionJSON(d Decision) []byte {
	b, _ := json.Marshal(d)
	return b
}

func firedRules(trace []rules.TraceEntry) []string {
	var out []string
	for _, t := range trace {
		if t.Matched && !slices.Contains(out, t.Rule) {
			out = append(out, t.Rule)
		}
	}
	return out
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// RunInline runs the stages for one item inside tx, one after another: the
// dry run of `intake try`, which rolls tx back afterwards.
func (p *Processor) RunInline(ctx context.Context, tx pgx.Tx, id int64) error {
	for _, stage := range []Stage{p.Parse, p.Route, p.Ticket} {
		next, err := stage(ctx, tx, id)
		if err != nil {
			return err
		}
		if !next {
			return nil
		}
	}
	return nil
}

// ErrNotUnmatched is returned by Resolve for an item that is not waiting
// for a dispatcher.
var ErrNotUnmatched = errors.New("item is not unmatched")

// Resolve turns an unmatched item into a ticket for the store a dispatcher
// chose: the store is assigned an engineer and the ticket created exactly as
// the route and ticket stages would, and the ticket's history records who
// decided.
func (p *Processor) Resolve(ctx context.Context, tx pgx.Tx, id int64, client, object, by string) (int64, error) {
	it, err := store.LockItem(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if it.Outcome == nil || *it.Outcome != store.OutcomeUnmatched {
		return 0, fmt.Errorf("item %d: %w", id, ErrNotUnmatched)
	}
	rt := p.rt.Load()
	obj := rt.Directory.Object(client, object)
	if obj == nil {
		return 0, fmt.Errorf("store %s/%s: %w", client, object, store.ErrNotFound)
	}
	var pd Parsed
	if len(it.Parsed) > 0 {
		if err := json.Unmarshal(it.Parsed, &pd); err != nil {
			return 0, err
		}
	}
	f := pd.Fields
	dec := Decision{Kind: store.OutcomeTicket, Client: obj.Client, Object: obj.Code, ExternalID: f.ExternalID,
		Category: f.Category, Priority: f.Priority, Due: f.Due, Via: "dispatcher " + by}
	if dec.Category != "" && rt.Directory.Category(dec.Category) == nil {
		dec.Category = ""
	}
	if dec.Category != "" {
		loads, err := store.OpenLoads(ctx, tx)
		if err != nil {
			return 0, err
		}
		a := rt.Directory.Assign(obj, dec.Category, loads, routing.Policy{})
		dec.Assignment, dec.Engineer = &a, a.Engineer
	}
	if dec.Due != nil {
		d := *dec.Due
		dec.SLADue = &d
	} else if d := p.slaDue(rt.Directory, it.ReceivedAt, dec.Client, dec.Category); !d.IsZero() {
		dec.SLADue = &d
	}
	if _, err := tx.Exec(ctx, `UPDATE inbound_items SET stage = 'routed', outcome = NULL, reason = '', client = $2, decision = $3, updated_at = now()
		WHERE id = $1`, id, obj.Client, decisionJSON(dec)); err != nil {
		return 0, err
	}
	if _, err := p.Ticket(ctx, tx, id); err != nil {
		return 0, err
	}
	var tid *int64
	if err := tx.QueryRow(ctx, `SELECT ticket_id FROM inbound_items WHERE id = $1`, id).Scan(&tid); err != nil {
		return 0, err
	}
	if tid == nil {
		return 0, fmt.Errorf("item %d: no ticket was created", id)
	}
	data, _ := json.Marshal(map[string]string{"client": obj.Client, "object": obj.Code})
	itemID := id
	return *tid, store.AddEvent(ctx, tx, store.Event{TicketID: *tid, Actor: by, Kind: "resolved", Reason: "store chosen by a dispatcher", ItemID: &itemID, Data: data})
}
