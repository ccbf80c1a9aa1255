package okdesk_test

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/intakehq/intake/connectors/okdesk"
	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const token = "tok-123"

// fake implements the part of the Okdesk API the connector uses.
type fake struct {
	mu       sync.Mutex
	issues   map[string]map[string]any
	statuses []string // "id:code"
	comments []string
	// failures to give before answering normally
	fail     int
	failWith func(w http.ResponseWriter)
	hang     time.Duration
	requests int
}

func newFake() *fake { return &fake{issues: map[string]map[string]any{}} }

func (f *fake) put(id, title, status, updated string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issues[id] = map[string]any{"id": json.Number(id), "title": title, "description": "Витрина не холодит, +12 внутри",
		"status": map[string]string{"code": status}, "priority": map[string]string{"code": "high", "name": "Высокий"},
		"type":       map[string]string{"code": "service", "name": "Холодильное оборудование"},
		"updated_at": updated, "deadline_at": "2026-11-20T18:00:00.000+03:00",
		"service_object": map[string]any{"id": 7, "name": "OK-072"}}
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	if f.fail > 0 {
		f.fail--
		fw := f.failWith
		f.mu.Unlock()
		fw(w)
		return
	}
	hang := f.hang
	f.mu.Unlock()
	if hang > 0 {
		time.Sleep(hang)
	}
	if r.URL.Query().Get("api_token") != token {
		http.Error(w, `{"errors":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/api/v1/")
	switch {
	case r.Method == "GET" && path == "issues/list":
		var since time.Time
		if s := r.URL.Query().Get("updated_since"); s != "" {
			loc, _ := time.LoadLocation("Europe/Moscow")
			t, err := time.ParseInLocation("02-01-2006 15:04", s, loc)
			if err != nil {
				http.Error(w, "bad updated_since", 400)
				return
			}
			since = t
		}
		out := []map[string]any{}
		for _, is := range f.issues {
			u, _ := time.Parse(time.RFC3339Nano, is["updated_at"].(string))
			if !u.Before(since) {
				out = append(out, map[string]any{"id": is["id"], "title": is["title"], "updated_at": is["updated_at"], "status": is["status"]})
			}
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == "GET" && strings.HasPrefix(path, "issues/"):
		is, ok := f.issues[strings.TrimPrefix(path, "issues/")]
		if !ok {
			http.Error(w, `{"errors":"not found"}`, 404)
			return
		}
		json.NewEncoder(w).Encode(is)
	case r.Method == "POST" && strings.HasSuffix(path, "/statuses"):
		var body struct{ Code string }
		json.NewDecoder(r.Body).Decode(&body)
		id := strings.TrimSuffix(strings.TrimPrefix(path, "issues/"), "/statuses")
		f.statuses = append(f.statuses, id+":"+body.Code)
		w.Write([]byte(`{"id":1}`))
	case r.Method == "POST" && strings.HasSuffix(path, "/comments"):
		var body struct{ Content string }
		json.NewDecoder(r.Body).Decode(&body)
		f.comments = append(f.comments, body.Content)
		w.Write([]byte(`{"id":1}`))
	default:
		http.NotFound(w, r)
	}
}

var mapping = connectors.Mapping{
	Categories: map[string]string{"Холодильное оборудование": "refrigeration"},
	Priorities: map[string]string{"Высокий": "high"},
	States:     map[string]string{"new": "opened", "assigned": "in_progress", "done": "completed"},
	Closed:     []string{"closed"}, Cancelled: []string{"cancelled"},
}

func setup(t *testing.T, f *fake, timeout time.Duration) (*connectortest.Env, *okdesk.Connector, *httptest.Server) {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := okdesk.New(okdesk.Config{Name: "ok-desk", Client: "OK", BaseURL: srv.URL, Token: token, WebhookToken: "hook", Location: connectortest.Moscow(t), Timeout: timeout})
	return connectortest.New(t, c, mapping), c, srv
}

func TestPullToTicketStatusPushedBackOnce(t *testing.T) {
	f := newFake()
	f.put("101", "OK-072: не холодит витрина", "opened", "2026-11-03T10:33:00.000+03:00")
	f.put("102", "OK-072: искрит розетка", "opened", "2026-11-03T10:33:00.000+03:00")
	env, _, _ := setup(t, f, 2*time.Second)
	n, err := env.Runner().PullOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	env.Process()

	tk := env.Ticket("101")
	assert.Equal(t, "OK-072", tk.Object)
	require.NotNil(t, tk.Category)
	assert.Equal(t, "refrigeration", *tk.Category)
	assert.Equal(t, "high", *tk.Priority)
	require.NotNil(t, tk.Due)

	// No change: nothing new, also after a restart (a new runner).
	n, err = env.Runner().PullOnce(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n)

	// The desk is down for a while when our status changes.
	env.SetState(tk, "done")
	f.mu.Lock()
	f.fail, f.failWith = 3, func(w http.ResponseWriter) { http.Error(w, "down", http.StatusBadGateway) }
	f.mu.Unlock()
	rows := env.Deliver(10 * time.Second)
	for _, r := range rows {
		assert.Equal(t, store.OutboxSent, r.State, r.LastError)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var got101 []string
	for _, s := range f.statuses {
		if strings.HasPrefix(s, "101:") {
			got101 = append(got101, s)
		}
	}
	first := "101:" + mapping.States[tk.State]
	assert.Equal(t, []string{first, "101:completed"}, got101, "creation push, then the status, each once and in order")
}

func TestChangedIssueIsFollowUpNotDuplicate(t *testing.T) {
	f := newFake()
	f.put("201", "OK-072: не холодит витрина", "opened", "2026-11-03T10:33:00.000+03:00")
	env, _, _ := setup(t, f, 2*time.Second)
	_, err := env.Runner().PullOnce(context.Background())
	require.NoError(t, err)
	env.Process()
	f.put("201", "OK-072: не холодит витрина", "closed", "2026-11-03T10:33:30.000+03:00") // same minute
	n, err := env.Runner().PullOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the change within the cursor's minute is seen, the old version is not repeated")
	env.Process()
	tk := env.Ticket("201")
	assert.Equal(t, "closed", tk.State)
	var count int
	require.NoError(t, env.Store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM tickets`).Scan(&count))
	assert.Equal(t, 1, count)
}

func TestPullErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fake)
		check func(t *testing.T, err error)
	}{
		{"401 is permanent", func(f *fake) {
			f.fail, f.failWith = 1, func(w http.ResponseWriter) { http.Error(w, "Unauthorized", http.StatusUnauthorized) }
		}, func(t *testing.T, err error) {
			var p *outbox.PermanentError
			assert.True(t, errors.As(err, &p))
		}},
		{"429 carries Retry-After", func(f *fake) {
			f.fail, f.failWith = 1, func(w http.ResponseWriter) { w.Header().Set("Retry-After", "30"); w.WriteHeader(429) }
		}, func(t *testing.T, err error) {
			var ra *outbox.RetryAfterError
			require.True(t, errors.As(err, &ra))
			assert.Equal(t, 30*time.Second, ra.After)
		}},
		{"500 is retried", func(f *fake) {
			f.fail, f.failWith = 1, func(w http.ResponseWriter) { w.WriteHeader(500) }
		}, func(t *testing.T, err error) {
			var p *outbox.PermanentError
			assert.False(t, errors.As(err, &p))
		}},
		{"timeout", func(f *fake) { f.hang = 300 * time.Millisecond }, func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "Client.Timeout")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.put("301", "OK-072: x", "opened", "2026-11-03T10:33:00.000+03:00")
			tc.setup(f)
			env, _, _ := setup(t, f, 100*time.Millisecond)
			_, err := env.Runner().PullOnce(context.Background())
			require.Error(t, err)
			tc.check(t, err)
			cur, err := env.Store.ConnectorCursor(context.Background(), "ok-desk")
			require.NoError(t, err)
			assert.Empty(t, cur, "a failed pull does not move the cursor")
		})
	}
}

func TestWebhookToken(t *testing.T) {
	f := newFake()
	_, c, _ := setup(t, f, time.Second)
	body := []byte(`{"event":{"event_type":"new_ticket"},"issue":{"id":401,"title":"t","status":{"code":"opened"},"updated_at":"2026-11-03T10:33:00.000+03:00"}}`)
	r := httptest.NewRequest("POST", "/connectors/ok-desk/webhook?token=nope", nil)
	_, err := c.Webhook(r, body)
	require.ErrorIs(t, err, connectors.ErrBadSignature)
	r = httptest.NewRequest("POST", "/connectors/ok-desk/webhook?token=hook", nil)
	orders, err := c.Webhook(r, body)
	require.NoError(t, err)
	require.Len(t, orders, 1)
	assert.Equal(t, "401", orders[0].ExternalID)
}
