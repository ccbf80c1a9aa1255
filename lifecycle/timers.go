package lifecycle

import (
	"encoding/json"
	"fmt"
	"time"
)

// SLATimers are the timers of a new ticket with an SLA: at-risk when the
// share atRisk of the SLA time has passed since created, breach at the due
// time. None without an SLA.
func SLATimers(t *Ticket, atRisk float64) []Timer {
	if t.SLADue == nil {
		return nil
	}
	span := t.SLADue.Sub(t.CreatedAt)
	risk := t.CreatedAt.Add(time.Duration(float64(span) * atRisk))
	return []Timer{
		{Key: fmt.Sprintf("risk:%d", t.ID), Kind: TimerRisk, TicketID: t.ID, DueAt: risk},
		{Key: fmt.Sprintf("breach:%d", t.ID), Kind: TimerBreach, TicketID: t.ID, DueAt: *t.SLADue},
	}
}

type offerData struct {
	Round int `json:"round"`
}

// OfferTimer ends the current offer round of task k after timeout.
func OfferTimer(k *Task, now time.Time, timeout time.Duration) Timer {
	data, _ := json.Marshal(offerData{Round: k.OfferRound}) // an int always encodes
	id := k.ID
	return Timer{Key: fmt.Sprintf("offer:%d:%d", k.ID, k.OfferRound), Kind: TimerOffer, TicketID: k.TicketID, TaskID: &id,
		DueAt: now.Add(timeout), Data: data}
}

// WakeTimer returns postponed task k to work at until.
func WakeTimer(k *Task, until time.Time) Timer {
	id := k.ID
	return Timer{Key: fmt.Sprintf("wake:%d:%d", k.ID, until.UnixMicro()), Kind: TimerWake, TicketID: k.TicketID, TaskID: &id, DueAt: until}
}

// QCTimer creates the QC ticket of done ticket t after the client's delay;
// false when the client has none.
func (c Config) QCTimer(t *Ticket, now time.Time) (Timer, bool) {
	delay := c.QCDelayFor(t.Client)
	if delay <= 0 {
		return Timer{}, false
	}
	return Timer{Key: fmt.Sprintf("qc:%d", t.ID), Kind: TimerQC, TicketID: t.ID, DueAt: now.Add(delay)}, true
}

// Obsolete says why a due timer has nothing left to do, "" when it still
// has: the offer was accepted, the postponement ended otherwise, the ticket
// was done. k is the timer's task (offer and wake), t its ticket, and
// accepted whether any live task of t was accepted (risk).
func Obsolete(tm *Timer, t *Ticket, k *Task, accepted bool) string {
	switch tm.Kind {
	case TimerOffer:
		var d offerData
		_ = json.Unmarshal(tm.Data, &d) // no round never matches a task's
		if k.State != string(Offered) || k.OfferRound != d.Round {
			return "obsolete: task " + k.State
		}
	case TimerWake:
		if k.State != string(Postponed) || k.PostponedUntil == nil || !k.PostponedUntil.Equal(tm.DueAt) {
			return "obsolete: task " + k.State
		}
	case TimerRisk, TimerBreach:
		if !State(t.State).Open() {
			return "obsolete: ticket " + t.State
		}
		if tm.Kind == TimerRisk && accepted {
			return "obsolete: accepted"
		}
	case TimerQC:
		if t.State != string(Done) && t.State != string(Closed) {
			return "obsolete: ticket " + t.State
		}
	}
	return ""
}

// RetryAfter is how long a timer whose effect failed waits to fire again.
const RetryAfter = time.Minute
