package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// What a dispatcher does to a ticket from its page: give the work to an
// engineer (first time or again), offer it to several, add a task for a
// second engineer, comment. Cancel and Close are in service.go.

// Dispatcher reasons and event kinds recorded here.
const (
	// ReasonChosenBy is the reason of an engineer a dispatcher chose.
	ReasonChosenBy = "chosen by %s"
	// KindComment is a dispatcher's note in a ticket's history.
	KindComment = "comment"
)

// ErrEngineerBusy: the engineer already holds live work on the ticket.
var ErrEngineerBusy = errors.New("the engineer already has a task on this ticket")

// Candidate is one engineer routing looked at, as a dispatcher sees him:
// eligible ones ranked first, then the others with why they were left out.
type Candidate struct {
	Code       string
	Fixed      bool    // the store's fixed engineer
	DistanceKm float64 // -1 when unknown
	Load       int
	Rating     float64
	Eligible   bool
	Rejected   string // routing's reason when not eligible
	Rank       int    // 1 = best; 0 when not eligible
}

// CanReassign decides whether a dispatcher may give the work of a ticket in
// state to an engineer: not while it waits for approval, is done or is
// final. Taking the work from the current engineer needs a reason, and so
// does an engineer routing did not find eligible (ranked are the eligible
// ones); live are the engineers who hold live tasks.
func CanReassign(state State, live []string, engineer string, ranked []string, reason string) error {
	switch state {
	case AwaitingApproval, Done:
		return fmt.Errorf("assign from %s: %w", state, ErrInvalidTransition)
	}
	if state.Final() {
		return fmt.Errorf("assign from %s: %w", state, ErrFinal)
	}
	if strings.TrimSpace(engineer) == "" {
		return fmt.Errorf("assign: no engineer: %w", ErrInvalidTransition)
	}
	noReason := strings.TrimSpace(reason) == ""
	if noReason && len(live) > 0 {
		return fmt.Errorf("taking the work from %s: %w", strings.Join(live, ", "), ErrReasonRequired)
	}
	if noReason && !slices.Contains(ranked, engineer) {
		return fmt.Errorf("%s is not among the eligible engineers: %w", engineer, ErrReasonRequired)
	}
	return nil
}

// CanAddTask decides whether a second (third...) engineer may be given a
// task on a ticket in state whose live tasks are held by live: the work must
// have been given out already and not be done, and he may not hold one yet.
func CanAddTask(state State, live []string, engineer string) error {
	switch state {
	case New, AwaitingApproval, Rejected, Done:
		return fmt.Errorf("add task from %s: %w", state, ErrInvalidTransition)
	}
	if state.Final() {
		return fmt.Errorf("add task from %s: %w", state, ErrFinal)
	}
	if strings.TrimSpace(engineer) == "" {
		return fmt.Errorf("add task: no engineer: %w", ErrInvalidTransition)
	}
	if slices.Contains(live, engineer) {
		return fmt.Errorf("%s: %w", engineer, ErrEngineerBusy)
	}
	return nil
}

// liveEngineers are the engineers of the tasks that are not over (with an
// offer's engineer once accepted).
func liveEngineers(tasks []Task) []string {
	var out []string
	for _, k := range tasks {
		if !State(k.State).Ends() && k.Engineer != nil {
			out = append(out, *k.Engineer)
		}
	}
	return out
}

// Candidates runs routing for the ticket as a re-dispatch would (without
// the engineers who rejected it), for a dispatcher choosing by hand.
func (s *Service) Candidates(ctx context.Context, ticketID int64) (Assignment, error) {
	var a Assignment
	err := s.st.InLifecycleTx(ctx, func(tx Tx) error {
		t, err := tx.LockTicket(ctx, ticketID)
		if err != nil {
			return err
		}
		r, err := s.reassign(ctx, tx, t)
		if err != nil {
			return err
		}
		a = *r
		return nil
	})
	return a, err
}

// Assign gives the work of a ticket to one engineer a dispatcher chose: a
// new or rejected ticket's first task, or, for a ticket already given out,
// its live tasks are cancelled (offers withdrawn, engineers told) and the
// engineer gets a new one. See CanReassign for when a reason is needed.
func (s *Service) Assign(ctx context.Context, ticketID int64, actor, engineer, reason string) error {
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		t, tasks, ranked, err := s.prepareReassign(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		if err := CanReassign(State(t.State), liveEngineers(tasks), engineer, ranked, reason); err != nil {
			return err
		}
		if err := s.takeBack(ctx, tx, t, tasks, actor, reason); err != nil {
			return err
		}
		why := fmt.Sprintf(ReasonChosenBy, actor)
		eng := engineer
		k := &Task{TicketID: t.ID, Engineer: &eng, Mode: ModeDirect}
		ev, err := s.createTask(ctx, tx, t, k, ActAssign, actor, map[string]any{"reason": why, "note": strings.TrimSpace(reason)})
		if err != nil {
			return err
		}
		return s.notifyEngineer(ctx, tx, t, k, eng, "assigned", ev)
	})
}

// Offer offers the work of a ticket to engineers a dispatcher chose (the
// first round), the rest of routing's ranking after them; a ticket given
// out already is taken back first as Assign does.
func (s *Service) Offer(ctx context.Context, ticketID int64, actor string, engineers []string, reason string) error {
	if len(engineers) == 0 {
		return fmt.Errorf("offer: nobody chosen: %w", ErrInvalidTransition)
	}
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		t, tasks, ranked, err := s.prepareReassign(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		for _, e := range engineers {
			if err := CanReassign(State(t.State), liveEngineers(tasks), e, ranked, reason); err != nil {
				return err
			}
		}
		if err := s.takeBack(ctx, tx, t, tasks, actor, reason); err != nil {
			return err
		}
		k := &Task{TicketID: t.ID, Mode: ModeOffer, Candidates: Remaining(ranked, engineers), OfferRound: 1}
		ev, err := s.createTask(ctx, tx, t, k, ActOffer, actor,
			map[string]any{"offer": engineers, "reason": fmt.Sprintf(ReasonChosenBy, actor), "note": strings.TrimSpace(reason)})
		if err != nil {
			return err
		}
		return s.offerTo(ctx, tx, t, k, engineers, ev)
	})
}

// AddTask gives a further engineer his own task on a ticket whose work is
// under way (a second pair of hands, another trade). The ticket follows
// all its tasks: it is done when every live task is.
func (s *Service) AddTask(ctx context.Context, ticketID int64, actor, engineer, note string) error {
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		t, err := tx.LockTicket(ctx, ticketID)
		if err != nil {
			return err
		}
		tasks, err := tx.Tasks(ctx, t.ID)
		if err != nil {
			return err
		}
		if err := CanAddTask(State(t.State), liveEngineers(tasks), engineer); err != nil {
			return fmt.Errorf("ticket %s: %w", t.Number, err)
		}
		eng := engineer
		k := &Task{TicketID: t.ID, Engineer: &eng, Mode: ModeDirect}
		ev, err := s.createTask(ctx, tx, t, k, ActAssign, actor,
			map[string]any{"reason": fmt.Sprintf(ReasonChosenBy, actor), "note": strings.TrimSpace(note), "additional": true})
		if err != nil {
			return err
		}
		return s.notifyEngineer(ctx, tx, t, k, eng, "assigned", ev)
	})
}

// Comment adds a dispatcher's note to a ticket's history; any ticket,
// closed ones too, may be commented on.
func (s *Service) Comment(ctx context.Context, ticketID int64, actor, text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return fmt.Errorf("comment: %w", ErrReasonRequired)
	}
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		t, err := tx.LockTicket(ctx, ticketID)
		if err != nil {
			return err
		}
		_, err = s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: KindComment, From: t.State, To: t.State, Reason: text})
		return err
	})
}

// prepareReassign locks the ticket and reads its tasks and routing's
// eligible engineers now.
func (s *Service) prepareReassign(ctx context.Context, tx Tx, ticketID int64) (*Ticket, []Task, []string, error) {
	t, err := tx.LockTicket(ctx, ticketID)
	if err != nil {
		return nil, nil, nil, err
	}
	tasks, err := tx.Tasks(ctx, t.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	a, err := s.reassign(ctx, tx, t)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, tasks, a.Ranked, nil
}

// takeBack cancels a ticket's live tasks for a reassignment: offers are
// withdrawn and every engineer who had the work is told.
func (s *Service) takeBack(ctx context.Context, tx Tx, t *Ticket, tasks []Task, actor, reason string) error {
	for i := range tasks {
		k := &tasks[i]
		if State(k.State).Ends() {
			continue
		}
		var told []string
		if k.State == string(Offered) {
			var err error
			if told, err = tx.EndOffers(ctx, k.ID, OfferWithdrawn, s.now()); err != nil {
				return err
			}
		}
		ev, err := s.moveTaskOnly(ctx, tx, t, k, Move{Action: ActCancel, Reason: reason}, actor, map[string]any{"reassigned": true})
		if err != nil {
			return err
		}
		for _, e := range append(told, engineerList(k.Engineer)...) {
			if err := s.notifyEngineer(ctx, tx, t, k, e, "cancelled", ev); err != nil {
				return err
			}
		}
	}
	return nil
}
