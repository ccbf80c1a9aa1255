package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/redact"
	"github.com/intakehq/intake/store"
)

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	counts, err := s.Store.OutcomeCounts(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"outcomes": counts})
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	items, err := s.Store.ListItems(r.Context(), store.ItemFilter{
		Outcome: q.Get("outcome"), Stage: q.Get("stage"), Limit: queryInt(r, "limit", 100), AfterID: int64(queryInt(r, "before", 0)),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// unmatched is the dispatchers' queue: items no store could be found for,
// with the candidates matching considered.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	items, err := s.Store.ListItems(r.Context(), store.ItemFilter{Outcome: store.OutcomeUnmatched, Limit: queryInt(r, "limit", 100), AfterID: int64(queryInt(r, "before", 0))})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	it, err := s.Store.GetItem(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (s *Server) getItemRaw(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	it, err := s.Store.GetItem(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ct, raw := "application/octet-stream", it.Raw
	switch it.Source {
	case flow.SourceMail:
		ct = "message/rfc822"
	default:
		// Webhook requests are kept whole so their signatures can be
		// checked again; what is shown has keys and signatures masked.
		raw = redact.Request(raw)
	}
	w.Header().Set("Content-Type", ct)
	w.Write(raw) //nolint:errcheck
}

func (s *Server) retryItem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.retry(w, r, []int64{id})
}

func (s *Server) retryFailed(w http.ResponseWriter, r *http.Request) { s.retry(w, r, nil) }

func (s *Server) retry(w http.ResponseWriter, r *http.Request, ids []int64) {
	if s.Retry == nil {
		s.writeError(w, r, unprocessable{errString("retry is not available on this server")})
		return
	}
	done, err := s.Retry(r.Context(), ids)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requeued": done})
}

type errString string

func (e errString) Error() string { return string(e) }

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Store.ListTickets(r.Context(), queryInt(r, "limit", 100))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": ts})
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := store.TicketByID(r.Context(), s.Store.Pool, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.Store.TicketEvents(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := map[string]any{"ticket": t, "events": events}
	if eq := s.Requests.equipmentCard(r.Context(), t.ID); eq != nil {
		out["equipment"] = eq.api()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) mailboxes(w http.ResponseWriter, r *http.Request) {
	if s.Mailboxes == nil {
		writeJSON(w, http.StatusOK, map[string]any{"mailboxes": []any{}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"mailboxes": s.Mailboxes.Status()})
}

// resolveItem is a dispatcher's decision on an unmatched item:
// {"client": "PU", "object": "0123"}, recorded as the caller's.
func (s *Server) resolveItem(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.Resolve == nil {
		s.writeError(w, r, unprocessable{errString("resolving is not available on this server")})
		return
	}
	var req struct {
		Client string `json:"client"`
		Object string `json:"object"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Client == "" || req.Object == "" {
		s.writeError(w, r, badRequest{errString(`body must be {"client": "...", "object": "..."}`)})
		return
	}
	tid, err := s.Resolve(r.Context(), id, req.Client, req.Object, actor(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(r, "item.resolve", strconv.FormatInt(id, 10), map[string]any{"client": req.Client, "object": req.Object, "ticket": tid})
	t, err := store.TicketByID(r.Context(), s.Store.Pool, tid)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ticket": t})
}
