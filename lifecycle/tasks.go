package lifecycle

import (
	"fmt"
	"slices"
	"time"
)

// MoveTask applies move m to task k at now: the new state, and the time
// stamp or until-time the move sets. It returns the state k left; k is
// changed only when the move is allowed.
func MoveTask(k *Task, m Move, now time.Time) (State, error) {
	m.At = now
	from := k.Status()
	to, err := Transition(from, m)
	if err != nil {
		return "", fmt.Errorf("task %d: %w", k.ID, err)
	}
	k.State, k.ResumeState = string(to.State), string(to.Resume)
	switch m.Action {
	case ActAccept:
		k.AcceptedAt = &now
	case ActStart:
		k.StartedAt = &now
	case ActComplete:
		k.DoneAt = &now
	case ActPostpone:
		u := m.Until
		k.PostponedUntil = &u
	case ActResume:
		k.PostponedUntil = nil
	}
	if m.Reason != "" {
		k.Reason = m.Reason
	}
	return from.State, nil
}

// TaskData is the data of a task's history row: the task, its engineer and,
// for a postponement, the until-time, added to extra.
func TaskData(k *Task, m Move, extra map[string]any) map[string]any {
	if extra == nil {
		extra = map[string]any{}
	}
	extra["task"] = k.ID
	if e := k.EngineerCode(); e != "" {
		extra["engineer"] = e
	}
	if m.Action == ActPostpone {
		extra["until"] = m.Until
	}
	return extra
}

// Follow is where a ticket goes from its tasks: the state [TicketState]
// gives, and the engineer who holds it (the first live task's).
func Follow(current State, tasks []Task) (State, *string) {
	states := make([]State, len(tasks))
	var holder *string
	for i, k := range tasks {
		states[i] = State(k.State)
		if holder == nil && k.Engineer != nil && k.State != string(Rejected) && k.State != string(Cancelled) {
			holder = k.Engineer
		}
	}
	return TicketState(current, states), holder
}

// SameEngineer reports whether a and b name the same engineer (or both
// nobody).
func SameEngineer(a, b *string) bool {
	return slices.Equal(engineerList(a), engineerList(b))
}

func engineerList(p *string) []string {
	if p == nil {
		return nil
	}
	return []string{*p}
}

// ClockRuns reports whether time in state is counted: a ticket's clock
// stops when it is closed or cancelled, a task's also when it is done or
// rejected (the ticket's runs on).
func ClockRuns(state State, task bool) bool {
	switch state {
	case Closed, Cancelled:
		return false
	case Done, Rejected:
		return !task
	}
	return true
}

// Ends reports whether a task in state s is over, for the work a cancelled
// ticket ends.
func (s State) Ends() bool { return s == Done || s == Rejected || s == Cancelled }

// EngineerActions are the actions an engineer may take on task k; offer is
// his offer's state in offer mode.
func EngineerActions(k *Task, offer string) []string {
	out := []string{}
	for _, a := range Allowed(k.Status()) {
		switch a {
		case ActAccept, ActReject, ActPostpone, ActStart, ActComplete:
			if k.State == string(Offered) && offer != OfferPending {
				continue
			}
			out = append(out, string(a))
		}
	}
	return out
}

// CanAttach says whether files may be added to task k of a ticket in
// state ticket, with n files of total bytes stored, and a new one of size
// bytes: the work must have been taken and the ticket not final, within
// the limits of c.
func (c Config) CanAttach(k *Task, ticket *Ticket, n int, total, size int64) error {
	switch State(k.State) {
	case Accepted, InProgress, Postponed, Done:
	default:
		return fmt.Errorf("task %d is %s: %w", k.ID, k.State, ErrInvalidTransition)
	}
	if State(ticket.State).Final() {
		return fmt.Errorf("ticket %s is %s: %w", ticket.Number, ticket.State, ErrFinal)
	}
	if n >= c.MaxAttachments {
		return fmt.Errorf("task %d has %d files already: %w", k.ID, n, ErrAttachmentLimit)
	}
	if total+size > c.MaxTaskBytes {
		return fmt.Errorf("task %d would hold more than %d bytes: %w", k.ID, c.MaxTaskBytes, ErrAttachmentLimit)
	}
	return nil
}

// CheckFileSize refuses one file larger than the limit of c.
func (c Config) CheckFileSize(name string, size int64) error {
	if size > c.MaxAttachmentBytes {
		return fmt.Errorf("%s is %d bytes, more than %d: %w", name, size, c.MaxAttachmentBytes, ErrAttachmentLimit)
	}
	return nil
}

// MaxUpload is the largest request body an upload may send: the task's
// byte limit plus room for the form.
func (c Config) MaxUpload() int64 { return c.MaxTaskBytes + 1<<20 }
