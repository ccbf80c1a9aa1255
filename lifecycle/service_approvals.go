package lifecycle

import (
	"context"
	"fmt"
	"strings"
)

// startApprovals sends the ticket to its client's approval chain.
func (s *Service) startApprovals(ctx context.Context, tx Tx, t *Ticket, steps []ApprovalStep, actor string) error {
	region, err := tx.ObjectRegion(ctx, t.Client, t.Object)
	if err != nil {
		return err
	}
	if _, err := s.moveTicket(ctx, tx, t, Move{Action: ActRequestApproval}, actor, map[string]any{"steps": len(steps)}); err != nil {
		return err
	}
	// Routing may have named an engineer; nobody holds the ticket until it
	// is approved and dispatched.
	if err := tx.SetTicketEngineer(ctx, t.ID, nil); err != nil {
		return err
	}
	t.Engineer = nil
	for i, role := range ApproverRoles(steps, region) {
		name, email, err := tx.Approver(ctx, t.Client, role)
		if err != nil {
			return err
		}
		a := &Approval{TicketID: t.ID, Step: i + 1, Role: role, ContactName: name, ContactEmail: email, State: ApprovalWaiting}
		if err := tx.AddApproval(ctx, a, s.now()); err != nil {
			return err
		}
	}
	return s.nextApproval(ctx, tx, t, actor)
}

// nextApproval asks the next waiting approver; a step with no contact is
// skipped (and the dispatchers told); when none is left the ticket is
// approved and dispatched.
func (s *Service) nextApproval(ctx context.Context, tx Tx, t *Ticket, actor string) error {
	for {
		a, ok, err := tx.NextApproval(ctx, t.ID)
		if err != nil {
			return err
		}
		if !ok {
			if _, err := s.moveTicket(ctx, tx, t, Move{Action: ActApprove}, actor, nil); err != nil {
				return err
			}
			return s.dispatch(ctx, tx, t, nil, actor, "")
		}
		if a.ContactEmail != "" {
			return s.askApprover(ctx, tx, t, a, actor)
		}
		SkipApproval(a, s.now())
		if err := tx.UpdateApproval(ctx, a); err != nil {
			return err
		}
		ev, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: KindApprovalSkipped, From: t.State, To: t.State, Reason: a.Reason,
			Data: map[string]any{"approval": a.ID, "step": a.Step}})
		if err != nil {
			return err
		}
		if err := s.enqueue(ctx, tx, s.cfg.DispatcherMessages(t, escalateApprovalSkipped(t, a), ev)...); err != nil {
			return err
		}
	}
}

// askApprover makes approval a pending and emails its approver the links.
func (s *Service) askApprover(ctx context.Context, tx Tx, t *Ticket, a *Approval, actor string) error {
	a.State = ApprovalPending
	if err := tx.UpdateApproval(ctx, a); err != nil {
		return err
	}
	ev, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: KindApprovalRequested, From: t.State, To: t.State,
		Data: map[string]any{"approval": a.ID, "step": a.Step, "role": a.Role, "contact": a.ContactEmail}})
	if err != nil {
		return err
	}
	who := strings.ToLower(a.ContactEmail)
	return s.enqueue(ctx, tx, ApprovalMessage(t, a, s.link(ActApprove, "approval", a.ID, who), s.link(ActDecline, "approval", a.ID, who), ev))
}

// Decide records an approver's decision: approve passes the ticket to the
// next approver (or, after the last, to dispatch); decline cancels the
// ticket with the reason. by is the approver's email.
func (s *Service) Decide(ctx context.Context, approvalID int64, approve bool, by, reason string) error {
	return s.st.InLifecycleTx(ctx, func(tx Tx) error {
		a, t, err := tx.LockApproval(ctx, approvalID)
		if err != nil {
			return err
		}
		if err := Decide(a, approve, by, reason, s.now()); err != nil {
			return err
		}
		if err := tx.UpdateApproval(ctx, a); err != nil {
			return err
		}
		actor := "approver:" + by
		if _, err := s.record(ctx, tx, TicketEvent{Ticket: t.ID, Actor: actor, Kind: "approval_" + a.State, From: t.State, To: t.State, Reason: reason,
			Data: map[string]any{"approval": a.ID, "step": a.Step, "role": a.Role}}); err != nil {
			return err
		}
		if approve {
			return s.nextApproval(ctx, tx, t, actor)
		}
		ev, err := s.moveTicket(ctx, tx, t, Move{Action: ActDecline, Reason: reason}, actor, map[string]any{"approval": a.ID})
		if err != nil {
			return err
		}
		if err := s.endOpenWork(ctx, tx, t, actor, fmt.Sprintf(ReasonDeclinedBy, reason)); err != nil {
			return err
		}
		if err := s.notifyChain(ctx, tx, t, ev, ChainStatus{Status: string(Cancelled), Reason: reason}); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, s.cfg.DispatcherMessages(t, escalateDeclined(t, a, reason), ev)...)
	})
}
