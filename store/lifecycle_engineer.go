package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/lifecycle"
)

// ErrAttachmentLimit: a file is too large, or the task holds too many.
var ErrAttachmentLimit = errors.New("attachment limit reached")

// ErrBadToken: the API token is unknown or revoked.
var ErrBadToken = errors.New("unknown or revoked token")

// CreateEngineerToken issues an API token for an engineer. Only its hash is
// stored: the token is shown once.
func (s *Store) CreateEngineerToken(ctx context.Context, engineer, label string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := "eng_" + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(tok))
	_, err := s.Pool.Exec(ctx, `INSERT INTO engineer_tokens (token_sha256, engineer, label) VALUES ($1, $2, $3)`, sum[:], engineer, label)
	if err != nil {
		var exists bool
		if qerr := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM engineers WHERE code = $1)`, engineer).Scan(&exists); qerr == nil && !exists {
			return "", fmt.Errorf("engineer %s: %w", engineer, ErrNotFound)
		}
		return "", err
	}
	return tok, nil
}

// RevokeEngineerTokens revokes every token of an engineer.
func (s *Store) RevokeEngineerTokens(ctx context.Context, engineer string) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE engineer_tokens SET revoked_at = now() WHERE engineer = $1 AND revoked_at IS NULL`, engineer)
	return tag.RowsAffected(), err
}

// EngineerByToken returns the engineer an API token belongs to.
func (s *Store) EngineerByToken(ctx context.Context, token string) (string, error) {
	sum := sha256.Sum256([]byte(token))
	var code string
	err := s.Pool.QueryRow(ctx, `SELECT t.engineer FROM engineer_tokens t JOIN engineers e ON e.code = t.engineer
		WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND e.status <> 'blacklisted'`, sum[:]).Scan(&code)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrBadToken
	}
	return code, err
}

// TaskView is a task as its engineer sees it.
type TaskView struct {
	Task
	Ticket      string     `json:"ticket"`
	ExternalID  *string    `json:"external_id"`
	Client      string     `json:"client"`
	Object      string     `json:"object"`
	ObjectName  string     `json:"object_name"`
	Address     string     `json:"address"`
	Problem     string     `json:"problem"`
	SLADue      *time.Time `json:"sla_due"`
	Offer       string     `json:"offer,omitempty"` // offer mode: this engineer's offer state
	Attachments int        `json:"attachments"`
	Actions     []string   `json:"actions"`
}

// MyTasks lists an engineer's tasks: assigned to him or offered to him and
// still open, and those he did in the last 30 days.
func (s *Store) MyTasks(ctx context.Context, engineer string) ([]TaskView, error) {
	return s.taskViews(ctx, engineer, `(k.engineer = $1 AND k.state NOT IN ('rejected', 'cancelled') AND (k.done_at IS NULL OR k.done_at > now() - interval '30 days'))
		OR (k.state = 'offered' AND o.state = 'pending')`)
}

// TaskFor returns one task if it is the engineer's: assigned to him, or
// offered to him and the offer still open (one who lost an offer no longer
// sees the task or its files).
func (s *Store) TaskFor(ctx context.Context, engineer string, taskID int64) (*TaskView, error) {
	vs, err := s.taskViews(ctx, engineer, `k.id = $2 AND (k.engineer = $1 OR (k.state = 'offered' AND o.state = 'pending'))`, taskID)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("task %d: %w", taskID, ErrNotFound)
	}
	return &vs[0], nil
}

func (s *Store) taskViews(ctx context.Context, engineer, where string, args ...any) ([]TaskView, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT k.id, t.number, t.external_id, t.client, t.object, coalesce(ob.name, ''), coalesce(ob.address, ''), t.problem, t.sla_due,
			coalesce(o.state, ''), (SELECT count(*) FROM task_attachments a WHERE a.task_id = k.id)
		FROM engineer_tasks k JOIN tickets t ON t.id = k.ticket_id
		LEFT JOIN objects ob ON ob.client = t.client AND ob.code = t.object
		LEFT JOIN task_offers o ON o.task_id = k.id AND o.engineer = $1
		WHERE `+where+` ORDER BY t.sla_due NULLS LAST, k.id`, append([]any{engineer}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TaskView
	for rows.Next() {
		var v TaskView
		if err := rows.Scan(&v.ID, &v.Ticket, &v.ExternalID, &v.Client, &v.Object, &v.ObjectName, &v.Address, &v.Problem, &v.SLADue, &v.Offer, &v.Attachments); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		rows, err := s.Pool.Query(ctx, `SELECT `+taskColumns+` FROM engineer_tasks WHERE id = $1`, out[i].ID)
		if err != nil {
			return nil, err
		}
		k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Task])
		if err != nil {
			return nil, err
		}
		out[i].Task = k
		out[i].Actions = []string{}
		for _, a := range lifecycle.Allowed(k.status()) {
			switch a {
			case lifecycle.ActAccept, lifecycle.ActReject, lifecycle.ActPostpone, lifecycle.ActStart, lifecycle.ActComplete:
				if k.State == string(lifecycle.Offered) && out[i].Offer != "pending" {
					continue
				}
				out[i].Actions = append(out[i].Actions, string(a))
			}
		}
	}
	return out, nil
}

// engineerTx runs fn on a task locked for an engineer who holds it.
func (l *Lifecycle) engineerTx(ctx context.Context, taskID int64, engineer string, fn func(tx pgx.Tx, t *Ticket, k *Task) error) error {
	return l.st.InTx(ctx, func(tx pgx.Tx) error {
		k, t, err := lockTask(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if k.engineer() != engineer {
			return fmt.Errorf("task %d: %w", taskID, lifecycle.ErrNotAssignee)
		}
		return fn(tx, t, k)
	})
}

// Accept takes a task for an engineer. In offer mode the first accept wins:
// accepts of one task queue on its row, the loser finds the task accepted
// and gets lifecycle.ErrTaken, and the unique index on accepted offers holds
// even if that ordering were ever lost.
func (l *Lifecycle) Accept(ctx context.Context, taskID int64, engineer, actor string) error {
	return l.st.InTx(ctx, func(tx pgx.Tx) error {
		k, t, err := lockTask(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if k.Mode == "offer" {
			var offer string
			err := tx.QueryRow(ctx, `SELECT state FROM task_offers WHERE task_id = $1 AND engineer = $2 FOR UPDATE`, k.ID, engineer).Scan(&offer)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("task %d: %w", taskID, lifecycle.ErrNotAssignee)
			}
			if err != nil {
				return err
			}
			if k.State != string(lifecycle.Offered) || offer != "pending" {
				if k.engineer() == engineer {
					return fmt.Errorf("task %d is %s: %w", taskID, k.State, lifecycle.ErrInvalidTransition)
				}
				if k.engineer() != "" {
					return fmt.Errorf("task %d: %w", taskID, lifecycle.ErrTaken)
				}
				return fmt.Errorf("task %d: your offer is %s: %w", taskID, offer, lifecycle.ErrInvalidTransition)
			}
			now := l.now()
			if _, err := tx.Exec(ctx, `UPDATE task_offers SET state = 'accepted', decided_at = $3 WHERE task_id = $1 AND engineer = $2`, k.ID, engineer, now); err != nil {
				if isUniqueViolation(err) {
					return fmt.Errorf("task %d: %w", taskID, lifecycle.ErrTaken)
				}
				return err
			}
			rows, err := tx.Query(ctx, `UPDATE task_offers SET state = 'withdrawn', decided_at = $2 WHERE task_id = $1 AND state = 'pending' RETURNING engineer`, k.ID, now)
			if err != nil {
				return err
			}
			others, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			e := engineer
			k.Engineer = &e
			ev, err := l.moveTask(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActAccept}, actor, map[string]any{"withdrawn": others})
			if err != nil {
				return err
			}
			for _, o := range others {
				if err := l.notifyEngineer(ctx, tx, t, k, o, "withdrawn", ev); err != nil {
					return err
				}
			}
			return nil
		}
		if k.engineer() != engineer {
			return fmt.Errorf("task %d: %w", taskID, lifecycle.ErrNotAssignee)
		}
		_, err = l.moveTask(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActAccept}, actor, nil)
		return err
	})
}

// Reject gives a task back with a reason. An engineer who holds the task
// rejects it and the work goes to the next candidate (or the dispatchers);
// an engineer with a pending offer declines his offer, and when nobody in
// the round is left the offer moves on at once.
func (l *Lifecycle) Reject(ctx context.Context, taskID int64, engineer, actor, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("reject: %w", lifecycle.ErrReasonRequired)
	}
	return l.st.InTx(ctx, func(tx pgx.Tx) error {
		k, t, err := lockTask(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if k.State == string(lifecycle.Offered) {
			tag, err := tx.Exec(ctx, `UPDATE task_offers SET state = 'declined', decided_at = $3 WHERE task_id = $1 AND engineer = $2 AND state = 'pending'`, k.ID, engineer, l.now())
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("task %d: no pending offer: %w", taskID, lifecycle.ErrNotAssignee)
			}
			if _, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: actor, kind: "offer_declined", from: k.State, to: k.State, reason: reason,
				data: map[string]any{"task": k.ID, "engineer": engineer}}); err != nil {
				return err
			}
			var pending int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM task_offers WHERE task_id = $1 AND state = 'pending'`, k.ID).Scan(&pending); err != nil {
				return err
			}
			if pending == 0 {
				_, err = l.advanceOffer(ctx, tx, t, k, actor, "every engineer of the round declined")
			}
			return err
		}
		if k.engineer() != engineer {
			return fmt.Errorf("task %d: %w", taskID, lifecycle.ErrNotAssignee)
		}
		if _, err := l.moveTaskOnly(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActReject, Reason: reason}, actor, nil); err != nil {
			return err
		}
		return l.dispatch(ctx, tx, t, nil, actor, reason)
	})
}

// Postpone puts a task off until a time, with a reason; the scheduler
// returns it to the state it left at that time.
func (l *Lifecycle) Postpone(ctx context.Context, taskID int64, engineer, actor, reason string, until time.Time) error {
	return l.engineerTx(ctx, taskID, engineer, func(tx pgx.Tx, t *Ticket, k *Task) error {
		if _, err := l.moveTask(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActPostpone, Reason: reason, Until: until}, actor, nil); err != nil {
			return err
		}
		return l.schedule(ctx, tx, fmt.Sprintf("wake:%d:%d", k.ID, until.UnixMicro()), "wake", t.ID, &k.ID, until, nil)
	})
}

// Start records that work began on site.
func (l *Lifecycle) Start(ctx context.Context, taskID int64, engineer, actor string) error {
	return l.engineerTx(ctx, taskID, engineer, func(tx pgx.Tx, t *Ticket, k *Task) error {
		_, err := l.moveTask(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActStart}, actor, nil)
		return err
	})
}

// Completion is what an engineer reports when the work is done.
type Completion struct {
	ProblemFound string `json:"problem_found"`
	WorkDone     string `json:"work_done"`
}

// Complete finishes a task with the problem found and the work done.
func (l *Lifecycle) Complete(ctx context.Context, taskID int64, engineer, actor string, c Completion) error {
	if strings.TrimSpace(c.WorkDone) == "" {
		return fmt.Errorf("complete: %w", lifecycle.ErrWorkDoneRequired)
	}
	return l.engineerTx(ctx, taskID, engineer, func(tx pgx.Tx, t *Ticket, k *Task) error {
		k.ProblemFound, k.WorkDone = strings.TrimSpace(c.ProblemFound), strings.TrimSpace(c.WorkDone)
		_, err := l.moveTask(ctx, tx, t, k, lifecycle.Move{Action: lifecycle.ActComplete}, actor,
			map[string]any{"problem_found": k.ProblemFound, "work_done": k.WorkDone})
		return err
	})
}

// Attachment is a stored photo or file (Data only when read one by one).
type Attachment struct {
	ID          int64     `db:"id" json:"id"`
	TaskID      int64     `db:"task_id" json:"task_id"`
	Name        string    `db:"name" json:"name"`
	ContentType string    `db:"content_type" json:"content_type"`
	Size        int       `db:"size" json:"size"`
	UploadedBy  string    `db:"uploaded_by" json:"uploaded_by"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	Data        []byte    `db:"-" json:"-"`
}

// AddAttachment stores a photo or file of a task within the limits.
func (l *Lifecycle) AddAttachment(ctx context.Context, taskID int64, engineer, name, contentType string, data []byte) (int64, error) {
	if int64(len(data)) > l.cfg.MaxAttachmentBytes {
		return 0, fmt.Errorf("%s is %d bytes, more than %d: %w", name, len(data), l.cfg.MaxAttachmentBytes, ErrAttachmentLimit)
	}
	var id int64
	err := l.engineerTx(ctx, taskID, engineer, func(tx pgx.Tx, t *Ticket, k *Task) error {
		switch lifecycle.State(k.State) {
		case lifecycle.Accepted, lifecycle.InProgress, lifecycle.Postponed, lifecycle.Done:
		default:
			return fmt.Errorf("task %d is %s: %w", k.ID, k.State, lifecycle.ErrInvalidTransition)
		}
		if lifecycle.State(t.State).Final() {
			return fmt.Errorf("ticket %s is %s: %w", t.Number, t.State, lifecycle.ErrFinal)
		}
		var n int
		var total int64
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM task_attachments WHERE task_id = $1`, k.ID).Scan(&n, &total); err != nil {
			return err
		}
		if n >= l.cfg.MaxAttachments {
			return fmt.Errorf("task %d has %d files already: %w", k.ID, n, ErrAttachmentLimit)
		}
		if total+int64(len(data)) > l.cfg.MaxTaskBytes {
			return fmt.Errorf("task %d would hold more than %d bytes: %w", k.ID, l.cfg.MaxTaskBytes, ErrAttachmentLimit)
		}
		sum := sha256.Sum256(data)
		if err := tx.QueryRow(ctx, `INSERT INTO task_attachments (task_id, name, content_type, size, sha256, data, uploaded_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, k.ID, name, contentType, len(data), sum[:], data, engineer, l.now()).Scan(&id); err != nil {
			return err
		}
		_, err := l.event(ctx, tx, lcEvent{ticket: t.ID, actor: "engineer:" + engineer, kind: "attachment", from: k.State, to: k.State,
			data: map[string]any{"task": k.ID, "attachment": id, "name": name, "size": len(data)}})
		return err
	})
	return id, err
}

// Attachments lists a task's files without their data.
func (s *Store) Attachments(ctx context.Context, taskID int64) ([]Attachment, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, task_id, name, content_type, size, uploaded_by, created_at FROM task_attachments WHERE task_id = $1 ORDER BY id`, taskID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[Attachment])
}

// AttachmentData reads one file of a task.
func (s *Store) AttachmentData(ctx context.Context, taskID, id int64) (*Attachment, error) {
	a := Attachment{ID: id, TaskID: taskID}
	err := s.Pool.QueryRow(ctx, `SELECT name, content_type, size, uploaded_by, created_at, data FROM task_attachments WHERE id = $1 AND task_id = $2`, id, taskID).
		Scan(&a.Name, &a.ContentType, &a.Size, &a.UploadedBy, &a.CreatedAt, &a.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("attachment %d: %w", id, ErrNotFound)
	}
	return &a, err
}

// TicketLifecycle is everything the lifecycle knows about a ticket.
type TicketLifecycle struct {
	Ticket    *Ticket     `json:"ticket"`
	Tasks     []Task      `json:"tasks"`
	Offers    []Offer     `json:"offers"`
	Approvals []Approval  `json:"approvals"`
	Timers    []TimerRow  `json:"timers"`
	Events    []Event     `json:"events"`
	Durations []StateSpan `json:"durations"`
}

// Offer is one engineer's offer of a task.
type Offer struct {
	TaskID    int64      `db:"task_id" json:"task_id"`
	Engineer  string     `db:"engineer" json:"engineer"`
	Round     int        `db:"round" json:"round"`
	State     string     `db:"state" json:"state"`
	OfferedAt time.Time  `db:"offered_at" json:"offered_at"`
	DecidedAt *time.Time `db:"decided_at" json:"decided_at"`
}

// StateSpan is time spent in one state.
type StateSpan struct {
	TaskID    *int64     `db:"task_id" json:"task_id"`
	State     string     `db:"state" json:"state"`
	EnteredAt time.Time  `db:"entered_at" json:"entered_at"`
	LeftAt    *time.Time `db:"left_at" json:"left_at"`
}

// LifecycleOf reads a ticket's tasks, offers, approvals, timers, history and
// state durations.
func (s *Store) LifecycleOf(ctx context.Context, ticketID int64) (*TicketLifecycle, error) {
	t, err := TicketByID(ctx, s.Pool, ticketID)
	if err != nil {
		return nil, err
	}
	out := &TicketLifecycle{Ticket: t}
	if out.Tasks, err = ticketTasks(ctx, s.Pool, ticketID); err != nil {
		return nil, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT o.task_id, o.engineer, o.round, o.state, o.offered_at, o.decided_at FROM task_offers o
		JOIN engineer_tasks k ON k.id = o.task_id WHERE k.ticket_id = $1 ORDER BY o.task_id, o.round, o.engineer`, ticketID)
	if err != nil {
		return nil, err
	}
	if out.Offers, err = pgx.CollectRows(rows, pgx.RowToStructByName[Offer]); err != nil {
		return nil, err
	}
	if out.Approvals, err = s.Approvals(ctx, ticketID); err != nil {
		return nil, err
	}
	if out.Timers, err = s.Timers(ctx, ticketID); err != nil {
		return nil, err
	}
	if out.Events, err = s.TicketEvents(ctx, ticketID); err != nil {
		return nil, err
	}
	rows, err = s.Pool.Query(ctx, `SELECT task_id, state, entered_at, left_at FROM state_durations WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, err
	}
	if out.Durations, err = pgx.CollectRows(rows, pgx.RowToStructByName[StateSpan]); err != nil {
		return nil, err
	}
	return out, nil
}

// DurationStat is the time tickets spent in a state, for one group.
type DurationStat struct {
	Group      string  `json:"group"`
	State      string  `json:"state"`
	Count      int     `json:"count"`
	AvgSeconds float64 `json:"avg_seconds"`
	P90Seconds float64 `json:"p90_seconds"`
	MaxSeconds float64 `json:"max_seconds"`
}

// DurationStats sums the time tickets (not tasks) spent in each state,
// grouped by "client", "region" or "category", over rows entered since.
// Rows still open count up to now.
func (s *Store) DurationStats(ctx context.Context, by string, since time.Time) ([]DurationStat, error) {
	switch by {
	case "client", "region", "category":
	default:
		return nil, fmt.Errorf("group by %q: not one of client, region, category", by)
	}
	rows, err := s.Pool.Query(ctx, `
		SELECT `+by+`, state, count(*),
			avg(extract(epoch FROM coalesce(left_at, now()) - entered_at))::float8,
			(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(left_at, now()) - entered_at)))::float8,
			max(extract(epoch FROM coalesce(left_at, now()) - entered_at))::float8
		FROM state_durations WHERE task_id IS NULL AND entered_at >= $1
		GROUP BY 1, 2 ORDER BY 1, 2`, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DurationStat
	for rows.Next() {
		var d DurationStat
		if err := rows.Scan(&d.Group, &d.State, &d.Count, &d.AvgSeconds, &d.P90Seconds, &d.MaxSeconds); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// MaxUpload is the largest request body an upload may send: the task's
// byte limit plus room for the form.
func (l *Lifecycle) MaxUpload() int64 { return l.cfg.MaxTaskBytes + 1<<20 }
