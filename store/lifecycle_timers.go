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
	"github.com/intakehq/intake/routing"
)

// TimerRow is one scheduler timer.
type TimerRow struct {
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

const timerColumns = `id, key, kind, ticket_id, task_id, due_at, data, fired_at, outcome`

// schedule adds a timer; a timer with the same key is kept as it is.
func (l *Lifecycle) schedule(ctx context.Context, tx pgx.Tx, key, kind string, ticketID int64, taskID *int64, due time.Time, data any) error {
	raw := []byte("{}")
	if data != nil {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return fmt.Errorf("timer %s: encoding data: %w", key, err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO lifecycle_timers (key, kind, ticket_id, task_id, due_at, data) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO NOTHING`, key, kind, ticketID, taskID, due, raw)
	return err
}

// Timers lists a ticket's timers.
func (s *Store) Timers(ctx context.Context, ticketID int64) ([]TimerRow, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+timerColumns+` FROM lifecycle_timers WHERE ticket_id = $1 ORDER BY due_at, id`, ticketID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[TimerRow])
}

// FireDue fires every timer due at the lifecycle's clock and returns how
// many fired. Each timer fires in its own transaction: the row is taken with
// FOR UPDATE SKIP LOCKED, so replicas running FireDue at once share the work
// and never fire one timer twice, and fired_at is set in the transaction of
// the effect, so a crash before commit leaves the timer due.
func (l *Lifecycle) FireDue(ctx context.Context) (int, error) {
	n := 0
	for {
		fired, err := l.fireOne(ctx)
		if err != nil {
			return n, err
		}
		if !fired {
			return n, nil
		}
		n++
	}
}

func (l *Lifecycle) fireOne(ctx context.Context) (bool, error) {
	fired := false
	err := l.st.InTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+timerColumns+` FROM lifecycle_timers
			WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, l.now())
		if err != nil {
			return err
		}
		tm, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[TimerRow])
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		fired = true
		// The effect runs in a savepoint: one that fails is recorded and
		// retried later instead of blocking the timers behind it.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return err
		}
		outcome, ferr := l.fire(ctx, sp, tm)
		if ferr != nil {
			sp.Rollback(ctx) //nolint:errcheck
			_, err := tx.Exec(ctx, `UPDATE lifecycle_timers SET due_at = $2, outcome = $3 WHERE id = $1`,
				tm.ID, l.now().Add(time.Minute), "error: "+ferr.Error())
			return err
		}
		if err := sp.Commit(ctx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE lifecycle_timers SET fired_at = $2, outcome = $3 WHERE id = $1`, tm.ID, l.now(), outcome); err != nil {
			return err
		}
		if l.afterTimer != nil {
			return l.afterTimer(tm)
		}
		return nil
	})
	return fired, err
}

// fire runs a timer's effect and says what it did. A timer whose moment has
// passed (the offer was accepted, the ticket was done) is "obsolete".
func (l *Lifecycle) fire(ctx context.Context, tx pgx.Tx, tm TimerRow) (string, error) {
	var data struct {
		Round int `json:"round"`
	}
	_ = json.Unmarshal(tm.Data, &data)
	switch tm.Kind {
	case "offer", "wake":
		if tm.TaskID == nil {
			return "obsolete: no task", nil
		}
		k, t, err := lockTask(ctx, tx, *tm.TaskID)
		if err != nil {
			return "", err
		}
		if tm.Kind == "offer" {
			if k.State != string(lifecycle.Offered) || k.OfferRound != data.Round {
				return "obsolete: task " + k.State, nil
			}
			return l.advanceOffer(ctx, tx, t, k, ActorScheduler, "offer timed out")
		}
		if k.State != string(lifecycle.Postponed) || k.PostponedUntil == nil || !k.PostponedUntil.Equal(tm.DueAt) {
			return "obsolete: task " + k.State, nil
		}
		ev, err := l.moveTask(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActResume}, ActorScheduler, nil)
		if err != nil {
			return "", err
		}
		if e := k.engineer(); e != "" {
			if err := l.notifyEngineer(ctx, tx, t, k, e, "resumed", ev); err != nil {
				return "", err
			}
		}
		return "resumed to " + k.State, nil
	case "risk", "breach":
		t, err := lockTicket(ctx, tx, tm.TicketID)
		if err != nil {
			return "", err
		}
		st := lifecycle.State(t.State)
		if !st.Open() {
			return "obsolete: ticket " + t.State, nil
		}
		var msg, kind string
		if tm.Kind == "risk" {
			accepted, err := l.anyAccepted(ctx, tx, t.ID)
			if err != nil {
				return "", err
			}
			if accepted {
				return "obsolete: accepted", nil
			}
			kind = "at_risk"
			msg = fmt.Sprintf("Заявка %s (%s, объект %s) под угрозой срыва срока: использовано %.0f%% времени SLA, никто не принял. Состояние: %s.",
				t.Number, t.Client, t.Object, l.cfg.AtRisk*100, t.State)
		} else {
			kind = "breached"
			msg = fmt.Sprintf("Заявка %s (%s, объект %s): срок SLA истёк, заявка не выполнена. Состояние: %s.", t.Number, t.Client, t.Object, t.State)
		}
		ev, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: ActorScheduler, kind: "escalation", from: t.State, to: t.State, reason: kind,
			data: map[string]any{"timer": tm.Key, "sla_due": t.SLADue}})
		if err != nil {
			return "", err
		}
		subject := fmt.Sprintf("Заявка %s: %s", t.Number, map[string]string{"at_risk": "под угрозой срыва SLA", "breached": "SLA нарушен"}[kind])
		return "escalated " + kind, l.notifyDispatchers(ctx, tx, t, ev, kind, subject, msg)
	case "qc":
		t, err := lockTicket(ctx, tx, tm.TicketID)
		if err != nil {
			return "", err
		}
		if t.State != string(lifecycle.Done) && t.State != string(lifecycle.Closed) {
			return "obsolete: ticket " + t.State, nil
		}
		qc, err := l.createQC(ctx, tx, t)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("QC ticket %d", qc), nil
	}
	return "", fmt.Errorf("timer %d: unknown kind %q", tm.ID, tm.Kind)
}

func (l *Lifecycle) anyAccepted(ctx context.Context, tx pgx.Tx, ticketID int64) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM engineer_tasks WHERE ticket_id = $1 AND accepted_at IS NOT NULL AND state NOT IN ('rejected', 'cancelled'))`, ticketID).Scan(&ok)
	return ok, err
}

// onDone runs when a ticket becomes done: the chain is told, and the QC
// ticket is scheduled.
func (l *Lifecycle) onDone(ctx context.Context, tx pgx.Tx, t *Ticket, ev int64) error {
	tasks, err := ticketTasks(ctx, tx, t.ID)
	if err != nil {
		return err
	}
	s := ChainStatus{Status: string(lifecycle.Done)}
	for _, k := range tasks {
		if k.State != string(lifecycle.Done) {
			continue
		}
		if s.WorkDone != "" {
			s.WorkDone += "\n"
		}
		s.WorkDone += k.WorkDone
		s.Engineers = append(s.Engineers, k.engineer())
		if k.DoneAt != nil && (s.DoneAt == nil || k.DoneAt.After(*s.DoneAt)) {
			s.DoneAt = k.DoneAt
		}
	}
	if err := l.notifyChain(ctx, tx, t, ev, s); err != nil {
		return err
	}
	delay, ok := l.cfg.QCDelay[t.Client]
	if !ok {
		delay = l.cfg.QCDelay[""]
	}
	if delay <= 0 {
		return nil
	}
	return l.schedule(ctx, tx, fmt.Sprintf("qc:%d", t.ID), "qc", t.ID, nil, l.now().Add(delay), nil)
}

// createInternalTicket creates a ticket that no message brought (a QC
// ticket, a recurring one). Every ticket has a source item, so an internal
// item records why it exists; its unique source reference makes the
// creation idempotent: a second call returns the first ticket.
func (l *Lifecycle) createInternalTicket(ctx context.Context, tx pgx.Tx, ref, why string, nt NewTicket) (int64, bool, error) {
	sum := sha256.Sum256([]byte(ref))
	var itemID int64
	err := tx.QueryRow(ctx, `
		INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size, stage, outcome, reason, client, received_at)
		VALUES ('lifecycle', $1, $1, $2, $3, $4, 'done', 'ticket', $5, $6, $7)
		ON CONFLICT DO NOTHING RETURNING id`, ref, sum[:], []byte(why), len(why), why, nt.Client, l.now()).Scan(&itemID)
	if errors.Is(err, pgx.ErrNoRows) {
		var tid *int64
		if err := tx.QueryRow(ctx, `SELECT ticket_id FROM inbound_items WHERE source = 'lifecycle' AND source_ref = $1`, ref).Scan(&tid); err != nil {
			return 0, false, err
		}
		if tid == nil {
			return 0, false, fmt.Errorf("internal item %s has no ticket", ref)
		}
		return *tid, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	nt.SourceItem = itemID
	id, _, err := CreateTicket(ctx, tx, nt)
	if err != nil {
		return 0, false, err
	}
	if _, err := tx.Exec(ctx, `UPDATE inbound_items SET ticket_id = $2 WHERE id = $1`, itemID, id); err != nil {
		return 0, false, err
	}
	// created_at follows the lifecycle's clock, so SLA timers of internal
	// tickets are computed on the same time line as everything else.
	if _, err := tx.Exec(ctx, `UPDATE tickets SET created_at = $2 WHERE id = $1`, id, l.now()); err != nil {
		return 0, false, err
	}
	if _, err := l.event(ctx, tx, lcEvent{ticket: id, actor: ActorScheduler, kind: "created", to: nt.State, reason: why}); err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// createQC creates the quality-control ticket of a completed one, for the
// QC team: it is not dispatched to field engineers.
func (l *Lifecycle) createQC(ctx context.Context, tx pgx.Tx, src *Ticket) (int64, error) {
	ext := ""
	if src.ExternalID != nil {
		ext = " (" + *src.ExternalID + ")"
	}
	why := fmt.Sprintf("Контроль качества работ по заявке %s%s: %s", src.Number, ext, src.Problem)
	id, created, err := l.createInternalTicket(ctx, tx, fmt.Sprintf("qc/%d", src.ID), why, NewTicket{
		Client: src.Client, Object: src.Object, Category: src.Category, Team: "qc", Tags: []string{"qc"}, Problem: why, State: string(lifecycle.New),
	})
	if err != nil || !created {
		return id, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ticket_links (ticket_id, kind, source) VALUES ($1, 'qc', $2)`, id, src.ID); err != nil {
		return 0, err
	}
	qc, err := lockTicket(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	if err := l.enterState(ctx, tx, qc, nil, qc.State); err != nil {
		return 0, err
	}
	ev, err := l.event(ctx, tx, lcEvent{ticket: src.ID, actor: ActorScheduler, kind: "qc_created", from: src.State, to: src.State, data: map[string]any{"qc_ticket": qc.Number}})
	if err != nil {
		return 0, err
	}
	tid := qc.ID
	for _, to := range l.cfg.QCTeam {
		if err := l.enqueue(ctx, tx, OutboxMessage{Kind: OutboxEmail, Target: to, TicketID: &tid,
			Payload:  EmailPayload{Subject: "Контроль качества: " + qc.Number, Text: why},
			DedupKey: fmt.Sprintf("lc:qc:%d:%s", ev, to)}); err != nil {
			return 0, err
		}
	}
	return id, nil
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

const contractColumns = `id, client, object, category, engineer, problem, period, starts_on, ends_on, active`

// AddContract stores a recurring-work contract.
func (s *Store) AddContract(ctx context.Context, c Contract) (int64, error) {
	if c.Period == "" {
		c.Period = "month"
	}
	var id int64
	err := s.Pool.QueryRow(ctx, `INSERT INTO recurring_contracts (client, object, category, engineer, problem, period, starts_on, ends_on, active)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		c.Client, c.Object, c.Category, c.Engineer, c.Problem, c.Period, c.StartsOn, c.EndsOn, c.Active).Scan(&id)
	return id, err
}

// Contracts lists the recurring-work contracts.
func (s *Store) Contracts(ctx context.Context) ([]Contract, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+contractColumns+` FROM recurring_contracts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Contract])
}

// Period returns the period of kind ("week", "month", "quarter", "year")
// that contains t: its first day and the first day of the next one.
func Period(kind string, t time.Time) (start, end time.Time) {
	y, m, d := t.Date()
	loc := t.Location()
	switch kind {
	case "week":
		wd := (int(t.Weekday()) + 6) % 7 // Monday first
		start = time.Date(y, m, d-wd, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 0, 7)
	case "quarter":
		start = time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 3, 0)
	case "year":
		start = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(1, 0, 0)
	}
	start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 1, 0)
}

// RunRecurring creates the tickets of the current period for every active
// contract that has none yet, due at the end of the period. The contract row
// is locked (SKIP LOCKED) and the run's primary key stops a second ticket.
func (l *Lifecycle) RunRecurring(ctx context.Context) (int, error) {
	now := l.now().In(l.cfg.Location)
	rows, err := l.st.Pool.Query(ctx, `SELECT id FROM recurring_contracts WHERE active AND starts_on <= $1::date AND (ends_on IS NULL OR ends_on >= $1::date) ORDER BY id`, now)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, cid := range ids {
		err := l.st.InTx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT `+contractColumns+` FROM recurring_contracts WHERE id = $1 FOR UPDATE SKIP LOCKED`, cid)
			if err != nil {
				return err
			}
			c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Contract])
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // another replica is on it
			}
			if err != nil {
				return err
			}
			start, end := Period(c.Period, now)
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM recurring_runs WHERE contract_id = $1 AND period_start = $2::date)`, c.ID, start).Scan(&exists); err != nil || exists {
				return err
			}
			due := end.Add(-time.Second) // the last second of the period
			why := fmt.Sprintf("%s (договор %d, период с %s)", c.Problem, c.ID, start.Format("02.01.2006"))
			id, _, err := l.createInternalTicket(ctx, tx, fmt.Sprintf("recurring/%d/%s", c.ID, start.Format(time.DateOnly)), why, NewTicket{
				Client: c.Client, Object: c.Object, Category: c.Category, Due: &due, SLADue: &due, Tags: []string{"recurring"}, Problem: why, State: string(lifecycle.New),
			})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO recurring_runs (contract_id, period_start, ticket_id) VALUES ($1, $2::date, $3)`, c.ID, start, id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ticket_links (ticket_id, kind) VALUES ($1, 'recurring') ON CONFLICT DO NOTHING`, id); err != nil {
				return err
			}
			t, err := lockTicket(ctx, tx, id)
			if err != nil {
				return err
			}
			var a *routing.Assignment
			if c.Engineer != nil {
				a = &routing.Assignment{Engineer: *c.Engineer, Reason: "contract's engineer"}
			}
			n++
			return l.onCreated(ctx, tx, t, a, ActorScheduler, false)
		})
		if err != nil {
			return n, fmt.Errorf("recurring contract %d: %w", cid, err)
		}
	}
	return n, nil
}

// RunScheduler fires due timers and creates recurring tickets every
// interval until ctx ends. Replicas may all run it.
func (l *Lifecycle) RunScheduler(ctx context.Context, interval time.Duration, onErr func(error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := l.FireDue(ctx); err != nil && ctx.Err() == nil {
			onErr(fmt.Errorf("firing timers: %w", err))
		}
		if _, err := l.RunRecurring(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
