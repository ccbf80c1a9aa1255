package lifecycle

import (
	"context"
	"fmt"
	"time"
)

// FireDue fires every timer due at the service's clock and returns how
// many fired. Each timer fires in its own transaction: the store hands a
// due timer to one transaction only, so replicas running FireDue at once
// share the work and never fire one timer twice, and the timer is marked
// fired in the transaction of its effect, so a crash before commit leaves
// it due.
func (s *Service) FireDue(ctx context.Context) (int, error) {
	n := 0
	for {
		fired, err := s.fireOne(ctx)
		if err != nil {
			return n, err
		}
		if !fired {
			return n, nil
		}
		n++
	}
}

func (s *Service) fireOne(ctx context.Context) (bool, error) {
	fired := false
	err := s.st.InLifecycleTx(ctx, func(tx Tx) error {
		tm, ok, err := tx.DueTimer(ctx, s.now())
		if err != nil || !ok {
			return err
		}
		fired = true
		// The effect runs in a savepoint: one that fails is recorded and
		// retried later instead of blocking the timers behind it.
		var outcome string
		ferr := tx.Savepoint(ctx, func(sp Tx) error {
			var err error
			outcome, err = s.fire(ctx, sp, tm)
			return err
		})
		if ferr != nil {
			return tx.PostponeTimer(ctx, tm.ID, s.now().Add(RetryAfter), "error: "+ferr.Error())
		}
		return tx.FinishTimer(ctx, tm.ID, s.now(), outcome)
	})
	return fired, err
}

// fire runs a timer's effect and says what it did. A timer whose moment has
// passed (the offer was accepted, the ticket was done) is "obsolete".
func (s *Service) fire(ctx context.Context, tx Tx, tm *Timer) (string, error) {
	switch tm.Kind {
	case TimerOffer, TimerWake:
		if tm.TaskID == nil {
			return "obsolete: no task", nil
		}
		k, t, err := tx.LockTask(ctx, *tm.TaskID)
		if err != nil {
			return "", err
		}
		if why := Obsolete(tm, t, k, false); why != "" {
			return why, nil
		}
		if tm.Kind == TimerOffer {
			return s.advanceOffer(ctx, tx, t, k, ActorScheduler, ReasonOfferTimedOut)
		}
		return s.wake(ctx, tx, t, k)
	case TimerRisk, TimerBreach:
		t, err := tx.LockTicket(ctx, tm.TicketID)
		if err != nil {
			return "", err
		}
		accepted := false
		if tm.Kind == TimerRisk && State(t.State).Open() {
			if accepted, err = tx.AnyAccepted(ctx, t.ID); err != nil {
				return "", err
			}
		}
		if why := Obsolete(tm, t, nil, accepted); why != "" {
			return why, nil
		}
		return s.escalate(ctx, tx, t, tm)
	case TimerQC:
		t, err := tx.LockTicket(ctx, tm.TicketID)
		if err != nil {
			return "", err
		}
		if why := Obsolete(tm, t, nil, false); why != "" {
			return why, nil
		}
		qc, err := s.createQC(ctx, tx, t)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("QC ticket %d", qc), nil
	}
	return "", fmt.Errorf("timer %d: unknown kind %q", tm.ID, tm.Kind)
}

// wake returns a postponed task to the state it left and tells its
// engineer.
func (s *Service) wake(ctx context.Context, tx Tx, t *Ticket, k *Task) (string, error) {
	ev, err := s.moveTask(ctx, tx, t, k, Move{Action: ActResume}, ActorScheduler, nil)
	if err != nil {
		return "", err
	}
	if e := k.EngineerCode(); e != "" {
		if err := s.notifyEngineer(ctx, tx, t, k, e, "resumed", ev); err != nil {
			return "", err
		}
	}
	return "resumed to " + k.State, nil
}

// escalate tells the dispatchers that a ticket's SLA is at risk or broken.
func (s *Service) escalate(ctx context.Context, tx Tx, t *Ticket, tm *Timer) (string, error) {
	e := escalateBreached(t)
	if tm.Kind == TimerRisk {
		e = escalateAtRisk(t, s.cfg.AtRisk)
	}
	ev, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: ActorScheduler, Kind: KindEscalation, From: t.State, To: t.State, Reason: e.Kind,
		Data: map[string]any{"timer": tm.Key, "sla_due": t.SLADue}})
	if err != nil {
		return "", err
	}
	return "escalated " + e.Kind, s.enqueue(ctx, tx, s.cfg.DispatcherMessages(t, e, ev)...)
}

// onDone runs when a ticket becomes done: the chain is told, and the QC
// ticket is scheduled.
func (s *Service) onDone(ctx context.Context, tx Tx, t *Ticket, ev int64) error {
	tasks, err := tx.Tasks(ctx, t.ID)
	if err != nil {
		return err
	}
	if err := s.notifyChain(ctx, tx, t, ev, DoneStatus(tasks)); err != nil {
		return err
	}
	if tm, ok := s.cfg.QCTimer(t, s.now()); ok {
		return tx.Schedule(ctx, tm)
	}
	return nil
}

// createInternalTicket creates a ticket that no message brought and records
// its creation; for one made before it returns that ticket and false.
func (s *Service) createInternalTicket(ctx context.Context, tx Tx, it InternalTicket) (int64, bool, error) {
	id, created, err := tx.CreateInternalTicket(ctx, it, s.now())
	if err != nil || !created {
		return id, created, err
	}
	if _, err := s.record(ctx, tx, TicketEvent{Ticket: id, Actor: ActorScheduler, Kind: KindCreated, To: string(it.State), Reason: it.Why}); err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// createQC creates the quality-control ticket of a completed one and tells
// the QC team.
func (s *Service) createQC(ctx context.Context, tx Tx, src *Ticket) (int64, error) {
	it := QCTicket(src)
	id, created, err := s.createInternalTicket(ctx, tx, it)
	if err != nil || !created {
		return id, err
	}
	source := src.ID
	if err := tx.LinkTicket(ctx, id, "qc", &source); err != nil {
		return 0, err
	}
	qc, err := tx.LockTicket(ctx, id)
	if err != nil {
		return 0, err
	}
	if err := s.enterState(ctx, tx, qc, nil, State(qc.State)); err != nil {
		return 0, err
	}
	ev, err := s.record(ctx, tx, TicketEvent{Ticket: src.ID, Actor: ActorScheduler, Kind: KindQCCreated, From: src.State, To: src.State,
		Data: map[string]any{"qc_ticket": qc.Number}})
	if err != nil {
		return 0, err
	}
	return id, s.enqueue(ctx, tx, s.cfg.QCMessages(qc, it.Why, ev)...)
}

// RunRecurring creates the tickets of the current period for every active
// contract that has none yet, due at the end of the period. A contract
// another replica holds is left to it, and the period's run is recorded
// once.
func (s *Service) RunRecurring(ctx context.Context) (int, error) {
	now := s.now().In(s.cfg.Location)
	ids, err := s.st.ActiveContracts(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("listing recurring contracts: %w", err)
	}
	n := 0
	for _, cid := range ids {
		made := false
		err := s.st.InLifecycleTx(ctx, func(tx Tx) error {
			var err error
			made, err = s.runContract(ctx, tx, cid, now)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("recurring contract %d: %w", cid, err)
		}
		if made {
			n++
		}
	}
	return n, nil
}

// runContract creates contract cid's ticket of the period that holds now
// unless it exists; true when it made one.
func (s *Service) runContract(ctx context.Context, tx Tx, cid int64, now time.Time) (bool, error) {
	c, ok, err := tx.LockContract(ctx, cid)
	if err != nil || !ok {
		return false, err // not ok: another replica is on it
	}
	it, start, a := RecurringTicket(c, now)
	exists, err := tx.RecurringRunExists(ctx, c.ID, start)
	if err != nil || exists {
		return false, err
	}
	id, _, err := s.createInternalTicket(ctx, tx, it)
	if err != nil {
		return false, err
	}
	if err := tx.AddRecurringRun(ctx, c.ID, start, id); err != nil {
		return false, err
	}
	if err := tx.LinkTicket(ctx, id, "recurring", nil); err != nil {
		return false, err
	}
	t, err := tx.LockTicket(ctx, id)
	if err != nil {
		return false, err
	}
	return true, s.onCreated(ctx, tx, t, a, ActorScheduler, false)
}

// RunScheduler fires due timers and creates recurring tickets every
// interval until ctx ends. Replicas may all run it.
func (s *Service) RunScheduler(ctx context.Context, interval time.Duration, onErr func(error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := s.FireDue(ctx); err != nil && ctx.Err() == nil {
			onErr(fmt.Errorf("firing timers: %w", err))
		}
		if _, err := s.RunRecurring(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
