package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/redact"
)

func permanent(err error) error { return outbox.Permanent(err) }

// HTTPClient is the connectors' HTTP side: a timeout per request, a minimum
// interval between requests (the desk's rate limit), and errors classified
// for retrying (outbox.Permanent for 4xx, outbox.RetryAfterError for 429
// and 503 with Retry-After). After a Retry-After, no request is made to the
// desk before the time it asked for.
type HTTPClient struct {
	Client      *http.Client
	MinInterval time.Duration
	Auth        func(*http.Request)

	mu   sync.Mutex
	next time.Time
}

// NewHTTPClient returns a client with timeout and rate limit.
func NewHTTPClient(timeout, minInterval time.Duration, auth func(*http.Request)) *HTTPClient {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &HTTPClient{Client: &http.Client{Timeout: timeout}, MinInterval: minInterval, Auth: auth}
}

func (h *HTTPClient) wait(ctx context.Context) error {
	h.mu.Lock()
	now := time.Now()
	at := h.next
	if at.Before(now) {
		at = now
	}
	h.next = at.Add(h.MinInterval)
	h.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

func (h *HTTPClient) holdOff(d time.Duration) {
	h.mu.Lock()
	if t := time.Now().Add(d); t.After(h.next) {
		h.next = t
	}
	h.mu.Unlock()
}

// JSON sends in (when not nil) as JSON and decodes the answer into out (when
// not nil).
func (h *HTTPClient) JSON(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	if err := h.wait(ctx); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return permanent(err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.Auth != nil {
		h.Auth(req)
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		// A *url.Error carries the whole URL, credentials included (Okdesk
		// takes its api_token only in the query).
		return redact.Error(err)
	}
	defer resp.Body.Close()
	if err := outbox.CheckResponse(resp); err != nil {
		if ra, ok := err.(*outbox.RetryAfterError); ok {
			h.holdOff(ra.After)
		}
		return err
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding answer: %w", method, redact.URL(req.URL.String()), err)
	}
	return nil
}
