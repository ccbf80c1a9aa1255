package lifecycle

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// State is the state of a ticket or of an engineer task.
type State string

// States.
const (
	New              State = "new"
	AwaitingApproval State = "awaiting_approval"
	Assigned         State = "assigned"
	Offered          State = "offered"
	Accepted         State = "accepted"
	InProgress       State = "in_progress"
	Postponed        State = "postponed"
	Rejected         State = "rejected"
	Done             State = "done"
	Closed           State = "closed"
	Cancelled        State = "cancelled"
)

// States lists every state in the order of a ticket's life.
var States = []State{New, AwaitingApproval, Assigned, Offered, Accepted, InProgress, Postponed, Rejected, Done, Closed, Cancelled}

// Final reports whether nothing moves s any more.
func (s State) Final() bool { return s == Closed || s == Cancelled }

// Open reports whether work on s is still to be done (for load counts and
// SLA timers).
func (s State) Open() bool { return s != Done && !s.Final() }

// Action is what moves a state.
type Action string

// Actions.
const (
	ActRequestApproval Action = "request_approval" // the client approves work first
	ActApprove         Action = "approve"          // the last approver said yes
	ActDecline         Action = "decline"          // an approver said no: cancelled
	ActAssign          Action = "assign"           // one engineer gets the work
	ActOffer           Action = "offer"            // the top N engineers are offered it
	ActAccept          Action = "accept"
	ActReject          Action = "reject" // the engineer will not do it (or nobody took the offer)
	ActPostpone        Action = "postpone"
	ActResume          Action = "resume" // the postponement ended
	ActStart           Action = "start"
	ActComplete        Action = "complete"
	ActClose           Action = "close"
	ActCancel          Action = "cancel"
)

// Sentinel errors of Transition.
var (
	// ErrInvalidTransition: the action is not allowed in the current state.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrFinal: the state is closed or cancelled; nothing moves it.
	ErrFinal = errors.New("state is final")
	// ErrUnknownAction: not one of the Act* actions.
	ErrUnknownAction = errors.New("unknown action")
	// ErrReasonRequired: reject, postpone, decline and cancel need a reason.
	ErrReasonRequired = errors.New("a reason is required")
	// ErrUntilRequired: postpone needs an until-time after now.
	ErrUntilRequired = errors.New("postpone needs an until-time in the future")
)

// Status is a state and, when postponed, the state it returns to.
type Status struct {
	State  State `json:"state"`
	Resume State `json:"resume,omitempty"`
}

// Move is one request to change a state.
type Move struct {
	Action Action
	Reason string
	Until  time.Time // postpone
	At     time.Time // when the move happens; checked against Until
}

// rule lists the states an action may start from and where it goes. To ""
// means "computed" (postpone and resume).
type rule struct {
	from []State
	to   State
}

var rules = map[Action]rule{
	ActRequestApproval: {[]State{New, Assigned, Offered}, AwaitingApproval},
	ActApprove:         {[]State{AwaitingApproval}, New},
	ActDecline:         {[]State{AwaitingApproval}, Cancelled},
	ActAssign:          {[]State{New, Rejected}, Assigned},
	ActOffer:           {[]State{New, Rejected}, Offered},
	ActAccept:          {[]State{Assigned, Offered}, Accepted},
	ActReject:          {[]State{Assigned, Offered, Accepted}, Rejected},
	ActPostpone:        {[]State{Assigned, Accepted, InProgress}, ""},
	ActResume:          {[]State{Postponed}, ""},
	ActStart:           {[]State{Accepted}, InProgress},
	ActComplete:        {[]State{InProgress}, Done},
	ActClose:           {[]State{Done}, Closed},
	ActCancel:          {[]State{New, AwaitingApproval, Assigned, Offered, Accepted, InProgress, Postponed, Rejected}, Cancelled},
}

// needsReason are the actions a person must explain.
var needsReason = []Action{ActReject, ActPostpone, ActDecline, ActCancel}

// Transition is the one function that decides a move of a ticket or a task.
// It returns the new status or a wrapped sentinel error; cur is never
// modified.
func Transition(cur Status, m Move) (Status, error) {
	r, ok := rules[m.Action]
	if !ok {
		return cur, fmt.Errorf("%w %q", ErrUnknownAction, m.Action)
	}
	if cur.State.Final() {
		return cur, fmt.Errorf("%s from %s: %w", m.Action, cur.State, ErrFinal)
	}
	if !slices.Contains(r.from, cur.State) {
		return cur, fmt.Errorf("%s from %s: %w", m.Action, cur.State, ErrInvalidTransition)
	}
	if slices.Contains(needsReason, m.Action) && strings.TrimSpace(m.Reason) == "" {
		return cur, fmt.Errorf("%s: %w", m.Action, ErrReasonRequired)
	}
	switch m.Action {
	case ActPostpone:
		if m.Until.IsZero() || !m.Until.After(m.At) {
			return cur, fmt.Errorf("%s: %w", m.Action, ErrUntilRequired)
		}
		return Status{State: Postponed, Resume: cur.State}, nil
	case ActResume:
		if cur.Resume == "" || cur.Resume == Postponed {
			return cur, fmt.Errorf("resume: postponed with no state to return to: %w", ErrInvalidTransition)
		}
		return Status{State: cur.Resume}, nil
	}
	return Status{State: r.to}, nil
}

// Allowed lists the actions Transition accepts from s (reasons and times
// aside), for the API's "what can I do" answer.
func Allowed(s Status) []Action {
	if s.State.Final() {
		return nil
	}
	var out []Action
	for _, a := range []Action{ActRequestApproval, ActApprove, ActDecline, ActAssign, ActOffer, ActAccept, ActReject,
		ActPostpone, ActResume, ActStart, ActComplete, ActClose, ActCancel} {
		if slices.Contains(rules[a].from, s.State) {
			out = append(out, a)
		}
	}
	return out
}

// rank orders the states a ticket can take from its tasks.
var rank = map[State]int{Offered: 1, Assigned: 2, Accepted: 3}

// TicketState is the state of a ticket whose tasks are in the given states;
// current is the ticket's state now. See the package doc for the rule.
func TicketState(current State, tasks []State) State {
	if current.Final() || current == AwaitingApproval {
		return current
	}
	var live []State
	rejected := false
	for _, s := range tasks {
		switch s {
		case Rejected:
			rejected = true
		case Cancelled:
		default:
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		if rejected {
			return Rejected
		}
		return current
	}
	done, working, postponed := 0, false, 0
	for _, s := range live {
		switch s {
		case Done:
			done++
			working = true
		case InProgress:
			working = true
		case Postponed:
			postponed++
		}
	}
	switch {
	case done == len(live):
		return Done
	case working:
		return InProgress
	case postponed == len(live)-done:
		return Postponed
	}
	best := State("")
	for _, s := range live {
		if r, ok := rank[s]; ok && (best == "" || r < rank[best]) {
			best = s
		}
	}
	if best == "" {
		return current
	}
	return best
}

// Errors about who acts.
var (
	// ErrTaken: another engineer accepted the offer first.
	ErrTaken = errors.New("another engineer accepted first")
	// ErrNotAssignee: the task is neither assigned nor offered to this
	// engineer, or the approval is asked of someone else.
	ErrNotAssignee = errors.New("not assigned to this person")
	// ErrWorkDoneRequired: completing needs a description of the work done.
	ErrWorkDoneRequired = errors.New("completing needs the work done")
)

// ErrAttachmentLimit: a file is too large, or the task holds too many.
var ErrAttachmentLimit = errors.New("attachment limit reached")

// ErrApprovalClosed: the approval was decided already or is not asked yet.
var ErrApprovalClosed = errors.New("approval is not waiting for this decision")

// ChainEnds is the state a ticket in state moves to when its chain reports
// event on the order: "cancelled" or "closed" end an open ticket; any other
// event, or a ticket already done or ended, changes nothing (""). The
// lifecycle's hook sees the event and settles the tasks.
func ChainEnds(state, event string) string {
	if !State(state).Open() {
		return ""
	}
	switch event {
	case "cancelled":
		return string(Cancelled)
	case "closed":
		return string(Closed)
	}
	return ""
}
