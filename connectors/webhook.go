package connectors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
)

// WebhookHandler serves POST /connectors/{name}/webhook: the desks' change
// notifications. Their orders enter the inbox like pulled ones (same item
// keys, so a change seen by both is stored once). A request that is not
// signed by the desk is refused with 401 and logged.
func (r *Registry) WebhookHandler(inbox *ingest.Inbox, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := req.PathValue("name")
		c := r.byName[name]
		wr, ok := c.(WebhookReceiver)
		if c == nil || !ok {
			http.NotFound(w, req)
			return
		}
		if inbox.Refusals().Blocked(req, name) {
			http.Error(w, "too many refused requests", http.StatusTooManyRequests)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 4<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		orders, err := wr.Webhook(req, body)
		if errors.Is(err, ErrBadSignature) {
			if keepRefused(req, inbox, name, body, err, log) == ingest.RefusalLimited {
				http.Error(w, "too many refused requests", http.StatusTooManyRequests)
				return
			}
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if err != nil {
			log.Warn("connector webhook unreadable", "connector", name, "error", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		items := make([]ingest.Item, 0, len(orders))
		for _, o := range orders {
			it, err := Item(c, o)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			items = append(items, it)
		}
		if _, err := inbox.Put(req.Context(), items, nil); err != nil {
			log.Error("connector webhook: storing orders", "connector", name, "error", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// keepRefused keeps an excerpt of a request with a bad or missing
// signature for audit (ingest.Refusals): an item with outcome ignored,
// reason "bad signature", that is never read. It is keyed by its bytes, so
// it cannot stand in for a real change.
func keepRefused(req *http.Request, inbox *ingest.Inbox, name string, body []byte, cause error, log *slog.Logger) string {
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "%s %s\r\n", req.Method, req.URL.RequestURI())
	req.Header.Write(&raw) //nolint:errcheck // writes to memory
	raw.WriteString("\r\n")
	raw.Write(body)
	did, err := inbox.Refusals().Keep(req.Context(), req, ingest.Refused{Source: flow.SourceConnector, Endpoint: name, Raw: raw.Bytes(), Cause: cause,
		Meta: map[string]any{"connector": name, "remote": req.RemoteAddr, "reason": cause.Error()}})
	if err != nil {
		log.Error("connector webhook: keeping a refused request", "connector", name, "error", err)
	}
	if did != ingest.RefusalLimited {
		log.Warn("connector webhook refused", "connector", name, "remote", req.RemoteAddr, "reason", cause.Error(), "kept", did)
	}
	return did
}
