package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/store"
)

// serialSources are the places of an item where a serial number may be, in
// the order they are searched: a serial field, the subject, the text, the
// tables, the text of the attachments (XML, JSON, CSV, text).
func serialSources(pd *Parsed, env *rules.Env) []routing.SerialSource {
	var out []routing.SerialSource
	if pd.Fields.Serial != "" {
		out = append(out, routing.SerialSource{Name: "field", Text: pd.Fields.Serial, Field: true})
	}
	out = append(out, routing.SerialSource{Name: "subject", Text: pd.Subject})
	text := pd.NewText
	if env != nil && env.Text != "" {
		text = env.Text
	}
	if pd.Fields.Problem != "" && !strings.Contains(text, pd.Fields.Problem) {
		text = pd.Fields.Problem + "\n" + text
	}
	out = append(out, routing.SerialSource{Name: "text", Text: text})
	if env != nil {
		for _, t := range env.Tables {
			var b strings.Builder
			for _, row := range t {
				b.WriteString(strings.Join(row, " : "))
				b.WriteByte('\n')
			}
			out = append(out, routing.SerialSource{Name: "table", Text: b.String()})
		}
	}
	for _, a := range pd.Attachments {
		if a.Text != "" {
			out = append(out, routing.SerialSource{Name: "attachment:" + a.Name, Text: a.Text})
		}
	}
	return out
}

// findEquipment looks for the equipment an item names; a found serial
// binds the equipment's client and, when the message names no store, its
// store. It returns the store the equipment is at (nil when none was
// found) and the trace entry of the search.
func (p *Processor) findEquipment(dir *routing.Directory, pd *Parsed, env *rules.Env, client string, dec *Decision) (*routing.Object, *rules.TraceEntry) {
	em := dir.FindEquipment(client, serialSources(pd, env))
	if em.Equipment == nil && em.Serial == "" && len(em.Unknown) == 0 {
		return nil, nil
	}
	dec.Equipment = &em
	te := &rules.TraceEntry{Rule: "equipment", Stage: "route"}
	if e := em.Equipment; e != nil {
		te.Matched = true
		te.Applied = []string{"serial=" + e.Serial, "source=" + em.Source, "how=" + em.How, "object=" + e.Client + "/" + e.Object, "kind=" + e.Kind}
		env.SetEquipment(em, e.UnderWarranty(p.now(), p.loc))
		return dir.Object(e.Client, e.Object), te
	}
	if len(em.Ambiguous) > 0 {
		te.Applied = append(te.Applied, fmt.Sprintf("serial=%s registered for clients %s", em.Serial, strings.Join(em.Ambiguous, ",")))
	}
	for _, u := range em.Unknown {
		te.Applied = append(te.Applied, "unknown_serial="+u)
	}
	return nil, te
}

// equipmentConflict is the reason shown to the dispatcher when the store
// of the ticket is not the one the equipment is registered at.
func equipmentConflict(em *routing.EquipmentMatch, obj *routing.Object) string {
	if em == nil || em.Equipment == nil || obj == nil {
		return ""
	}
	e := em.Equipment
	if e.Client == obj.Client && routing.CodeKey(e.Object) == routing.CodeKey(obj.Code) {
		return ""
	}
	return fmt.Sprintf("Серийный номер %s (%s) числится на объекте %s/%s, а заявка — об объекте %s/%s: проверьте объект или оборудование",
		e.Serial, firstText(e.Model, e.Kind), e.Client, e.Object, obj.Client, obj.Code)
}

// kindCategory is the category a request about equipment gets when the
// message names none.
func kindCategory(f *parsers.Fields, dec *Decision) {
	if f.Category == "" && dec.Equipment != nil && dec.Equipment.Equipment != nil {
		f.Category = dec.Equipment.Equipment.Kind
	}
}

// saveTicketEquipment records the equipment of a new ticket and, when it is
// registered at another store, the dispatcher's reason as a ticket event.
func saveTicketEquipment(ctx context.Context, tx pgx.Tx, tid, itemID int64, dec Decision) error {
	em := dec.Equipment
	if em == nil || em.Equipment == nil {
		return nil
	}
	e := em.Equipment
	if err := store.SetTicketEquipment(ctx, tx, store.TicketEquipment{TicketID: tid, Client: e.Client, Serial: e.Serial,
		Source: em.Source, Conflict: dec.EquipmentConflict}); err != nil {
		return err
	}
	if dec.EquipmentConflict == "" {
		return nil
	}
	return store.AddEvent(ctx, tx, store.TicketEvent{TicketID: tid, Actor: "intake", Kind: "equipment_conflict",
		Reason: dec.EquipmentConflict, ItemID: &itemID})
}

// serialNote tells the dispatcher of an unmatched item about serials that
// bound no equipment.
func serialNote(em *routing.EquipmentMatch) string {
	switch {
	case em == nil || em.Equipment != nil:
		return ""
	case len(em.Ambiguous) > 0:
		return fmt.Sprintf("; serial %s is registered for clients %s", em.Serial, strings.Join(em.Ambiguous, ", "))
	case len(em.Unknown) > 0:
		return "; serial " + strings.Join(em.Unknown, ", ") + " is not registered"
	}
	return ""
}
