package lifecycle

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Store is what the service needs of storage outside a transaction.
type Store interface {
	// InLifecycleTx runs fn in one transaction, committing when it returns
	// nil.
	InLifecycleTx(ctx context.Context, fn func(Tx) error) error
	// ActiveContracts are the ids of the contracts in force on now's day.
	ActiveContracts(ctx context.Context, now time.Time) ([]int64, error)
	// ActFacts gathers what a ticket's act shows.
	ActFacts(ctx context.Context, ticketID int64) (ActFacts, error)
}

// Tx is what the service reads and writes in one transaction. Lock methods
// take the ticket's row first, then its task's or approval's: every writer
// takes them in this order, so two writers of one ticket queue instead of
// deadlocking. A row that is missing is the store's not-found error.
type Tx interface {
	LockTicket(ctx context.Context, id int64) (*Ticket, error)
	LockTask(ctx context.Context, id int64) (*Task, *Ticket, error)
	LockApproval(ctx context.Context, id int64) (*Approval, *Ticket, error)
	// Savepoint runs fn in a nested transaction that a failure rolls back
	// alone.
	Savepoint(ctx context.Context, fn func(Tx) error) error

	SetTicketState(ctx context.Context, ticketID int64, state State) error
	SetTicketEngineer(ctx context.Context, ticketID int64, engineer *string) error
	// EnterState ends the open time span of the ticket (taskID nil) or task
	// at at, and opens one in state when counted.
	EnterState(ctx context.Context, t *Ticket, taskID *int64, state State, at time.Time, counted bool) error
	// AddTicketEvent adds a row to a ticket's history and returns its id.
	AddTicketEvent(ctx context.Context, r TicketEvent) (int64, error)
	// NoteTicketEvent adds a row to a ticket's history whose id nobody
	// needs: it may travel with the transaction's next statement.
	NoteTicketEvent(ctx context.Context, r TicketEvent) error
	// Enqueue queues a notification in the outbox.
	Enqueue(ctx context.Context, m Message) error
	// Schedule adds a timer; one with the same key is kept as it is.
	Schedule(ctx context.Context, tm Timer) error

	Tasks(ctx context.Context, ticketID int64) ([]Task, error)
	InsertTask(ctx context.Context, k *Task, now time.Time) error
	UpdateTask(ctx context.Context, k *Task, now time.Time) error
	// Excluded are the engineers who rejected a ticket or let an offer of
	// it go.
	Excluded(ctx context.Context, ticketID int64) ([]string, error)
	// LastTaskMode is the mode of the ticket's newest task, "" when none.
	LastTaskMode(ctx context.Context, ticketID int64) (string, error)
	// OpenLoads counts the open work of each engineer.
	OpenLoads(ctx context.Context) (map[string]int, error)
	// EngineerContact reads an engineer and the address of ticket's store.
	EngineerContact(ctx context.Context, engineer string, t *Ticket) (EngineerContact, error)
	// AnyAccepted reports whether a live task of the ticket was accepted.
	AnyAccepted(ctx context.Context, ticketID int64) (bool, error)

	AddOffer(ctx context.Context, taskID int64, engineer string, round int, now time.Time) error
	// LockOffer reads an engineer's offer of a task, "" when he has none.
	LockOffer(ctx context.Context, taskID int64, engineer string) (string, error)
	// AcceptOffer marks the offer accepted; a second accepted offer of one
	// task is ErrTaken.
	AcceptOffer(ctx context.Context, taskID int64, engineer string, now time.Time) error
	// DeclineOffer declines a pending offer; false when there was none.
	DeclineOffer(ctx context.Context, taskID int64, engineer string, now time.Time) (bool, error)
	// EndOffers moves the task's pending offers to state and returns
	// their engineers.
	EndOffers(ctx context.Context, taskID int64, state string, now time.Time) ([]string, error)
	PendingOffers(ctx context.Context, taskID int64) (int, error)

	// ObjectRegion is the region of a client's store, "" when unknown.
	ObjectRegion(ctx context.Context, client, object string) (string, error)
	// Approver is the first contact of a client with role and an email;
	// empty when there is none.
	Approver(ctx context.Context, client, role string) (name, email string, err error)
	AddApproval(ctx context.Context, a *Approval, now time.Time) error
	// NextApproval locks the ticket's first waiting approval; false when
	// none is left.
	NextApproval(ctx context.Context, ticketID int64) (*Approval, bool, error)
	UpdateApproval(ctx context.Context, a *Approval) error
	// SkipOpenApprovals skips the ticket's waiting and pending approvals.
	SkipOpenApprovals(ctx context.Context, ticketID int64, reason string) error

	// DueTimer locks the first unfired timer due at now that no other
	// transaction holds; false when there is none.
	DueTimer(ctx context.Context, now time.Time) (*Timer, bool, error)
	// FinishTimer marks a timer fired with its outcome.
	FinishTimer(ctx context.Context, id int64, at time.Time, outcome string) error
	// PostponeTimer moves a timer whose effect failed to due, with the error.
	PostponeTimer(ctx context.Context, id int64, due time.Time, outcome string) error

	// CreateInternalTicket creates the ticket and the item that records why
	// it exists, created at now; for a Ref made before it returns that
	// ticket and false.
	CreateInternalTicket(ctx context.Context, it InternalTicket, now time.Time) (int64, bool, error)
	// LinkTicket records that a ticket is of kind (qc, recurring), from
	// source when there is one.
	LinkTicket(ctx context.Context, ticketID int64, kind string, source *int64) error
	// LockContract locks a contract unless another transaction holds it;
	// false then.
	LockContract(ctx context.Context, id int64) (*Contract, bool, error)
	RecurringRunExists(ctx context.Context, contractID int64, periodStart time.Time) (bool, error)
	AddRecurringRun(ctx context.Context, contractID int64, periodStart time.Time, ticketID int64) error

	// AttachmentTotals counts a task's files and their bytes.
	AttachmentTotals(ctx context.Context, taskID int64) (int, int64, error)
	AddAttachment(ctx context.Context, taskID int64, name, contentType string, data []byte, by string, now time.Time) (int64, error)
}

// Service drives tickets after the pipeline created them: tasks, offers,
// approvals, timers, completion. It asks this package's decisions what to
// do and applies their effects through a Tx: every method that changes
// something runs one transaction that locks the ticket row first (then its
// task), records the history rows and queues the notifications the change
// causes.
type Service struct {
	st     Store
	cfg    Config
	signer *Signer
	route  Router
	now    func() time.Time
	// skipped counts, by channel, the notifications not queued because their
	// channel is off.
	skipped map[string]*atomic.Int64
}

// NewService returns the service over st. cfg takes its defaults; signer
// may be nil (no one-click links); route runs routing again; now is the
// clock.
func NewService(st Store, cfg Config, signer *Signer, route Router, now func() time.Time) *Service {
	skipped := map[string]*atomic.Int64{}
	for _, k := range []string{ChannelEmail, ChannelWebhook, ChannelConnector} {
		skipped[k] = new(atomic.Int64)
	}
	return &Service{st: st, cfg: cfg.WithDefaults(), signer: signer, route: route, now: now, skipped: skipped}
}

// Config is the configuration in force, defaults applied.
func (s *Service) Config() Config { return s.cfg }

// ChannelsOff returns the channels whose notifications are not queued,
// with the reason.
func (s *Service) ChannelsOff() map[string]string { return s.cfg.ChannelsOff }

// Skipped is how many notifications of channel were not queued because the
// channel is off (since start; a transaction retried counts again).
func (s *Service) Skipped(channel string) int64 {
	if c := s.skipped[channel]; c != nil {
		return c.Load()
	}
	return 0
}

// Signer returns the link signer.
func (s *Service) Signer() *Signer { return s.signer }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// MaxUpload is the largest request body an upload may send.
func (s *Service) MaxUpload() int64 { return s.cfg.MaxUpload() }

// enqueue queues the messages whose channel is on.
func (s *Service) enqueue(ctx context.Context, tx Tx, ms ...Message) error {
	for _, m := range ms {
		if _, off := s.cfg.ChannelsOff[m.Channel]; off {
			if c := s.skipped[m.Channel]; c != nil {
				c.Add(1)
			}
			continue
		}
		if err := tx.Enqueue(ctx, m); err != nil {
			return fmt.Errorf("ticket %d: queueing %s: %w", m.TicketID, m.DedupKey, err)
		}
	}
	return nil
}

// anyQueued reports whether enqueue would queue any of ms: their channels
// are not all off.
func (s *Service) anyQueued(ms []Message) bool {
	for _, m := range ms {
		if _, off := s.cfg.ChannelsOff[m.Channel]; !off {
			return true
		}
	}
	return false
}

// record adds a history row at the service's clock.
func (s *Service) record(ctx context.Context, tx Tx, r TicketEvent) (int64, error) {
	r.At = s.now()
	return tx.AddTicketEvent(ctx, r)
}

func (s *Service) enterState(ctx context.Context, tx Tx, t *Ticket, taskID *int64, state State) error {
	return tx.EnterState(ctx, t, taskID, state, s.now(), ClockRuns(state, taskID != nil))
}

func (s *Service) link(act Action, kind string, subject int64, who string) string {
	return s.cfg.LinkURL(s.signer, act, kind, subject, who, s.now())
}

// moveTask applies one move to a task, records it, and brings the ticket's
// state in line with its tasks. It returns the history row's id.
func (s *Service) moveTask(ctx context.Context, tx Tx, t *Ticket, k *Task, m Move, actor string, data map[string]any) (int64, error) {
	ev, err := s.moveTaskOnly(ctx, tx, t, k, m, actor, data)
	if err != nil {
		return 0, err
	}
	return ev, s.syncTicket(ctx, tx, t, actor, m.Reason)
}

// moveTaskOnly is moveTask without the ticket's update, for a reject that
// re-dispatches first: the ticket is rejected only when nobody else is found.
func (s *Service) moveTaskOnly(ctx context.Context, tx Tx, t *Ticket, k *Task, m Move, actor string, data map[string]any) (int64, error) {
	now := s.now()
	from, err := MoveTask(k, m, now)
	if err != nil {
		return 0, err
	}
	t.forgetTasks()
	if err := tx.UpdateTask(ctx, k, now); err != nil {
		return 0, err
	}
	id, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: "task_" + string(m.Action), From: string(from), To: k.State,
		Reason: m.Reason, Data: TaskData(k, m, data)})
	if err != nil {
		return 0, err
	}
	return id, s.enterState(ctx, tx, t, &k.ID, State(k.State))
}

// syncTicket sets the ticket's state and engineer from its tasks, and runs
// what entering the state causes.
func (s *Service) syncTicket(ctx context.Context, tx Tx, t *Ticket, actor, reason string) error {
	tasks := t.tasks
	if !t.tasksKnown {
		var err error
		if tasks, err = tx.Tasks(ctx, t.ID); err != nil {
			return err
		}
	}
	to, holder := Follow(State(t.State), tasks)
	if !SameEngineer(holder, t.Engineer) && !State(t.State).Final() {
		if err := tx.SetTicketEngineer(ctx, t.ID, holder); err != nil {
			return err
		}
		t.Engineer = holder
	}
	if string(to) == t.State {
		return nil
	}
	_, err := s.setTicketState(ctx, tx, t, to, KindState, actor, reason, nil)
	return err
}

// setTicketState records a ticket's change of state and runs its effects.
func (s *Service) setTicketState(ctx context.Context, tx Tx, t *Ticket, to State, kind, actor, reason string, data map[string]any) (int64, error) {
	from := t.State
	if err := tx.SetTicketState(ctx, t.ID, to); err != nil {
		return 0, err
	}
	t.State = string(to)
	ev, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: kind, From: from, To: t.State, Reason: reason, Data: data})
	if err != nil {
		return 0, err
	}
	if err := s.enterState(ctx, tx, t, nil, to); err != nil {
		return 0, err
	}
	switch to {
	case Done:
		return ev, s.onDone(ctx, tx, t, ev)
	case Rejected:
		return ev, s.enqueue(ctx, tx, s.cfg.DispatcherMessages(t, escalateRejected(t, reason), ev)...)
	}
	return ev, nil
}

// moveTicket applies a ticket-level action (approval, cancel, close).
func (s *Service) moveTicket(ctx context.Context, tx Tx, t *Ticket, m Move, actor string, data map[string]any) (int64, error) {
	m.At = s.now()
	to, err := Transition(Status{State: State(t.State)}, m)
	if err != nil {
		return 0, fmt.Errorf("ticket %s: %w", t.Number, err)
	}
	return s.setTicketState(ctx, tx, t, to.State, string(m.Action), actor, m.Reason, data)
}

// OnTicket is the pipeline's ticket hook, run in the pipeline's
// transaction: for a new ticket it starts the approval chain or dispatches
// the work and sets the SLA timers; for a cancellation or closing by the
// chain it ends the open tasks.
func (s *Service) OnTicket(ctx context.Context, tx Tx, ticketID int64, created bool, event string, a *Assignment) error {
	if !created && event != "cancelled" && event != "closed" {
		return nil // an ordinary follow-up: nothing for the lifecycle to do
	}
	t, err := tx.LockTicket(ctx, ticketID)
	if err != nil {
		return err
	}
	if created {
		return s.onCreated(ctx, tx, t, a, ActorIntake, true)
	}
	switch event {
	case "cancelled", "closed":
		// The pipeline has already set the ticket's state and recorded it.
		return s.endOpenWork(ctx, tx, t, ActorIntake, fmt.Sprintf(ReasonChainEnded, event))
	}
	return nil
}

// OnCreated starts the life of a ticket that the pipeline has just created
// in tx: t is its row as inserted, so it is neither read nor locked again,
// and it has no tasks yet. a is routing's decision.
func (s *Service) OnCreated(ctx context.Context, tx Tx, t *Ticket, a *Assignment) error {
	t.knowTasks(nil)
	return s.onCreated(ctx, tx, t, a, ActorIntake, true)
}

// onCreated starts a new ticket's life. Contract work (recurring tickets)
// is approved by the contract and skips the approval chain.
func (s *Service) onCreated(ctx context.Context, tx Tx, t *Ticket, a *Assignment, actor string, approvals bool) error {
	if err := s.enterState(ctx, tx, t, nil, State(t.State)); err != nil {
		return err
	}
	for _, tm := range SLATimers(t, s.cfg.AtRisk) {
		if err := tx.Schedule(ctx, tm); err != nil {
			return err
		}
	}
	if steps := s.cfg.Approvals[t.Client]; approvals && len(steps) > 0 {
		return s.startApprovals(ctx, tx, t, steps, actor)
	}
	return s.dispatch(ctx, tx, t, a, actor, "")
}

// dispatch gives the ticket's work to an engineer or offers it. a is
// routing's decision when there is a fresh one; nil runs routing again
// without the engineers who rejected or let the work go.
func (s *Service) dispatch(ctx context.Context, tx Tx, t *Ticket, a *Assignment, actor, why string) error {
	if a == nil {
		var err error
		if a, err = s.reassign(ctx, tx, t); err != nil {
			return err
		}
	}
	switch {
	case a.Engineer != "":
		eng := a.Engineer
		k := &Task{TicketID: t.ID, Engineer: &eng, Mode: ModeDirect}
		ev, err := s.createTask(ctx, tx, t, k, ActAssign, actor, map[string]any{"reason": a.Reason})
		if err != nil {
			return err
		}
		return s.notifyEngineer(ctx, tx, t, k, eng, "assigned", ev)
	case len(a.Offer) > 0:
		k := &Task{TicketID: t.ID, Mode: ModeOffer, Candidates: Remaining(a.Ranked, a.Offer), OfferRound: 1}
		ev, err := s.createTask(ctx, tx, t, k, ActOffer, actor, map[string]any{"offer": a.Offer, "reason": a.Reason})
		if err != nil {
			return err
		}
		return s.offerTo(ctx, tx, t, k, a.Offer, ev)
	}
	// The history row's id names the dispatchers' notifications; with none
	// to send, nobody waits for it.
	var ev int64
	var err error
	r := TicketEvent{Ticket: t.ID, Actor: actor, Kind: KindNoEngineer, Reason: a.Reason}
	if s.anyQueued(s.cfg.DispatcherMessages(t, Escalation{}, 0)) {
		ev, err = s.record(ctx, tx, r)
	} else {
		r.At = s.now()
		err = tx.NoteTicketEvent(ctx, r)
	}
	if err != nil {
		return err
	}
	if err := s.syncTicket(ctx, tx, t, actor, why); err != nil {
		return err
	}
	if t.State == string(Rejected) {
		return nil // setTicketState told the dispatchers
	}
	return s.enqueue(ctx, tx, s.cfg.DispatcherMessages(t, escalateNoEngineer(t, a.Reason), ev)...)
}

// reassign runs routing for the ticket again, leaving out every engineer who
// rejected it or let an offer of it go.
func (s *Service) reassign(ctx context.Context, tx Tx, t *Ticket) (*Assignment, error) {
	exclude, err := tx.Excluded(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	last, err := tx.LastTaskMode(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	loads, err := tx.OpenLoads(ctx)
	if err != nil {
		return nil, err
	}
	a := s.route(t, Reroute{Mode: RedispatchMode(last, t.Assignment), OfferN: s.cfg.OfferN, Exclude: exclude, Loads: loads})
	return &a, nil
}

// createTask inserts a task born by act (assign or offer) and records it.
func (s *Service) createTask(ctx context.Context, tx Tx, t *Ticket, k *Task, act Action, actor string, data map[string]any) (int64, error) {
	now := s.now()
	st, err := Transition(Status{State: New}, Move{Action: act, At: now})
	if err != nil {
		return 0, err
	}
	k.State = string(st.State)
	if k.Candidates == nil {
		k.Candidates = []string{}
	}
	if err := tx.InsertTask(ctx, k, now); err != nil {
		return 0, err
	}
	if t.tasksKnown {
		t.knowTasks(append(t.tasks, *k))
	}
	ev, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: "task_" + string(act), To: k.State, Data: TaskData(k, Move{Action: act}, data)})
	if err != nil {
		return 0, err
	}
	if err := s.enterState(ctx, tx, t, &k.ID, State(k.State)); err != nil {
		return 0, err
	}
	return ev, s.syncTicket(ctx, tx, t, actor, "")
}

// offerTo offers task k to engineers (one round) and sets the round's timer.
func (s *Service) offerTo(ctx context.Context, tx Tx, t *Ticket, k *Task, engineers []string, ev int64) error {
	now := s.now()
	for _, e := range engineers {
		if err := tx.AddOffer(ctx, k.ID, e, k.OfferRound, now); err != nil {
			return err
		}
		if err := s.notifyEngineer(ctx, tx, t, k, e, "offered", ev); err != nil {
			return err
		}
	}
	return tx.Schedule(ctx, OfferTimer(k, now, s.cfg.OfferTimeout))
}

// advanceOffer ends the current offer round of k and offers the work to the
// next candidates, or rejects the task when none are left.
func (s *Service) advanceOffer(ctx context.Context, tx Tx, t *Ticket, k *Task, actor, why string) (string, error) {
	now := s.now()
	if _, err := tx.EndOffers(ctx, k.ID, OfferExpired, now); err != nil {
		return "", err
	}
	next, rest := NextRound(k, s.cfg.OfferN)
	if len(next) == 0 {
		if _, err := s.moveTaskOnly(ctx, tx, t, k, Move{Action: ActReject, Reason: NobodyAccepted(why)}, actor, nil); err != nil {
			return "", err
		}
		if err := s.dispatch(ctx, tx, t, nil, actor, ReasonNobodyTook); err != nil {
			return "", err
		}
		return "no candidates left", nil
	}
	k.OfferRound++
	k.Candidates = rest
	t.forgetTasks()
	if err := tx.UpdateTask(ctx, k, now); err != nil {
		return "", err
	}
	ev, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: KindOfferMoved, From: k.State, To: k.State, Reason: why,
		Data: map[string]any{"task": k.ID, "round": k.OfferRound, "offer": next}})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("offered to %v (round %d)", next, k.OfferRound), s.offerTo(ctx, tx, t, k, next, ev)
}

// endOpenWork cancels a ticket's open tasks, withdraws its offers and skips
// its open approvals: the ticket was cancelled or closed.
func (s *Service) endOpenWork(ctx context.Context, tx Tx, t *Ticket, actor, reason string) error {
	tasks, err := tx.Tasks(ctx, t.ID)
	if err != nil {
		return err
	}
	for i := range tasks {
		k := &tasks[i]
		if State(k.State).Ends() {
			continue
		}
		var told []string
		if k.State == string(Offered) {
			if told, err = tx.EndOffers(ctx, k.ID, OfferWithdrawn, s.now()); err != nil {
				return err
			}
		}
		ev, err := s.moveTask(ctx, tx, t, k, Move{Action: ActCancel, Reason: reason}, actor, nil)
		if err != nil {
			return err
		}
		for _, e := range append(told, engineerList(k.Engineer)...) {
			if err := s.notifyEngineer(ctx, tx, t, k, e, "cancelled", ev); err != nil {
				return err
			}
		}
	}
	return tx.SkipOpenApprovals(ctx, t.ID, reason)
}

// notifyEngineer queues the engineer's notifications, with accept and
// reject links when he is asked to decide.
func (s *Service) notifyEngineer(ctx context.Context, tx Tx, t *Ticket, k *Task, engineer, what string, ev int64) error {
	c, err := tx.EngineerContact(ctx, engineer, t)
	if err != nil {
		return fmt.Errorf("engineer %s: %w", engineer, err)
	}
	var links TaskLinks
	if AsksDecision(what) {
		links = TaskLinks{Accept: s.link(ActAccept, "task", k.ID, engineer), Reject: s.link(ActReject, "task", k.ID, engineer)}
	}
	return s.enqueue(ctx, tx, s.cfg.EngineerMessages(t, k, c, what, links, ev)...)
}

// notifyChain tells the chain of a done or cancelled ticket.
func (s *Service) notifyChain(ctx context.Context, tx Tx, t *Ticket, ev int64, st ChainStatus) error {
	if m, ok := s.cfg.ChainMessage(t, st, ev); ok {
		return s.enqueue(ctx, tx, m)
	}
	return nil
}

// Cancel cancels a ticket for a dispatcher (or a chain's connector).
func (s *Service) Cancel(ctx context.Context, ticketID int64, actor, reason string) error {
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		t, err := tx.LockTicket(ctx, ticketID)
		if err != nil {
			return err
		}
		ev, err := s.moveTicket(ctx, tx, t, Move{Action: ActCancel, Reason: reason}, actor, nil)
		if err != nil {
			return err
		}
		if err := s.endOpenWork(ctx, tx, t, actor, reason); err != nil {
			return err
		}
		return s.notifyChain(ctx, tx, t, ev, ChainStatus{Status: string(Cancelled), Reason: reason})
	})
}

// Close closes a done ticket (the chain or a dispatcher confirmed it).
func (s *Service) Close(ctx context.Context, ticketID int64, actor, reason string) error {
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		t, err := tx.LockTicket(ctx, ticketID)
		if err != nil {
			return err
		}
		_, err = s.moveTicket(ctx, tx, t, Move{Action: ActClose, Reason: reason}, actor, nil)
		return err
	})
}

// Dispatch sends a ticket that waits for a dispatcher (new or rejected) to
// routing again, or to the engineer named.
func (s *Service) Dispatch(ctx context.Context, ticketID int64, actor, engineer string) error {
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		t, err := tx.LockTicket(ctx, ticketID)
		if err != nil {
			return err
		}
		switch State(t.State) {
		case New, Rejected:
		default:
			return fmt.Errorf("ticket %s is %s: %w", t.Number, t.State, ErrInvalidTransition)
		}
		var a *Assignment
		if engineer != "" {
			a = &Assignment{Engineer: engineer, Reason: fmt.Sprintf(ReasonChosenBy, actor)}
		}
		return s.dispatch(ctx, tx, t, a, actor, "")
	})
}

// LoadAct gathers a ticket's completion act.
func (s *Service) LoadAct(ctx context.Context, ticketID int64) (Act, error) {
	f, err := s.st.ActFacts(ctx, ticketID)
	if err != nil {
		return Act{}, err
	}
	return s.cfg.BuildAct(f, s.now()), nil
}
