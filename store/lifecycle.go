package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/routing"
)

// LifecycleConfig is what the lifecycle needs from the configuration.
type LifecycleConfig struct {
	OfferN       int           // engineers per offer round; routing's default when 0
	OfferTimeout time.Duration // an offer round lasts this long
	AtRisk       float64       // escalate when this share of the SLA time is used and nobody accepted (0.8)
	Contractor   string        // our company, for the act
	BaseURL      string        // public URL of this server, for signed links
	LinkTTL      time.Duration // signed links expire after this
	// Dispatchers are emailed escalations; DispatchersWebhook (optional)
	// gets the same as JSON.
	Dispatchers        []string
	DispatchersWebhook string
	// EngineerWebhook (optional) gets every engineer notification as JSON,
	// for a mobile push or Telegram bridge.
	EngineerWebhook string
	// QCDelay: a QC ticket follows a completed one after this delay, per
	// client; the "" key is the default; 0 or absent: no QC ticket.
	QCDelay map[string]time.Duration
	QCTeam  []string // emailed about QC tickets
	// Approvals are the approval chains per client.
	Approvals map[string][]ApprovalStep
	// Chains say how each client hears of completion and cancellation.
	Chains map[string]NotifyTarget
	// ChannelsOff are the outbox kinds that nothing in this deployment
	// delivers (email with no SMTP relay), each with the reason. Their
	// notifications are not queued: a row no sender will ever take only
	// ends dead. Absent kinds are delivered.
	ChannelsOff map[string]string
	// Attachment limits.
	MaxAttachmentBytes int64
	MaxTaskBytes       int64
	MaxAttachments     int
	Location           *time.Location // for acts, emails and periods
}

// ApprovalStep is one approver in a client's chain: a contact with Role.
// With ByRegion the contact's role is "Role:<the store's region>" (as in
// contacts.csv: regional_director:Московская обл.).
type ApprovalStep struct {
	Role     string
	ByRegion bool
}

// NotifyTarget is an outbox destination: Kind connector (Target: connector
// name) or email (Target: address).
type NotifyTarget struct {
	Kind   string
	Target string
	// Statuses maps our status (done, cancelled) to the chain's code for a
	// connector push; unmapped statuses are sent as ours.
	Statuses map[string]string
}

// Lifecycle drives tickets after the pipeline created them: tasks, offers,
// approvals, timers, completion. Every method that changes something runs one
// transaction that locks the ticket row first (then its task), writes the
// event rows and queues the outbox messages the change causes.
type Lifecycle struct {
	st     *Store
	cfg    LifecycleConfig
	signer *lifecycle.Signer
	dir    func() *routing.Directory
	now    func() time.Time
	// afterTimer runs after a timer's effect, before commit (tests: a
	// crash there must leave the timer due).
	afterTimer func(TimerRow) error
	// skipped counts, by kind, the notifications not queued because their
	// channel is off.
	skipped map[string]*atomic.Int64
}

// NewLifecycle returns the lifecycle service. dir returns the directory in
// force; now is the clock (time.Now outside tests).
func NewLifecycle(st *Store, cfg LifecycleConfig, signer *lifecycle.Signer, dir func() *routing.Directory, now func() time.Time) *Lifecycle {
	if cfg.OfferN <= 0 {
		cfg.OfferN = routing.DefaultOfferN
	}
	if cfg.OfferTimeout <= 0 {
		cfg.OfferTimeout = 15 * time.Minute
	}
	if cfg.AtRisk <= 0 || cfg.AtRisk >= 1 {
		cfg.AtRisk = 0.8
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = 72 * time.Hour
	}
	if cfg.MaxAttachmentBytes <= 0 {
		cfg.MaxAttachmentBytes = 10 << 20
	}
	if cfg.MaxTaskBytes <= 0 {
		cfg.MaxTaskBytes = 50 << 20
	}
	if cfg.MaxAttachments <= 0 {
		cfg.MaxAttachments = 30
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	skipped := map[string]*atomic.Int64{}
	for _, k := range []string{OutboxEmail, OutboxWebhook, OutboxConnector} {
		skipped[k] = new(atomic.Int64)
	}
	return &Lifecycle{st: st, cfg: cfg, signer: signer, dir: dir, now: now, skipped: skipped}
}

// ChannelsOff returns the outbox kinds whose notifications are not queued,
// with the reason.
func (l *Lifecycle) ChannelsOff() map[string]string { return l.cfg.ChannelsOff }

// Skipped is how many notifications of kind were not queued because the
// kind is off (since start; a transaction retried counts again).
func (l *Lifecycle) Skipped(kind string) int64 {
	if c := l.skipped[kind]; c != nil {
		return c.Load()
	}
	return 0
}

// enqueue queues a notification unless its channel is off.
func (l *Lifecycle) enqueue(ctx context.Context, tx pgx.Tx, m OutboxMessage) error {
	if _, off := l.cfg.ChannelsOff[m.Kind]; off {
		if c := l.skipped[m.Kind]; c != nil {
			c.Add(1)
		}
		return nil
	}
	return EnqueueOutbox(ctx, tx, m)
}

// Store returns the store.
func (l *Lifecycle) Store() *Store { return l.st }

// Signer returns the link signer.
func (l *Lifecycle) Signer() *lifecycle.Signer { return l.signer }

// Now is the lifecycle's clock.
func (l *Lifecycle) Now() time.Time { return l.now() }

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

const taskColumns = `id, ticket_id, engineer, mode, state, resume_state, postponed_until, reason, candidates, offer_round,
	problem_found, work_done, accepted_at, started_at, done_at, created_at, updated_at`

func (k *Task) status() lifecycle.Status {
	return lifecycle.Status{State: lifecycle.State(k.State), Resume: lifecycle.State(k.ResumeState)}
}

func (k *Task) engineer() string {
	if k.Engineer == nil {
		return ""
	}
	return *k.Engineer
}

// Actors of events that are not a person.
const (
	ActorIntake    = "intake"
	ActorScheduler = "scheduler"
)

func lockTicket(ctx context.Context, tx pgx.Tx, id int64) (*Ticket, error) {
	return one[Ticket](ctx, tx, fmt.Sprintf("ticket %d", id), `SELECT `+ticketColumns+` FROM tickets WHERE id = $1 FOR UPDATE`, id)
}

// lockTask locks the task's ticket, then the task: every writer takes them
// in this order, so two writers of one ticket queue instead of deadlocking.
func lockTask(ctx context.Context, tx pgx.Tx, taskID int64) (*Task, *Ticket, error) {
	var ticketID int64
	if err := tx.QueryRow(ctx, `SELECT ticket_id FROM engineer_tasks WHERE id = $1`, taskID).Scan(&ticketID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, fmt.Errorf("task %d: %w", taskID, ErrNotFound)
		}
		return nil, nil, err
	}
	t, err := lockTicket(ctx, tx, ticketID)
	if err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, `SELECT `+taskColumns+` FROM engineer_tasks WHERE id = $1 FOR UPDATE`, taskID)
	if err != nil {
		return nil, nil, err
	}
	k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Task])
	if err != nil {
		return nil, nil, err
	}
	return k, t, nil
}

func ticketTasks(ctx context.Context, q TicketQuerier, ticketID int64) ([]Task, error) {
	rows, err := q.Query(ctx, `SELECT `+taskColumns+` FROM engineer_tasks WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Task])
}

// lcEvent is one history row written by the lifecycle.
type lcEvent struct {
	ticket   int64
	actor    string
	kind     string
	from, to string
	reason   string
	data     map[string]any
}

// event appends a history row at the lifecycle's clock and returns its id,
// which the outbox messages it causes use in their dedup keys.
func (l *Lifecycle) event(ctx context.Context, tx pgx.Tx, e lcEvent) (int64, error) {
	data := []byte("{}")
	if e.data != nil {
		var err error
		if data, err = json.Marshal(e.data); err != nil {
			return 0, fmt.Errorf("ticket %d: encoding %s data: %w", e.ticket, e.kind, err)
		}
	}
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO ticket_events (ticket_id, at, actor, kind, from_state, to_state, reason, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		e.ticket, l.now(), e.actor, e.kind, e.from, e.to, e.reason, data).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ticket %d: recording %s: %w", e.ticket, e.kind, err)
	}
	return id, nil
}

// enterState closes the open duration row of a ticket (taskID nil) or task
// and opens one for state, unless the state ends the clock.
func (l *Lifecycle) enterState(ctx context.Context, tx pgx.Tx, t *Ticket, taskID *int64, state string) error {
	now := l.now()
	if _, err := tx.Exec(ctx, `UPDATE state_durations SET left_at = $3
		WHERE ticket_id = $1 AND coalesce(task_id, 0) = coalesce($2, 0) AND left_at IS NULL`, t.ID, taskID, now); err != nil {
		return err
	}
	switch lifecycle.State(state) {
	case lifecycle.Closed, lifecycle.Cancelled:
		return nil
	case lifecycle.Done, lifecycle.Rejected:
		if taskID != nil {
			return nil // a task's clock stops; the ticket's runs on
		}
	}
	cat := ""
	if t.Category != nil {
		cat = *t.Category
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO state_durations (ticket_id, task_id, state, client, region, category, entered_at)
		VALUES ($1, $2, $3, $4, coalesce((SELECT region FROM objects WHERE client = $4 AND code = $5), ''), $6, $7)`,
		t.ID, taskID, state, t.Client, t.Object, cat, now)
	return err
}

// moveTask applies one move to a task, records it, and brings the ticket's
// state in line with its tasks. It returns the event id.
func (l *Lifecycle) moveTask(ctx context.Context, tx pgx.Tx, t *Ticket, k *Task, m lifecycle.Move, actor string, data map[string]any) (int64, error) {
	ev, err := l.moveTaskOnly(ctx, tx, t, k, m, actor, data)
	if err != nil {
		return 0, err
	}
	return ev, l.syncTicket(ctx, tx, t, actor, m.Reason)
}

// moveTaskOnly is moveTask without the ticket's update, for a reject that
// re-dispatches first: the ticket is rejected only when nobody else is found.
func (l *Lifecycle) moveTaskOnly(ctx context.Context, tx pgx.Tx, t *Ticket, k *Task, m lifecycle.Move, actor string, data map[string]any) (int64, error) {
	m.At = l.now()
	from := k.status()
	to, err := lifecycle.Transition(from, m)
	if err != nil {
		return 0, fmt.Errorf("task %d: %w", k.ID, err)
	}
	now := l.now()
	k.State, k.ResumeState = string(to.State), string(to.Resume)
	switch m.Action {
	case lifecycle.ActAccept:
		k.AcceptedAt = &now
	case lifecycle.ActStart:
		k.StartedAt = &now
	case lifecycle.ActComplete:
		k.DoneAt = &now
	case lifecycle.ActPostpone:
		u := m.Until
		k.PostponedUntil = &u
	case lifecycle.ActResume:
		k.PostponedUntil = nil
	}
	if m.Reason != "" {
		k.Reason = m.Reason
	}
	_, err = tx.Exec(ctx, `UPDATE engineer_tasks SET state = $2, resume_state = $3, postponed_until = $4, reason = $5, engineer = $6,
		accepted_at = $7, started_at = $8, done_at = $9, problem_found = $10, work_done = $11, updated_at = $12 WHERE id = $1`,
		k.ID, k.State, k.ResumeState, k.PostponedUntil, k.Reason, k.Engineer, k.AcceptedAt, k.StartedAt, k.DoneAt,
		k.ProblemFound, k.WorkDone, now)
	if err != nil {
		return 0, err
	}
	if data == nil {
		data = map[string]any{}
	}
	data["task"] = k.ID
	if e := k.engineer(); e != "" {
		data["engineer"] = e
	}
	if m.Action == lifecycle.ActPostpone {
		data["until"] = m.Until
	}
	id, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: "task_" + string(m.Action), from: string(from.State), to: k.State, reason: m.Reason, data: data})
	if err != nil {
		return 0, err
	}
	return id, l.enterState(ctx, tx, t, &k.ID, k.State)
}

// syncTicket sets the ticket's state from its tasks (lifecycle.TicketState)
// and the engineer who holds it, and runs what entering the state causes.
func (l *Lifecycle) syncTicket(ctx context.Context, tx pgx.Tx, t *Ticket, actor, reason string) error {
	tasks, err := ticketTasks(ctx, tx, t.ID)
	if err != nil {
		return err
	}
	states := make([]lifecycle.State, len(tasks))
	var holder *string
	for i, k := range tasks {
		states[i] = lifecycle.State(k.State)
		if holder == nil && k.Engineer != nil && k.State != string(lifecycle.Rejected) && k.State != string(lifecycle.Cancelled) {
			holder = k.Engineer
		}
	}
	if !slices.Equal(ptrStr(holder), ptrStr(t.Engineer)) && !lifecycle.State(t.State).Final() {
		if _, err := tx.Exec(ctx, `UPDATE tickets SET engineer = $2, updated_at = now() WHERE id = $1`, t.ID, holder); err != nil {
			return err
		}
		t.Engineer = holder
	}
	to := lifecycle.TicketState(lifecycle.State(t.State), states)
	if string(to) == t.State {
		return nil
	}
	_, err = l.setTicketState(ctx, tx, t, string(to), "state", actor, reason, nil)
	return err
}

func ptrStr(p *string) []string {
	if p == nil {
		return nil
	}
	return []string{*p}
}

// setTicketState records a ticket's change of state and runs its effects.
func (l *Lifecycle) setTicketState(ctx context.Context, tx pgx.Tx, t *Ticket, to, kind, actor, reason string, data map[string]any) (int64, error) {
	from := t.State
	if _, err := tx.Exec(ctx, `UPDATE tickets SET state = $2, updated_at = now() WHERE id = $1`, t.ID, to); err != nil {
		return 0, err
	}
	t.State = to
	ev, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: kind, from: from, to: to, reason: reason, data: data})
	if err != nil {
		return 0, err
	}
	if err := l.enterState(ctx, tx, t, nil, to); err != nil {
		return 0, err
	}
	switch lifecycle.State(to) {
	case lifecycle.Done:
		return ev, l.onDone(ctx, tx, t, ev)
	case lifecycle.Rejected:
		return ev, l.notifyDispatchers(ctx, tx, t, ev, "rejected", fmt.Sprintf("Заявка %s: нет инженера, нужен диспетчер", t.Number),
			fmt.Sprintf("Заявка %s (%s, объект %s) отклонена инженерами, других кандидатов нет.\nПричина: %s", t.Number, t.Client, t.Object, reason))
	}
	return ev, nil
}

// moveTicket applies a ticket-level action (approval, cancel, close).
func (l *Lifecycle) moveTicket(ctx context.Context, tx pgx.Tx, t *Ticket, m lifecycle.Move, actor string, data map[string]any) (int64, error) {
	m.At = l.now()
	to, err := lifecycle.Transition(lifecycle.Status{State: lifecycle.State(t.State)}, m)
	if err != nil {
		return 0, fmt.Errorf("ticket %s: %w", t.Number, err)
	}
	return l.setTicketState(ctx, tx, t, string(to.State), string(m.Action), actor, m.Reason, data)
}

// OnTicket is the pipeline's ticket hook: for a new ticket it starts the
// approval chain or dispatches the work and sets the SLA timers; for a
// cancellation or closing by the chain it ends the open tasks.
func (l *Lifecycle) OnTicket(ctx context.Context, tx pgx.Tx, ticketID int64, created bool, event string, a *routing.Assignment) error {
	if !created && event != "cancelled" && event != "closed" {
		return nil // an ordinary follow-up: nothing for the lifecycle to do
	}
	t, err := lockTicket(ctx, tx, ticketID)
	if err != nil {
		return err
	}
	if created {
		return l.onCreated(ctx, tx, t, a, ActorIntake, true)
	}
	switch event {
	case "cancelled", "closed":
		// The pipeline has already set the ticket's state and recorded it.
		return l.endOpenWork(ctx, tx, t, ActorIntake, "the chain "+event+" the ticket")
	}
	return nil
}

// onCreated starts a new ticket's life. Contract work (recurring tickets)
// is approved by the contract and skips the approval chain.
func (l *Lifecycle) onCreated(ctx context.Context, tx pgx.Tx, t *Ticket, a *routing.Assignment, actor string, approvals bool) error {
	if err := l.enterState(ctx, tx, t, nil, t.State); err != nil {
		return err
	}
	if t.SLADue != nil {
		start := t.CreatedAt
		span := t.SLADue.Sub(start)
		risk := start.Add(time.Duration(float64(span) * l.cfg.AtRisk))
		if err := l.schedule(ctx, tx, fmt.Sprintf("risk:%d", t.ID), "risk", t.ID, nil, risk, nil); err != nil {
			return err
		}
		if err := l.schedule(ctx, tx, fmt.Sprintf("breach:%d", t.ID), "breach", t.ID, nil, *t.SLADue, nil); err != nil {
			return err
		}
	}
	if steps := l.cfg.Approvals[t.Client]; approvals && len(steps) > 0 {
		return l.startApprovals(ctx, tx, t, steps, actor)
	}
	return l.dispatch(ctx, tx, t, a, actor, "")
}

// dispatch gives the ticket's work to an engineer or offers it. a is
// routing's decision when there is a fresh one; nil runs routing again
// without the engineers who rejected or let the work go.
func (l *Lifecycle) dispatch(ctx context.Context, tx pgx.Tx, t *Ticket, a *routing.Assignment, actor, why string) error {
	if a == nil {
		var err error
		if a, err = l.reassign(ctx, tx, t); err != nil {
			return err
		}
	}
	switch {
	case a.Engineer != "":
		eng := a.Engineer
		k := &Task{TicketID: t.ID, Engineer: &eng, Mode: routing.ModeDirect}
		ev, err := l.createTask(ctx, tx, t, k, lifecycle.ActAssign, actor, map[string]any{"reason": a.Reason})
		if err != nil {
			return err
		}
		return l.notifyEngineer(ctx, tx, t, k, eng, "assigned", ev)
	case len(a.Offer) > 0:
		k := &Task{TicketID: t.ID, Mode: routing.ModeOffer, Candidates: remaining(ranked(a), a.Offer), OfferRound: 1}
		ev, err := l.createTask(ctx, tx, t, k, lifecycle.ActOffer, actor, map[string]any{"offer": a.Offer, "reason": a.Reason})
		if err != nil {
			return err
		}
		return l.offerTo(ctx, tx, t, k, a.Offer, ev)
	}
	ev, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: "no_engineer", reason: a.Reason})
	if err != nil {
		return err
	}
	if err := l.syncTicket(ctx, tx, t, actor, why); err != nil {
		return err
	}
	if t.State == string(lifecycle.Rejected) {
		return nil // setTicketState told the dispatchers
	}
	return l.notifyDispatchers(ctx, tx, t, ev, "no_engineer", fmt.Sprintf("Заявка %s: нет подходящего инженера", t.Number),
		fmt.Sprintf("Для заявки %s (%s, объект %s) маршрутизация не нашла инженера: %s", t.Number, t.Client, t.Object, a.Reason))
}

// reassign runs routing for the ticket again, leaving out every engineer who
// rejected it or let an offer of it go.
func (l *Lifecycle) reassign(ctx context.Context, tx pgx.Tx, t *Ticket) (*routing.Assignment, error) {
	dir := l.dir()
	if dir == nil {
		return &routing.Assignment{Reason: "no directory loaded"}, nil
	}
	obj := dir.Object(t.Client, t.Object)
	if obj == nil || t.Category == nil {
		return &routing.Assignment{Reason: "no store or category: a dispatcher decides"}, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT engineer FROM engineer_tasks WHERE ticket_id = $1 AND state = 'rejected' AND engineer IS NOT NULL
		UNION SELECT o.engineer FROM task_offers o JOIN engineer_tasks k ON k.id = o.task_id
		WHERE k.ticket_id = $1 AND o.state IN ('declined', 'expired')`, t.ID)
	if err != nil {
		return nil, err
	}
	exclude, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	mode := routing.ModeDirect
	if err := tx.QueryRow(ctx, `SELECT mode FROM engineer_tasks WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1`, t.ID).Scan(&mode); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	} else if errors.Is(err, pgx.ErrNoRows) && len(t.Assignment) > 0 {
		var prev routing.Assignment
		if json.Unmarshal(t.Assignment, &prev) == nil && len(prev.Offer) > 0 {
			mode = routing.ModeOffer
		}
	}
	loads, err := OpenLoads(ctx, tx)
	if err != nil {
		return nil, err
	}
	a := dir.Assign(obj, *t.Category, loads, routing.Policy{Mode: mode, OfferN: l.cfg.OfferN, Exclude: exclude})
	return &a, nil
}

func ranked(a *routing.Assignment) []string {
	var out []string
	for _, c := range a.Considered {
		if c.Eligible {
			out = append(out, c.Code)
		}
	}
	return out
}

func remaining(all, taken []string) []string {
	out := []string{}
	for _, c := range all {
		if !slices.Contains(taken, c) {
			out = append(out, c)
		}
	}
	return out
}

// createTask inserts a task born by act (assign or offer) and records it.
func (l *Lifecycle) createTask(ctx context.Context, tx pgx.Tx, t *Ticket, k *Task, act lifecycle.Action, actor string, data map[string]any) (int64, error) {
	st, err := lifecycle.Transition(lifecycle.Status{State: lifecycle.New}, lifecycle.Move{Action: act, At: l.now()})
	if err != nil {
		return 0, err
	}
	k.State = string(st.State)
	if k.Candidates == nil {
		k.Candidates = []string{}
	}
	now := l.now()
	if err := tx.QueryRow(ctx, `INSERT INTO engineer_tasks (ticket_id, engineer, mode, state, candidates, offer_round, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, k.TicketID, k.Engineer, k.Mode, k.State, k.Candidates, k.OfferRound, now).Scan(&k.ID); err != nil {
		return 0, err
	}
	if data == nil {
		data = map[string]any{}
	}
	data["task"] = k.ID
	if e := k.engineer(); e != "" {
		data["engineer"] = e
	}
	ev, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: "task_" + string(act), from: "", to: k.State, data: data})
	if err != nil {
		return 0, err
	}
	if err := l.enterState(ctx, tx, t, &k.ID, k.State); err != nil {
		return 0, err
	}
	return ev, l.syncTicket(ctx, tx, t, actor, "")
}

// offerTo offers task k to engineers (one round) and sets the round's timer.
func (l *Lifecycle) offerTo(ctx context.Context, tx pgx.Tx, t *Ticket, k *Task, engineers []string, ev int64) error {
	now := l.now()
	for _, e := range engineers {
		if _, err := tx.Exec(ctx, `INSERT INTO task_offers (task_id, engineer, round, offered_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (task_id, engineer) DO NOTHING`, k.ID, e, k.OfferRound, now); err != nil {
			return err
		}
		if err := l.notifyEngineer(ctx, tx, t, k, e, "offered", ev); err != nil {
			return err
		}
	}
	return l.schedule(ctx, tx, fmt.Sprintf("offer:%d:%d", k.ID, k.OfferRound), "offer", t.ID, &k.ID, now.Add(l.cfg.OfferTimeout),
		map[string]any{"round": k.OfferRound})
}

// advanceOffer ends the current offer round of k and offers the work to the
// next candidates, or rejects the task when none are left.
func (l *Lifecycle) advanceOffer(ctx context.Context, tx pgx.Tx, t *Ticket, k *Task, actor, why string) (string, error) {
	now := l.now()
	if _, err := tx.Exec(ctx, `UPDATE task_offers SET state = 'expired', decided_at = $2 WHERE task_id = $1 AND state = 'pending'`, k.ID, now); err != nil {
		return "", err
	}
	n := min(l.cfg.OfferN, len(k.Candidates))
	next, rest := k.Candidates[:n], k.Candidates[n:]
	if len(next) == 0 {
		if _, err := l.moveTaskOnly(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActReject, Reason: "nobody accepted the offer (" + why + ")"}, actor, nil); err != nil {
			return "", err
		}
		if err := l.dispatch(ctx, tx, t, nil, actor, "nobody accepted the offer"); err != nil {
			return "", err
		}
		return "no candidates left", nil
	}
	k.OfferRound++
	k.Candidates = slices.Clone(rest)
	if _, err := tx.Exec(ctx, `UPDATE engineer_tasks SET offer_round = $2, candidates = $3, updated_at = $4 WHERE id = $1`, k.ID, k.OfferRound, k.Candidates, now); err != nil {
		return "", err
	}
	ev, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: "offer_moved", from: k.State, to: k.State, reason: why,
		data: map[string]any{"task": k.ID, "round": k.OfferRound, "offer": next}})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("offered to %v (round %d)", next, k.OfferRound), l.offerTo(ctx, tx, t, k, next, ev)
}

// endOpenWork cancels a ticket's open tasks, withdraws its offers and skips
// its open approvals: the ticket was cancelled or closed.
func (l *Lifecycle) endOpenWork(ctx context.Context, tx pgx.Tx, t *Ticket, actor, reason string) error {
	tasks, err := ticketTasks(ctx, tx, t.ID)
	if err != nil {
		return err
	}
	for i := range tasks {
		k := &tasks[i]
		switch lifecycle.State(k.State) {
		case lifecycle.Done, lifecycle.Rejected, lifecycle.Cancelled:
			continue
		}
		var offered []string
		if k.State == string(lifecycle.Offered) {
			rows, err := tx.Query(ctx, `UPDATE task_offers SET state = 'withdrawn', decided_at = $2 WHERE task_id = $1 AND state = 'pending' RETURNING engineer`, k.ID, l.now())
			if err != nil {
				return err
			}
			if offered, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
		}
		ev, err := l.moveTask(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActCancel, Reason: reason}, actor, nil)
		if err != nil {
			return err
		}
		for _, e := range append(offered, ptrStr(k.Engineer)...) {
			if err := l.notifyEngineer(ctx, tx, t, k, e, "cancelled", ev); err != nil {
				return err
			}
		}
	}
	_, err = tx.Exec(ctx, `UPDATE approvals SET state = 'skipped', reason = $2 WHERE ticket_id = $1 AND state IN ('waiting', 'pending')`, t.ID, reason)
	return err
}

// Cancel cancels a ticket for a dispatcher (or a chain's connector).
func (l *Lifecycle) Cancel(ctx context.Context, ticketID int64, actor, reason string) error {
	return l.st.InTx(ctx, func(tx pgx.Tx) error {
		t, err := lockTicket(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		ev, err := l.moveTicket(ctx, tx, t, lifecycle.Move{Action: lifecycle.ActCancel, Reason: reason}, actor, nil)
		if err != nil {
			return err
		}
		if err := l.endOpenWork(ctx, tx, t, actor, reason); err != nil {
			return err
		}
		return l.notifyChain(ctx, tx, t, ev, ChainStatus{Status: string(lifecycle.Cancelled), Reason: reason})
	})
}

// Close closes a done ticket (the chain or a dispatcher confirmed it).
func (l *Lifecycle) Close(ctx context.Context, ticketID int64, actor, reason string) error {
	return l.st.InTx(ctx, func(tx pgx.Tx) error {
		t, err := lockTicket(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		_, err = l.moveTicket(ctx, tx, t, lifecycle.Move{Action: lifecycle.ActClose, Reason: reason}, actor, nil)
		return err
	})
}

// Dispatch sends a ticket that waits for a dispatcher (new or rejected) to
// routing again, or to the engineer named.
func (l *Lifecycle) Dispatch(ctx context.Context, ticketID int64, actor, engineer string) error {
	return l.st.InTx(ctx, func(tx pgx.Tx) error {
		t, err := lockTicket(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		switch lifecycle.State(t.State) {
		case lifecycle.New, lifecycle.Rejected:
		default:
			return fmt.Errorf("ticket %s is %s: %w", t.Number, t.State, lifecycle.ErrInvalidTransition)
		}
		var a *routing.Assignment
		if engineer != "" {
			a = &routing.Assignment{Engineer: engineer, Reason: "chosen by " + actor}
		}
		return l.dispatch(ctx, tx, t, a, actor, "")
	})
}
