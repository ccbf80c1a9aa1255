package lifecycle

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// engineerTx runs fn on a task locked for an engineer who holds it.
func (s *Service) engineerTx(ctx context.Context, taskID int64, engineer string, fn func(tx Tx, t *Ticket, k *Task) error) error {
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		k, t, err := tx.LockTask(ctx, taskID)
		if err != nil {
			return err
		}
		if k.EngineerCode() != engineer {
			return fmt.Errorf("task %d: %w", taskID, ErrNotAssignee)
		}
		return fn(tx, t, k)
	})
}

// Accept takes a task for an engineer. In offer mode the first accept wins:
// accepts of one task queue on its row, the loser finds the task accepted
// and gets ErrTaken, and the store's one accepted offer per task holds even
// if that ordering were ever lost.
func (s *Service) Accept(ctx context.Context, taskID int64, engineer, actor string) error {
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		k, t, err := tx.LockTask(ctx, taskID)
		if err != nil {
			return err
		}
		offer := ""
		if k.Mode == ModeOffer {
			if offer, err = tx.LockOffer(ctx, k.ID, engineer); err != nil {
				return err
			}
		}
		if err := CheckAccept(k, engineer, offer); err != nil {
			return err
		}
		if k.Mode != ModeOffer {
			_, err = s.moveTask(ctx, tx, t, k, Move{Action: ActAccept}, actor, nil)
			return err
		}
		now := s.now()
		if err := tx.AcceptOffer(ctx, k.ID, engineer, now); err != nil {
			return fmt.Errorf("task %d: %w", taskID, err)
		}
		others, err := tx.EndOffers(ctx, k.ID, OfferWithdrawn, now)
		if err != nil {
			return err
		}
		e := engineer
		k.Engineer = &e
		ev, err := s.moveTask(ctx, tx, t, k, Move{Action: ActAccept}, actor, map[string]any{"withdrawn": others})
		if err != nil {
			return err
		}
		for _, o := range others {
			if err := s.notifyEngineer(ctx, tx, t, k, o, "withdrawn", ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// Reject gives a task back with a reason. An engineer who holds the task
// rejects it and the work goes to the next candidate (or the dispatchers);
// an engineer with a pending offer declines his offer, and when nobody in
// the round is left the offer moves on at once.
func (s *Service) Reject(ctx context.Context, taskID int64, engineer, actor, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("reject: %w", ErrReasonRequired)
	}
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		k, t, err := tx.LockTask(ctx, taskID)
		if err != nil {
			return err
		}
		if k.State == string(Offered) {
			return s.decline(ctx, tx, t, k, engineer, actor, reason)
		}
		if k.EngineerCode() != engineer {
			return fmt.Errorf("task %d: %w", taskID, ErrNotAssignee)
		}
		if _, err := s.moveTaskOnly(ctx, tx, t, k, Move{Action: ActReject, Reason: reason}, actor, nil); err != nil {
			return err
		}
		return s.dispatch(ctx, tx, t, nil, actor, reason)
	})
}

// decline declines an engineer's pending offer of k; the last decline of a
// round moves the offer on.
func (s *Service) decline(ctx context.Context, tx Tx, t *Ticket, k *Task, engineer, actor, reason string) error {
	ok, err := tx.DeclineOffer(ctx, k.ID, engineer, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("task %d: no pending offer: %w", k.ID, ErrNotAssignee)
	}
	if _, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: KindOfferDeclined, From: k.State, To: k.State, Reason: reason,
		Data: map[string]any{"task": k.ID, "engineer": engineer}}); err != nil {
		return err
	}
	pending, err := tx.PendingOffers(ctx, k.ID)
	if err != nil || pending > 0 {
		return err
	}
	_, err = s.advanceOffer(ctx, tx, t, k, actor, ReasonAllDeclined)
	return err
}

// Postpone puts a task off until a time, with a reason; the scheduler
// returns it to the state it left at that time.
func (s *Service) Postpone(ctx context.Context, taskID int64, engineer, actor, reason string, until time.Time) error {
	return s.engineerTx(ctx, taskID, engineer, func(tx Tx, t *Ticket, k *Task) error {
		if _, err := s.moveTask(ctx, tx, t, k, Move{Action: ActPostpone, Reason: reason, Until: until}, actor, nil); err != nil {
			return err
		}
		return tx.Schedule(ctx, WakeTimer(k, until))
	})
}

// Start records that work began on site.
func (s *Service) Start(ctx context.Context, taskID int64, engineer, actor string) error {
	return s.engineerTx(ctx, taskID, engineer, func(tx Tx, t *Ticket, k *Task) error {
		_, err := s.moveTask(ctx, tx, t, k, Move{Action: ActStart}, actor, nil)
		return err
	})
}

// Complete finishes a task with the problem found and the work done.
func (s *Service) Complete(ctx context.Context, taskID int64, engineer, actor string, c Completion) error {
	if strings.TrimSpace(c.WorkDone) == "" {
		return fmt.Errorf("complete: %w", ErrWorkDoneRequired)
	}
	return s.engineerTx(ctx, taskID, engineer, func(tx Tx, t *Ticket, k *Task) error {
		k.ProblemFound, k.WorkDone = strings.TrimSpace(c.ProblemFound), strings.TrimSpace(c.WorkDone)
		_, err := s.moveTask(ctx, tx, t, k, Move{Action: ActComplete}, actor,
			map[string]any{"problem_found": k.ProblemFound, "work_done": k.WorkDone})
		return err
	})
}

// AddAttachment stores a photo or file of a task within the limits.
func (s *Service) AddAttachment(ctx context.Context, taskID int64, engineer, name, contentType string, data []byte) (int64, error) {
	if err := s.cfg.CheckFileSize(name, int64(len(data))); err != nil {
		return 0, err
	}
	var id int64
	err := s.engineerTx(ctx, taskID, engineer, func(tx Tx, t *Ticket, k *Task) error {
		n, total, err := tx.AttachmentTotals(ctx, k.ID)
		if err != nil {
			return err
		}
		if err := s.cfg.CanAttach(k, t, n, total, int64(len(data))); err != nil {
			return err
		}
		if id, err = tx.AddAttachment(ctx, k.ID, name, contentType, data, engineer, s.now()); err != nil {
			return err
		}
		_, err = s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: "engineer:" + engineer, Kind: KindAttachment, From: k.State, To: k.State,
			Data: map[string]any{"task": k.ID, "attachment": id, "name": name, "size": len(data)}})
		return err
	})
	return id, err
}
