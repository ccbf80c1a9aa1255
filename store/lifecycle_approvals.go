package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/lifecycle"
)

// Approval is one step of a ticket's approval chain.
type Approval struct {
	ID           int64      `db:"id" json:"id"`
	TicketID     int64      `db:"ticket_id" json:"ticket_id"`
	Step         int        `db:"step" json:"step"`
	Role         string     `db:"role" json:"role"`
	ContactName  string     `db:"contact_name" json:"contact_name"`
	ContactEmail string     `db:"contact_email" json:"contact_email"`
	State        string     `db:"state" json:"state"`
	DecidedBy    string     `db:"decided_by" json:"decided_by,omitempty"`
	Reason       string     `db:"reason" json:"reason,omitempty"`
	DecidedAt    *time.Time `db:"decided_at" json:"decided_at,omitempty"`
}

const approvalColumns = `id, ticket_id, step, role, contact_name, contact_email, state, decided_by, reason, decided_at`

// ErrApprovalClosed: the approval was decided already or is not asked yet.
var ErrApprovalClosed = errors.New("approval is not waiting for this decision")

// startApprovals sends the ticket to its client's approval chain.
func (l *Lifecycle) startApprovals(ctx context.Context, tx pgx.Tx, t *Ticket, steps []ApprovalStep, actor string) error {
	var region string
	if err := tx.QueryRow(ctx, `SELECT region FROM objects WHERE client = $1 AND code = $2`, t.Client, t.Object).Scan(&region); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if _, err := l.moveTicket(ctx, tx, t, lifecycle.Move{Action: lifecycle.ActRequestApproval}, actor, map[string]any{"steps": len(steps)}); err != nil {
		return err
	}
	// Routing may have named an engineer; nobody holds the ticket until it
	// is approved and dispatched.
	if _, err := tx.Exec(ctx, `UPDATE tickets SET engineer = NULL WHERE id = $1`, t.ID); err != nil {
		return err
	}
	t.Engineer = nil
	for i, s := range steps {
		role := s.Role
		if s.ByRegion {
			role = s.Role + ":" + region
		}
		var name, email string
		err := tx.QueryRow(ctx, `SELECT name, email FROM contacts WHERE client = $1 AND role = $2 AND email <> '' ORDER BY object, email LIMIT 1`,
			t.Client, role).Scan(&name, &email)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO approvals (ticket_id, step, role, contact_name, contact_email, state, created_at)
			VALUES ($1, $2, $3, $4, $5, 'waiting', $6)`, t.ID, i+1, role, name, email, l.now()); err != nil {
			return err
		}
	}
	return l.nextApproval(ctx, tx, t, actor)
}

// nextApproval asks the next waiting approver; a step with no contact is
// skipped (and the dispatchers told); when none is left the ticket is
// approved and dispatched.
func (l *Lifecycle) nextApproval(ctx context.Context, tx pgx.Tx, t *Ticket, actor string) error {
	for {
		rows, err := tx.Query(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE ticket_id = $1 AND state = 'waiting' ORDER BY step LIMIT 1 FOR UPDATE`, t.ID)
		if err != nil {
			return err
		}
		a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Approval])
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := l.moveTicket(ctx, tx, t, lifecycle.Move{Action: lifecycle.ActApprove}, actor, nil); err != nil {
				return err
			}
			return l.dispatch(ctx, tx, t, nil, actor, "")
		}
		if err != nil {
			return err
		}
		if a.ContactEmail == "" {
			reason := fmt.Sprintf("no contact with role %q", a.Role)
			if _, err := tx.Exec(ctx, `UPDATE approvals SET state = 'skipped', reason = $2, decided_at = $3 WHERE id = $1`, a.ID, reason, l.now()); err != nil {
				return err
			}
			ev, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: "approval_skipped", from: t.State, to: t.State, reason: reason, data: map[string]any{"approval": a.ID, "step": a.Step}})
			if err != nil {
				return err
			}
			if err := l.notifyDispatchers(ctx, tx, t, ev, "approval_skipped", fmt.Sprintf("Заявка %s: некому согласовать шаг %d", t.Number, a.Step),
				fmt.Sprintf("Для заявки %s нет контакта с ролью %q; шаг согласования %d пропущен.", t.Number, a.Role, a.Step)); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE approvals SET state = 'pending' WHERE id = $1`, a.ID); err != nil {
			return err
		}
		ev, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: "approval_requested", from: t.State, to: t.State,
			data: map[string]any{"approval": a.ID, "step": a.Step, "role": a.Role, "contact": a.ContactEmail}})
		if err != nil {
			return err
		}
		approve := l.linkURL(lifecycle.ActApprove, "approval", a.ID, strings.ToLower(a.ContactEmail))
		decline := l.linkURL(lifecycle.ActDecline, "approval", a.ID, strings.ToLower(a.ContactEmail))
		text := fmt.Sprintf("%s, здравствуйте.\n\nПросим согласовать работы по заявке %s (объект %s).\nПроблема: %s\n\nСогласовать: %s\nОтклонить: %s\n",
			a.ContactName, t.Number, t.Object, t.Problem, approve, decline)
		tid := t.ID
		return l.enqueue(ctx, tx, OutboxMessage{Kind: OutboxEmail, Target: a.ContactEmail, TicketID: &tid,
			Payload:  EmailPayload{Subject: "Согласование заявки " + t.Number, Text: text},
			DedupKey: fmt.Sprintf("lc:approval:%d", ev)})
	}
}

func lockApproval(ctx context.Context, tx pgx.Tx, id int64) (*Approval, *Ticket, error) {
	var ticketID int64
	if err := tx.QueryRow(ctx, `SELECT ticket_id FROM approvals WHERE id = $1`, id).Scan(&ticketID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, fmt.Errorf("approval %d: %w", id, ErrNotFound)
		}
		return nil, nil, err
	}
	t, err := lockTicket(ctx, tx, ticketID)
	if err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = $1 FOR UPDATE`, id)
	if err != nil {
		return nil, nil, err
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Approval])
	return a, t, err
}

// Decide records an approver's decision: approve passes the ticket to the
// next approver (or, after the last, to dispatch); decline cancels the
// ticket with the reason. by is the approver's email.
func (l *Lifecycle) Decide(ctx context.Context, approvalID int64, approve bool, by, reason string) error {
	return l.st.InTx(ctx, func(tx pgx.Tx) error {
		a, t, err := lockApproval(ctx, tx, approvalID)
		if err != nil {
			return err
		}
		if a.State != "pending" {
			return fmt.Errorf("approval %d is %s: %w", a.ID, a.State, ErrApprovalClosed)
		}
		if !strings.EqualFold(by, a.ContactEmail) {
			return fmt.Errorf("approval %d is asked of %s: %w", a.ID, a.ContactEmail, lifecycle.ErrNotAssignee)
		}
		if !approve && strings.TrimSpace(reason) == "" {
			return fmt.Errorf("decline: %w", lifecycle.ErrReasonRequired)
		}
		state := "approved"
		if !approve {
			state = "declined"
		}
		if _, err := tx.Exec(ctx, `UPDATE approvals SET state = $2, decided_by = $3, reason = $4, decided_at = $5 WHERE id = $1`,
			a.ID, state, by, reason, l.now()); err != nil {
			return err
		}
		actor := "approver:" + by
		if _, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: "approval_" + state, from: t.State, to: t.State, reason: reason,
			data: map[string]any{"approval": a.ID, "step": a.Step, "role": a.Role}}); err != nil {
			return err
		}
		if approve {
			return l.nextApproval(ctx, tx, t, actor)
		}
		ev, err := l.moveTicket(ctx, tx, t, lifecycle.Move{Action: lifecycle.ActDecline, Reason: reason}, actor, map[string]any{"approval": a.ID})
		if err != nil {
			return err
		}
		if err := l.endOpenWork(ctx, tx, t, actor, "declined: "+reason); err != nil {
			return err
		}
		if err := l.notifyChain(ctx, tx, t, ev, ChainStatus{Status: string(lifecycle.Cancelled), Reason: reason}); err != nil {
			return err
		}
		return l.notifyDispatchers(ctx, tx, t, ev, "declined", fmt.Sprintf("Заявка %s отклонена при согласовании", t.Number),
			fmt.Sprintf("%s (%s) отклонил заявку %s: %s", a.ContactName, a.Role, t.Number, reason))
	})
}

// Approvals lists a ticket's approval chain.
func (s *Store) Approvals(ctx context.Context, ticketID int64) ([]Approval, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE ticket_id = $1 ORDER BY step`, ticketID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Approval])
}

// ApprovalByID reads one approval.
func (s *Store) ApprovalByID(ctx context.Context, id int64) (*Approval, error) {
	return one[Approval](ctx, s.Pool, fmt.Sprintf("approval %d", id), `SELECT `+approvalColumns+` FROM approvals WHERE id = $1`, id)
}
