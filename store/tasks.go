package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/lifecycle"
)

// TaskView is a task as its engineer sees it.
type TaskView struct {
	lifecycle.Task
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
	// Equipment is the equipment the ticket is about, nil when none.
	Equipment *EquipmentCard `json:"equipment,omitempty"`
	Actions   []string       `json:"actions"` // what the engineer may do: lifecycle.EngineerActions, set by the API
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
		k, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[lifecycle.Task])
		if err != nil {
			return nil, err
		}
		out[i].Task = k
		if out[i].Equipment, err = taskEquipment(ctx, s.Pool, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
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

// Timers lists a ticket's timers.
func (s *Store) Timers(ctx context.Context, ticketID int64) ([]lifecycle.Timer, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+timerColumns+` FROM lifecycle_timers WHERE ticket_id = $1 ORDER BY due_at, id`, ticketID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[lifecycle.Timer])
}

// AddContract stores a recurring-work contract.
func (s *Store) AddContract(ctx context.Context, c lifecycle.Contract) (int64, error) {
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
func (s *Store) Contracts(ctx context.Context) ([]lifecycle.Contract, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+contractColumns+` FROM recurring_contracts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[lifecycle.Contract])
}

// Approvals lists a ticket's approval chain.
func (s *Store) Approvals(ctx context.Context, ticketID int64) ([]lifecycle.Approval, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE ticket_id = $1 ORDER BY step`, ticketID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[lifecycle.Approval])
}

// ApprovalByID reads one approval.
func (s *Store) ApprovalByID(ctx context.Context, id int64) (*lifecycle.Approval, error) {
	return one[lifecycle.Approval](ctx, s.Pool, fmt.Sprintf("approval %d", id), `SELECT `+approvalColumns+` FROM approvals WHERE id = $1`, id)
}
