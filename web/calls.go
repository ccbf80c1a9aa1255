package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/intakehq/intake/store"
)

// CallTicketer turns a call record into a ticket (through the pipeline) and
// returns the inbox item of the request.
type CallTicketer func(ctx context.Context, callID int64, body []byte) (itemID int64, err error)

// ErrCallRequest marks a ticket request the call cannot satisfy (no store,
// already a ticket): 422.
var ErrCallRequest = errors.New("call cannot become a ticket")

// CallRoutes adds the calls API to mux. Registered by the calls component.
//
//	GET  /api/v1/calls?unknown=1&status=missed&disposition=record&client=C&object=O&before=ID&limit=N
//	GET  /api/v1/calls/{id}           the call with its events
//	POST /api/v1/calls/{id}/ticket    {"problem", "category", "priority"} (by: the caller)
func (s *Server) CallRoutes(mux *http.ServeMux, ticket CallTicketer) {
	mux.HandleFunc("GET /api/v1/calls", s.listCalls)
	mux.HandleFunc("GET /api/v1/calls/{id}", s.getCall)
	mux.HandleFunc("POST /api/v1/calls/{id}/ticket", func(w http.ResponseWriter, r *http.Request) { s.callTicket(w, r, ticket) })
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	unknown := q.Get("unknown")
	calls, err := s.Store.ListCalls(r.Context(), store.CallFilter{
		Unknown: unknown == "1" || unknown == "true", Status: q.Get("status"), Disposition: q.Get("disposition"),
		Client: q.Get("client"), Object: q.Get("object"),
		AfterID: int64(queryInt(r, "before", 0)), Limit: queryInt(r, "limit", 100),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if calls == nil {
		calls = []store.Call{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls})
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.Store.GetCall(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.Store.CallEvents(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"call": c, "events": events})
}

func (s *Server) callTicket(w http.ResponseWriter, r *http.Request, ticket CallTicketer) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&fields); err != nil || fields == nil {
		s.writeError(w, r, badRequest{fmt.Errorf("body must be a JSON object: %v", err)})
		return
	}
	// Who asks is the authenticated caller, whatever the body says.
	if fields["by"], err = json.Marshal(actor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := json.Marshal(fields)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	item, err := ticket(r.Context(), id, body)
	if errors.Is(err, ErrCallRequest) {
		err = unprocessable{err}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"item": item})
}
