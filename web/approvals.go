package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

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
// press of the button POSTs the decision. It is laid out for a phone: the
// engineer or the approver opens it from a mail on site.
var linkTmpl = template.Must(template.New("link").Funcs(catalogueFuncs).Parse(`<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
*{box-sizing:border-box}
body{margin:0;background:#f4f6f9;color:#1d2433;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif}
header{background:#1f4e8c;color:#fff;padding:.7rem 1rem;font-weight:700}
main{max-width:560px;margin:0 auto;padding:1rem}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}
.card{background:#fff;border:1px solid #e3e7ee;border-radius:12px;padding:1rem;margin-bottom:1rem}
.num{font-size:1.15rem;font-weight:700}
.ext{color:#667085;font-size:.9rem}
dl{margin:.6rem 0 0}dt{color:#667085;font-size:.85rem;margin-top:.55rem}dd{margin:0;overflow-wrap:anywhere}
.problem{white-space:pre-wrap;background:#f8fafc;border:1px solid #e3e7ee;border-radius:8px;padding:.6rem;margin-top:.2rem;max-height:14rem;overflow:auto}
.due{font-weight:700}.due.overdue{color:#b42318}.due.at_risk{color:#a15c00}
label{display:block;color:#667085;font-size:.9rem;margin-bottom:.3rem}
textarea{width:100%;min-height:6em;font:inherit;padding:.5rem;border:1px solid #c9d1dd;border-radius:8px}
button{display:block;width:100%;font:inherit;font-size:1.15rem;font-weight:600;padding:.85rem;border-radius:10px;border:0;background:#137a3e;color:#fff;margin-top:.8rem}
button.neg{background:#b42318}
.msg{padding:.8rem 1rem;border-radius:10px;margin-bottom:1rem}
.err{background:#fdecea;color:#b42318}.ok{background:#e7f6ec;color:#137a3e}
.hist{font-size:.88rem;margin:.3rem 0 0;padding-left:1.1rem}.hist li{margin:.15rem 0}
.meta{color:#667085;font-size:.85rem}
</style></head><body>
<header>Intake</header>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p class="msg {{.Class}}">{{.Message}}</p>{{end}}
{{with .Ticket}}<section class="card" id="ticket">
  <div class="num">Заявка {{.Number}}{{with .ExternalID}} <span class="ext">· номер сети {{.}}</span>{{end}}</div>
  <dl>
    <dt>Магазин</dt><dd>{{with .ObjectName}}{{.}}{{else}}{{.Object}}{{end}}{{with .ClientName}} · {{.}}{{end}}</dd>
    {{with .Address}}<dt>Адрес</dt><dd>{{.}}</dd>{{end}}
    {{with .Category}}<dt>Категория</dt><dd>{{.}}</dd>{{end}}
    {{with .Due}}<dt>Срок</dt><dd class="due {{$.Ticket.SLA}}">{{.}}{{if eq $.Ticket.SLA "overdue"}} — просрочена{{else if eq $.Ticket.SLA "at_risk"}} — срок на исходе{{end}}</dd>{{end}}
    {{with .Step}}<dt>Согласование</dt><dd>{{.}}</dd>{{end}}
    <dt>Проблема</dt><dd class="problem">{{.Problem}}</dd>
  </dl>
  {{with .History}}<p class="meta" style="margin:.8rem 0 0">Заявки этого магазина за 12 месяцев</p>
  <ul class="hist">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>{{end}}
{{if .Form}}<div class="card"><form method="post">
<p style="margin-top:0">{{.What}}</p>
{{if .NeedReason}}<label for="reason">Причина</label><textarea id="reason" name="reason" required></textarea>{{end}}
<button type="submit"{{if .NeedReason}} class="neg"{{end}}>{{.Button}}</button>
</form></div>{{end}}
</main>
</body></html>`))

type linkView struct {
	Title, Message, Class, What, Button string
	Form, NeedReason                    bool
	Ticket                              *linkTicket
}

// linkTicket is what a link's page says of the ticket: enough to decide
// on a phone without opening anything else.
type linkTicket struct {
	Number, ClientName, Object, ObjectName, Address, Category, Problem, Due, SLA, Step string
	ExternalID                                                                         *string
	History                                                                            []string
}

var linkWords = map[lifecycle.Action][3]string{
	lifecycle.ActAccept:  {"Принять заявку", "Принять заявку %s?", "Принять"},
	lifecycle.ActReject:  {"Отказаться от заявки", "Отказаться от заявки %s? Укажите причину: заявку передадут другому инженеру.", "Отказаться"},
	lifecycle.ActApprove: {"Согласовать работы", "Согласовать работы по заявке %s?", "Согласовать"},
	lifecycle.ActDecline: {"Отклонить работы", "Отклонить работы по заявке %s? Заявка будет отменена.", "Отклонить"},
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
	lt, err := h.linkTicket(r, l)
	if err != nil {
		h.linkError(w, r, err)
		return
	}
	h.page(w, http.StatusOK, linkView{Title: words[0], What: fmt.Sprintf(words[1], lt.Number), Button: words[2], Form: true, Ticket: lt,
		NeedReason: l.Action == lifecycle.ActReject || l.Action == lifecycle.ActDecline})
}

// linkTicket gathers what the link's page shows of its ticket: number,
// store name and address, problem, deadline, the approval step, and the
// store's recent tickets for an engineer.
func (h *LifecycleAPI) linkTicket(r *http.Request, l lifecycle.Link) (*linkTicket, error) {
	ctx := r.Context()
	var ticketID int64
	step := ""
	switch l.Kind {
	case "task":
		k, err := h.Store.TaskFor(ctx, l.Who, l.Subject)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", lifecycle.ErrNotAssignee, err)
		}
		ticketID = k.TicketID
	case "approval":
		a, err := h.Store.ApprovalByID(ctx, l.Subject)
		if err != nil {
			return nil, err
		}
		ticketID, step = a.TicketID, fmt.Sprintf("шаг %d, %s", a.Step, a.ContactName)
	default:
		return nil, forbidden{fmt.Errorf("link kind %q", l.Kind)}
	}
	t, err := store.TicketByID(ctx, h.Store.Pool, ticketID)
	if err != nil {
		return nil, err
	}
	names, err := h.Store.NamesOf(ctx, t.Client, t.Object, t.Category)
	if err != nil {
		return nil, err
	}
	loc := h.Service.Config().Location
	if loc == nil {
		loc = time.UTC
	}
	now := h.Service.Now()
	lt := &linkTicket{Number: t.Number, ExternalID: t.ExternalID, ClientName: names.Client, Object: t.Object, ObjectName: names.Object,
		Address: names.Address, Problem: clipText(t.Problem, 4000), Step: step, SLA: string(SLAOf(t, now))}
	if t.Category != nil {
		lt.Category = nameOr(names.Category, Label(LabelCategory, *t.Category))
	}
	if due := firstDue(t.SLADue, t.Due); due != nil {
		lt.Due = due.In(loc).Format("02.01.2006 15:04")
	}
	if l.Kind == "task" {
		hist, err := h.Store.StoreHistory(ctx, t.Client, t.Object, now.AddDate(0, -storeHistoryMonths, 0), t.ID, 5)
		if err != nil {
			return nil, err
		}
		for _, o := range hist {
			lt.History = append(lt.History, fmt.Sprintf("%s, %s — %s: %s", o.Number, o.CreatedAt.In(loc).Format("02.01.2006"),
				Label(LabelState, o.State), clipText(o.Problem, 120)))
		}
	}
	return lt, nil
}

func firstDue(a, b *time.Time) *time.Time {
	if a != nil {
		return a
	}
	return b
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
	lt, _ := h.linkTicket(r, l) // after a refusal the task is no longer his: the page says done without it
	h.page(w, http.StatusOK, linkView{Title: linkWords[l.Action][0], Message: "Готово: решение записано.", Class: "ok", Ticket: lt})
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
