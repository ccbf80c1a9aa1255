package lifecycle

import (
	"fmt"
	"strings"
	"time"
)

// Email is the payload of an email notification: the outbox email sender's
// schema (connectors/outbox.Email); the message's target is the recipient.
type Email struct {
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
	Type    string     `json:"type"` // at_risk | breached | rejected | no_engineer | declined | approval_skipped
	Ticket  string     `json:"ticket"`
	Client  string     `json:"client"`
	Object  string     `json:"object"`
	State   string     `json:"state"`
	SLADue  *time.Time `json:"sla_due,omitempty"`
	Message string     `json:"message"`
}

// ChainStatus is the payload of a status push to a chain (connector
// channel), in the connectors' Push schema (op, external_id, status,
// comment, ticket_id) plus the details a desk may want.
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

// Quote sets text that came from outside (a sender's problem statement)
// apart from ours: every line, whatever character breaks it, starts with
// "> ", so nothing in it can pass for one of our lines, such as the
// "Принять: <link>" of an offer.
func Quote(text string) string {
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\v", "\n", "\f", "\n",
		"\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(strings.TrimSpace(text))
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

// EngineerContact is what a notification needs of an engineer and of the
// store the work is at.
type EngineerContact struct {
	Code, Name, Email, Phone string
	Address                  string // the store's
}

// TaskLinks are the signed one-click links of a task's notification; empty
// when links are not configured or the engineer is not asked to decide.
type TaskLinks struct {
	Accept, Reject string
}

var noticeWords = map[string]string{
	"assigned":  "Вам назначена заявка",
	"offered":   "Предложение заявки",
	"withdrawn": "Предложение заявки снято: её принял другой инженер",
	"cancelled": "Заявка отменена",
	"resumed":   "Отложенная заявка снова в работе",
}

// AsksDecision reports whether a notice of what (assigned, offered, ...)
// carries accept and reject links.
func AsksDecision(what string) bool { return what == "assigned" || what == "offered" }

// EngineerMessages are the notifications of an engineer about task k: an
// email when he has an address, and the engineer webhook when configured.
// ev is the history row that caused them, for the dedup keys.
func (c Config) EngineerMessages(t *Ticket, k *Task, e EngineerContact, what string, links TaskLinks, ev int64) []Message {
	n := EngineerNotice{Type: "task." + what, Engineer: e.Code, Email: e.Email, Phone: e.Phone, Task: k.ID, Ticket: t.Number,
		Client: t.Client, Object: t.Object, Address: e.Address, Problem: t.Problem, SLADue: t.SLADue,
		AcceptURL: links.Accept, RejectURL: links.Reject}
	var out []Message
	if e.Email != "" {
		out = append(out, Message{Channel: ChannelEmail, Target: e.Email, TicketID: t.ID,
			Payload:  Email{Subject: fmt.Sprintf("%s %s", noticeWords[what], t.Number), Text: c.engineerText(t, e, what, links)},
			DedupKey: fmt.Sprintf("lc:email:%d:%s", ev, e.Code)})
	}
	if c.EngineerWebhook != "" {
		out = append(out, Message{Channel: ChannelWebhook, Target: c.EngineerWebhook, TicketID: t.ID,
			Payload: n, DedupKey: fmt.Sprintf("lc:push:%d:%s", ev, e.Code)})
	}
	return out
}

// engineerText is the engineer's email. The problem is the sender's text:
// it is quoted, and our links follow it.
func (c Config) engineerText(t *Ticket, e EngineerContact, what string, links TaskLinks) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, здравствуйте.\n\n%s %s.\nОбъект: %s %s\nАдрес: %s\nПроблема (текст заявки):\n%s\n",
		e.Name, noticeWords[what], t.Number, t.Client, t.Object, e.Address, Quote(t.Problem))
	if t.SLADue != nil {
		fmt.Fprintf(&b, "Срок: %s\n", t.SLADue.In(c.location()).Format("02.01.2006 15:04"))
	}
	if links.Accept != "" {
		fmt.Fprintf(&b, "\nПринять: %s\nОтказаться: %s\n", links.Accept, links.Reject)
	}
	return b.String()
}

func (c Config) location() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// Escalation is a message to the dispatchers: Kind names it on the webhook.
type Escalation struct {
	Kind, Subject, Text string
}

// Escalations.
func escalateRejected(t *Ticket, reason string) Escalation {
	return Escalation{EscalationRejected, fmt.Sprintf("Заявка %s: нет инженера, нужен диспетчер", t.Number),
		fmt.Sprintf("Заявка %s (%s, объект %s) отклонена инженерами, других кандидатов нет.\nПричина: %s", t.Number, t.Client, t.Object, reason)}
}

func escalateNoEngineer(t *Ticket, reason string) Escalation {
	return Escalation{EscalationNoEngineer, fmt.Sprintf("Заявка %s: нет подходящего инженера", t.Number),
		fmt.Sprintf("Для заявки %s (%s, объект %s) маршрутизация не нашла инженера: %s", t.Number, t.Client, t.Object, reason)}
}

func escalateAtRisk(t *Ticket, atRisk float64) Escalation {
	return Escalation{EscalationAtRisk, fmt.Sprintf("Заявка %s: под угрозой срыва SLA", t.Number),
		fmt.Sprintf("Заявка %s (%s, объект %s) под угрозой срыва срока: использовано %.0f%% времени SLA, никто не принял. Состояние: %s.",
			t.Number, t.Client, t.Object, atRisk*100, t.State)}
}

func escalateBreached(t *Ticket) Escalation {
	return Escalation{EscalationBreached, fmt.Sprintf("Заявка %s: SLA нарушен", t.Number),
		fmt.Sprintf("Заявка %s (%s, объект %s): срок SLA истёк, заявка не выполнена. Состояние: %s.", t.Number, t.Client, t.Object, t.State)}
}

func escalateApprovalSkipped(t *Ticket, a *Approval) Escalation {
	return Escalation{EscalationApprovalSkipped, fmt.Sprintf("Заявка %s: некому согласовать шаг %d", t.Number, a.Step),
		fmt.Sprintf("Для заявки %s нет контакта с ролью %q; шаг согласования %d пропущен.", t.Number, a.Role, a.Step)}
}

func escalateDeclined(t *Ticket, a *Approval, reason string) Escalation {
	return Escalation{EscalationDeclined, fmt.Sprintf("Заявка %s отклонена при согласовании", t.Number),
		fmt.Sprintf("%s (%s) отклонил заявку %s: %s", a.ContactName, a.Role, t.Number, reason)}
}

// DispatcherMessages queue an escalation to every dispatcher and to the
// dispatchers' webhook.
func (c Config) DispatcherMessages(t *Ticket, e Escalation, ev int64) []Message {
	var out []Message
	for _, to := range c.Dispatchers {
		out = append(out, Message{Channel: ChannelEmail, Target: to, TicketID: t.ID,
			Payload: Email{Subject: e.Subject, Text: e.Text}, DedupKey: fmt.Sprintf("lc:disp:%d:%s", ev, to)})
	}
	if c.DispatchersWebhook != "" {
		out = append(out, Message{Channel: ChannelWebhook, Target: c.DispatchersWebhook, TicketID: t.ID,
			Payload:  EscalationNotice{Type: e.Kind, Ticket: t.Number, Client: t.Client, Object: t.Object, State: t.State, SLADue: t.SLADue, Message: e.Text},
			DedupKey: fmt.Sprintf("lc:disphook:%d", ev)})
	}
	return out
}

// ApprovalMessage asks approver a to approve ticket t by one of two links.
// The problem is the sender's text and is quoted.
func ApprovalMessage(t *Ticket, a *Approval, approveURL, declineURL string, ev int64) Message {
	text := fmt.Sprintf("%s, здравствуйте.\n\nПросим согласовать работы по заявке %s (объект %s).\nПроблема (текст заявки):\n%s\n\nСогласовать: %s\nОтклонить: %s\n",
		a.ContactName, t.Number, t.Object, Quote(t.Problem), approveURL, declineURL)
	return Message{Channel: ChannelEmail, Target: a.ContactEmail, TicketID: t.ID,
		Payload:  Email{Subject: "Согласование заявки " + t.Number, Text: text},
		DedupKey: fmt.Sprintf("lc:approval:%d", ev)}
}

var statusWords = map[string]string{"done": "выполнена", "cancelled": "отменена"}

// ChainMessage tells the chain of a done or cancelled ticket through its
// connector or by email, as configured for the client; false when the
// client has no target. s carries our status and its details; actURL is
// the act's address for a done ticket ("" when there is no base URL).
func (c Config) ChainMessage(t *Ticket, s ChainStatus, ev int64) (Message, bool) {
	target, ok := c.Chains[t.Client]
	if !ok {
		return Message{}, false
	}
	ours := s.Status
	s.Op, s.TicketID, s.Ticket = "status", t.ID, t.Number
	if code, ok := target.Statuses[ours]; ok {
		s.Status = code
	}
	if t.ExternalID != nil {
		s.ExternalID = *t.ExternalID
	}
	if c.BaseURL != "" && ours == string(Done) {
		s.ActURL = fmt.Sprintf("%s/api/v1/tickets/%d/act", strings.TrimRight(c.BaseURL, "/"), t.ID)
	}
	switch ours {
	case string(Done):
		s.Comment = "Работы выполнены: " + s.WorkDone
		if s.ActURL != "" {
			s.Comment += "\nАкт: " + s.ActURL
		}
	default:
		s.Comment = "Заявка отменена: " + s.Reason
	}
	m := Message{Channel: target.Channel, Target: target.Target, TicketID: t.ID, Payload: s, DedupKey: fmt.Sprintf("lc:chain:%d", ev)}
	if target.Channel == ChannelEmail {
		ref := s.ExternalID
		if ref == "" {
			ref = t.Number
		}
		var b strings.Builder
		switch ours {
		case string(Done):
			fmt.Fprintf(&b, "Заявка %s (наш номер %s) выполнена.\n\nВыполненные работы:\n%s\n", ref, t.Number, s.WorkDone)
			if s.ActURL != "" {
				fmt.Fprintf(&b, "\nАкт выполненных работ: %s\n", s.ActURL)
			}
		default:
			fmt.Fprintf(&b, "Заявка %s (наш номер %s) отменена.\nПричина: %s\n", ref, t.Number, s.Reason)
		}
		m.Payload = Email{Subject: fmt.Sprintf("Заявка %s: %s", ref, statusWords[ours]), Text: b.String(), ExternalID: s.ExternalID}
	}
	return m, true
}

// DoneStatus is the chain's news of a done ticket: the work of its done
// tasks, who did it and when the last of them finished.
func DoneStatus(tasks []Task) ChainStatus {
	s := ChainStatus{Status: string(Done)}
	for _, k := range tasks {
		if k.State != string(Done) {
			continue
		}
		if s.WorkDone != "" {
			s.WorkDone += "\n"
		}
		s.WorkDone += k.WorkDone
		s.Engineers = append(s.Engineers, k.EngineerCode())
		if k.DoneAt != nil && (s.DoneAt == nil || k.DoneAt.After(*s.DoneAt)) {
			s.DoneAt = k.DoneAt
		}
	}
	return s
}

// QCMessages tell the QC team of a new QC ticket.
func (c Config) QCMessages(qc *Ticket, why string, ev int64) []Message {
	var out []Message
	for _, to := range c.QCTeam {
		out = append(out, Message{Channel: ChannelEmail, Target: to, TicketID: qc.ID,
			Payload:  Email{Subject: "Контроль качества: " + qc.Number, Text: why},
			DedupKey: fmt.Sprintf("lc:qc:%d:%s", ev, to)})
	}
	return out
}
