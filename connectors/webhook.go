package connectors

import (
	"bytes"
	"crypto/sha256"
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
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 4<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		orders, err := wr.Webhook(req, body)
		if errors.Is(err, ErrBadSignature) {
			log.Warn("connector webhook refused", "connector", name, "remote", req.RemoteAddr, "reason", err.Error())
			keepRefused(req, inbox, name, body, err, log)
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

// keepRefused stores a request with a bad or missing signature for audit: an
// item with outcome ignored, reason "bad signature", that is never read. It
// is keyed by its bytes, so it cannot stand in for a real change.
func keepRefused(req *http.Request, inbox *ingest.Inbox, name string, body []byte, cause error, log *slog.Logger) {
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "%s %s\r\n", req.Method, req.URL.RequestURI())
	req.Header.Write(&raw) //nolint:errcheck // writes to memory
	raw.WriteString("\r\n")
	raw.Write(body)
	sum := sha256.Sum256(raw.Bytes())
	ref := fmt.Sprintf("refused/%s/%x", name, sum)
	_, err := inbox.Put(req.Context(), []ingest.Item{{
		Source: flow.SourceConnector, SourceRef: ref, DedupKey: ref, Raw: raw.Bytes(),
		Meta: map[string]any{"connector": name, "refused": true, "remote": req.RemoteAddr, "reason": cause.Error()},
	}}, nil)
	if err != nil {
		log.Error("connector webhook: keeping a refused request", "connector", name, "error", err)
	}
}
