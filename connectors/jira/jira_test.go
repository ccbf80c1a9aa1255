package jira_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/connectortest"
	"github.com/intakehq/intake/connectors/jira"
	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fake implements search, transitions and comments of Jira's REST API v2.
type fake struct {
	mu          sync.Mutex
	issues      []map[string]any
	transitions []string // "KEY:id"
	comments    []string
	fail        int
	failWith    func(w http.ResponseWriter)
	jqls        []string
}

func (f *fake) add(key, summary, status, updated string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issues = append(f.issues, map[string]any{"key": key, "fields": map[string]any{
		"summary": summary, "description": "Не работает холодильная витрина", "status": map[string]string{"name": status},
		"priority": map[string]string{"name": "High"}, "issuetype": map[string]string{"name": "Refrigeration"},
		"updated": updated, "duedate": "2026-11-20", "customfield_10050": "MG-02-1015"}})
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		f.failWith(w)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "bot@tehservis.example" || p != "api-token" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/rest/api/2/search":
		f.jqls = append(f.jqls, r.URL.Query().Get("jql"))
		json.NewEncoder(w).Encode(map[string]any{"startAt": 0, "total": len(f.issues), "issues": f.issues})
	case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/transitions"):
		json.NewEncoder(w).Encode(map[string]any{"transitions": []map[string]any{
			{"id": "21", "name": "Start", "to": map[string]string{"name": "In Progress"}},
			{"id": "31", "name": "Resolve", "to": map[string]string{"name": "Resolved"}}}})
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/transitions"):
		var body struct{ Transition struct{ ID string } }
		json.NewDecoder(r.Body).Decode(&body)
		key := strings.Split(strings.TrimPrefix(r.URL.Path, "/rest/api/2/issue/"), "/")[0]
		f.transitions = append(f.transitions, key+":"+body.Transition.ID)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/comment"):
		var body struct{ Body string }
		json.NewDecoder(r.Body).Decode(&body)
		f.comments = append(f.comments, body.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{}`))
	default:
		http.NotFound(w, r)
	}
}

func setup(t *testing.T, f *fake) (*connectortest.Env, *jira.Connector) {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := jira.New(jira.Config{Name: "mg-jira", Client: "MG", BaseURL: srv.URL, Email: "bot@tehservis.example", Token: "api-token",
		JQL: "project = SRV", WebhookSecret: "whsec", ObjectField: "customfield_10050", Location: connectortest.Moscow(t), Timeout: time.Second})
	return connectortest.New(t, c, connectors.Mapping{
		Categories: map[string]string{"Refrigeration": "refrigeration"}, Priorities: map[string]string{"High": "high"},
		States: map[string]string{"done": "Resolved"}, Closed: []string{"Closed"},
	}), c
}

func TestPullToTicketTransitionPushedOnce(t *testing.T) {
	f := &fake{}
	f.add("SRV-10234", "Не холодит витрина", "Open", "2026-11-03T10:33:00.000+0300")
	env, _ := setup(t, f)
	n, err := env.Runner().PullOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	env.Process()
	tk := env.Ticket("SRV-10234")
	assert.Equal(t, "MG-02-1015", tk.Object)
	assert.Equal(t, "refrigeration", *tk.Category)

	n, err = env.Runner().PullOnce(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Contains(t, f.jqls[1], `(project = SRV) AND updated >= "2026/11/03 10:33" ORDER BY updated ASC, key ASC`)

	env.SetState(tk, "done")
	f.mu.Lock()
	f.fail, f.failWith = 2, func(w http.ResponseWriter) { w.Header().Set("Retry-After", "0"); w.WriteHeader(429) }
	f.mu.Unlock()
	for _, r := range env.Deliver(10 * time.Second) {
		assert.Equal(t, store.OutboxSent, r.State, r.LastError)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Equal(t, []string{"SRV-10234:31"}, f.transitions, "one transition to Resolved, after the 429s")
}

func TestErrors(t *testing.T) {
	f := &fake{fail: 1, failWith: func(w http.ResponseWriter) { w.WriteHeader(401) }}
	env, _ := setup(t, f)
	_, err := env.Runner().PullOnce(context.Background())
	var p *outbox.PermanentError
	require.True(t, errors.As(err, &p), "401: %v", err)

	f.fail, f.failWith = 1, func(w http.ResponseWriter) { w.WriteHeader(500) }
	_, err = env.Runner().PullOnce(context.Background())
	require.Error(t, err)
	require.False(t, errors.As(err, &p))

	// A status with no transition leading to it is a dead letter at once.
	err = env.Conn.Push(context.Background(), connectors.Push{Op: connectors.OpStatus, ExternalID: "SRV-1", Status: "Nowhere"})
	require.True(t, errors.As(err, &p))
}

func TestWebhookSignature(t *testing.T) {
	_, c := setup(t, &fake{})
	body := []byte(`{"webhookEvent":"jira:issue_updated","issue":{"key":"SRV-7","fields":{"summary":"x","updated":"2026-11-03T10:33:00.000+0300","status":{"name":"Open"}}}}`)
	cases := []struct {
		name, sig string
		ok        bool
	}{
		{"valid", jira.Sign("whsec", body), true},
		{"wrong secret", jira.Sign("other", body), false},
		{"missing", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/connectors/mg-jira/webhook", nil)
			if tc.sig != "" {
				r.Header.Set("X-Hub-Signature", tc.sig)
			}
			orders, err := c.Webhook(r, body)
			if !tc.ok {
				require.ErrorIs(t, err, connectors.ErrBadSignature)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "SRV-7", orders[0].ExternalID)
		})
	}
}

// TestRefusedWebhookKeptForAudit: an unsigned request through the handler
// gets 401, is stored as an item, and is never read: its outcome is
// ignored with reason "bad signature", and no ticket comes of it.
func TestRefusedWebhookKeptForAudit(t *testing.T) {
	env, _ := setup(t, &fake{})
	h := env.Reg.WebhookHandler(env.Inbox, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	mux.Handle("POST /connectors/{name}/webhook", h)
	body := `{"webhookEvent":"jira:issue_created","issue":{"key":"SRV-9","fields":{"summary":"forged","updated":"2026-11-03T10:33:00.000+0300","status":{"name":"Open"}}}}`
	req := httptest.NewRequest("POST", "/connectors/mg-jira/webhook", strings.NewReader(body))
	req.Header.Set("X-Hub-Signature", jira.Sign("forger", []byte(body)))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)

	env.Process()
	items, err := env.Store.ListItems(context.Background(), store.ItemFilter{})
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.NotNil(t, items[0].Outcome)
	assert.Equal(t, store.OutcomeIgnored, *items[0].Outcome)
	assert.Equal(t, "bad signature", items[0].Reason)
	tickets, err := env.Store.ListTickets(context.Background(), 10)
	require.NoError(t, err)
	assert.Empty(t, tickets)
}

// TestSecurity_RefusedConnectorWebhooksCannotFillTheDisk: 4 MiB unsigned
// requests through the handler keep 4 KiB excerpts, and past the address's
// refusal budget they are answered 429 and not stored.
func TestSecurity_RefusedConnectorWebhooksCannotFillTheDisk(t *testing.T) {
	env, _ := setup(t, &fake{})
	mux := http.NewServeMux()
	mux.Handle("POST /connectors/{name}/webhook", env.Reg.WebhookHandler(env.Inbox, slog.New(slog.NewTextHandler(io.Discard, nil))))
	env.Inbox.Refusals().Rate = 1.0 / 3600 // no refill while the test runs
	pad := strings.Repeat("x", 4<<20-1000)
	codes := map[int]int{}
	for i := range 20 {
		body := fmt.Sprintf(`{"webhookEvent":"jira:issue_created","issue":{"key":"SRV-%d","fields":{"summary":%q}}}`, i, pad)
		req := httptest.NewRequest("POST", "/connectors/mg-jira/webhook", strings.NewReader(body))
		req.RemoteAddr = "203.0.113.7:40000"
		req.Header.Set("X-Hub-Signature", jira.Sign("forger", []byte(body)))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		codes[rec.Code]++
	}
	burst := env.Inbox.Refusals().Burst
	assert.Equal(t, burst, codes[http.StatusUnauthorized])
	assert.Equal(t, 20-burst, codes[http.StatusTooManyRequests])
	var n, size int
	require.NoError(t, env.Store.Pool.QueryRow(context.Background(),
		`SELECT count(*), coalesce(sum(size), 0) FROM inbound_items WHERE reason = 'bad signature'`).Scan(&n, &size))
	assert.Equal(t, burst, n)
	assert.LessOrEqual(t, size, n*(ingest.RefusedExcerpt+100))
}
