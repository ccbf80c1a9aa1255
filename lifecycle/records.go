package lifecycle

import (
	"encoding/json"
	"time"
)

// Ticket is what the lifecycle knows of a ticket: the facts its decisions
// read. The store loads it; the service keeps it current within a
// transaction.
type Ticket struct {
	ID         int64
	Number     string
	Client     string
	ExternalID *string
	Object     string
	Category   *string
	Priority   *string
	Problem    string
	State      string
	Engineer   *string
	SLADue     *time.Time
	Assignment []byte // routing's decision at creation, as JSON
	CreatedAt  time.Time

	// tasks are the ticket's tasks when the transaction knows them all
	// without reading them (a ticket it created itself); see knowTasks.
	tasks      []Task
	tasksKnown bool
}

// knowTasks records that the ticket has exactly tasks, so that bringing its
// state in line with them needs no read.
func (t *Ticket) knowTasks(tasks []Task) { t.tasks, t.tasksKnown = tasks, true }

// forgetTasks drops what knowTasks recorded: a task changed.
func (t *Ticket) forgetTasks() { t.tasks, t.tasksKnown = nil, false }

// Task is one engineer's piece of work on a ticket.
type Task struct {
	ID             int64      `db:"id" json:"id"`
	TicketID       int64      `db:"ticket_id" json:"ticket_id"`
	Engineer       *string    `db:"engineer" json:"engineer"`
	Mode           string     `db:"mode" json:"mode"`
	State          string     `db:"state" json:"state"`
	ResumeState    string     `db:"resume_state" json:"resume_state,omitempty"`
	PostponedUntil *time.Time `db:"postponed_until" json:"postponed_until,omitempty"`
	Reason         string     `db:"reason" json:"reason,omitempty"`
	Candidates     []string   `db:"candidates" json:"-"`
	OfferRound     int        `db:"offer_round" json:"offer_round,omitempty"`
	ProblemFound   string     `db:"problem_found" json:"problem_found,omitempty"`
	WorkDone       string     `db:"work_done" json:"work_done,omitempty"`
	AcceptedAt     *time.Time `db:"accepted_at" json:"accepted_at,omitempty"`
	StartedAt      *time.Time `db:"started_at" json:"started_at,omitempty"`
	DoneAt         *time.Time `db:"done_at" json:"done_at,omitempty"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at" json:"updated_at"`
}

// Status is the task's state and the state a postponement returns to.
func (k *Task) Status() Status {
	return Status{State: State(k.State), Resume: State(k.ResumeState)}
}

// EngineerCode is the engineer who holds the task, "" when nobody does.
func (k *Task) EngineerCode() string {
	if k.Engineer == nil {
		return ""
	}
	return *k.Engineer
}

// Offer states.
const (
	OfferPending   = "pending"
	OfferAccepted  = "accepted"
	OfferDeclined  = "declined"
	OfferExpired   = "expired"
	OfferWithdrawn = "withdrawn"
)

// Offer is one engineer's offer of a task.
type Offer struct {
	TaskID    int64      `db:"task_id" json:"task_id"`
	Engineer  string     `db:"engineer" json:"engineer"`
	Round     int        `db:"round" json:"round"`
	State     string     `db:"state" json:"state"`
	OfferedAt time.Time  `db:"offered_at" json:"offered_at"`
	DecidedAt *time.Time `db:"decided_at" json:"decided_at"`
}

// Approval states.
const (
	ApprovalWaiting  = "waiting"
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalDeclined = "declined"
	ApprovalSkipped  = "skipped"
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

// Timer kinds.
const (
	TimerOffer  = "offer"  // an offer round ends
	TimerWake   = "wake"   // a postponement ends
	TimerRisk   = "risk"   // the SLA is at risk
	TimerBreach = "breach" // the SLA is broken
	TimerQC     = "qc"     // a QC ticket follows a done one
)

// Timer is one scheduler timer. Timers are unique by Key: planning the same
// timer twice keeps the first.
type Timer struct {
	ID       int64           `db:"id" json:"id"`
	Key      string          `db:"key" json:"key"`
	Kind     string          `db:"kind" json:"kind"`
	TicketID int64           `db:"ticket_id" json:"ticket_id"`
	TaskID   *int64          `db:"task_id" json:"task_id"`
	DueAt    time.Time       `db:"due_at" json:"due_at"`
	Data     json.RawMessage `db:"data" json:"data"`
	FiredAt  *time.Time      `db:"fired_at" json:"fired_at"`
	Outcome  string          `db:"outcome" json:"outcome"`
}

// Contract is a recurring-work contract.
type Contract struct {
	ID       int64      `db:"id" json:"id"`
	Client   string     `db:"client" json:"client"`
	Object   string     `db:"object" json:"object"`
	Category *string    `db:"category" json:"category"`
	Engineer *string    `db:"engineer" json:"engineer"`
	Problem  string     `db:"problem" json:"problem"`
	Period   string     `db:"period" json:"period"`
	StartsOn time.Time  `db:"starts_on" json:"starts_on"`
	EndsOn   *time.Time `db:"ends_on" json:"ends_on"`
	Active   bool       `db:"active" json:"active"`
}

// Completion is what an engineer reports when the work is done.
type Completion struct {
	ProblemFound string `json:"problem_found"`
	WorkDone     string `json:"work_done"`
}

// TicketEvent is one row the lifecycle adds to a ticket's history.
type TicketEvent struct {
	Ticket   int64
	At       time.Time
	Actor    string
	Kind     string
	From, To string
	Reason   string
	Data     map[string]any
}

// Message is a notification to queue in the outbox: Channel email, webhook
// or connector, to Target, in the schema of that channel's sender. DedupKey
// makes queueing it twice (a retried transaction) queue it once.
type Message struct {
	Channel  string
	Target   string
	TicketID int64
	Payload  any
	DedupKey string
}

// Actors of history rows that are not a person.
const (
	ActorIntake    = "intake"
	ActorScheduler = "scheduler"
)
