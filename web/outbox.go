package web

import (
	"errors"
	"net/http"

	"github.com/intakehq/intake/redact"
	"github.com/intakehq/intake/store"
)

// shownOutbox masks what an outbox row may hold of a target's credentials:
// a webhook URL's token, an error that quoted it (rows stored before errors
// were masked too).
func shownOutbox(m store.OutboxRow) store.OutboxRow {
	m.Target = redact.URL(m.Target)
	m.LastError = redact.Text(m.LastError)
	return m
}

// OutboxRoutes adds the outbox API to mux: the list (dead letters with
// ?state=dead, each with its last_error; counts has the total per state) and
// a manual retry. Registered by the outbox component. The failed page
// (/ui/failed) lists the dead ones too.
//
//	GET  /api/v1/outbox?state=pending|sent|dead&kind=email|webhook|connector&ticket=ID&before=ID&limit=N
//	GET  /api/v1/outbox/{id}
//	POST /api/v1/outbox/{id}/retry
func (s *Server) OutboxRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/outbox", s.listOutbox)
	mux.HandleFunc("GET /api/v1/outbox/{id}", s.getOutbox)
	mux.HandleFunc("POST /api/v1/outbox/{id}/retry", s.retryOutbox)
}

func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("state") {
	case "", store.OutboxPending, store.OutboxSent, store.OutboxDead:
	default:
		s.writeError(w, r, badRequest{errors.New("state must be one of pending, sent, dead")})
		return
	}
	rows, err := s.Store.ListOutbox(r.Context(), store.OutboxFilter{
		State: q.Get("state"), Kind: q.Get("kind"), TicketID: int64(queryInt(r, "ticket", 0)),
		AfterID: int64(queryInt(r, "before", 0)), Limit: queryInt(r, "limit", 100),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	counts, err := s.Store.OutboxCounts(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if rows == nil {
		rows = []store.OutboxRow{}
	}
	for i := range rows {
		rows[i] = shownOutbox(rows[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": rows, "counts": counts})
}

func (s *Server) getOutbox(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	row, err := s.Store.GetOutbox(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, shownOutbox(*row))
}

func (s *Server) retryOutbox(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	row, err := s.Store.RetryOutbox(r.Context(), id)
	if errors.Is(err, store.ErrOutboxSent) {
		err = unprocessable{err} // 422: a sent message is not sent again
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Log.Info("outbox message re-queued", "id", id, "kind", row.Kind, "target", redact.URL(row.Target))
	writeJSON(w, http.StatusOK, shownOutbox(*row))
}
