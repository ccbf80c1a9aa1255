package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/intakehq/intake/store"
)

// The dispatchers' queues: unmatched items to resolve, failed items to
// retry, and one item with everything the pipeline found.

type failedView struct {
	page
	Items []itemView
	// Dead are the newest outbox messages that will not be delivered;
	// DeadCount counts them all.
	Dead      []outboxView
	DeadCount int
}

// outboxView is an outbox message as the failed page shows it.
type outboxView struct {
	store.OutboxRow
	Ticket  int64
	Subject string // an email's subject or a webhook's type, when the payload has one
}

func newOutboxView(m store.OutboxRow) outboxView {
	v := outboxView{OutboxRow: shownOutbox(m)}
	if m.TicketID != nil {
		v.Ticket = *m.TicketID
	}
	var p struct {
		Subject string `json:"subject"`
		Type    string `json:"type"`
	}
	json.Unmarshal(m.Payload, &p) //nolint:errcheck // a page shows what it can
	v.Subject = clipText(cmp.Or(p.Subject, p.Type), shownSubject)
	v.LastError = clipText(v.LastError, shownReason)
	return v
}

// deadShown is how many dead outbox messages the failed page lists; the
// API pages through the rest.
const deadShown = 100

func (s *Server) failedPage(w http.ResponseWriter, r *http.Request, p page) {
	items, err := s.Store.ListItems(r.Context(), store.ItemFilter{Outcome: store.OutcomeFailed, Limit: queryInt(r, "limit", 100), AfterID: int64(queryInt(r, "before", 0))})
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	dead, err := s.Store.ListOutbox(r.Context(), store.OutboxFilter{State: store.OutboxDead, Limit: deadShown})
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	counts, err := s.Store.OutboxCounts(r.Context())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Nav = "Ошибки", "failed"
	if n := r.URL.Query().Get("requeued"); n != "" {
		if k, err := strconv.Atoi(n); err == nil {
			p.Flash = fmt.Sprintf("Отправлено на повторную обработку: %d.", k)
		}
	}
	if id := r.URL.Query().Get("resent"); id != "" {
		if k, err := strconv.Atoi(id); err == nil {
			p.Flash = fmt.Sprintf("Уведомление %d снова в очереди на отправку.", k)
		}
	}
	v := failedView{page: p, DeadCount: counts[store.OutboxDead]}
	for _, m := range dead {
		v.Dead = append(v.Dead, newOutboxView(m))
	}
	for _, it := range items {
		v.Items = append(v.Items, newItemView(it))
	}
	s.render(w, r, http.StatusOK, "failed", v)
}

// resendPage puts a dead outbox message back in the queue.
func (s *Server) resendPage(w http.ResponseWriter, r *http.Request, p page) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	row, err := s.Store.RetryOutbox(r.Context(), id)
	if errors.Is(err, store.ErrOutboxSent) {
		err = unprocessable{errString("уведомление уже доставлено")}
	}
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	s.Log.Info("outbox message re-queued", "id", id, "kind", row.Kind, "target", row.Target, "by", p.by())
	http.Redirect(w, r, fmt.Sprintf("/ui/failed?resent=%d", id), http.StatusSeeOther)
}

type itemPageView struct {
	page
	Item itemView
}

func (s *Server) itemPage(w http.ResponseWriter, r *http.Request, p page) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	it, err := s.Store.GetItem(r.Context(), id)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	it.Raw = nil
	p.Title, p.Nav = fmt.Sprintf("Сообщение %d", id), "queue"
	s.render(w, r, http.StatusOK, "item", itemPageView{page: p, Item: newItemView(*it)})
}

// resolvePage creates the ticket for the store a dispatcher picked, then
// shows it.
func (s *Server) resolvePage(w http.ResponseWriter, r *http.Request, p page) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	if s.Resolve == nil {
		s.pageError(w, r, p, unprocessable{errString("создание заявок недоступно на этом сервере")})
		return
	}
	client := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("client")))
	object := strings.TrimSpace(r.PostForm.Get("object"))
	if client == "" || object == "" {
		s.pageError(w, r, p, badRequest{errString("укажите клиента и код магазина")})
		return
	}
	tid, err := s.Resolve(r.Context(), id, client, object, p.by())
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	s.audit(r, "item.resolve", strconv.FormatInt(id, 10), map[string]any{"client": client, "object": object, "ticket": tid})
	http.Redirect(w, r, fmt.Sprintf("/ui/tickets/%d", tid), http.StatusSeeOther)
}

func (s *Server) retryPage(w http.ResponseWriter, r *http.Request, p page) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	s.retryFromPage(w, r, p, []int64{id})
}

func (s *Server) retryAllPage(w http.ResponseWriter, r *http.Request, p page) {
	s.retryFromPage(w, r, p, nil)
}

func (s *Server) retryFromPage(w http.ResponseWriter, r *http.Request, p page, ids []int64) {
	if s.Retry == nil {
		s.pageError(w, r, p, unprocessable{errString("повторная обработка недоступна на этом сервере")})
		return
	}
	done, err := s.Retry(r.Context(), ids)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/ui/failed?requeued=%d", len(done)), http.StatusSeeOther)
}
