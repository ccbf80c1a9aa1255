package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/lifecycle"
)

// The SQL behind lifecycle.Store and lifecycle.Tx: the lifecycle's
// decisions are its own; here they are only read and written.

var (
	_ lifecycle.Store = (*Store)(nil)
	_ lifecycle.Tx    = lcTx{}
)

// InLifecycleTx runs fn in one transaction, committing when fn returns nil.
func (s *Store) InLifecycleTx(ctx context.Context, fn func(lifecycle.Tx) error) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		w := NewWriteBehind(tx)
		if err := fn(LifecycleTx(w)); err != nil {
			return err
		}
		return w.Flush(ctx)
	})
}

// LifecycleTx gives the lifecycle a transaction that is already open (the
// pipeline's, for its ticket hook).
func LifecycleTx(tx pgx.Tx) lifecycle.Tx { return lcTx{tx} }

type lcTx struct{ tx pgx.Tx }

const taskColumns = `id, ticket_id, engineer, mode, state, resume_state, postponed_until, reason, candidates, offer_round,
	problem_found, work_done, accepted_at, started_at, done_at, created_at, updated_at`

const approvalColumns = `id, ticket_id, step, role, contact_name, contact_email, state, decided_by, reason, decided_at`

const timerColumns = `id, key, kind, ticket_id, task_id, due_at, data, fired_at, outcome`

const contractColumns = `id, client, object, category, engineer, problem, period, starts_on, ends_on, active`

// LifecycleTicket maps a ticket row to what the lifecycle knows of it.
func LifecycleTicket(t *Ticket) *lifecycle.Ticket {
	return &lifecycle.Ticket{ID: t.ID, Number: t.Number, Client: t.Client, ExternalID: t.ExternalID, Object: t.Object, Category: t.Category,
		Priority: t.Priority, Problem: t.Problem, State: t.State, Engineer: t.Engineer, SLADue: t.SLADue, Assignment: t.Assignment, CreatedAt: t.CreatedAt}
}

func (x lcTx) LockTicket(ctx context.Context, id int64) (*lifecycle.Ticket, error) {
	t, err := one[Ticket](ctx, x.tx, fmt.Sprintf("ticket %d", id), `SELECT `+ticketColumns+` FROM tickets WHERE id = $1 FOR UPDATE`, id)
	if err != nil {
		return nil, err
	}
	return LifecycleTicket(t), nil
}

// lockParent locks the ticket that the row id of table belongs to.
func (x lcTx) lockParent(ctx context.Context, table, what string, id int64) (*lifecycle.Ticket, error) {
	var ticketID int64
	if err := x.tx.QueryRow(ctx, `SELECT ticket_id FROM `+table+` WHERE id = $1`, id).Scan(&ticketID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("%s %d: %w", what, id, ErrNotFound)
		}
		return nil, err
	}
	return x.LockTicket(ctx, ticketID)
}

func (x lcTx) LockTask(ctx context.Context, id int64) (*lifecycle.Task, *lifecycle.Ticket, error) {
	t, err := x.lockParent(ctx, "engineer_tasks", "task", id)
	if err != nil {
		return nil, nil, err
	}
	k, err := one[lifecycle.Task](ctx, x.tx, fmt.Sprintf("task %d", id), `SELECT `+taskColumns+` FROM engineer_tasks WHERE id = $1 FOR UPDATE`, id)
	return k, t, err
}

func (x lcTx) LockApproval(ctx context.Context, id int64) (*lifecycle.Approval, *lifecycle.Ticket, error) {
	t, err := x.lockParent(ctx, "approvals", "approval", id)
	if err != nil {
		return nil, nil, err
	}
	a, err := one[lifecycle.Approval](ctx, x.tx, fmt.Sprintf("approval %d", id), `SELECT `+approvalColumns+` FROM approvals WHERE id = $1 FOR UPDATE`, id)
	return a, t, err
}

func (x lcTx) Savepoint(ctx context.Context, fn func(lifecycle.Tx) error) error {
	return pgx.BeginFunc(ctx, x.tx, func(sp pgx.Tx) error { return fn(lcTx{sp}) })
}

func (x lcTx) SetTicketState(ctx context.Context, ticketID int64, state lifecycle.State) error {
	return execLater(ctx, x.tx, nil, `UPDATE tickets SET state = $2, updated_at = now() WHERE id = $1`, ticketID, string(state))
}

func (x lcTx) SetTicketEngineer(ctx context.Context, ticketID int64, engineer *string) error {
	return execLater(ctx, x.tx, nil, `UPDATE tickets SET engineer = $2, updated_at = now() WHERE id = $1`, ticketID, engineer)
}

func (x lcTx) EnterState(ctx context.Context, t *lifecycle.Ticket, taskID *int64, state lifecycle.State, at time.Time, counted bool) error {
	if err := execLater(ctx, x.tx, nil, `UPDATE state_durations SET left_at = $3
		WHERE ticket_id = $1 AND coalesce(task_id, 0) = coalesce($2, 0) AND left_at IS NULL`, t.ID, taskID, at); err != nil {
		return err
	}
	if !counted {
		return nil
	}
	cat := ""
	if t.Category != nil {
		cat = *t.Category
	}
	return execLater(ctx, x.tx, nil, `
		INSERT INTO state_durations (ticket_id, task_id, state, client, region, category, entered_at)
		VALUES ($1, $2, $3, $4, coalesce((SELECT region FROM objects WHERE client = $4 AND code = $5), ''), $6, $7)`,
		t.ID, taskID, string(state), t.Client, t.Object, cat, at)
}

func eventData(r lifecycle.TicketEvent) ([]byte, error) {
	if r.Data == nil {
		return []byte("{}"), nil
	}
	data, err := json.Marshal(r.Data)
	if err != nil {
		return nil, fmt.Errorf("ticket %d: encoding %s data: %w", r.Ticket, r.Kind, err)
	}
	return data, nil
}

func (x lcTx) NoteTicketEvent(ctx context.Context, r lifecycle.TicketEvent) error {
	data, err := eventData(r)
	if err != nil {
		return err
	}
	return execLater(ctx, x.tx, nil, `
		INSERT INTO ticket_events (ticket_id, at, actor, kind, from_state, to_state, reason, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.Ticket, r.At, r.Actor, r.Kind, r.From, r.To, r.Reason, data)
}

func (x lcTx) AddTicketEvent(ctx context.Context, r lifecycle.TicketEvent) (int64, error) {
	data, err := eventData(r)
	if err != nil {
		return 0, err
	}
	var id int64
	err = x.tx.QueryRow(ctx, `
		INSERT INTO ticket_events (ticket_id, at, actor, kind, from_state, to_state, reason, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		r.Ticket, r.At, r.Actor, r.Kind, r.From, r.To, r.Reason, data).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ticket %d: recording %s: %w", r.Ticket, r.Kind, err)
	}
	return id, nil
}

func (x lcTx) Enqueue(ctx context.Context, m lifecycle.Message) error {
	tid := m.TicketID
	return EnqueueOutbox(ctx, x.tx, OutboxMessage{Kind: m.Channel, Target: m.Target, TicketID: &tid, Payload: m.Payload, DedupKey: m.DedupKey})
}

func (x lcTx) Schedule(ctx context.Context, tm lifecycle.Timer) error {
	data := tm.Data
	if data == nil {
		data = []byte("{}")
	}
	return execLater(ctx, x.tx, nil, `INSERT INTO lifecycle_timers (key, kind, ticket_id, task_id, due_at, data) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO NOTHING`, tm.Key, tm.Kind, tm.TicketID, tm.TaskID, tm.DueAt, []byte(data))
}

func (x lcTx) Tasks(ctx context.Context, ticketID int64) ([]lifecycle.Task, error) {
	return ticketTasks(ctx, x.tx, ticketID)
}

func ticketTasks(ctx context.Context, q Querier, ticketID int64) ([]lifecycle.Task, error) {
	rows, err := q.Query(ctx, `SELECT `+taskColumns+` FROM engineer_tasks WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[lifecycle.Task])
}

func (x lcTx) InsertTask(ctx context.Context, k *lifecycle.Task, now time.Time) error {
	return x.tx.QueryRow(ctx, `INSERT INTO engineer_tasks (ticket_id, engineer, mode, state, candidates, offer_round, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, k.TicketID, k.Engineer, k.Mode, k.State, k.Candidates, k.OfferRound, now).Scan(&k.ID)
}

func (x lcTx) UpdateTask(ctx context.Context, k *lifecycle.Task, now time.Time) error {
	_, err := x.tx.Exec(ctx, `UPDATE engineer_tasks SET state = $2, resume_state = $3, postponed_until = $4, reason = $5, engineer = $6,
		accepted_at = $7, started_at = $8, done_at = $9, problem_found = $10, work_done = $11, offer_round = $12, candidates = $13, updated_at = $14
		WHERE id = $1`,
		k.ID, k.State, k.ResumeState, k.PostponedUntil, k.Reason, k.Engineer, k.AcceptedAt, k.StartedAt, k.DoneAt,
		k.ProblemFound, k.WorkDone, k.OfferRound, k.Candidates, now)
	return err
}

func (x lcTx) Excluded(ctx context.Context, ticketID int64) ([]string, error) {
	rows, err := x.tx.Query(ctx, `
		SELECT engineer FROM engineer_tasks WHERE ticket_id = $1 AND state = 'rejected' AND engineer IS NOT NULL
		UNION SELECT o.engineer FROM task_offers o JOIN engineer_tasks k ON k.id = o.task_id
		WHERE k.ticket_id = $1 AND o.state IN ('declined', 'expired')`, ticketID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (x lcTx) LastTaskMode(ctx context.Context, ticketID int64) (string, error) {
	var mode string
	err := x.tx.QueryRow(ctx, `SELECT mode FROM engineer_tasks WHERE ticket_id = $1 ORDER BY id DESC LIMIT 1`, ticketID).Scan(&mode)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return mode, err
}

func (x lcTx) OpenLoads(ctx context.Context) (map[string]int, error) { return OpenLoads(ctx, x.tx) }

func (x lcTx) EngineerContact(ctx context.Context, engineer string, t *lifecycle.Ticket) (lifecycle.EngineerContact, error) {
	c := lifecycle.EngineerContact{Code: engineer}
	err := x.tx.QueryRow(ctx, `SELECT e.name, e.email, e.phone, coalesce((SELECT address FROM objects WHERE client = $2 AND code = $3), '')
		FROM engineers e WHERE e.code = $1`, engineer, t.Client, t.Object).Scan(&c.Name, &c.Email, &c.Phone, &c.Address)
	return c, err
}

func (x lcTx) AnyAccepted(ctx context.Context, ticketID int64) (bool, error) {
	var ok bool
	err := x.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM engineer_tasks WHERE ticket_id = $1 AND accepted_at IS NOT NULL AND state NOT IN ('rejected', 'cancelled'))`, ticketID).Scan(&ok)
	return ok, err
}

func (x lcTx) AddOffer(ctx context.Context, taskID int64, engineer string, round int, now time.Time) error {
	return execLater(ctx, x.tx, nil, `INSERT INTO task_offers (task_id, engineer, round, offered_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (task_id, engineer) DO NOTHING`, taskID, engineer, round, now)
}

func (x lcTx) LockOffer(ctx context.Context, taskID int64, engineer string) (string, error) {
	var state string
	err := x.tx.QueryRow(ctx, `SELECT state FROM task_offers WHERE task_id = $1 AND engineer = $2 FOR UPDATE`, taskID, engineer).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return state, err
}

func (x lcTx) AcceptOffer(ctx context.Context, taskID int64, engineer string, now time.Time) error {
	_, err := x.tx.Exec(ctx, `UPDATE task_offers SET state = 'accepted', decided_at = $3 WHERE task_id = $1 AND engineer = $2`, taskID, engineer, now)
	if isUniqueViolation(err) {
		return lifecycle.ErrTaken
	}
	return err
}

func (x lcTx) DeclineOffer(ctx context.Context, taskID int64, engineer string, now time.Time) (bool, error) {
	tag, err := x.tx.Exec(ctx, `UPDATE task_offers SET state = 'declined', decided_at = $3 WHERE task_id = $1 AND engineer = $2 AND state = 'pending'`,
		taskID, engineer, now)
	return tag.RowsAffected() > 0, err
}

func (x lcTx) EndOffers(ctx context.Context, taskID int64, state string, now time.Time) ([]string, error) {
	rows, err := x.tx.Query(ctx, `UPDATE task_offers SET state = $3, decided_at = $2 WHERE task_id = $1 AND state = 'pending' RETURNING engineer`,
		taskID, now, state)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (x lcTx) PendingOffers(ctx context.Context, taskID int64) (int, error) {
	var n int
	err := x.tx.QueryRow(ctx, `SELECT count(*) FROM task_offers WHERE task_id = $1 AND state = 'pending'`, taskID).Scan(&n)
	return n, err
}

func (x lcTx) ObjectRegion(ctx context.Context, client, object string) (string, error) {
	var region string
	err := x.tx.QueryRow(ctx, `SELECT region FROM objects WHERE client = $1 AND code = $2`, client, object).Scan(&region)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return region, err
}

func (x lcTx) Approver(ctx context.Context, client, role string) (string, string, error) {
	var name, email string
	err := x.tx.QueryRow(ctx, `SELECT name, email FROM contacts WHERE client = $1 AND role = $2 AND email <> '' ORDER BY object, email LIMIT 1`,
		client, role).Scan(&name, &email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	return name, email, err
}

func (x lcTx) AddApproval(ctx context.Context, a *lifecycle.Approval, now time.Time) error {
	return x.tx.QueryRow(ctx, `INSERT INTO approvals (ticket_id, step, role, contact_name, contact_email, state, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, a.TicketID, a.Step, a.Role, a.ContactName, a.ContactEmail, a.State, now).Scan(&a.ID)
}

func (x lcTx) NextApproval(ctx context.Context, ticketID int64) (*lifecycle.Approval, bool, error) {
	a, err := one[lifecycle.Approval](ctx, x.tx, "", `SELECT `+approvalColumns+` FROM approvals
		WHERE ticket_id = $1 AND state = 'waiting' ORDER BY step LIMIT 1 FOR UPDATE`, ticketID)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return a, err == nil, err
}

func (x lcTx) UpdateApproval(ctx context.Context, a *lifecycle.Approval) error {
	_, err := x.tx.Exec(ctx, `UPDATE approvals SET state = $2, decided_by = $3, reason = $4, decided_at = $5 WHERE id = $1`,
		a.ID, a.State, a.DecidedBy, a.Reason, a.DecidedAt)
	return err
}

func (x lcTx) SkipOpenApprovals(ctx context.Context, ticketID int64, reason string) error {
	return execLater(ctx, x.tx, nil, `UPDATE approvals SET state = 'skipped', reason = $2 WHERE ticket_id = $1 AND state IN ('waiting', 'pending')`, ticketID, reason)
}

func (x lcTx) DueTimer(ctx context.Context, now time.Time) (*lifecycle.Timer, bool, error) {
	tm, err := one[lifecycle.Timer](ctx, x.tx, "", `SELECT `+timerColumns+` FROM lifecycle_timers
		WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, now)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return tm, err == nil, err
}

func (x lcTx) FinishTimer(ctx context.Context, id int64, at time.Time, outcome string) error {
	return execLater(ctx, x.tx, nil, `UPDATE lifecycle_timers SET fired_at = $2, outcome = $3 WHERE id = $1`, id, at, outcome)
}

func (x lcTx) PostponeTimer(ctx context.Context, id int64, due time.Time, outcome string) error {
	return execLater(ctx, x.tx, nil, `UPDATE lifecycle_timers SET due_at = $2, outcome = $3 WHERE id = $1`, id, due, outcome)
}

func (x lcTx) CreateInternalTicket(ctx context.Context, it lifecycle.InternalTicket, now time.Time) (int64, bool, error) {
	sum := sha256.Sum256([]byte(it.Ref))
	var itemID int64
	err := x.tx.QueryRow(ctx, `
		INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size, stage, outcome, reason, client, received_at)
		VALUES ('lifecycle', $1, $1, $2, $3, $4, 'done', 'ticket', $5, $6, $7)
		ON CONFLICT DO NOTHING RETURNING id`, it.Ref, sum[:], []byte(it.Why), len(it.Why), it.Why, it.Client, now).Scan(&itemID)
	if errors.Is(err, pgx.ErrNoRows) {
		var tid *int64
		if err := x.tx.QueryRow(ctx, `SELECT ticket_id FROM inbound_items WHERE source = 'lifecycle' AND source_ref = $1`, it.Ref).Scan(&tid); err != nil {
			return 0, false, err
		}
		if tid == nil {
			return 0, false, fmt.Errorf("internal item %s has no ticket", it.Ref)
		}
		return *tid, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	id, _, err := CreateTicket(ctx, x.tx, NewTicket{Client: it.Client, Object: it.Object, Category: it.Category, Due: it.Due, SLADue: it.SLADue,
		Team: it.Team, Tags: it.Tags, Problem: it.Problem, State: string(it.State), SourceItem: itemID})
	if err != nil {
		return 0, false, err
	}
	if _, err := x.tx.Exec(ctx, `UPDATE inbound_items SET ticket_id = $2 WHERE id = $1`, itemID, id); err != nil {
		return 0, false, err
	}
	// created_at follows the lifecycle's clock, so SLA timers of internal
	// tickets are computed on the same time line as everything else.
	if _, err := x.tx.Exec(ctx, `UPDATE tickets SET created_at = $2 WHERE id = $1`, id, now); err != nil {
		return 0, false, err
	}
	return id, true, nil
}

func (x lcTx) LinkTicket(ctx context.Context, ticketID int64, kind string, source *int64) error {
	_, err := x.tx.Exec(ctx, `INSERT INTO ticket_links (ticket_id, kind, source) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, ticketID, kind, source)
	return err
}

func (x lcTx) LockContract(ctx context.Context, id int64) (*lifecycle.Contract, bool, error) {
	c, err := one[lifecycle.Contract](ctx, x.tx, "", `SELECT `+contractColumns+` FROM recurring_contracts WHERE id = $1 FOR UPDATE SKIP LOCKED`, id)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return c, err == nil, err
}

func (x lcTx) RecurringRunExists(ctx context.Context, contractID int64, periodStart time.Time) (bool, error) {
	var exists bool
	err := x.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM recurring_runs WHERE contract_id = $1 AND period_start = $2::date)`,
		contractID, periodStart).Scan(&exists)
	return exists, err
}

func (x lcTx) AddRecurringRun(ctx context.Context, contractID int64, periodStart time.Time, ticketID int64) error {
	_, err := x.tx.Exec(ctx, `INSERT INTO recurring_runs (contract_id, period_start, ticket_id) VALUES ($1, $2::date, $3)`, contractID, periodStart, ticketID)
	return err
}

func (x lcTx) AttachmentTotals(ctx context.Context, taskID int64) (int, int64, error) {
	var n int
	var total int64
	err := x.tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM task_attachments WHERE task_id = $1`, taskID).Scan(&n, &total)
	return n, total, err
}

func (x lcTx) AddAttachment(ctx context.Context, taskID int64, name, contentType string, data []byte, by string, now time.Time) (int64, error) {
	sum := sha256.Sum256(data)
	var id int64
	err := x.tx.QueryRow(ctx, `INSERT INTO task_attachments (task_id, name, content_type, size, sha256, data, uploaded_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, taskID, name, contentType, len(data), sum[:], data, by, now).Scan(&id)
	return id, err
}

// ActiveContracts are the ids of the recurring contracts in force on now's
// day.
func (s *Store) ActiveContracts(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id FROM recurring_contracts WHERE active AND starts_on <= $1::date AND (ends_on IS NULL OR ends_on >= $1::date) ORDER BY id`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ActFacts reads what a ticket's completion act shows: the client and its
// first legal entity, the store and its own, the category's name, and each
// task with its engineer's name and its files.
func (s *Store) ActFacts(ctx context.Context, ticketID int64) (lifecycle.ActFacts, error) {
	t, err := TicketByID(ctx, s.Pool, ticketID)
	if err != nil {
		return lifecycle.ActFacts{}, err
	}
	f := lifecycle.ActFacts{Ticket: *LifecycleTicket(t)}
	err = s.Pool.QueryRow(ctx, `
		SELECT c.name, coalesce(o.legal_entity, ''), coalesce(o.name, ''), coalesce(o.address, ''),
			coalesce((SELECT name FROM categories WHERE code = $3), ''), coalesce(c.legal_entities[1], '')
		FROM clients c LEFT JOIN objects o ON o.client = c.code AND o.code = $2 WHERE c.code = $1`,
		t.Client, t.Object, t.Category).Scan(&f.ClientName, &f.StoreLegalEntity, &f.StoreName, &f.Address, &f.Category, &f.ClientLegalEntity)
	if err != nil {
		return f, fmt.Errorf("ticket %s: reading store and client: %w", t.Number, err)
	}
	tasks, err := ticketTasks(ctx, s.Pool, t.ID)
	if err != nil {
		return f, err
	}
	for _, k := range tasks {
		tf := lifecycle.ActTaskFacts{Task: k}
		if k.State == string(lifecycle.Done) {
			if tf.Engineer, tf.Attachments, err = s.actTaskDetails(ctx, &k); err != nil {
				return f, err
			}
		}
		f.Tasks = append(f.Tasks, tf)
	}
	return f, nil
}

// actTaskDetails reads a task's engineer's name and its files' names.
func (s *Store) actTaskDetails(ctx context.Context, k *lifecycle.Task) (string, []string, error) {
	var name string
	if err := s.Pool.QueryRow(ctx, `SELECT name FROM engineers WHERE code = $1`, k.EngineerCode()).Scan(&name); err != nil {
		return "", nil, fmt.Errorf("task %d: reading engineer %s: %w", k.ID, k.EngineerCode(), err)
	}
	files, err := s.Attachments(ctx, k.ID)
	if err != nil {
		return "", nil, err
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	return name, names, nil
}
