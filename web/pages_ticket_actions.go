package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/intakehq/intake/lifecycle"
)

// The dispatcher's actions on the ticket page: each a POST form with the
// CSRF token, carried out by the lifecycle under the signed-in user's name
// ("dispatcher:<name>" in the ticket's history) and written to the audit
// log; the page comes back with what was done.

func (s *Server) ticketActionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /ui/tickets/{id}/assign", s.ui(s.ticketAction("assign", s.assignFromPage)))
	mux.HandleFunc("POST /ui/tickets/{id}/offer", s.ui(s.ticketAction("offer", s.offerFromPage)))
	mux.HandleFunc("POST /ui/tickets/{id}/tasks", s.ui(s.ticketAction("task", s.addTaskFromPage)))
	mux.HandleFunc("POST /ui/tickets/{id}/comment", s.ui(s.ticketAction("comment", s.commentFromPage)))
	mux.HandleFunc("POST /ui/tickets/{id}/cancel", s.ui(s.ticketAction("cancel", s.cancelFromPage)))
	mux.HandleFunc("POST /ui/tickets/{id}/close", s.ui(s.ticketAction("close", s.closeFromPage)))
}

// ticketFlash is what the page says after each action.
var ticketFlash = map[string]string{
	"assign":  "Заявка назначена.",
	"offer":   "Заявка предложена инженерам.",
	"task":    "Добавлена задача.",
	"comment": "Комментарий добавлен.",
	"cancel":  "Заявка отменена.",
	"close":   "Заявка закрыта.",
}

type ticketDo func(r *http.Request, id int64, actor string) (detail map[string]any, err error)

func (s *Server) ticketAction(name string, do ticketDo) func(w http.ResponseWriter, r *http.Request, p page) {
	return func(w http.ResponseWriter, r *http.Request, p page) {
		id, err := pathID(r)
		if err != nil {
			s.pageError(w, r, p, err)
			return
		}
		if s.Lifecycle == nil {
			s.pageError(w, r, p, unprocessable{errors.New("действия с заявками недоступны: жизненный цикл заявок выключен на этом сервере")})
			return
		}
		detail, err := do(r, id, "dispatcher:"+p.by())
		if err != nil {
			s.pageError(w, r, p, actionError(err))
			return
		}
		s.audit(r, "ticket."+name, strconv.FormatInt(id, 10), detail)
		http.Redirect(w, r, fmt.Sprintf("/ui/tickets/%d?done=%s", id, name), http.StatusSeeOther)
	}
}

// actionError says in Russian why the lifecycle refused an action, with
// the status it deserves.
func actionError(err error) error {
	switch {
	case errors.Is(err, lifecycle.ErrReasonRequired):
		return badRequest{errors.New("укажите причину: она нужна, когда работу забирают у инженера, отменяют заявку или выбирают инженера, которого маршрутизация не предложила")}
	case errors.Is(err, lifecycle.ErrEngineerBusy):
		return unprocessable{errors.New("у этого инженера уже есть задача по этой заявке")}
	case errors.Is(err, lifecycle.ErrFinal):
		return unprocessable{errors.New("заявка закрыта или отменена: изменить её нельзя")}
	case errors.Is(err, lifecycle.ErrInvalidTransition):
		return unprocessable{fmt.Errorf("в текущем состоянии заявки это действие невозможно (%v)", err)}
	}
	return err
}

func ticketField(r *http.Request, key string) string { return strings.TrimSpace(r.PostForm.Get(key)) }

func (s *Server) assignFromPage(r *http.Request, id int64, actor string) (map[string]any, error) {
	eng, reason := ticketField(r, "engineer"), ticketField(r, "reason")
	if eng == "" {
		return nil, badRequest{errors.New("выберите инженера")}
	}
	return map[string]any{"engineer": eng, "reason": reason}, s.Lifecycle.Assign(r.Context(), id, actor, eng, reason)
}

func (s *Server) offerFromPage(r *http.Request, id int64, actor string) (map[string]any, error) {
	n, err := strconv.Atoi(ticketField(r, "n"))
	if err != nil || n <= 0 {
		return nil, badRequest{errors.New("укажите, скольким инженерам предложить (число больше нуля)")}
	}
	a, err := s.Lifecycle.Candidates(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if len(a.Ranked) == 0 {
		return nil, unprocessable{errors.New("подходящих инженеров нет: назначьте инженера вручную")}
	}
	to := a.Ranked[:min(n, len(a.Ranked))]
	reason := ticketField(r, "reason")
	return map[string]any{"offer": to, "reason": reason}, s.Lifecycle.Offer(r.Context(), id, actor, to, reason)
}

func (s *Server) addTaskFromPage(r *http.Request, id int64, actor string) (map[string]any, error) {
	eng, note := ticketField(r, "engineer"), ticketField(r, "note")
	if eng == "" {
		return nil, badRequest{errors.New("выберите инженера")}
	}
	return map[string]any{"engineer": eng, "note": note}, s.Lifecycle.AddTask(r.Context(), id, actor, eng, note)
}

func (s *Server) commentFromPage(r *http.Request, id int64, actor string) (map[string]any, error) {
	text := ticketField(r, "text")
	if text == "" {
		return nil, badRequest{errors.New("комментарий пуст")}
	}
	return map[string]any{"text": clipText(text, 200)}, s.Lifecycle.Comment(r.Context(), id, actor, clipText(text, 4000))
}

func (s *Server) cancelFromPage(r *http.Request, id int64, actor string) (map[string]any, error) {
	reason := ticketField(r, "reason")
	return map[string]any{"reason": reason}, s.Lifecycle.Cancel(r.Context(), id, actor, reason)
}

func (s *Server) closeFromPage(r *http.Request, id int64, actor string) (map[string]any, error) {
	reason := ticketField(r, "reason")
	return map[string]any{"reason": reason}, s.Lifecycle.Close(r.Context(), id, actor, reason)
}
