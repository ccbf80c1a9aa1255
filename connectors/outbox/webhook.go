package outbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/intakehq/intake/redact"
	"github.com/intakehq/intake/store"
)

// Webhook signature and delivery headers of outbox webhooks.
const (
	SignatureHeader = "X-Intake-Signature" // "sha256=" + hex HMAC-SHA256(secret, body)
	DeliveryHeader  = "X-Intake-Delivery"  // the outbox id: the same on every attempt
)

// WebhookSender POSTs the payload of an outbox message of kind "webhook" as
// JSON to the row's target URL.
type WebhookSender struct {
	Client *http.Client
	Secret []byte
}

// Sign returns the signature header value of body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Send implements Sender.
func (s *WebhookSender) Send(ctx context.Context, m store.OutboxRow) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Target, bytes.NewReader(m.Payload))
	if err != nil {
		return Permanent(fmt.Errorf("webhook target %q: %w", m.Target, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(DeliveryHeader, strconv.FormatInt(m.ID, 10))
	if len(s.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(s.Secret, m.Payload))
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return CheckResponse(resp)
}

// CheckResponse turns a non-2xx response into an error: permanent for 4xx
// other than 408 and 429, with the server's Retry-After for 429 and 503.
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := fmt.Errorf("%s %s: %s: %s", resp.Request.Method, redact.URL(resp.Request.URL.String()), resp.Status, redact.Text(string(bytes.TrimSpace(body))))
	if after, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return &RetryAfterError{Err: err, After: after}
	}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return err
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return Permanent(err)
	}
	return err
}

// RetryAfter parses a Retry-After value: seconds or an HTTP date.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
