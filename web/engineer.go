package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/store"
)

// LifecycleAPI serves the engineer API, the signed one-click links,
// approvals and the dispatchers' lifecycle endpoints. Register adds its
// routes.
type LifecycleAPI struct {
	Service *lifecycle.Service // what changes a ticket's life
	Store   *store.Store       // what the endpoints only read
	Log     *slog.Logger
}

// Register adds the lifecycle routes to mux.
func (h *LifecycleAPI) Register(mux *http.ServeMux) {
	// Engineers, with their API token.
	mux.HandleFunc("GET /api/v1/engineer/tasks", h.engineer(h.myTasks))
	mux.HandleFunc("GET /api/v1/engineer/tasks/{id}", h.engineer(h.myTask))
	mux.HandleFunc("POST /api/v1/engineer/tasks/{id}/accept", h.engineer(h.accept))
	mux.HandleFunc("POST /api/v1/engineer/tasks/{id}/reject", h.engineer(h.reject))
	mux.HandleFunc("POST /api/v1/engineer/tasks/{id}/postpone", h.engineer(h.postpone))
	mux.HandleFunc("POST /api/v1/engineer/tasks/{id}/start", h.engineer(h.start))
	mux.HandleFunc("POST /api/v1/engineer/tasks/{id}/complete", h.engineer(h.complete))
	mux.HandleFunc("POST /api/v1/engineer/tasks/{id}/attachments", h.engineer(h.attach))
	mux.HandleFunc("GET /api/v1/engineer/tasks/{id}/attachments/{aid}", h.engineer(h.attachment))
	// Signed links from emails.
	mux.HandleFunc("GET /l/{token}", h.linkPage)
	mux.HandleFunc("POST /l/{token}", h.linkDo)
	// Approvers.
	mux.HandleFunc("POST /api/v1/approvals/{id}/approve", h.decide(true))
	mux.HandleFunc("POST /api/v1/approvals/{id}/decline", h.decide(false))
	// Dispatchers.
	mux.HandleFunc("POST /api/v1/engineers/{code}/tokens", h.createToken)
	mux.HandleFunc("DELETE /api/v1/engineers/{code}/tokens", h.revokeTokens)
	mux.HandleFunc("GET /api/v1/tickets/{id}/lifecycle", h.ticketLifecycle)
	mux.HandleFunc("GET /api/v1/tickets/{id}/act", h.act)
	mux.HandleFunc("POST /api/v1/tickets/{id}/dispatch", h.dispatch)
	mux.HandleFunc("POST /api/v1/tickets/{id}/cancel", h.cancel)
	mux.HandleFunc("POST /api/v1/tickets/{id}/close", h.close)
	mux.HandleFunc("POST /api/v1/tickets/{id}/assign", h.assign)
	mux.HandleFunc("POST /api/v1/tickets/{id}/offer", h.offer)
	mux.HandleFunc("POST /api/v1/tickets/{id}/tasks", h.addTask)
	mux.HandleFunc("POST /api/v1/tickets/{id}/comment", h.comment)
	mux.HandleFunc("GET /api/v1/lifecycle/durations", h.durations)
	mux.HandleFunc("GET /api/v1/recurring", h.contracts)
	mux.HandleFunc("POST /api/v1/recurring", h.addContract)
}

type unauthorized struct{ error }
type forbidden struct{ error }
type conflict struct{ error }
type tooLarge struct{ error }

// fail maps lifecycle errors to status codes: the one place they become
// HTTP.
func (h *LifecycleAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var bad badRequest
	switch {
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.As(err, &bad), errors.As(err, new(*json.SyntaxError)):
		status = http.StatusBadRequest
	case errors.As(err, new(unauthorized)), errors.Is(err, store.ErrBadToken):
		status = http.StatusUnauthorized
	case errors.As(err, new(forbidden)), errors.Is(err, lifecycle.ErrNotAssignee), errors.Is(err, lifecycle.ErrBadSignature):
		status = http.StatusForbidden
	case errors.Is(err, lifecycle.ErrLinkExpired):
		status = http.StatusGone
	case errors.Is(err, lifecycle.ErrTaken), errors.Is(err, lifecycle.ErrInvalidTransition), errors.Is(err, lifecycle.ErrFinal),
		errors.Is(err, lifecycle.ErrApprovalClosed), errors.Is(err, lifecycle.ErrEngineerBusy), errors.As(err, new(conflict)):
		status = http.StatusConflict
	case errors.Is(err, lifecycle.ErrReasonRequired), errors.Is(err, lifecycle.ErrUntilRequired), errors.Is(err, lifecycle.ErrWorkDoneRequired),
		errors.As(err, new(unprocessable)):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, lifecycle.ErrAttachmentLimit), errors.As(err, new(tooLarge)):
		status = http.StatusRequestEntityTooLarge
	}
	if status == http.StatusInternalServerError {
		h.Log.Error("http", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

type engineerHandler func(w http.ResponseWriter, r *http.Request, engineer string)

// engineer authenticates the engineer by "Authorization: Bearer <token>".
func (h *LifecycleAPI) engineer(next engineerHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="intake"`)
			h.fail(w, r, unauthorized{errors.New("send the engineer token as Authorization: Bearer <token>")})
			return
		}
		code, err := h.Store.EngineerByToken(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next(w, r, code)
	}
}

func (h *LifecycleAPI) myTasks(w http.ResponseWriter, r *http.Request, eng string) {
	ts, err := h.Store.MyTasks(r.Context(), eng)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if ts == nil {
		ts = []store.TaskView{}
	}
	for i := range ts {
		withActions(&ts[i])
		h.withWarranty(&ts[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"engineer": eng, "tasks": ts})
}

// withActions fills in what the engineer may do with the task.
func withActions(v *store.TaskView) { v.Actions = lifecycle.EngineerActions(&v.Task, v.Offer) }

// withWarranty says whether the task's equipment is under warranty today.
func (h *LifecycleAPI) withWarranty(v *store.TaskView) {
	if v.Equipment != nil {
		v.Equipment.Warranty = WarrantyStatus(v.Equipment.WarrantyUntil, h.Service.Now(), h.Service.Config().Location)
	}
}

func (h *LifecycleAPI) myTask(w http.ResponseWriter, r *http.Request, eng string) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.Store.TaskFor(r.Context(), eng, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	files, err := h.Store.Attachments(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := store.TicketByID(r.Context(), h.Store.Pool, v.TicketID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The store's tickets of the last 12 months: what was done there before.
	hist, err := h.Store.StoreHistory(r.Context(), t.Client, t.Object, h.Service.Now().AddDate(0, -storeHistoryMonths, 0), t.ID, 20)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	type past struct {
		Number    string    `json:"number"`
		CreatedAt time.Time `json:"created_at"`
		State     string    `json:"state"`
		StateRU   string    `json:"state_ru"`
		Category  *string   `json:"category"`
		Problem   string    `json:"problem"`
	}
	history := []past{}
	for _, o := range hist {
		history = append(history, past{Number: o.Number, CreatedAt: o.CreatedAt, State: o.State, StateRU: Label(LabelState, o.State),
			Category: o.Category, Problem: clipText(o.Problem, 500)})
	}
	withActions(v)
	h.withWarranty(v)
	writeJSON(w, http.StatusOK, map[string]any{"task": v, "attachments": files, "store_history": history})
}

// respondTask answers an action with the task as it now is.
func (h *LifecycleAPI) respondTask(w http.ResponseWriter, r *http.Request, eng string, id int64, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.Store.TaskFor(r.Context(), eng, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	withActions(v)
	h.withWarranty(v)
	writeJSON(w, http.StatusOK, v)
}

func (h *LifecycleAPI) accept(w http.ResponseWriter, r *http.Request, eng string) {
	id, err := pathID(r)
	if err == nil {
		err = h.Service.Accept(r.Context(), id, eng, "engineer:"+eng)
	}
	h.respondTask(w, r, eng, id, err)
}

type reasonBody struct {
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
	By     string    `json:"by"`
}

// readJSON decodes a small JSON body; an empty body is the zero value.
func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return badRequest{err}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest{fmt.Errorf("request body: %w", err)}
	}
	return nil
}

func (h *LifecycleAPI) reject(w http.ResponseWriter, r *http.Request, eng string) {
	var b reasonBody
	id, err := pathID(r)
	if err == nil {
		err = readJSON(r, &b)
	}
	if err == nil {
		err = h.Service.Reject(r.Context(), id, eng, "engineer:"+eng, b.Reason)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"task": id, "rejected": true})
}

func (h *LifecycleAPI) postpone(w http.ResponseWriter, r *http.Request, eng string) {
	var b reasonBody
	id, err := pathID(r)
	if err == nil {
		err = readJSON(r, &b)
	}
	if err == nil {
		err = h.Service.Postpone(r.Context(), id, eng, "engineer:"+eng, b.Reason, b.Until)
	}
	h.respondTask(w, r, eng, id, err)
}

func (h *LifecycleAPI) start(w http.ResponseWriter, r *http.Request, eng string) {
	id, err := pathID(r)
	if err == nil {
		err = h.Service.Start(r.Context(), id, eng, "engineer:"+eng)
	}
	h.respondTask(w, r, eng, id, err)
}

// complete takes JSON {"problem_found", "work_done"} or a multipart form
// with those fields and any number of "file" parts (photos, documents).
func (h *LifecycleAPI) complete(w http.ResponseWriter, r *http.Request, eng string) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var c lifecycle.Completion
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		c.ProblemFound, c.WorkDone = "", ""
		if err := h.eachFile(w, r, func(name, ctype string, data []byte) error {
			_, err := h.Service.AddAttachment(r.Context(), id, eng, name, ctype, data)
			return err
		}, func(field, value string) {
			switch field {
			case "problem_found":
				c.ProblemFound = value
			case "work_done":
				c.WorkDone = value
			}
		}); err != nil {
			h.fail(w, r, err)
			return
		}
	} else if err := readJSON(r, &c); err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.Service.Complete(r.Context(), id, eng, "engineer:"+eng, c)
	h.respondTask(w, r, eng, id, err)
}

// eachFile streams a multipart body: files go to file, other fields to
// field. The body is capped a little above the task's byte limit.
func (h *LifecycleAPI) eachFile(w http.ResponseWriter, r *http.Request, file func(name, ctype string, data []byte) error, field func(name, value string)) error {
	r.Body = http.MaxBytesReader(w, r.Body, h.Service.MaxUpload())
	mr, err := r.MultipartReader()
	if err != nil {
		return badRequest{fmt.Errorf("multipart body: %w", err)}
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tooLarge{fmt.Errorf("request larger than %d bytes", mbe.Limit)}
			}
			return badRequest{fmt.Errorf("multipart body: %w", err)}
		}
		data, err := io.ReadAll(p)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tooLarge{fmt.Errorf("request larger than %d bytes", mbe.Limit)}
			}
			return badRequest{err}
		}
		if p.FileName() == "" {
			field(p.FormName(), string(data))
			continue
		}
		ctype := p.Header.Get("Content-Type")
		if ctype == "" {
			ctype = http.DetectContentType(data)
		}
		if err := file(p.FileName(), ctype, data); err != nil {
			return err
		}
	}
}

func (h *LifecycleAPI) attach(w http.ResponseWriter, r *http.Request, eng string) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var ids []int64
	if err := h.eachFile(w, r, func(name, ctype string, data []byte) error {
		aid, err := h.Service.AddAttachment(r.Context(), id, eng, name, ctype, data)
		ids = append(ids, aid)
		return err
	}, func(string, string) {}); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(ids) == 0 {
		h.fail(w, r, unprocessable{errors.New(`no file parts: send multipart/form-data with one or more "file" parts`)})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"task": id, "attachments": ids})
}

func (h *LifecycleAPI) attachment(w http.ResponseWriter, r *http.Request, eng string) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	aid, err := strconv.ParseInt(r.PathValue("aid"), 10, 64)
	if err != nil {
		h.fail(w, r, badRequest{errors.New("attachment id must be a number")})
		return
	}
	if _, err := h.Store.TaskFor(r.Context(), eng, id); err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.Store.AttachmentData(r.Context(), id, aid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	w.Write(a.Data) //nolint:errcheck
}

func (h *LifecycleAPI) createToken(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Label string `json:"label"`
	}
	if err := readJSON(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	code := r.PathValue("code")
	tok, err := h.Store.CreateEngineerToken(r.Context(), code, b.Label)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, "engineer_token.create", code, map[string]any{"label": b.Label})
	writeJSON(w, http.StatusCreated, map[string]string{"engineer": code, "token": tok})
}

// audit records an action of the request's principal; a failure to record
// is logged, the action stands.
func (h *LifecycleAPI) audit(r *http.Request, action, target string, detail map[string]any) {
	if err := h.Store.Audit(r.Context(), actor(r), action, target, detail); err != nil {
		h.Log.Error("audit", "action", action, "target", target, "error", err)
	}
}

func (h *LifecycleAPI) revokeTokens(w http.ResponseWriter, r *http.Request) {
	n, err := h.Store.RevokeEngineerTokens(r.Context(), r.PathValue("code"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, "engineer_token.revoke", r.PathValue("code"), map[string]any{"revoked": n})
	writeJSON(w, http.StatusOK, map[string]any{"revoked": n})
}

func (h *LifecycleAPI) ticketLifecycle(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.Store.LifecycleOf(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *LifecycleAPI) act(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.Service.LoadAct(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := lifecycle.RenderAct(w, a); err != nil {
		h.Log.Error("act", "ticket", id, "error", err)
	}
}

// dispatcherBody is a dispatcher's action on a ticket. Who does it is the
// authenticated caller (By, filled in here); a "by" in the body is ignored.
type dispatcherBody struct {
	By        string   `json:"-"`
	Reason    string   `json:"reason"`
	Engineer  string   `json:"engineer"`
	Engineers []string `json:"engineers"` // offer
	Text      string   `json:"text"`      // comment
}

func (h *LifecycleAPI) dispatcherAction(w http.ResponseWriter, r *http.Request, action string, do func(id int64, b dispatcherBody) error) {
	var b dispatcherBody
	id, err := pathID(r)
	if err == nil {
		err = readJSON(r, &b)
	}
	b.By = actor(r)
	if err == nil {
		err = do(id, b)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, action, strconv.FormatInt(id, 10), map[string]any{"engineer": b.Engineer, "reason": b.Reason})
	t, err := store.TicketByID(r.Context(), h.Store.Pool, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (h *LifecycleAPI) dispatch(w http.ResponseWriter, r *http.Request) {
	h.dispatcherAction(w, r, "ticket.dispatch", func(id int64, b dispatcherBody) error {
		return h.Service.Dispatch(r.Context(), id, "dispatcher:"+b.By, b.Engineer)
	})
}

func (h *LifecycleAPI) cancel(w http.ResponseWriter, r *http.Request) {
	h.dispatcherAction(w, r, "ticket.cancel", func(id int64, b dispatcherBody) error {
		return h.Service.Cancel(r.Context(), id, "dispatcher:"+b.By, b.Reason)
	})
}

func (h *LifecycleAPI) close(w http.ResponseWriter, r *http.Request) {
	h.dispatcherAction(w, r, "ticket.close", func(id int64, b dispatcherBody) error {
		return h.Service.Close(r.Context(), id, "dispatcher:"+b.By, b.Reason)
	})
}

func (h *LifecycleAPI) assign(w http.ResponseWriter, r *http.Request) {
	h.dispatcherAction(w, r, "ticket.assign", func(id int64, b dispatcherBody) error {
		return h.Service.Assign(r.Context(), id, "dispatcher:"+b.By, b.Engineer, b.Reason)
	})
}

func (h *LifecycleAPI) offer(w http.ResponseWriter, r *http.Request) {
	h.dispatcherAction(w, r, "ticket.offer", func(id int64, b dispatcherBody) error {
		return h.Service.Offer(r.Context(), id, "dispatcher:"+b.By, b.Engineers, b.Reason)
	})
}

func (h *LifecycleAPI) addTask(w http.ResponseWriter, r *http.Request) {
	h.dispatcherAction(w, r, "ticket.task", func(id int64, b dispatcherBody) error {
		return h.Service.AddTask(r.Context(), id, "dispatcher:"+b.By, b.Engineer, b.Reason)
	})
}

func (h *LifecycleAPI) comment(w http.ResponseWriter, r *http.Request) {
	h.dispatcherAction(w, r, "ticket.comment", func(id int64, b dispatcherBody) error {
		return h.Service.Comment(r.Context(), id, "dispatcher:"+b.By, b.Text)
	})
}

func (h *LifecycleAPI) durations(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if by == "" {
		by = "client"
	}
	since := h.Service.Now().AddDate(0, 0, -30)
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			h.fail(w, r, badRequest{fmt.Errorf("since: %q is not a date (2006-01-02)", v)})
			return
		}
		since = t
	}
	stats, err := h.Store.DurationStats(r.Context(), by, since)
	if err != nil {
		h.fail(w, r, badRequest{err})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"by": by, "since": since, "states": stats})
}

func (h *LifecycleAPI) contracts(w http.ResponseWriter, r *http.Request) {
	cs, err := h.Store.Contracts(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contracts": cs})
}

func (h *LifecycleAPI) addContract(w http.ResponseWriter, r *http.Request) {
	var b struct {
		lifecycle.Contract
		StartsOn string  `json:"starts_on"`
		EndsOn   *string `json:"ends_on"`
	}
	if err := readJSON(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	c := b.Contract
	c.Active = true
	var err error
	if c.StartsOn, err = time.Parse(time.DateOnly, b.StartsOn); err != nil {
		h.fail(w, r, unprocessable{fmt.Errorf("starts_on: %q is not a date (2006-01-02)", b.StartsOn)})
		return
	}
	if b.EndsOn != nil {
		e, err := time.Parse(time.DateOnly, *b.EndsOn)
		if err != nil {
			h.fail(w, r, unprocessable{fmt.Errorf("ends_on: %q is not a date", *b.EndsOn)})
			return
		}
		c.EndsOn = &e
	}
	if c.Client == "" || c.Object == "" || c.Problem == "" {
		h.fail(w, r, unprocessable{errors.New("client, object and problem are required")})
		return
	}
	id, err := h.Store.AddContract(r.Context(), c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id})
}
