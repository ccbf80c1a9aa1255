package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
)

// MaxBody is the largest request accepted.
const MaxBody = 1 << 20

// DefaultFreshness is how far a signed call time may be from the clock: a
// call's end arrives after its start, so it covers long calls.
const DefaultFreshness = 6 * time.Hour

// Config holds the providers' secrets and the call handling settings. A
// provider without secrets is not served.
type Config struct {
	MangoAPIKey, MangoSalt string
	ZadarmaSecret          string
	ZadarmaLocation        *time.Location // the PBX's zone for call_start; UTC when nil
	GenericSecret          string
	GenericHeader          string // default X-Intake-Signature

	// Now is the clock of the freshness check and of a call-back whose
	// call carries no time (the wall clock when nil); Freshness is how far
	// a signed call time may be from it (6h when 0).
	Now       func() time.Time
	Freshness time.Duration

	// Call-back tickets for missed calls.
	CallbackCategory string         // our category code, or "" to leave it to rules
	CallbackPriority string         // critical|high|normal|low, or ""
	Location         *time.Location // intake.timezone, for the call-back text; UTC when nil
}

// Receiver serves the webhook endpoints and processes the stored requests.
type Receiver struct {
	cfg       Config
	inbox     *ingest.Inbox
	log       *slog.Logger
	providers map[string]provider
	received  *prometheus.CounterVec
	engineers engineerIndex
}

// New returns a receiver. inbox may be nil for processing only.
func New(cfg Config, inbox *ingest.Inbox, log *slog.Logger) *Receiver {
	if cfg.GenericHeader == "" {
		cfg.GenericHeader = "X-Intake-Signature"
	}
	if cfg.ZadarmaLocation == nil {
		cfg.ZadarmaLocation = time.UTC
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = clock.Wall
	}
	if cfg.Freshness <= 0 {
		cfg.Freshness = DefaultFreshness
	}
	rc := &Receiver{cfg: cfg, inbox: inbox, log: log, providers: map[string]provider{},
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_call_webhooks_total", Help: "Telephony webhook requests by provider and result (accepted, known, refused, limited, unreadable, error).",
		}, []string{"provider", "result"}),
	}
	if cfg.MangoAPIKey != "" && cfg.MangoSalt != "" {
		rc.providers["mango"] = mango{apiKey: cfg.MangoAPIKey, salt: cfg.MangoSalt}
	}
	if cfg.ZadarmaSecret != "" {
		rc.providers["zadarma"] = zadarma{secret: cfg.ZadarmaSecret, loc: cfg.ZadarmaLocation}
	}
	if cfg.GenericSecret != "" {
		rc.providers["generic"] = generic{secret: cfg.GenericSecret, header: cfg.GenericHeader}
	}
	return rc
}

// Collectors returns the receiver's metrics.
func (rc *Receiver) Collectors() []prometheus.Collector { return []prometheus.Collector{rc.received} }

// Routes adds the endpoints of the configured providers under prefix
// (e.g. "/telephony"):
//
//	POST prefix/mango/events/call, prefix/mango/events/summary (and other Mango events)
//	GET  prefix/zadarma/events?zd_echo=X    (Zadarma's URL check)
//	POST prefix/zadarma/events
//	POST prefix/generic/events
func (rc *Receiver) Routes(mux *http.ServeMux, prefix string) {
	if p, ok := rc.providers["mango"]; ok {
		mux.Handle("POST "+prefix+"/mango/events/{event...}", rc.handler(p))
	}
	if p, ok := rc.providers["zadarma"]; ok {
		mux.HandleFunc("GET "+prefix+"/zadarma/events", zdEcho)
		mux.Handle("POST "+prefix+"/zadarma/events", rc.handler(p))
	}
	if p, ok := rc.providers["generic"]; ok {
		mux.Handle("POST "+prefix+"/generic/events", rc.handler(p))
	}
}

// Providers lists the configured providers.
func (rc *Receiver) Providers() []string {
	var out []string
	for _, n := range []string{"mango", "zadarma", "generic"} {
		if _, ok := rc.providers[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

func zdEcho(w http.ResponseWriter, r *http.Request) {
	echo := r.URL.Query().Get("zd_echo")
	if echo == "" {
		http.Error(w, "zd_echo missing", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, echo) //nolint:errcheck
}

func (rc *Receiver) handler(p provider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rc.inbox.Refusals().Blocked(r, p.name()) {
			rc.received.WithLabelValues(p.name(), "limited").Inc()
			http.Error(w, "too many refused requests", http.StatusTooManyRequests)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			rc.received.WithLabelValues(p.name(), "unreadable").Inc()
			http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		raw := dumpRequest(r, body)
		err = p.verify(r, body)
		if fc, ok := p.(freshnessChecker); ok && err == nil {
			err = fc.fresh(body, rc.cfg.Now(), rc.cfg.Freshness)
		}
		if err != nil {
			rc.refuse(r.Context(), w, r, p, body, raw, err)
			return
		}
		ev, err := p.parse(r, body)
		if err != nil {
			// Signed but unreadable: kept, with the reason, as a failed item.
			rc.keep(r.Context(), p.name(), raw, "unreadable call event: "+err.Error())
			rc.received.WithLabelValues(p.name(), "unreadable").Inc()
			rc.log.Warn("call webhook: unreadable event", "provider", p.name(), "error", err)
			http.Error(w, "unreadable event: "+err.Error(), http.StatusBadRequest)
			return
		}
		res, err := rc.inbox.Put(r.Context(), []ingest.Item{{
			Source: flow.SourceCall, SourceRef: ev.ref(), DedupKey: ev.dedupKey(), Raw: raw,
			Meta: map[string]any{"provider": ev.Provider, "call_id": ev.CallID, "event": ev.Name, "kind": ev.Kind, "remote": r.RemoteAddr},
		}}, nil)
		if err != nil {
			// Not stored: the provider must send it again.
			rc.received.WithLabelValues(p.name(), "error").Inc()
			rc.log.Error("call webhook: storing event", "provider", p.name(), "call_id", ev.CallID, "error", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		result := "accepted"
		switch res[0].Status {
		case ingest.StatusKnown:
			result = "known"
		case ingest.StatusDuplicate:
			result = "duplicate"
		}
		rc.received.WithLabelValues(p.name(), result).Inc()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":%q,"item":%d}`+"\n", result, res[0].ID)
	})
}

// refuse answers a request with a bad signature 401 and keeps an excerpt
// of it for audit (ingest.Refusals); an address refused too often is
// answered 429, and neither kept nor logged one request at a time.
func (rc *Receiver) refuse(ctx context.Context, w http.ResponseWriter, r *http.Request, p provider, body, raw []byte, cause error) {
	claimed := p.claimedCallID(r, body)
	rc.received.WithLabelValues(p.name(), "refused").Inc()
	did, err := rc.inbox.Refusals().Keep(ctx, r, ingest.Refused{Source: flow.SourceCall, Endpoint: p.name(), Raw: raw, Cause: cause,
		Meta: map[string]any{"provider": p.name(), "claimed_call_id": clip(claimed, 200), "remote": r.RemoteAddr}})
	if err != nil {
		rc.log.Error("call webhook: keeping refused request", "provider", p.name(), "error", err)
	}
	if did == ingest.RefusalLimited {
		http.Error(w, "too many refused requests", http.StatusTooManyRequests)
		return
	}
	rc.log.Warn("call webhook refused", "provider", p.name(), "remote", r.RemoteAddr, "path", r.URL.Path,
		"claimed_call_id", clip(claimed, 200), "reason", cause.Error(), "kept", did)
	http.Error(w, "bad signature", http.StatusUnauthorized)
}

// clip cuts a value taken from a request to at most n bytes for logs.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// keep stores a signed request that cannot be read, as failed.
func (rc *Receiver) keep(ctx context.Context, provider string, raw []byte, cause string) {
	sum := sha256.Sum256(raw)
	ref := "unreadable/" + provider + "/" + hex.EncodeToString(sum[:])
	if _, err := rc.inbox.Put(ctx, []ingest.Item{{Source: flow.SourceCall, SourceRef: ref, DedupKey: ref, Raw: raw, Failed: cause,
		Meta: map[string]any{"provider": provider}}}, nil); err != nil && !errors.Is(err, context.Canceled) {
		rc.log.Error("call webhook: keeping unreadable request", "provider", provider, "error", err)
	}
}
