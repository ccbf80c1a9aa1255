package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/redact"
	"github.com/intakehq/intake/store"
)

// decide is the approvers' API: the signed token from the approval email
// is the credential ("Authorization: Bearer <token>" or ?t=<token>), so an
// approver needs no account.
func (h *LifecycleAPI) decide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == "" {
			tok = r.URL.Query().Get("t")
		}
		if tok == "" {
			h.fail(w, r, unauthorized{errors.New("send the token of the approval link as Authorization: Bearer <token>")})
			return
		}
		l, err := h.verify(r, tok)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if l.Kind != "approval" || l.Subject != id {
			h.fail(w, r, forbidden{errors.New("the token is for another approval")})
			return
		}
		// Each link of the approval mail carries one action: an "approve"
		// token must not decline, nor a "decline" token approve.
		if want := map[bool]lifecycle.Action{true: lifecycle.ActApprove, false: lifecycle.ActDecline}[approve]; l.Action != want {
			h.fail(w, r, forbidden{fmt.Errorf("the token is for %q, not %q", l.Action, want)})
			return
		}
		var b reasonBody
		if err := readJSON(r, &b); err != nil {
			h.fail(w, r, err)
			return
		}
		if err := h.Service.Decide(r.Context(), id, approve, l.Who, b.Reason); err != nil {
			h.fail(w, r, err)
			return
		}
		a, err := h.Store.ApprovalByID(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	}
}

func (h *LifecycleAPI) verify(r *http.Request, tok string) (lifecycle.Link, error) {
	s := h.Service.Signer()
	if s == nil {
		return lifecycle.Link{}, forbidden{errors.New("signed links are not configured")}
	}
	return s.Verify(tok, h.Service.Now())
}

// The page a signed link opens. The GET only shows what the link will do:
// mail scanners (Outlook Safe Links, antivirus gateways) open every link in
// a message, and a GET that accepted would let them accept offers. One
// press of the button POSTs the decision.
var linkTmpl = template.Must(template.New("link").Parse(`<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:560px;margin:2em auto;padding:0 1em}button{font-size:1.2em;padding:.6em 1.4em}
textarea{width:100%;min-height:5em}.err{color:#a00}.ok{color:#070}</style></head><body>
<h1>{{.Title}}</h1>
{{if .Message}}<p class="{{.Class}}">{{.Message}}</p>{{end}}
{{if .Form}}<form method="post">
<p>{{.What}}</p>
{{if .NeedReason}}<p><label>Причина:<br><textarea name="reason" required></textarea></label></p>{{end}}
<button type="submit">{{.Button}}</button>
</form>{{end}}
</body></html>`))

type linkView struct {
	Title, Message, Class, What, Button string
	Form, NeedReason                    bool
}

var linkWords = map[lifecycle.Action][3]string{
	lifecycle.ActAccept:  {"Принять заявку", "Принять задачу %d?", "Принять"},
	lifecycle.ActReject:  {"Отказаться от заявки", "Отказаться от задачи %d? Укажите причину.", "Отказаться"},
	lifecycle.ActApprove: {"Согласовать работы", "Согласовать работы по заявке (согласование %d)?", "Согласовать"},
	lifecycle.ActDecline: {"Отклонить работы", "Отклонить работы (согласование %d)? Заявка будет отменена.", "Отклонить"},
}

func (h *LifecycleAPI) linkPage(w http.ResponseWriter, r *http.Request) {
	l, err := h.verify(r, r.PathValue("token"))
	if err != nil {
		h.linkError(w, r, err)
		return
	}
	words, ok := linkWords[l.Action]
	if !ok {
		h.linkError(w, r, forbidden{fmt.Errorf("link action %q", l.Action)})
		return
	}
	h.page(w, http.StatusOK, linkView{Title: words[0], What: fmt.Sprintf(words[1], l.Subject), Button: words[2], Form: true,
		NeedReason: l.Action == lifecycle.ActReject || l.Action == lifecycle.ActDecline})
}

func (h *LifecycleAPI) linkDo(w http.ResponseWriter, r *http.Request) {
	l, err := h.verify(r, r.PathValue("token"))
	if err != nil {
		h.linkError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	reason := ""
	if err := r.ParseForm(); err == nil {
		reason = strings.TrimSpace(r.PostForm.Get("reason"))
	}
	ctx := r.Context()
	switch {
	case l.Kind == "task" && l.Action == lifecycle.ActAccept:
		err = h.Service.Accept(ctx, l.Subject, l.Who, "link:"+l.Who)
	case l.Kind == "task" && l.Action == lifecycle.ActReject:
		err = h.Service.Reject(ctx, l.Subject, l.Who, "link:"+l.Who, reason)
	case l.Kind == "approval" && (l.Action == lifecycle.ActApprove || l.Action == lifecycle.ActDecline):
		err = h.Service.Decide(ctx, l.Subject, l.Action == lifecycle.ActApprove, l.Who, reason)
	default:
		err = forbidden{fmt.Errorf("link action %q on %s", l.Action, l.Kind)}
	}
	if err != nil {
		h.linkError(w, r, err)
		return
	}
	h.page(w, http.StatusOK, linkView{Title: linkWords[l.Action][0], Message: "Готово: решение записано.", Class: "ok"})
}

// linkError shows a person what went wrong with a link, in words, with the
// status code fail would give.
func (h *LifecycleAPI) linkError(w http.ResponseWriter, r *http.Request, err error) {
	msg := "Не удалось выполнить действие: " + err.Error()
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, lifecycle.ErrLinkExpired):
		msg, status = "Срок действия ссылки истёк. Обратитесь к диспетчеру.", http.StatusGone
	case errors.Is(err, lifecycle.ErrBadSignature), errors.As(err, new(forbidden)):
		msg, status = "Ссылка повреждена или недействительна.", http.StatusForbidden
	case errors.Is(err, lifecycle.ErrTaken):
		msg, status = "Заявку уже принял другой инженер.", http.StatusConflict
	case errors.Is(err, lifecycle.ErrNotAssignee):
		msg, status = "Эта заявка вам больше не назначена.", http.StatusForbidden
	case errors.Is(err, lifecycle.ErrInvalidTransition), errors.Is(err, lifecycle.ErrFinal), errors.Is(err, lifecycle.ErrApprovalClosed):
		msg, status = "Решение уже принято или заявка в другом состоянии.", http.StatusConflict
	case errors.Is(err, lifecycle.ErrReasonRequired):
		msg, status = "Укажите причину.", http.StatusUnprocessableEntity
	case errors.Is(err, store.ErrNotFound):
		msg, status = "Заявка не найдена.", http.StatusNotFound
	}
	if status == http.StatusInternalServerError {
		h.Log.Error("link", "path", redact.Path(r.URL.Path), "error", err)
		msg = "Внутренняя ошибка. Попробуйте позже или обратитесь к диспетчеру."
	}
	h.page(w, status, linkView{Title: "Intake", Message: msg, Class: "err"})
}

func (h *LifecycleAPI) page(w http.ResponseWriter, status int, v linkView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	linkTmpl.Execute(w, v) //nolint:errcheck
}
