package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/intakehq/intake/store"
)

// The dispatchers' queues: unmatched items to resolve, failed items to
// retry, and one item with everything the pipeline found.

type queueView struct {
	page
	Items []itemView
	Count int
}

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, p page) {
	items, err := s.Store.ListItems(r.Context(), store.ItemFilter{Outcome: store.OutcomeUnmatched, Limit: queryInt(r, "limit", 100), AfterID: int64(queryInt(r, "before", 0))})
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	p.Title, p.Nav = "Несопоставленные", "queue"
	v := queueView{page: p, Count: len(items)}
	for _, it := range items {
		v.Items = append(v.Items, newItemView(it))
	}
	s.render(w, r, http.StatusOK, "queue", v)
}

type failedView struct {
	page
	Items []itemView
}

func (s *Server) failedPage(w http.ResponseWriter, r *http.Request, p page) {
	items, err := s.Store.ListItems(r.Context(), store.ItemFilter{Outcome: store.OutcomeFailed, Limit: queryInt(r, "limit", 100), AfterID: int64(queryInt(r, "before", 0))})
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
	v := failedView{page: p}
	for _, it := range items {
		v.Items = append(v.Items, newItemView(it))
	}
	s.render(w, r, http.StatusOK, "failed", v)
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
