package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/okdesk"
	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/ingest/webhook"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/web"
)

// syncBuffer is a log sink shared by the goroutines of a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecurity_SecretsNeverInLogsOrAPI runs Intake's flows that touch a
// secret (an Okdesk desk that is down or answers errors, Mango and Zadarma
// call events, one-click links) with every secret configured and a DEBUG
// log that is not filtered afterwards, then greps the log and the API's
// answers for each secret.
func TestSecurity_SecretsNeverInLogsOrAPI(t *testing.T) {
	const (
		okdeskToken = "okdesk-api-token-0c1d2e3f"
		mangoKey    = "mango-vpbx-key-4a5b6c"
		mangoSalt   = "mango-salt-7d8e9f"
		zdSecret    = "zadarma-secret-1a2b3c"
		apiToken    = "dispatcher-token-long-enough-0123456789"
	)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newLCFixture(t, nil, log)
	ctx := context.Background()

	// Okdesk: one account whose host refuses connections (the *url.Error
	// carries the URL), one that answers 500 quoting the URL it was asked.
	down, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	downURL := "http://" + down.Addr().String()
	down.Close()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error at "+r.URL.String(), http.StatusInternalServerError)
	}))
	t.Cleanup(echo.Close)
	reg := connectors.NewRegistry()
	for name, base := range map[string]string{"okdesk-down": downURL, "okdesk-err": echo.URL} {
		require.NoError(t, reg.Add(okdesk.New(okdesk.Config{Name: name, Client: "PU-" + name, BaseURL: base, Token: okdeskToken, Timeout: 2 * time.Second}), connectors.Mapping{}))
		runCtx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		(&connectors.Runner{Conn: reg.Get(name), Store: f.st, Inbox: ingest.NewInbox(f.st, nil, clock.Fixed(f.now)), Log: log, MinBackoff: time.Hour}).Run(runCtx) //nolint:errcheck
		cancel()
		require.NoError(t, f.st.InTx(ctx, func(tx pgx.Tx) error {
			return store.EnqueueOutbox(ctx, tx, store.OutboxMessage{Kind: store.OutboxConnector, Target: name, DedupKey: "push-" + name,
				Payload: connectors.Push{Op: connectors.OpStatus, ExternalID: "1", Status: "completed"}})
		}))
	}
	d := outbox.New(f.st, outbox.Config{MaxAttempts: 1, SendTimeout: 2 * time.Second}, log)
	d.Register(store.OutboxConnector, outbox.SenderFunc(reg.Send))
	_, err = d.RunOnce(ctx)
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "connector pull failed", "the flows ran and logged")

	// Call events, signed.
	inbox := ingest.NewInbox(f.st, nil, clock.Fixed(f.now))
	rc := webhook.New(webhook.Config{MangoAPIKey: mangoKey, MangoSalt: mangoSalt, ZadarmaSecret: zdSecret,
		Now: func() time.Time { return time.Date(2026, 11, 14, 18, 0, 0, 0, time.UTC) }}, inbox, log)
	mux := http.NewServeMux()
	rc.Routes(mux, "/telephony")
	(&web.Server{Store: f.st, Log: log}).OutboxRoutes(mux)
	(&web.LifecycleAPI{Service: f.lc, Store: f.st, Log: log}).Register(mux)
	srv := httptest.NewServer((&web.Server{Store: f.st, Log: log, Extra: mux, APITokens: []string{apiToken}}).Handler())
	t.Cleanup(srv.Close)
	post := func(path string, h http.Header, body string) {
		req, err := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	js := `{"entry_id":"E1","call_id":"leg1","timestamp":1793596402,"seq":1,"call_state":"Appeared","from":{"number":"79160000001"},"to":{"number":"74957250722"}}`
	sum := sha256Hex(mangoKey + js + mangoSalt)
	post("/telephony/mango/events/call", form, url.Values{"vpbx_api_key": {mangoKey}, "sign": {sum}, "json": {js}}.Encode())
	zf := url.Values{"event": {"NOTIFY_START"}, "call_start": {"2026-11-14 20:51:12"}, "pbx_call_id": {"in_1"}, "caller_id": {"79160000001"}, "called_did": {"78122294881"}}
	zsig := webhook.ZadarmaSignature(zdSecret, zf)
	zh := form.Clone()
	zh.Set("Signature", zsig)
	post("/telephony/zadarma/events", zh, zf.Encode())

	// One-click links, valid and not.
	link := f.signer.Sign(lifecycle.Link{Action: lifecycle.ActAccept, Kind: "task", Subject: 999, Who: "ENG-1", Expires: f.now.Add(time.Hour)})
	for _, m := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(m, srv.URL+"/l/"+link, nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}

	// What the API shows.
	var api strings.Builder
	get := func(path string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		api.Write(b)
	}
	get("/api/v1/outbox")
	get("/api/v1/items")
	items, err := f.st.ListItems(ctx, store.ItemFilter{})
	require.NoError(t, err)
	for _, it := range items {
		get(fmt.Sprintf("/api/v1/items/%d", it.ID))
		get(fmt.Sprintf("/api/v1/items/%d/raw", it.ID))
	}
	shown, logged := api.String(), logs.String()
	assert.True(t, strings.Contains(shown, "api_token=REDACTED"), "the outbox's last error says which URL failed, masked")
	assert.True(t, strings.Contains(shown, "vpbx_api_key=REDACTED"), "the raw Mango request is shown, masked")

	for name, secret := range map[string]string{"okdesk api_token": okdeskToken, "mango vpbx_api_key": mangoKey, "mango sign": sum,
		"mango salt": mangoSalt, "zadarma secret": zdSecret, "zadarma Signature": zsig, "link token": link, "API token": apiToken} {
		assert.False(t, strings.Contains(logged, secret), "%s in the log", name)
		assert.False(t, strings.Contains(shown, secret), "%s on the API", name)
	}
}
