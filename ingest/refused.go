package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/intakehq/intake/store"
)

// Refusals keeps the audit trail of webhook requests refused for a bad
// signature without letting whoever can reach the port fill the disk:
//
//   - only an excerpt of each request is kept (Excerpt bytes: the request
//     line, the headers and the start of the body);
//   - the excerpts kept take at most Cap bytes in all; past it a refusal is
//     counted and logged but not stored;
//   - each source address may be refused Burst times at once and then once
//     per Every; beyond that its requests are answered 429 before their body
//     is read, and are neither stored nor logged one by one.
//
// Every refusal is counted in intake_webhook_refusals_total by endpoint and
// by what was done with it (kept, over_cap, limited). The telephony and
// connector receivers share the Inbox's one Refusals, so an address has one
// budget whichever endpoint it tries.
type Refusals struct {
	inbox   *Inbox
	Excerpt int   // bytes kept of a refused request
	Cap     int64 // bytes all kept refusals may take
	Rate    rate.Limit
	Burst   int

	mu    sync.Mutex
	addrs map[string]*rate.Limiter

	counted *prometheus.CounterVec
}

// Defaults of Refusals.
const (
	RefusedExcerpt = 4 << 10
	RefusedCap     = 16 << 20
	// maxAddrs bounds the limiters held; idle ones are dropped past it.
	maxAddrs = 10000
)

// What Keep did with a refusal.
const (
	RefusalKept    = "kept"
	RefusalOverCap = "over_cap"
	RefusalLimited = "limited"
)

func newRefusals(in *Inbox) *Refusals {
	return &Refusals{inbox: in, Excerpt: RefusedExcerpt, Cap: RefusedCap, Rate: rate.Limit(1), Burst: 10,
		addrs: map[string]*rate.Limiter{},
		counted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intake_webhook_refusals_total",
			Help: "Webhook requests refused for a bad signature, by endpoint and by what was done with them (kept, over_cap, limited).",
		}, []string{"endpoint", "action"}),
	}
}

// Describe and Collect make Refusals a prometheus.Collector.
func (rf *Refusals) Describe(ch chan<- *prometheus.Desc) { rf.counted.Describe(ch) }

// Collect implements prometheus.Collector.
func (rf *Refusals) Collect(ch chan<- prometheus.Metric) { rf.counted.Collect(ch) }

// Address is the source address a request is limited by: the host of
// RemoteAddr (behind a reverse proxy every request shares the proxy's).
func Address(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

func (rf *Refusals) limiter(addr string, create bool) *rate.Limiter {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	l := rf.addrs[addr]
	if l == nil && create {
		if len(rf.addrs) >= maxAddrs {
			for a, x := range rf.addrs {
				if x.Tokens() >= float64(rf.Burst) {
					delete(rf.addrs, a)
				}
			}
		}
		l = rate.NewLimiter(rf.Rate, rf.Burst)
		rf.addrs[addr] = l
	}
	return l
}

// Blocked reports whether the request's address has used up its refusals:
// its request is then answered 429 without being read, and counted.
func (rf *Refusals) Blocked(r *http.Request, endpoint string) bool {
	l := rf.limiter(Address(r), false)
	if l == nil || l.Tokens() >= 1 {
		return false
	}
	rf.counted.WithLabelValues(endpoint, RefusalLimited).Inc()
	return true
}

// Refused is one refused request to keep.
type Refused struct {
	Source   string // SourceCall or SourceConnector
	Endpoint string // e.g. "mango", "okdesk": the metrics label and part of the key
	Raw      []byte // the whole request as received; only an excerpt is kept
	Meta     map[string]any
	Cause    error
}

var errOverCap = errors.New("refused requests over their cap")

// Keep spends one of the address's refusals and, while it has some and the
// cap allows, stores an excerpt of the request as an item finished at once
// with outcome ignored, reason "bad signature", that is never processed. It
// is keyed by the hash of the whole request, so it cannot stand in for a
// real event, and the same request refused twice is kept once. It returns
// what it did: RefusalKept, RefusalOverCap or RefusalLimited (then the
// caller answers 429 and does not log the request).
func (rf *Refusals) Keep(ctx context.Context, r *http.Request, ref Refused) (string, error) {
	if !rf.limiter(Address(r), true).Allow() {
		rf.counted.WithLabelValues(ref.Endpoint, RefusalLimited).Inc()
		return RefusalLimited, nil
	}
	sum := sha256.Sum256(ref.Raw)
	key := fmt.Sprintf("refused/%s/%x", ref.Endpoint, sum)
	meta := map[string]any{"refused": true, "size": len(ref.Raw)}
	for k, v := range ref.Meta {
		meta[k] = v
	}
	_, err := rf.inbox.Put(ctx, []Item{{
		Source: ref.Source, SourceRef: key, DedupKey: key, Raw: Excerpt(ref.Raw, rf.Excerpt), Failed: ref.Cause.Error(), Meta: meta,
	}}, func(ctx context.Context, tx pgx.Tx) error {
		if err := store.RefuseItem(ctx, tx, ref.Source, key, "bad signature"); err != nil {
			return err
		}
		n, err := store.RefusedBytes(ctx, tx)
		if err != nil {
			return err
		}
		if n > rf.Cap {
			return errOverCap
		}
		return nil
	})
	switch {
	case errors.Is(err, errOverCap):
		rf.counted.WithLabelValues(ref.Endpoint, RefusalOverCap).Inc()
		return RefusalOverCap, nil
	case err != nil:
		return "", fmt.Errorf("keeping a refused %s request: %w", ref.Endpoint, err)
	}
	rf.counted.WithLabelValues(ref.Endpoint, RefusalKept).Inc()
	return RefusalKept, nil
}

// Excerpt clips raw to at most n bytes, marking what was cut.
func Excerpt(raw []byte, n int) []byte {
	if len(raw) <= n {
		return raw
	}
	note := fmt.Sprintf("\r\n[... %d more bytes not kept]", len(raw)-n)
	out := make([]byte, 0, n+len(note))
	return append(append(out, raw[:n]...), note...)
}
