package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/ingest/webhook"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// TestServeNeverLogsSecrets runs `intake serve` with every secret it can be
// given configured (the database password, an API token, the link key,
// Okdesk tokens, Mango's key and salt, Zadarma's and the generic webhook's
// secrets, the outbox webhook's secret, the SMTP password) and a DEBUG log,
// drives the flows that touch them (connectors whose desk is down or
// answers errors quoting the URL, signed and badly signed call events,
// engineer tokens and one-click links, mail that cannot be sent), reads
// what the API shows, then greps the whole log and every answer for each
// secret.
func TestServeNeverLogsSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	secrets := map[string]string{
		"database password":      "dbpass-5e6f7a8b9c",
		"API token":              "admin-token-0123456789abcdef0123456789",
		"link key":               "link-key-abcdef0123456789abcdef01234567",
		"Okdesk token":           "okdesk-token-9f8e7d6c5b",
		"Mango key":              "mango-key-1a2b3c4d5e",
		"Mango salt":             "mango-salt-6f7a8b9c0d",
		"Zadarma secret":         "zadarma-secret-2b3c4d5e6f",
		"generic webhook secret": "generic-secret-7a8b9c0d1e",
		"outbox webhook secret":  "outbox-secret-3c4d5e6f7a",
		"SMTP password":          "smtp-pass-8b9c0d1e2f",
	}
	d := &killDrill{t: t, ctx: t.Context(), bin: buildIntake(t), dbURL: pgtest.URL(t)}
	st, err := store.Open(d.ctx, d.dbURL)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	pgtest.ImportDemo(t, st)
	// Trust authentication accepts any password: the URL carries one only
	// to see that it is never shown.
	u, err := url.Parse(d.dbURL)
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), secrets["database password"])
	d.dbURL = u.String()

	// Desks: one that refuses connections (the *url.Error carries the
	// URL), one that answers 500 quoting the URL it was asked.
	down, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	downURL := "http://" + down.Addr().String()
	down.Close()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error at "+r.URL.String()+" token "+r.Header.Get("Authorization"), http.StatusInternalServerError)
	}))
	t.Cleanup(echo.Close)
	noSMTP := freeAddr(t) // nothing listens there

	addr := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "intake.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`
http: {addr: %q}
log: {level: debug, format: json}
bus: {poll_interval: 20ms}
calls:
  mango: {secret: %q, salt: %q}
  zadarma: {secret: %q}
  generic: {secret: %q, header: X-Sign}
connectors:
  - {name: ok-down, kind: okdesk, client: PU, base_url: %q, secret: %q, interval: 300ms, timeout: 2s}
  - {name: ok-err, kind: okdesk, client: SB, base_url: %q, secret: %q, interval: 300ms, timeout: 2s}
outbox:
  poll_interval: 100ms
  max_attempts: 1
  webhook: {secret: %q}
smtp: {addr: %q, tls: none, from: zayavki@tehservis.example, username: intake, password: %q}
lifecycle:
  base_url: http://%s
`, addr, secrets["Mango key"], secrets["Mango salt"], secrets["Zadarma secret"], secrets["generic webhook secret"],
		downURL, secrets["Okdesk token"], echo.URL, secrets["Okdesk token"], secrets["outbox webhook secret"],
		noSMTP, secrets["SMTP password"], addr)), 0o600))
	t.Setenv("INTAKE_API_TOKENS", secrets["API token"])
	t.Setenv("INTAKE_LINK_KEY", secrets["link key"])
	p := d.start(cfg, addr)
	waitHealthy(t, p)
	base := "http://" + addr

	var answers strings.Builder
	call := func(method, path, auth string, h http.Header, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		for k, v := range h {
			req.Header[k] = v
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		fmt.Fprintf(&answers, "%s %s %d %v\n%s\n", method, path, resp.StatusCode, resp.Header, data)
		return resp.StatusCode, data
	}
	admin := secrets["API token"]

	// Call events: signed, and with a wrong signature.
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	js := `{"entry_id":"E1","call_id":"leg1","timestamp":1793596402,"seq":1,"call_state":"Appeared","from":{"number":"79160000001"},"to":{"number":"74957250722"}}`
	sum := sha256.Sum256([]byte(secrets["Mango key"] + js + secrets["Mango salt"]))
	st200, _ := call("POST", "/telephony/mango/events/call", "", form, url.Values{"vpbx_api_key": {secrets["Mango key"]}, "sign": {hex.EncodeToString(sum[:])}, "json": {js}}.Encode())
	assert.Equal(t, http.StatusOK, st200, "a signed Mango event is taken")
	call("POST", "/telephony/mango/events/call", "", form, url.Values{"vpbx_api_key": {secrets["Mango key"]}, "sign": {"0badc0de"}, "json": {js}}.Encode())
	start := time.Now().In(time.FixedZone("MSK", 3*3600)).Format("2006-01-02 15:04:05")
	zf := url.Values{"event": {"NOTIFY_START"}, "call_start": {start}, "pbx_call_id": {"in_secret_test"}, "caller_id": {"79160000001"}, "called_did": {"78122294881"}}
	zh := form.Clone()
	zh.Set("Signature", webhook.ZadarmaSignature(secrets["Zadarma secret"], zf))
	st200, _ = call("POST", "/telephony/zadarma/events", "", zh, zf.Encode())
	assert.Equal(t, http.StatusOK, st200, "a signed Zadarma event is taken")
	zh.Set("Signature", "forged")
	call("POST", "/telephony/zadarma/events", "", zh, zf.Encode())

	// An engineer's token, used; a one-click link, followed.
	var tok struct {
		Token string `json:"token"`
	}
	code, data := call("POST", "/api/v1/engineers/ENG-0001/tokens", admin, nil, "")
	require.Equal(t, http.StatusCreated, code, "%s", data)
	require.NoError(t, json.Unmarshal(data, &tok))
	require.NotEmpty(t, tok.Token)
	secrets["engineer token"] = tok.Token
	call("GET", "/api/v1/engineer/tasks", tok.Token, nil, "")
	call("GET", "/l/not-a-valid-link-token-but-long-enough", "", nil, "")

	// Mail that becomes tickets: engineers are told by e-mail, through an
	// SMTP server that is not there.
	dir := t.TempDir()
	var files []string
	for _, m := range demo.Mail()[:6] {
		f := filepath.Join(dir, m.Name)
		require.NoError(t, os.WriteFile(f, m.Data, 0o600))
		files = append(files, f)
	}
	ing := exec.Command(d.bin, append([]string{"ingest", "--config", cfg, "--wait", "30s"}, files...)...)
	ing.Env = append(os.Environ(), "DATABASE_URL="+d.dbURL)
	out, err := ing.CombinedOutput()
	require.NoError(t, err, "intake ingest: %s", out)
	fmt.Fprintf(&answers, "intake ingest\n%s\n", out)

	// Let the connectors fail a few pulls and the outbox try its sends.
	time.Sleep(3 * time.Second)
	for _, path := range []string{"/api/v1/items", "/api/v1/outbox", "/api/v1/calls", "/api/v1/mailboxes", "/api/v1/stats",
		"/api/v1/tickets", "/api/v1/audit", "/readyz", "/metrics"} {
		call("GET", path, admin, nil, "")
	}
	var items struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	_, data = call("GET", "/api/v1/items?limit=200", admin, nil, "")
	require.NoError(t, json.Unmarshal(data, &items), "%s", data)
	for _, it := range items.Items {
		call("GET", fmt.Sprintf("/api/v1/items/%d", it.ID), admin, nil, "")
		call("GET", fmt.Sprintf("/api/v1/items/%d/raw", it.ID), admin, nil, "")
	}
	require.NoError(t, p.stop(), "serve stops cleanly; log:\n%s", p.logs.String())

	logs := p.logs.String()
	require.Contains(t, logs, "connector pull failed", "the connectors ran and logged")
	var mailFailed int
	require.NoError(t, st.Pool.QueryRow(d.ctx, `SELECT count(*) FROM outbox WHERE kind = 'email' AND last_error <> ''`).Scan(&mailFailed))
	require.NotZero(t, mailFailed, "mail was tried and failed")
	require.NotEmpty(t, items.Items, "the call events were stored")
	for what, secret := range secrets {
		assert.NotContains(t, logs, secret, "the log shows the %s", what)
		if what != "API token" && what != "engineer token" { // echoed by nobody, but sent by the test itself
			assert.NotContains(t, answers.String(), secret, "the API shows the %s", what)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs)
	}
	t.Logf("%d log lines and %d bytes of API answers searched for %d secrets", strings.Count(logs, "\n"), answers.Len(), len(secrets))
}
