package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/lifecycle"
)

// EmailPayload is the payload of the lifecycle's email outbox messages.
// It is the outbox email sender's schema (connectors/outbox.Email): the
// row's target is the recipient.
type EmailPayload struct {
	Subject    string `json:"subject"`
	Text       string `json:"text"`
	ExternalID string `json:"external_id,omitempty"`
}

// EngineerNotice is the payload of the engineer webhook (a push or
// Telegram bridge) and what the engineer email says.
type EngineerNotice struct {
	Type      string     `json:"type"` // task.assigned | task.offered | task.withdrawn | task.cancelled | task.resumed
	Engineer  string     `json:"engineer"`
	Email     string     `json:"email,omitempty"`
	Phone     string     `json:"phone,omitempty"`
	Task      int64      `json:"task"`
	Ticket    string     `json:"ticket"`
	Client    string     `json:"client"`
	Object    string     `json:"object"`
	Address   string     `json:"address,omitempty"`
	Problem   string     `json:"problem,omitempty"`
	SLADue    *time.Time `json:"sla_due,omitempty"`
	AcceptURL string     `json:"accept_url,omitempty"`
	RejectURL string     `json:"reject_url,omitempty"`
}

// EscalationNotice is the payload of the dispatchers' webhook.
type EscalationNotice struct {
	Type    string     `json:"type"` // at_risk | breached | rejected | no_engineer | declined | qc_created
	Ticket  string     `json:"ticket"`
	Client  string     `json:"client"`
	Object  string     `json:"object"`
	State   string     `json:"state"`
	SLADue  *time.Time `json:"sla_due,omitempty"`
	Message string     `json:"message"`
}

// ChainStatus is the payload of a status push to a chain (connector kind),
// in the connectors' Push schema (op, external_id, status, comment,
// ticket_id) plus the details a desk may want.
type ChainStatus struct {
	Op         string     `json:"op"` // always "status"
	TicketID   int64      `json:"ticket_id"`
	Comment    string     `json:"comment,omitempty"`
	Ticket     string     `json:"ticket"`
	ExternalID string     `json:"external_id,omitempty"`
	Status     string     `json:"status"` // the chain's code for done | cancelled (lifecycle.chains.<client>.statuses)
	Reason     string     `json:"reason,omitempty"`
	WorkDone   string     `json:"work_done,omitempty"`
	Engineers  []string   `json:"engineers,omitempty"`
	DoneAt     *time.Time `json:"done_at,omitempty"`
	ActURL     string     `json:"act_url,omitempty"`
}

// linkURL signs a one-click link.
func (l *Lifecycle) linkURL(act lifecycle.Action, kind string, subject int64, who string) string {
	if l.signer == nil || l.cfg.BaseURL == "" {
		return ""
	}
	tok := l.signer.Sign(lifecycle.Link{Action: act, Kind: kind, Subject: subject, Who: who, Expires: l.now().Add(l.cfg.LinkTTL)})
	return strings.TrimRight(l.cfg.BaseURL, "/") + "/l/" + tok
}

var noticeWords = map[string]string{
	"assigned":  "Вам назначена заявка",
	"offered":   "Предложение заявки",
	"withdrawn": "Предложение заявки снято: её принял другой инженер",
	"cancelled": "Заявка отменена",
	"resumed":   "Отложенная заявка снова в работе",
}

// notifyEngineer queues the engineer's email (with accept and reject links
// when he is asked to decide) and the engineer webhook.
func (l *Lifecycle) notifyEngineer(ctx context.Context, tx pgx.Tx, t *Ticket, k *Task, engineer, what string, ev int64) error {
	var name, email, phone, address string
	err := tx.QueryRow(ctx, `SELECT e.name, e.email, e.phone, coalesce((SELECT address FROM objects WHERE client = $2 AND code = $3), '')
		FROM engineers e WHERE e.code = $1`, engineer, t.Client, t.Object).Scan(&name, &email, &phone, &address)
	if err != nil {
		return fmt.Errorf("engineer %s: %w", engineer, err)
	}
	n := EngineerNotice{Type: "task." + what, Engineer: engineer, Email: email, Phone: phone, Task: k.ID, Ticket: t.Number,
		Client: t.Client, Object: t.Object, Address: address, Problem: t.Problem, SLADue: t.SLADue}
	if what == "assigned" || what == "offered" {
		n.AcceptURL = l.linkURL(lifecycle.ActAccept, "task", k.ID, engineer)
		n.RejectURL = l.linkURL(lifecycle.ActReject, "task", k.ID, engineer)
	}
	tid := t.ID
	if email != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "%s, здравствуйте.\n\n%s %s.\nОбъект: %s %s\nАдрес: %s\nПроблема: %s\n", name, noticeWords[what], t.Number, t.Client, t.Object, address, t.Problem)
		if t.SLADue != nil {
			fmt.Fprintf(&b, "Срок: %s\n", t.SLADue.In(l.cfg.Location).Format("02.01.2006 15:04"))
		}
		if n.AcceptURL != "" {
			fmt.Fprintf(&b, "\nПринять: %s\nОтказаться: %s\n", n.AcceptURL, n.RejectURL)
		}
		if err := l.enqueue(ctx, tx, OutboxMessage{Kind: OutboxEmail, Target: email, TicketID: &tid,
			Payload:  EmailPayload{Subject: fmt.Sprintf("%s %s", noticeWords[what], t.Number), Text: b.String()},
			DedupKey: fmt.Sprintf("lc:email:%d:%s", ev, engineer)}); err != nil {
			return err
		}
	}
	if l.cfg.EngineerWebhook != "" {
		if err := l.enqueue(ctx, tx, OutboxMessage{Kind: OutboxWebhook, Target: l.cfg.EngineerWebhook, TicketID: &tid,
			Payload: n, DedupKey: fmt.Sprintf("lc:push:%d:%s", ev, engineer)}); err != nil {
			return err
		}
	}
	return nil
}

// notifyDispatchers queues an escalation to the dispatchers.
func (l *Lifecycle) notifyDispatchers(ctx context.Context, tx pgx.Tx, t *Ticket, ev int64, kind, subject, text string) error {
	tid := t.ID
	for _, to := range l.cfg.Dispatchers {
		if err := l.enqueue(ctx, tx, OutboxMessage{Kind: OutboxEmail, Target: to, TicketID: &tid,
			Payload: EmailPayload{Subject: subject, Text: text}, DedupKey: fmt.Sprintf("lc:disp:%d:%s", ev, to)}); err != nil {
			return err
		}
	}
	if l.cfg.DispatchersWebhook != "" {
		return l.enqueue(ctx, tx, OutboxMessage{Kind: OutboxWebhook, Target: l.cfg.DispatchersWebhook, TicketID: &tid,
			Payload:  EscalationNotice{Type: kind, Ticket: t.Number, Client: t.Client, Object: t.Object, State: t.State, SLADue: t.SLADue, Message: text},
			DedupKey: fmt.Sprintf("lc:disphook:%d", ev)})
	}
	return nil
}

// notifyChain tells the chain of a done or cancelled ticket through its
// connector or by email, as configured for the client.
func (l *Lifecycle) notifyChain(ctx context.Context, tx pgx.Tx, t *Ticket, ev int64, s ChainStatus) error {
	target, ok := l.cfg.Chains[t.Client]
	if !ok {
		return nil
	}
	ours := s.Status
	s.Op, s.TicketID, s.Ticket = "status", t.ID, t.Number
	if code, ok := target.Statuses[ours]; ok {
		s.Status = code
	}
	if t.ExternalID != nil {
		s.ExternalID = *t.ExternalID
	}
	if l.cfg.BaseURL != "" && ours == string(lifecycle.Done) {
		s.ActURL = fmt.Sprintf("%s/api/v1/tickets/%d/act", strings.TrimRight(l.cfg.BaseURL, "/"), t.ID)
	}
	switch ours {
	case string(lifecycle.Done):
		s.Comment = "Работы выполнены: " + s.WorkDone
		if s.ActURL != "" {
			s.Comment += "\nАкт: " + s.ActURL
		}
	default:
		s.Comment = "Заявка отменена: " + s.Reason
	}
	tid := t.ID
	m := OutboxMessage{Kind: target.Kind, Target: target.Target, TicketID: &tid, Payload: s, DedupKey: fmt.Sprintf("lc:chain:%d", ev)}
	if target.Kind == OutboxEmail {
		ref := s.ExternalID
		if ref == "" {
			ref = t.Number
		}
		var b strings.Builder
		switch ours {
		case string(lifecycle.Done):
			fmt.Fprintf(&b, "Заявка %s (наш номер %s) выполнена.\n\nВыполненные работы:\n%s\n", ref, t.Number, s.WorkDone)
			if s.ActURL != "" {
				fmt.Fprintf(&b, "\nАкт выполненных работ: %s\n", s.ActURL)
			}
		default:
			fmt.Fprintf(&b, "Заявка %s (наш номер %s) отменена.\nПричина: %s\n", ref, t.Number, s.Reason)
		}
		m.Payload = EmailPayload{Subject: fmt.Sprintf("Заявка %s: %s", ref, statusWords[ours]), Text: b.String(), ExternalID: s.ExternalID}
	}
	return l.enqueue(ctx, tx, m)
}

var statusWords = map[string]string{"done": "выполнена", "cancelled": "отменена"}
