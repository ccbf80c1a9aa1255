package lifecycle

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Task modes: one engineer is given the work, or several are offered it.
// They are routing's modes by the same names.
const (
	ModeDirect = "direct"
	ModeOffer  = "offer"
)

// Assignment is routing's decision for a ticket, as the lifecycle acts on
// it.
type Assignment struct {
	Engineer string   // direct mode: who gets the work; "" when nobody
	Offer    []string // offer mode: the first round, best first
	Ranked   []string // every eligible engineer, best first: later rounds come from here
	Reason   string
	// Considered explains the ranking to a dispatcher: every engineer
	// looked at, eligible ones first.
	Considered []Candidate
}

// Reroute is how routing is asked again for a ticket: in Mode, with OfferN
// engineers an offer, without Exclude, given the engineers' open Loads.
type Reroute struct {
	Mode    string
	OfferN  int
	Exclude []string
	Loads   map[string]int
}

// Router runs routing again for ticket t. When it cannot (no directory, an
// unknown store, no category) the assignment names nobody and says why.
type Router func(t *Ticket, r Reroute) Assignment

// Remaining are the engineers of all not in taken, in order.
func Remaining(all, taken []string) []string {
	out := []string{}
	for _, c := range all {
		if !slices.Contains(taken, c) {
			out = append(out, c)
		}
	}
	return out
}

// NextRound splits the candidates left for task k: the next n to offer the
// work to, and the rest. No next engineers means the offer has run out.
func NextRound(k *Task, n int) (next, rest []string) {
	n = min(n, len(k.Candidates))
	return k.Candidates[:n], slices.Clone(k.Candidates[n:])
}

// CheckAccept decides whether engineer may accept task k. In offer mode
// offer is his offer's state ("" when he has none): the first accept wins,
// and a later one learns whether someone else took the work ([ErrTaken]) or
// his own offer has ended. In direct mode only the assignee may accept.
func CheckAccept(k *Task, engineer, offer string) error {
	if k.Mode != ModeOffer {
		if k.EngineerCode() != engineer {
			return fmt.Errorf("task %d: %w", k.ID, ErrNotAssignee)
		}
		return nil
	}
	if offer == "" {
		return fmt.Errorf("task %d: %w", k.ID, ErrNotAssignee)
	}
	if k.State == string(Offered) && offer == OfferPending {
		return nil
	}
	switch k.EngineerCode() {
	case engineer:
		return fmt.Errorf("task %d is %s: %w", k.ID, k.State, ErrInvalidTransition)
	case "":
		return fmt.Errorf("task %d: your offer is %s: %w", k.ID, offer, ErrInvalidTransition)
	}
	return fmt.Errorf("task %d: %w", k.ID, ErrTaken)
}

// NobodyAccepted is the reason of a task whose offer ran out.
func NobodyAccepted(why string) string { return fmt.Sprintf(ReasonNobodyAccepted, why) }

// RedispatchMode is the mode to dispatch a ticket again in: that of its
// last task (lastMode, "" when it has none), else offer when routing's
// first decision (assignment, as JSON) was an offer, else direct.
func RedispatchMode(lastMode string, assignment []byte) string {
	if lastMode != "" {
		return lastMode
	}
	var prev struct{ Offer []string } // routing's Assignment, as the pipeline stored it
	if len(assignment) > 0 && json.Unmarshal(assignment, &prev) == nil && len(prev.Offer) > 0 {
		return ModeOffer
	}
	return ModeDirect
}
