package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/store"
)

// Reprocessing runs stored mail again under the rule set and reference data
// in force, and brings what it became in line with what it would become now:
//
//   - an item that now becomes a ticket and had none (unmatched, ignored,
//     failed) gets its ticket, or is applied as a follow-up to the ticket of
//     the same order when there is one;
//   - an item that created a ticket has that ticket's order fields corrected
//     (client, store, the chain's number, category; priority and due only
//     where the ticket has none, since later follow-ups set them);
//   - an item that created a ticket of its own but is now recognised as an
//     update of another ticket's order is applied to that ticket as a
//     follow-up, and its own ticket is merged into it: its Message-IDs and
//     items move over, it is cancelled (when still open) and both tickets'
//     histories name the other. It is never deleted;
//   - an item whose ticket the rules would no longer make, or would attach
//     elsewhere than the ticket it is on, is kept as it is and listed for a
//     person to look at: reprocessing never takes a ticket away.
//
// Each change is written to the ticket's history as a "reprocessed" event
// naming who ran it and what changed. Running it twice changes nothing the
// second time: an item whose outcome, ticket and extracted fields are what
// the stages give now is not written.

// Reprocessing actions, one per item.
const (
	ReprocessUnchanged = "unchanged" // nothing differs: nothing written
	ReprocessReparsed  = "reparsed"  // only the extracted fields differ: the item's parse saved
	ReprocessOutcome   = "outcome"   // a different outcome without a ticket (e.g. unmatched -> ignored)
	ReprocessUpdated   = "updated"   // the item's own ticket corrected
	ReprocessCreated   = "created"   // a new ticket
	ReprocessLinked    = "linked"    // applied to an existing ticket as a follow-up
	ReprocessMerged    = "merged"    // its own ticket merged into the order's ticket
	ReprocessKept      = "kept"      // the rules disagree with the ticket it has: left for a person
	ReprocessError     = "error"     // could not be applied; nothing of it written
)

// ReprocessActions lists the actions in report order.
var ReprocessActions = []string{ReprocessCreated, ReprocessLinked, ReprocessMerged, ReprocessUpdated, ReprocessOutcome,
	ReprocessReparsed, ReprocessKept, ReprocessError, ReprocessUnchanged}

// Snapshot is what an item is as reprocessing shows it.
type Snapshot struct {
	Outcome    string     `json:"outcome"`
	Client     string     `json:"client,omitempty"`
	Object     string     `json:"object,omitempty"`
	ExternalID string     `json:"external_id,omitempty"`
	Category   string     `json:"category,omitempty"`
	Priority   string     `json:"priority,omitempty"`
	Due        *time.Time `json:"due,omitempty"`
	// Ticket is the ticket's number; NewTicket marks a ticket a preview
	// would create (it has no number yet).
	Ticket    string `json:"ticket,omitempty"`
	NewTicket bool   `json:"new_ticket,omitempty"`
	// CategoryName is the category's name in the reference data, for
	// display; not compared.
	CategoryName string `json:"category_name,omitempty"`
}

// SnapshotFields are the fields of a Snapshot compared, in report order.
var SnapshotFields = []string{"outcome", "client", "object", "external_id", "category", "priority", "due", "ticket"}

func snapshotOf(o *Outcome) Snapshot {
	s := Snapshot{Outcome: o.Kind, Due: o.Due}
	get := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	s.Client, s.Object, s.ExternalID = get(o.Client), get(o.Object), get(o.ExternalID)
	s.Category, s.Priority, s.Ticket = get(o.Category), get(o.Priority), get(o.Ticket)
	return s
}

// Diff lists the fields of SnapshotFields in which s and t differ.
func (s Snapshot) Diff(t Snapshot) []string {
	var out []string
	for _, f := range SnapshotFields {
		if s.field(f) != t.field(f) || (f == "ticket" && s.NewTicket != t.NewTicket) {
			out = append(out, f)
		}
	}
	return out
}

func (s Snapshot) field(name string) string {
	switch name {
	case "outcome":
		return s.Outcome
	case "client":
		return s.Client
	case "object":
		return s.Object
	case "external_id":
		return s.ExternalID
	case "category":
		return s.Category
	case "priority":
		return s.Priority
	case "due":
		if s.Due == nil {
			return ""
		}
		return s.Due.UTC().Format(time.RFC3339)
	case "ticket":
		return s.Ticket
	}
	return ""
}

// ReprocessItem is one item of a run: what it was, what it is (or, in a
// preview, would be) and what was done.
type ReprocessItem struct {
	ItemID     int64     `json:"item_id"`
	ReceivedAt time.Time `json:"received_at"`
	From       string    `json:"from"`
	Subject    string    `json:"subject"`
	Was        Snapshot  `json:"was"`
	Now        Snapshot  `json:"now"`
	Action     string    `json:"action"`
	Changed    []string  `json:"changed,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// ReprocessReport is a run: the items in the order they were run, and the
// count of each action.
type ReprocessReport struct {
	DryRun bool             `json:"dry_run"`
	By     string           `json:"by"`
	Items  []ReprocessItem  `json:"items"`
	Counts map[string]int   `json:"counts"`
	Fields map[string]int   `json:"fields"` // items changed, by field of SnapshotFields
	Filter ReprocessRequest `json:"filter"`
}

// ReprocessRequest says which items to run again: the filter, and who runs
// it.
type ReprocessRequest = store.ReprocessFilter

// Changed is the number of items whose snapshot changed.
func (r *ReprocessReport) Changed() int {
	n := 0
	for _, it := range r.Items {
		if len(it.Changed) > 0 {
			n++
		}
	}
	return n
}

// Truncated reports whether the run took as many items as its limit
// allowed: there may be more.
func (r *ReprocessReport) Truncated() bool {
	return r.Filter.Limit > 0 && len(r.Items) >= r.Filter.Limit
}

// DecideReprocess decides what reprocessing does with an item. wasTicket is
// the ticket the item is on (0: none) and own whether the item created it;
// nowKind is what the stages decide now (ticket, follow_up, or an outcome
// without a ticket) and nowTicket, for a follow-up, the ticket it follows.
// For "updated" and "unchanged" the caller still compares the fields.
func DecideReprocess(wasTicket int64, own bool, nowKind string, nowTicket int64) string {
	had := wasTicket != 0
	switch nowKind {
	case flow.OutcomeTicket:
		switch {
		case !had:
			return ReprocessCreated
		case own:
			return ReprocessUpdated
		}
		return ReprocessKept
	case flow.OutcomeFollowUp:
		switch {
		case nowTicket == 0:
			return ReprocessKept // an order still being processed: run again later
		case !had:
			return ReprocessLinked
		case wasTicket == nowTicket:
			return ReprocessUnchanged
		case own:
			return ReprocessMerged
		}
		return ReprocessKept
	}
	if had {
		return ReprocessKept
	}
	return ReprocessOutcome
}

// Reprocess runs the items req chooses again, in the order they arrived.
// With dryRun everything runs inside one transaction that is rolled back (a
// ticket it would create gets a negative id, so no ticket number is taken,
// and no hook runs): the preview. Otherwise each item is applied in its own
// transaction, under a lock that one replica holds at a time, with the item
// locked, so that two runs at once apply each change once. by is recorded
// in the tickets' histories.
func (p *Processor) Reprocess(ctx context.Context, st *store.Store, req ReprocessRequest, by string, dryRun bool) (*ReprocessReport, error) {
	rep := &ReprocessReport{DryRun: dryRun, By: by, Counts: map[string]int{}, Fields: map[string]int{}, Filter: req}
	ids, err := store.ReprocessCandidates(ctx, st.Pool, req)
	if err != nil {
		return nil, fmt.Errorf("choosing items: %w", err)
	}
	rt := p.rt.Load()
	ld := &loads{}
	add := func(ri ReprocessItem) {
		ri.Changed = ri.Was.Diff(ri.Now)
		rep.Items = append(rep.Items, ri)
		rep.Counts[ri.Action]++
		for _, f := range ri.Changed {
			rep.Fields[f]++
		}
	}
	if dryRun {
		tx, err := st.Pool.Begin(ctx)
		if err != nil {
			return nil, err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a preview writes nothing
		rs := &reprocessRun{by: by, dry: true, rt: rt, ld: ld}
		for _, id := range ids {
			sp, err := tx.Begin(ctx) // a savepoint: an item that fails leaves the others
			if err != nil {
				return nil, err
			}
			ri, err := p.reprocessOne(ctx, sp, id, rs)
			if err != nil {
				if rerr := sp.Rollback(ctx); rerr != nil {
					return nil, rerr
				}
				ri.Action, ri.Note, ri.Now = ReprocessError, err.Error(), ri.Was
			} else if err := sp.Commit(ctx); err != nil {
				return nil, err
			}
			add(ri)
		}
		return rep, nil
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var ri ReprocessItem
		err := st.InTx(ctx, func(tx pgx.Tx) error {
			if err := store.LockReprocessing(ctx, tx); err != nil {
				return err
			}
			var err error
			ri, err = p.reprocessOne(ctx, tx, id, &reprocessRun{by: by, rt: rt, ld: ld})
			return err
		})
		if err != nil {
			ld.open = nil // the loads read in the failed transaction may be off
			ri.Action, ri.Note, ri.Now = ReprocessError, err.Error(), ri.Was
		}
		add(ri)
	}
	return rep, nil
}

// reprocessRun is the state of one run.
type reprocessRun struct {
	by      string
	dry     bool
	rt      *Runtime
	ld      *loads
	preview int64 // the last preview ticket id given (negative)
}

// reprocessOne runs one item again inside tx and applies the difference.
func (p *Processor) reprocessOne(ctx context.Context, tx pgx.Tx, id int64, rs *reprocessRun) (ReprocessItem, error) {
	ri := ReprocessItem{ItemID: id}
	it, err := store.LockItem(ctx, tx, id)
	if err != nil {
		return ri, err
	}
	ri.ReceivedAt = it.ReceivedAt
	before, err := ReadOutcome(ctx, tx, id)
	if err != nil {
		return ri, err
	}
	ri.Was = snapshotOf(before)
	ri.Now = ri.Was
	if pd := before.Parsed; pd != nil {
		ri.From, ri.Subject = pd.From, clip(pd.Subject, 300)
	}
	if it.Stage != flow.StageDone || it.Source != flow.SourceMail {
		ri.Action, ri.Note = ReprocessUnchanged, "not a finished mail item"
		return ri, nil
	}
	var wasTicket int64
	var own *store.Ticket
	if it.TicketID != nil {
		wasTicket = *it.TicketID
		t, err := store.LockTicket(ctx, tx, wasTicket)
		if err != nil {
			return ri, err
		}
		if t.SourceItem == id {
			own = t
		}
	}

	// The stages as they would run now, writing nothing.
	rv := rs.rt.RulesVersion
	fresh := *it
	fresh.Stage = flow.StageReceived
	j := p.parse(&fresh, rs.rt)
	var r routed
	var pd *Parsed
	switch {
	case j.err != nil:
		r = routed{outcome: flow.OutcomeFailed, reason: j.err.Error()}
	case j.result != nil:
		r = routed{outcome: j.result.Outcome, reason: j.result.Reason}
		if len(j.result.Decision) > 0 {
			json.Unmarshal(j.result.Decision, &r.dec) //nolint:errcheck // our own encoding
		}
	default:
		pd = j.parsed
		if r, err = p.decideRoute(ctx, tx, &fresh, rs.rt, pd, j.env, rs.ld, false, 0, id); err != nil {
			return ri, err
		}
	}
	nowKind := r.outcome
	if nowKind == "" {
		nowKind = r.dec.Kind
	}
	r.dec.Rules = firedRules(r.dec.Trace)
	var pdJSON []byte
	if pd != nil {
		pdJSON = mustJSON(pd)
	}
	reparsed := pd != nil && fieldsDiffer(it.Parsed, pd)
	saveItem := func(outcome, reason string, ticket *int64) error {
		return store.Reprocessed(ctx, tx, id, store.ItemResult{Outcome: outcome, Reason: reason, TicketID: ticket,
			Parsed: pdJSON, Decision: mustJSON(r.dec), Client: r.dec.Client, RulesVersion: &rv})
	}
	action := DecideReprocess(wasTicket, own != nil, nowKind, r.dec.Ticket)
	switch action {
	case ReprocessKept:
		ri.Note = keptNote(nowKind, r)
		return ri, nil
	case ReprocessOutcome:
		if before.Kind == r.outcome && it.Reason == r.reason {
			action = ReprocessUnchanged
			if reparsed {
				action = ReprocessReparsed
			}
		}
		if action != ReprocessUnchanged {
			if err := saveItem(r.outcome, r.reason, nil); err != nil {
				return ri, err
			}
		}
	case ReprocessUnchanged:
		if reparsed {
			action = ReprocessReparsed
			if err := saveItem(*it.Outcome, it.Reason, it.TicketID); err != nil {
				return ri, err
			}
		}
	case ReprocessUpdated:
		// A store a dispatcher chose stays chosen.
		byDispatcher := before.Decision != nil && strings.HasPrefix(before.Decision.Via, "dispatcher ")
		changes := ticketCorrections(own, r.dec, byDispatcher)
		if len(changes) == 0 {
			action = ReprocessUnchanged
			if reparsed {
				action = ReprocessReparsed
				if err := saveItem(*it.Outcome, it.Reason, it.TicketID); err != nil {
					return ri, err
				}
			}
			break
		}
		if err := p.correctTicket(ctx, tx, own, r.dec, changes, rs); err != nil {
			return ri, err
		}
		if err := saveItem(flow.OutcomeTicket, it.Reason, &own.ID); err != nil {
			return ri, err
		}
	case ReprocessCreated:
		tid, outcome, err := p.reprocessTicket(ctx, tx, it, pd, &r.dec, rs)
		if err != nil {
			return ri, err
		}
		if outcome == flow.OutcomeFollowUp {
			action = ReprocessLinked
		}
		if err := saveItem(outcome, r.dec.Via, &tid); err != nil {
			return ri, err
		}
	case ReprocessLinked, ReprocessMerged:
		if action == ReprocessMerged {
			if err := p.mergeTicket(ctx, tx, own, r.dec.Ticket, id, rs); err != nil {
				return ri, err
			}
		}
		if err := p.reprocessFollowUp(ctx, tx, it, pd, &r.dec, rs); err != nil {
			return ri, err
		}
		if err := saveItem(flow.OutcomeFollowUp, r.dec.Via, &r.dec.Ticket); err != nil {
			return ri, err
		}
	}
	ri.Action = action
	after, err := ReadOutcome(ctx, tx, id)
	if err != nil {
		return ri, err
	}
	ri.Now = snapshotOf(after)
	for _, sn := range []*Snapshot{&ri.Was, &ri.Now} {
		if c := rs.rt.Directory.Category(sn.Category); sn.Category != "" && c != nil {
			sn.CategoryName = c.Name
		}
	}
	if rs.dry && strings.HasPrefix(ri.Now.Ticket, "INT--") {
		ri.Now.Ticket, ri.Now.NewTicket = "", true // a preview's ticket: no number taken
	}
	return ri, nil
}

func keptNote(nowKind string, r routed) string {
	switch nowKind {
	case flow.OutcomeTicket:
		return "правила сделали бы из письма новую заявку, но оно уже приложено к другой: оставлено как есть"
	case flow.OutcomeFollowUp:
		if r.dec.Ticket == 0 {
			return "письмо относится к письму, которое ещё обрабатывается: повторите позже"
		}
		return "правила относят письмо к другой заявке: оставлено как есть, решите вручную"
	}
	return "правила больше не делают из письма заявку (" + r.reason + "): заявка оставлена"
}

// fieldsDiffer reports whether the fields extracted now differ from the ones
// saved on the item.
func fieldsDiffer(saved []byte, pd *Parsed) bool {
	var old struct {
		Fields any `json:"fields"`
	}
	if len(saved) == 0 || json.Unmarshal(saved, &old) != nil {
		return true
	}
	var now struct {
		Fields any `json:"fields"`
	}
	if json.Unmarshal(mustJSON(pd), &now) != nil {
		return true
	}
	return !reflect.DeepEqual(old.Fields, now.Fields)
}

// ticketChange is one corrected field: its value before and after.
type ticketChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// ticketCorrections are the order fields of t that dec, what the stages
// decide now for t's source item, corrects. A field dec leaves empty keeps
// the ticket's value; priority and due are only filled in, since the
// chain's later updates set them; with keepStore (a dispatcher chose the
// store) client and store are kept.
func ticketCorrections(t *store.Ticket, dec Decision, keepStore bool) []ticketChange {
	var out []ticketChange
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	set := func(field, was, now string, fillOnly bool) {
		if now == "" || now == was || (fillOnly && was != "") {
			return
		}
		out = append(out, ticketChange{field, was, now})
	}
	if !keepStore && dec.Object != "" && (dec.Client != t.Client || dec.Object != t.Object) {
		set("client", t.Client, dec.Client, false)
		set("object", t.Object, dec.Object, false)
	}
	set("external_id", deref(t.ExternalID), dec.ExternalID, false)
	set("category", deref(t.Category), dec.Category, false)
	set("priority", deref(t.Priority), dec.Priority, true)
	if dec.Due != nil && t.Due == nil {
		out = append(out, ticketChange{"due", "", dec.Due.UTC().Format(time.RFC3339)})
	}
	return out
}

// correctTicket writes the corrections to t and its history.
func (p *Processor) correctTicket(ctx context.Context, tx pgx.Tx, t *store.Ticket, dec Decision, changes []ticketChange, rs *reprocessRun) error {
	f := store.TicketFields{Client: t.Client, Object: t.Object, ExternalID: t.ExternalID, Category: t.Category, Priority: t.Priority, Due: t.Due}
	for _, c := range changes {
		switch c.Field {
		case "client":
			f.Client = dec.Client
		case "object":
			f.Object = dec.Object
		case "external_id":
			f.ExternalID = strPtr(dec.ExternalID)
		case "category":
			f.Category = strPtr(dec.Category)
		case "priority":
			f.Priority = strPtr(dec.Priority)
		case "due":
			f.Due, f.SLADue = dec.Due, dec.Due
		}
	}
	if f.SLADue == nil && t.SLADue == nil && dec.SLADue != nil {
		f.SLADue = dec.SLADue
	}
	if err := store.UpdateTicketFields(ctx, tx, t.ID, f); err != nil {
		return fmt.Errorf("ticket %s: %w", t.Number, err)
	}
	return reprocessedEvent(ctx, tx, t.ID, t.SourceItem, rs.by, "поля заявки исправлены повторной обработкой", changes)
}

// reprocessedEvent records in a ticket's history who reprocessed which
// item and what changed. The item is named in the data, not in item_id,
// which allows one event of a kind per item: a later run may change the
// ticket again.
func reprocessedEvent(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, by, reason string, changes []ticketChange) error {
	if changes == nil {
		changes = []ticketChange{}
	}
	data := mustJSON(map[string]any{"item": itemID, "changes": changes})
	return store.AddEvent(ctx, tx, store.TicketEvent{TicketID: ticketID, Actor: by, Kind: EventReprocessed, Reason: reason, Data: data})
}

// reprocessTicket creates the ticket dec decides for an item that had none,
// as the ticket stage does; in a preview under a negative id and without
// hooks. When the chain's number is already a ticket's, the item is applied
// to it as a follow-up instead. It returns the ticket and the outcome.
func (p *Processor) reprocessTicket(ctx context.Context, tx pgx.Tx, it *store.Item, pd *Parsed, dec *Decision, rs *reprocessRun) (int64, string, error) {
	state := lifecycle.New
	if dec.Engineer != "" {
		state = lifecycle.Assigned
	}
	nt := store.NewTicket{
		Client: dec.Client, Object: dec.Object, ExternalID: strPtr(dec.ExternalID),
		Category: strPtr(dec.Category), Priority: strPtr(dec.Priority), Due: dec.Due, SLADue: dec.SLADue,
		Team: dec.Team, Tags: dec.Tags, Problem: store.SafeText(firstText(pd.Fields.Problem, pd.Subject)), Engineer: strPtr(dec.Engineer),
		Assignment: dec.Assignment, SourceItem: it.ID, State: string(state),
	}
	var tid int64
	var created bool
	var (
		err error
		row *store.Ticket
	)
	if rs.dry {
		rs.preview--
		tid, created, err = store.CreatePreviewTicket(ctx, tx, rs.preview, nt)
	} else if row, created, err = store.CreateTicketRow(ctx, tx, nt); err == nil {
		tid = row.ID
	}
	if err != nil {
		return 0, "", err
	}
	if !created {
		dec.Kind, dec.Ticket, dec.Via = flow.OutcomeFollowUp, tid, "external_id"
		return tid, flow.OutcomeFollowUp, p.reprocessFollowUp(ctx, tx, it, pd, dec, rs)
	}
	dec.Ticket = tid
	if err := store.AddTicketMessage(ctx, tx, tid, firstText(pd.MessageID, it.MessageID), it.ID); err != nil {
		return 0, "", err
	}
	itemID := it.ID
	data := mustJSON(map[string]any{"engineer": dec.Engineer, "category": dec.Category, "priority": dec.Priority})
	if err := store.AddEvent(ctx, tx, store.TicketEvent{TicketID: tid, Actor: "intake", Kind: "created", ToState: string(state), ItemID: &itemID, Data: data}); err != nil {
		return 0, "", err
	}
	if err := reprocessedEvent(ctx, tx, tid, it.ID, rs.by, "заявка создана повторной обработкой письма", nil); err != nil {
		return 0, "", err
	}
	if !rs.dry {
		if err := p.runHooks(ctx, tx, tid, it.ID, *dec, row); err != nil {
			return 0, "", err
		}
	}
	return tid, flow.OutcomeTicket, nil
}

// reprocessFollowUp applies an item to the ticket dec.Ticket as the ticket
// stage applies a follow-up, and records who reprocessed it.
func (p *Processor) reprocessFollowUp(ctx context.Context, tx pgx.Tx, it *store.Item, pd *Parsed, dec *Decision, rs *reprocessRun) error {
	t, err := store.LockTicket(ctx, tx, dec.Ticket)
	if err != nil {
		return err
	}
	state := lifecycle.ChainEnds(t.State, dec.Event)
	if err := store.ApplyFollowUp(ctx, tx, t.ID, strPtr(dec.Priority), dec.Due, state); err != nil {
		return err
	}
	if err := store.AddTicketMessage(ctx, tx, t.ID, firstText(pd.MessageID, it.MessageID), it.ID); err != nil {
		return err
	}
	itemID := it.ID
	data := mustJSON(map[string]any{"event": dec.Event, "status": dec.Status, "via": dec.Via, "priority": dec.Priority, "due": dec.Due})
	ev := store.TicketEvent{TicketID: t.ID, Actor: "intake", Kind: "follow_up", ItemID: &itemID, Data: data, Reason: store.SafeText(dec.Status)}
	if state != "" && state != t.State {
		ev.FromState, ev.ToState = t.State, state
	}
	if err := store.AddEvent(ctx, tx, ev); err != nil {
		return err
	}
	changes := []ticketChange{{Field: "item", To: fmt.Sprint(it.ID)}}
	if err := reprocessedEvent(ctx, tx, t.ID, it.ID, rs.by, "письмо приложено к заявке повторной обработкой", changes); err != nil {
		return err
	}
	if rs.dry {
		return nil
	}
	return p.runHooks(ctx, tx, t.ID, it.ID, *dec, nil)
}

// mergeTicket merges the ticket own, created by item before the order's
// ticket was recognised, into the ticket into: what pointed at own points at
// into, own is cancelled when still open (the lifecycle's hook settles its
// tasks as for a chain's cancellation), and both histories name the other.
func (p *Processor) mergeTicket(ctx context.Context, tx pgx.Tx, own *store.Ticket, into, item int64, rs *reprocessRun) error {
	target, err := store.LockTicket(ctx, tx, into)
	if err != nil {
		return err
	}
	if err := store.MoveTicketLinks(ctx, tx, own.ID, into); err != nil {
		return err
	}
	ev := store.TicketEvent{TicketID: own.ID, Actor: rs.by, Kind: EventMerged,
		Reason: "объединена с заявкой " + target.Number + " повторной обработкой: письмо оказалось обновлением её заказа",
		Data:   mustJSON(map[string]any{"into": target.Number, "into_id": target.ID, "item": item})}
	cancel := lifecycle.State(own.State).Open()
	if cancel {
		ev.FromState, ev.ToState = own.State, string(lifecycle.Cancelled)
		if err := store.SetTicketState(ctx, tx, own.ID, string(lifecycle.Cancelled)); err != nil {
			return err
		}
	}
	if err := store.AddEvent(ctx, tx, ev); err != nil {
		return err
	}
	if err := store.AddEvent(ctx, tx, store.TicketEvent{TicketID: into, Actor: rs.by, Kind: EventMerged,
		Reason: "к заявке присоединена заявка " + own.Number + " повторной обработкой",
		Data:   mustJSON(map[string]any{"from": own.Number, "from_id": own.ID, "item": item})}); err != nil {
		return err
	}
	if !cancel || rs.dry {
		return nil
	}
	return p.runHooks(ctx, tx, own.ID, item, Decision{Kind: flow.OutcomeFollowUp, Ticket: own.ID, Client: own.Client, Object: own.Object, Event: "cancelled"}, nil)
}

// SortReprocessActions orders counts for a report.
func SortReprocessActions(counts map[string]int) []string {
	var out []string
	for _, a := range ReprocessActions {
		if counts[a] > 0 {
			out = append(out, a)
		}
	}
	for a := range counts {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
