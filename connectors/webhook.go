package connectors

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

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
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 4<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		orders, err := wr.Webhook(req, body)
		if errors.Is(err, ErrBadSignature) {
			log.Warn("connector webhook refused", "connector", name, "remote", req.RemoteAddr, "reason", err.Error())
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
