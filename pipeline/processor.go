package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/fault"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// The types that flow between stages belong to package flow.
type (
	Runtime  = flow.Runtime
	Parsed   = flow.Parsed
	Decision = flow.Decision
)

// Processor decides what becomes of an item: it parses the raw bytes,
// applies the rules, routes, and creates the ticket or applies the
// follow-up. Parsing is pure and runs outside any transaction; the rest runs
// in the caller's.
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

// SourceParser is the parse step for a source other than mail (a call, a
// connector record). It runs inside the item's transaction. It either
// finishes the item itself (store.Finish) and returns nil, or returns the
// parse result, which routing then treats like a mail's.
type SourceParser func(ctx context.Context, tx pgx.Tx, it *store.Item, rt *flow.Runtime) (*flow.Parsed, error)

// TicketHook runs in the item's transaction after a ticket was created
// (created is its row as inserted, locked by the transaction) or a
// follow-up applied to it (created nil): the lifecycle creates tasks and
// timers there, connectors queue their status pushes. A hook that moves a
// created ticket to another state or engineer sets them in created too:
// later items of the same transaction read the ticket from it.
type TicketHook func(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec flow.Decision, created *store.Ticket) error

// NewProcessor returns a processor; own are our own addresses (never
// ingested), loc the zone for dates written without one and for the hours
// rules see, now the clock rules and SLAs read.
func NewProcessor(rt *Runtime, own []string, loc *time.Location, now func() time.Time) *Processor {
	p := &Processor{own: own, loc: loc, now: now}
	p.rt.Store(rt)
	return p
}

// HandleSource installs the parse step for a source.
func (p *Processor) HandleSource(source string, f SourceParser) {
	if p.sources == nil {
		p.sources = map[string]SourceParser{}
	}
	p.sources[source] = f
}

// OnTicket adds a hook.
func (p *Processor) OnTicket(h TicketHook) { p.onTicket = append(p.onTicket, h) }

// SetSLA installs business hours per client and SLA overrides by client and
// category; rules' sla_hours still win over both.
func (p *Processor) SetSLA(businessHours map[string]*routing.BusinessHours, overrides []routing.SLAOverride) {
	p.bizHours, p.slaOver = businessHours, overrides
}

// SetClock replaces the time rules see as now (a backtest gives each item
// the time it was first processed). Call it before the stages run.
func (p *Processor) SetClock(now func() time.Time) { p.now = now }

// local is t in the configured zone: rules read hours and weekdays in it.
func (p *Processor) local(t time.Time) time.Time {
	if p.loc == nil {
		return t
	}
	return t.In(p.loc)
}

// Runtime returns the snapshot in force.
func (p *Processor) Runtime() *Runtime { return p.rt.Load() }

// Swap installs a new snapshot.
func (p *Processor) Swap(rt *Runtime) { p.rt.Store(rt) }

// ErrDeferred says an item refers to an earlier item that has no outcome
// yet: it is put back for a moment, never waited for.
var ErrDeferred = errors.New("deferred until an earlier item it refers to is routed")

// maxDeferrals bounds how often an item is put back before it is routed on
// its own (the earlier item may be stuck or failing).
const maxDeferrals = 200

const maxSavedText = 16 << 10

// maxSavedLine bounds a one-line field saved from a message (subject,
// sender): the raw message keeps it whole, what is saved and shown is a
// line's worth (RFC 5322 allows 998 bytes a line).
const maxSavedLine = 998

// job is one item on its way through the stages.
type job struct {
	it  *store.Item
	rt  *Runtime
	env *rules.Env // what rules see: built from the whole document
	// parsed is the parse result; nil for a source that parses in the
	// transaction, or when parsing decided the outcome (result).
	parsed *flow.Parsed
	result *store.ItemResult
	// err is a parse step that failed (a panic, a timeout).
	err error
	// blockedBy is the oldest earlier item another replica holds without a
	// parse result yet (0: none).
	blockedBy int64
}

// parse runs the pure part of the stages for a mail: normalize, classify,
// the message rules, format selection and extraction. A panic is turned
// into a permanent error: the same bytes would panic again.
func (p *Processor) parse(it *store.Item, rt *Runtime) (j *job) {
	j = &job{it: it, rt: rt}
	defer func() {
		if r := recover(); r != nil {
			j.parsed, j.result = nil, nil
			j.err = fault.Permanent(fmt.Errorf("internal error while parsing: %v\n%s", r, clip(string(debug.Stack()), 2048)))
		}
	}()
	if it.Stage == flow.StageRouted || it.Source != flow.SourceMail {
		return j // decided already, or parsed inside the transaction
	}
	rv := rt.RulesVersion
	done := func(outcome, reason string, dec *Decision) *job {
		j.result = &store.ItemResult{Outcome: outcome, Reason: reason, RulesVersion: &rv}
		if dec != nil {
			j.result.Decision = mustJSON(dec)
		}
		return j
	}
	doc, err := parsers.Normalize(it.Raw)
	if err != nil {
		return done(flow.OutcomeFailed, "unreadable message: "+err.Error(), nil)
	}
	if reason, ok := parsers.Classify(doc, p.own); ok {
		return done(flow.OutcomeIgnored, reason, nil)
	}
	now, received := p.local(p.now()), p.local(it.ReceivedAt)
	env := rules.NewEnv(flow.SourceMail, doc, received, now)
	msgRes := evaluate(rt, rules.StageMessage, env)
	trace := msgRes.Trace
	if msgRes.Ignore != "" {
		return done(flow.OutcomeIgnored, msgRes.Ignore, &Decision{Trace: trace, Rules: firedRules(trace)})
	}
	if msgRes.Unmatched != "" {
		return done(flow.OutcomeUnmatched, msgRes.Unmatched, &Decision{Trace: trace, Rules: firedRules(trace)})
	}
	x := parsers.ExtractContext{Categories: rt.Categories, Now: received, Location: p.loc}
	format, ftrace := selectFormat(rt, msgRes.Format, env)
	trace = append(trace, ftrace...)
	src := doc
	if format == nil && doc.Forwarded != nil {
		// A store director forwarding a chain's notification: the inner
		// message is in the chain's format.
		fenv := rules.NewEnv(flow.SourceMail, doc.Forwarded, received, now)
		if f, ft := selectFormat(rt, "", fenv); f != nil {
			format, src = f, doc.Forwarded
			trace = append(trace, ft...)
		}
	}
	var fields parsers.Fields
	if format != nil {
		fields = format.Format.Extract(src, x)
		fields.Client = firstText(fields.Client, format.Client)
		fields.Format = firstText(fields.Format, format.Name)
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
	pd := &Parsed{
		MessageID: doc.MessageID, InReplyTo: doc.InReplyTo, References: doc.References,
		From: clip(doc.From.Email, maxSavedLine), FromName: clip(doc.From.Name, maxSavedLine), Subject: clip(doc.Subject, maxSavedLine), Date: doc.Date,
		NewText: clip(doc.NewText, maxSavedText), Signature: clip(doc.Signature, 4<<10),
		Attachments: doc.Attachments, Warnings: doc.Warnings, Fields: fields,
		Forwarded: src != doc, Trace: trace,
	}
	for i := range pd.Attachments {
		pd.Attachments[i].Text = clip(pd.Attachments[i].Text, 4<<10)
	}
	j.parsed, j.env = pd, env
	return j
}

// parseWithin runs parse with a time limit. Parsing cannot be interrupted:
// past the limit the attempt is abandoned (and counted), the goroutine left
// to finish on its own.
func (p *Processor) parseWithin(it *store.Item, rt *Runtime, limit time.Duration) *job {
	if limit <= 0 {
		return p.parse(it, rt)
	}
	ch := make(chan *job, 1)
	go func() { ch <- p.parse(it, rt) }()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case j := <-ch:
		return j
	case <-t.C:
		return &job{it: it, rt: rt, err: fmt.Errorf("parsing took longer than %v", limit)}
	}
}

// loads are engineers' open tickets: read once per transaction, when the
// first ticket needs them, and kept current as the transaction assigns.
type loads struct {
	open map[string]int // nil until read

	// The tickets of the order numbers the group's items name, read in
	// one query before the first item (see orders). A ticket the group
	// creates or changes is read again when asked for.
	orders  map[store.OrderKey]*store.Ticket // nil: not read
	asked   map[store.OrderKey]bool
	touched map[int64]bool
	made    map[store.OrderKey]bool
}

// readOrders reads, in one query, the tickets of the order numbers that
// jobs name with their client: most items look one up (a follow-up finds
// its ticket, a new order finds none).
func (ld *loads) readOrders(ctx context.Context, tx pgx.Tx, jobs []*job) error {
	var keys []store.OrderKey
	asked := map[store.OrderKey]bool{}
	for _, j := range jobs {
		if j.parsed == nil || j.result != nil || j.err != nil {
			continue
		}
		f := j.parsed.Fields
		if k := (store.OrderKey{Client: f.Client, ExternalID: f.ExternalID}); k.Client != "" && k.ExternalID != "" && !asked[k] {
			asked[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) < 2 {
		return nil // one look-up is no cheaper in advance
	}
	orders, err := store.TicketsByExternal(ctx, tx, keys)
	if err != nil {
		return err
	}
	ld.orders, ld.asked, ld.touched, ld.made = orders, asked, map[int64]bool{}, map[store.OrderKey]bool{}
	return nil
}

// order returns the ticket of an order number as read in advance; ok is
// false when it was not read, or the group has since created or changed
// it, and it must be read now.
func (ld *loads) order(k store.OrderKey) (t *store.Ticket, ok bool) {
	if ld == nil || ld.orders == nil || !ld.asked[k] || ld.made[k] {
		return nil, false
	}
	t = ld.orders[k]
	if t != nil && ld.touched[t.ID] {
		return nil, false
	}
	return t, true
}

// created notes the ticket row the group created for order k, as the
// ticket hooks left it: a later item of the group that follows it up needs
// not read it.
func (ld *loads) created(k store.OrderKey, row *store.Ticket) {
	if ld == nil || ld.orders == nil || k.ExternalID == "" {
		return
	}
	ld.orders[k], ld.asked[k] = row, true
	delete(ld.made, k)
	delete(ld.touched, row.ID)
}

// wrote notes that the group created or changed ticket t (of order k, when
// it has one): what was read in advance of it is stale.
func (ld *loads) wrote(id int64, k store.OrderKey) {
	if ld == nil || ld.orders == nil {
		return
	}
	ld.touched[id] = true
	if k.ExternalID != "" {
		ld.made[k] = true
	}
}

// complete runs the rest of the stages for j inside tx and records the
// item's outcome. It returns ErrDeferred (and writes nothing) when the item
// must wait for an earlier one.
func (p *Processor) complete(ctx context.Context, tx pgx.Tx, j *job, ld *loads, mayDefer bool) error {
	it, rt := j.it, j.rt
	if j.err != nil {
		return j.err
	}
	if j.result != nil {
		return store.Complete(ctx, tx, it.ID, *j.result)
	}
	if it.Stage == flow.StageRouted {
		// A dispatcher's decision (Resolve) or a decision saved by an
		// earlier version: only the ticket step is left.
		var dec Decision
		if err := json.Unmarshal(it.Decision, &dec); err != nil {
			return store.Complete(ctx, tx, it.ID, store.ItemResult{Outcome: flow.OutcomeFailed, Reason: "corrupt routing decision: " + err.Error()})
		}
		var pd Parsed
		if len(it.Parsed) > 0 {
			json.Unmarshal(it.Parsed, &pd) //nolint:errcheck // only the problem text is read
		}
		return p.ticket(ctx, tx, it, &pd, dec, nil, ld, nil)
	}
	pd, env := j.parsed, j.env
	if pd == nil {
		sp := p.sources[it.Source]
		if sp == nil {
			return store.Complete(ctx, tx, it.ID, store.ItemResult{Outcome: flow.OutcomeFailed, Reason: fmt.Sprintf("no parser for source %q", it.Source)})
		}
		var err error
		if pd, err = sp(ctx, tx, it, rt); err != nil || pd == nil {
			return err // nil, nil: the source finished the item itself
		}
		env = rules.NewEnv(it.Source, nil, p.local(it.ReceivedAt), p.local(p.now()))
		envFromParsed(env, pd)
	}
	return p.route(ctx, tx, it, rt, pd, env, ld, mayDefer, j.blockedBy)
}

var ourNumber = regexp.MustCompile(`\bINT-(\d{1,12})\b`)

// route recognizes follow-ups, matches the store, applies the route and
// assign rules, assigns an engineer and goes on to the ticket step.
func (p *Processor) route(ctx context.Context, tx pgx.Tx, it *store.Item, rt *Runtime, pd *Parsed, env *rules.Env, ld *loads, mayDefer bool, blockedBy int64) error {
	pdJSON := mustJSON(pd)
	r, err := p.decideRoute(ctx, tx, it, rt, pd, env, ld, mayDefer, blockedBy, 0)
	if err != nil {
		return err
	}
	if r.outcome != "" {
		dec, rv := r.dec, rt.RulesVersion
		dec.Rules = firedRules(dec.Trace)
		return store.Complete(ctx, tx, it.ID, store.ItemResult{Outcome: r.outcome, Reason: r.reason, Parsed: pdJSON,
			Decision: mustJSON(dec), Client: dec.Client, MessageID: pd.MessageID, RulesVersion: &rv})
	}
	return p.ticket(ctx, tx, it, pd, r.dec, pdJSON, ld, r.known)
}

// routed is what routing decided for an item, before anything is written:
// an outcome without a ticket (outcome set), or a ticket or follow-up
// decision (dec.Kind) for the ticket step; known is the ticket a follow-up
// was found on, when it was read.
type routed struct {
	dec             Decision
	outcome, reason string
	known           *store.Ticket
}

// decideRoute recognizes follow-ups, matches the store, applies the route
// and assign rules and assigns an engineer. It writes nothing. self, when
// not 0, is an item routed again (reprocessing): the ticket it created
// itself is not taken for an earlier ticket it follows up.
func (p *Processor) decideRoute(ctx context.Context, tx pgx.Tx, it *store.Item, rt *Runtime, pd *Parsed, env *rules.Env, ld *loads, mayDefer bool, blockedBy, self int64) (routed, error) {
	f := pd.Fields
	dec := Decision{Client: f.Client, ExternalID: f.ExternalID, Event: f.Event, Status: f.Status, Trace: slices.Clone(pd.Trace)}
	finish := func(outcome, reason string) (routed, error) {
		return routed{dec: dec, outcome: outcome, reason: reason}, nil
	}
	ref := store.OrderRef{MessageIDs: append(slices.Clone(pd.InReplyTo), pd.References...), ExternalID: f.ExternalID, Client: f.Client, Quoted: f.Refs}

	// A message that refers to a ticket we have is a follow-up on it.
	if t, via, err := findTicket(ctx, tx, pd, self, ld); err != nil {
		return routed{}, err
	} else if t != nil {
		dec.Kind, dec.Ticket, dec.Via = flow.OutcomeFollowUp, t.ID, via
		dec.Client, dec.Object = t.Client, t.Object
		dec.Priority, dec.Due = f.Priority, f.Due
		return routed{dec: dec, known: t}, nil
	}

	// An earlier item it refers to that has no outcome yet: one being
	// retried, or that another replica has, is waited for (the item comes
	// back in a moment); one routed to become a ticket (a dispatcher's
	// decision about to be applied) is joined.
	earlier, err := store.EarlierPending(ctx, tx, it.ID, ref)
	if err != nil {
		return routed{}, err
	}
	canDefer := mayDefer && it.Deferrals < maxDeferrals
	for _, e := range earlier {
		if e.Stage != flow.StageRouted && canDefer {
			return routed{}, fmt.Errorf("item %d waits for item %d: %w", it.ID, e.ID, ErrDeferred)
		}
	}
	if blocker := blockedBy; canDefer && blocker != 0 && blocker < it.ID && (len(ref.MessageIDs) > 0 || f.ExternalID != "" || len(f.Refs) > 0) {
		// What that item refers to is not known yet: it may be the order
		// this one follows up.
		return routed{}, fmt.Errorf("item %d waits for item %d, which another replica holds: %w", it.ID, blocker, ErrDeferred)
	}
	for _, e := range earlier {
		var odec Decision
		if e.Stage != flow.StageRouted || json.Unmarshal(e.Decision, &odec) != nil || odec.Kind != flow.OutcomeTicket {
			continue
		}
		dec.Kind, dec.AwaitItem, dec.Via = flow.OutcomeFollowUp, e.ID, "pending_item"
		dec.Client, dec.Object = odec.Client, odec.Object
		dec.Priority, dec.Due = f.Priority, f.Due
		return routed{dec: dec}, nil
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
	// A serial number binds the equipment and, through it, the store when
	// the message names none.
	eqObj, eqTrace := p.findEquipment(dir, pd, env, firstText(dec.Client, m.Client), &dec)
	if eqTrace != nil {
		dec.Trace = append(dec.Trace, *eqTrace)
	}
	if eqObj != nil && m.Object == nil {
		m.Object, m.Client, m.Method, m.Confidence = eqObj, eqObj.Client, "equipment", 1
		m.Reason = "serial number " + dec.Equipment.Serial
	}
	kindCategory(&f, &dec)
	dec.Match = &m
	dec.Client = firstText(dec.Client, m.Client)
	enrichEnv(env, f, dir, dec.Client, m.Object)
	res := evaluate(rt, rules.StageRoute, env)
	dec.Trace = append(dec.Trace, res.Trace...)
	if res.Ignore != "" {
		return finish(flow.OutcomeIgnored, res.Ignore)
	}
	obj := m.Object
	if res.Object != "" {
		if o := dir.Object(firstText(res.Client, dec.Client), res.Object); o != nil {
			obj = o
		}
	}
	dec.Client = firstText(res.Client, dec.Client)
	if res.Unmatched != "" || obj == nil {
		return finish(flow.OutcomeUnmatched, firstText(res.Unmatched, m.Reason, "store not identified")+serialNote(dec.Equipment))
	}
	env.SetObject(*obj)
	env.Fields.Category = knownCategory(dir, firstText(res.Category, f.Category))
	env.Fields.Priority = firstText(res.Priority, f.Priority)
	ares := evaluate(rt, rules.StageAssign, env)
	if err := p.ensureLoads(ctx, tx, ld); err != nil {
		return routed{}, err
	}
	nd := p.decideTicket(dir, obj, f, res, ares, ld, it.ReceivedAt)
	nd.Match, nd.Trace = dec.Match, append(dec.Trace, ares.Trace...)
	nd.Equipment, nd.EquipmentConflict = dec.Equipment, equipmentConflict(dec.Equipment, obj)
	return routed{dec: nd}, nil
}

// decideTicket decides a new ticket for the store obj: its category,
// priority and due from the message and the rules, the engineer by the
// assignment policy, and the SLA. Route and Resolve both decide with it; it
// reads nothing but its arguments.
func (p *Processor) decideTicket(dir *routing.Directory, obj *routing.Object, f parsers.Fields, res, ares stageResult, ld *loads, received time.Time) Decision {
	dec := Decision{Kind: flow.OutcomeTicket, Client: obj.Client, Object: obj.Code, ExternalID: f.ExternalID,
		Event: f.Event, Status: f.Status,
		Category: knownCategory(dir, firstText(res.Category, f.Category)), Priority: firstText(res.Priority, f.Priority),
		Due: f.Due, Team: res.Team, Tags: res.Tags}
	if res.Due != nil {
		dec.Due = res.Due
	}
	pol := routing.Policy{Mode: ares.AssignMode, OfferN: ares.OfferN, Exclude: ares.ExcludeEngineers, Prefer: ares.PreferEngineers, Engineer: ares.Engineer}
	if dec.Category != "" {
		a := dir.Assign(obj, dec.Category, ld.open, pol)
		dec.Assignment, dec.Engineer = &a, a.Engineer
	}
	// SLA: a due time stated by the chain wins; else a rule's hours, an
	// override or the category's hours, from receipt.
	if dec.Due != nil {
		d := *dec.Due
		dec.SLADue = &d
	} else if d := p.slaDue(dir, received, dec.Client, dec.Category, res.SLAHours, ares.SLAHours); !d.IsZero() {
		dec.SLADue = &d
	}
	return dec
}

func knownCategory(dir *routing.Directory, code string) string {
	if code != "" && dir.Category(code) == nil {
		return "" // not one of ours: left to the dispatcher
	}
	return code
}

func (p *Processor) ensureLoads(ctx context.Context, tx pgx.Tx, ld *loads) error {
	if ld.open != nil {
		return nil
	}
	m, err := store.OpenLoads(ctx, tx)
	if err != nil {
		return err
	}
	if m == nil {
		m = map[string]int{}
	}
	ld.open = m
	return nil
}

// slaDue is when a ticket must be done: a rule's hours, a configured
// override or the category's hours, counted in the client's business hours
// when it has them. Zero when unknown.
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

// ticket creates the ticket or applies the follow-up dec, runs the hooks
// and records the item's outcome.
//
// known is the ticket dec follows up when the caller has just read it in tx,
// else nil.
func (p *Processor) ticket(ctx context.Context, tx pgx.Tx, it *store.Item, pd *Parsed, dec Decision, pdJSON []byte, ld *loads, known *store.Ticket) error {
	id := it.ID
	itemID := id
	dec.Rules = firedRules(dec.Trace)
	problem := firstText(pd.Fields.Problem, pd.Subject)
	messageID := firstText(pd.MessageID, it.MessageID)
	finish := func(outcome, reason string, tid int64) error {
		return store.Complete(ctx, tx, id, store.ItemResult{Outcome: outcome, Reason: reason, TicketID: &tid,
			Parsed: pdJSON, Decision: mustJSON(dec), Client: dec.Client, MessageID: pd.MessageID, RulesVersion: rulesVersion(it, p.rt.Load())})
	}
	switch dec.Kind {
	case flow.OutcomeTicket:
		state := lifecycle.New
		if dec.Engineer != "" {
			state = lifecycle.Assigned
		}
		nt := store.NewTicket{
			Client: dec.Client, Object: dec.Object, ExternalID: strPtr(dec.ExternalID),
			Category: strPtr(dec.Category), Priority: strPtr(dec.Priority), Due: dec.Due, SLADue: dec.SLADue,
			Team: dec.Team, Tags: dec.Tags, Problem: store.SafeText(problem), Engineer: strPtr(dec.Engineer),
			Assignment: dec.Assignment, SourceItem: id, State: string(state),
		}
		row, created, err := store.CreateTicketRow(ctx, tx, nt)
		if err != nil {
			return err
		}
		tid := row.ID
		ld.wrote(tid, store.OrderKey{Client: row.Client, ExternalID: dec.ExternalID})
		if err := store.AddTicketMessage(ctx, tx, tid, messageID, id); err != nil {
			return err
		}
		dec.Ticket = tid
		if !created {
			// The same order by another route (a forward, a second desk):
			// one ticket, this is a follow-up on it.
			if err := store.AddEvent(ctx, tx, store.TicketEvent{TicketID: tid, At: p.now(), Actor: "intake", Kind: EventFollowUp, Reason: ReasonSameOrder, ItemID: &itemID}); err != nil {
				return err
			}
			if err := p.runHooks(ctx, tx, tid, id, dec, nil); err != nil {
				return err
			}
			dec.Kind = flow.OutcomeFollowUp
			return finish(flow.OutcomeFollowUp, "same external number", tid)
		}
		if dec.Engineer != "" && ld.open != nil {
			ld.open[dec.Engineer]++
		}
		if err := saveTicketEquipment(ctx, tx, tid, itemID, dec); err != nil {
			return err
		}
		data := mustJSON(map[string]any{"engineer": dec.Engineer, "category": dec.Category, "priority": dec.Priority})
		if err := store.AddEvent(ctx, tx, store.TicketEvent{TicketID: tid, At: p.now(), Actor: "intake", Kind: EventCreated, ToState: string(state), ItemID: &itemID, Data: data}); err != nil {
			return err
		}
		if err := p.runHooks(ctx, tx, tid, id, dec, row); err != nil {
			return err
		}
		ld.created(store.OrderKey{Client: row.Client, ExternalID: dec.ExternalID}, row)
		return finish(flow.OutcomeTicket, "", tid)
	case flow.OutcomeFollowUp:
		if dec.AwaitItem != 0 && dec.Ticket == 0 {
			stage, tid, err := store.ItemProgress(ctx, tx, dec.AwaitItem)
			if err != nil {
				return err
			}
			switch {
			case tid != nil:
				dec.Ticket = *tid
			case stage == flow.StageDone:
				return store.Complete(ctx, tx, id, store.ItemResult{Outcome: flow.OutcomeUnmatched,
					Reason: fmt.Sprintf("refers to item %d, which became no ticket", dec.AwaitItem),
					Parsed: pdJSON, Decision: mustJSON(dec), Client: dec.Client, MessageID: pd.MessageID})
			default:
				return fmt.Errorf("item %d: the ticket of item %d it refers to is not created yet: %w", id, dec.AwaitItem, ErrDeferred)
			}
		}
		t := known
		if t == nil || t.ID != dec.Ticket {
			var err error
			if t, err = store.TicketByID(ctx, tx, dec.Ticket); err != nil {
				return err
			}
		}
		// The chain closing or cancelling its order ends an open ticket; a
		// ticket already done or ended keeps its state (the lifecycle's
		// hook sees the event and settles the tasks).
		state := lifecycle.ChainEnds(t.State, dec.Event)
		ld.wrote(t.ID, store.OrderKey{})
		if err := store.ApplyFollowUp(ctx, tx, t.ID, strPtr(dec.Priority), dec.Due, state); err != nil {
			return err
		}
		if err := store.AddTicketMessage(ctx, tx, t.ID, messageID, id); err != nil {
			return err
		}
		data := mustJSON(map[string]any{"event": dec.Event, "status": dec.Status, "via": dec.Via, "priority": dec.Priority, "due": dec.Due})
		ev := store.TicketEvent{TicketID: t.ID, At: p.now(), Actor: "intake", Kind: EventFollowUp, ItemID: &itemID, Data: data, Reason: store.SafeText(dec.Status)}
		if state != "" && state != t.State {
			ev.FromState, ev.ToState = t.State, state
		}
		if err := store.AddEvent(ctx, tx, ev); err != nil {
			return err
		}
		dec.Ticket = t.ID
		if err := p.runHooks(ctx, tx, t.ID, id, dec, nil); err != nil {
			return err
		}
		return finish(flow.OutcomeFollowUp, dec.Via, t.ID)
	}
	return store.Complete(ctx, tx, id, store.ItemResult{Outcome: flow.OutcomeFailed, Reason: fmt.Sprintf("unknown decision %q", dec.Kind)})
}

func rulesVersion(it *store.Item, rt *Runtime) *int64 {
	if it.Stage == flow.StageRouted && it.RulesVersion != nil {
		return it.RulesVersion
	}
	v := rt.RulesVersion
	return &v
}

func (p *Processor) runHooks(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec Decision, created *store.Ticket) error {
	for _, h := range p.onTicket {
		if err := h(ctx, tx, ticketID, itemID, dec, created); err != nil {
			return err
		}
	}
	return nil
}

// findTicket looks for the ticket a message refers to: the chain's number
// known for the client, a Message-ID it replies to, our number in the
// subject, or a ticket number quoted in the text. A ticket whose source is
// the item self (not 0) does not count.
func findTicket(ctx context.Context, tx pgx.Tx, pd *Parsed, self int64, ld *loads) (*store.Ticket, string, error) {
	f := pd.Fields
	try := func(t *store.Ticket, err error) (*store.Ticket, error) {
		if errors.Is(err, store.ErrNotFound) || (err == nil && self != 0 && t.SourceItem == self) {
			return nil, nil // none, or the item's own ticket (reprocessing)
		}
		return t, err
	}
	if f.ExternalID != "" && f.Client != "" {
		known, ok := ld.order(store.OrderKey{Client: f.Client, ExternalID: f.ExternalID})
		var t *store.Ticket
		var err error
		switch {
		case ok && known != nil:
			t, err = try(known, nil)
		case !ok:
			t, err = try(store.TicketByExternal(ctx, tx, f.Client, f.ExternalID))
		}
		if t != nil || err != nil {
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
	if len(ids) > 0 {
		if t, err := try(store.TicketByMessageIDs(ctx, tx, ids)); t != nil || err != nil {
			return t, "thread", err
		}
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

// RunInline runs the stages for one item inside tx, without waiting for
// earlier items: the dry run of `intake try`, which rolls tx back
// afterwards, and of tests.
func (p *Processor) RunInline(ctx context.Context, tx pgx.Tx, id int64) error {
	return p.run(ctx, tx, id, false)
}

// RunInOrder is RunInline for an item that must not overtake an earlier one
// it refers to: while that one has no outcome it returns ErrDeferred.
func (p *Processor) RunInOrder(ctx context.Context, tx pgx.Tx, id int64) error {
	return p.run(ctx, tx, id, true)
}

func (p *Processor) run(ctx context.Context, tx pgx.Tx, id int64, mayDefer bool) error {
	it, err := store.LockItem(ctx, tx, id)
	if err != nil {
		return err
	}
	if it.Stage == flow.StageDone {
		return nil
	}
	j := p.parse(it, p.rt.Load())
	if j.err != nil {
		return store.Complete(ctx, tx, id, store.ItemResult{Outcome: flow.OutcomeFailed, Reason: j.err.Error()})
	}
	return p.complete(ctx, tx, j, &loads{}, mayDefer)
}

// ErrNotUnmatched is returned by Resolve for an item that is not waiting
// for a dispatcher.
var ErrNotUnmatched = errors.New("item is not unmatched")

// Resolve turns an unmatched item into a ticket for the store a dispatcher
// chose: the store is assigned an engineer and the ticket created exactly as
// routing would, and the ticket's history records who decided.
func (p *Processor) Resolve(ctx context.Context, tx pgx.Tx, id int64, client, object, by string) (int64, error) {
	it, err := store.LockItem(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if it.Outcome == nil || *it.Outcome != flow.OutcomeUnmatched {
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
	ld := &loads{}
	if err := p.ensureLoads(ctx, tx, ld); err != nil {
		return 0, err
	}
	dec := p.decideTicket(rt.Directory, obj, pd.Fields, stageResult{}, stageResult{}, ld, it.ReceivedAt)
	dec.Event, dec.Status = "", ""
	dec.Via = "dispatcher " + by
	if err := store.RouteItem(ctx, tx, id, obj.Client, mustJSON(dec)); err != nil {
		return 0, err
	}
	it.Stage = flow.StageRouted
	if err := p.ticket(ctx, tx, it, &pd, dec, nil, ld, nil); err != nil {
		return 0, err
	}
	_, tid, err := store.ItemProgress(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if tid == nil {
		return 0, fmt.Errorf("item %d: no ticket was created", id)
	}
	data := mustJSON(map[string]string{"client": obj.Client, "object": obj.Code})
	itemID := id
	return *tid, store.AddEvent(ctx, tx, store.TicketEvent{TicketID: *tid, At: p.now(), Actor: by, Kind: EventResolved, Reason: ReasonResolved, ItemID: &itemID, Data: data})
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// mustJSON encodes v, which is always one of our own types.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding %T: %v", v, err))
	}
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
