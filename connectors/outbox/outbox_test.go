package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func enqueue(t *testing.T, s *store.Store, m store.OutboxMessage) {
	t.Helper()
	require.NoError(t, s.InTx(context.Background(), func(tx pgx.Tx) error { return store.EnqueueOutbox(context.Background(), tx, m) }))
}

func fastConfig() outbox.Config {
	return outbox.Config{PollInterval: 10 * time.Millisecond, BaseDelay: 20 * time.Millisecond, MaxDelay: 80 * time.Millisecond, MaxAttempts: 4, SendTimeout: 2 * time.Second}
}

// runUntil runs the dispatcher until cond holds or the deadline passes.
func runUntil(t *testing.T, d *outbox.Dispatcher, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.Eventually(t, cond, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// The target is down for a while: the message is retried with backoff and
// delivered once; a second target meanwhile is served at once.
func TestWebhookOutageRetriedDeliveredOnceOthersNotBlocked(t *testing.T) {
	s := pgtest.Store(t)
	secret := []byte("s3cret")
	var downUntil atomic.Int32
	downUntil.Store(3)
	var mu sync.Mutex
	var got []string
	var calls atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n <= downUntil.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		assert.Equal(t, outbox.Sign(secret, body), r.Header.Get(outbox.SignatureHeader))
		mu.Lock()
		got = append(got, r.Header.Get(outbox.DeliveryHeader)+":"+string(body))
		mu.Unlock()
	}))
	defer down.Close()
	var okCalls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { okCalls.Add(1) }))
	defer up.Close()

	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxWebhook, Target: down.URL, Payload: map[string]any{"ticket": "INT-1", "state": "done"}, DedupKey: "d1"})
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxWebhook, Target: up.URL, Payload: map[string]any{"ticket": "INT-2"}, DedupKey: "u1"})

	d := outbox.New(s, fastConfig(), quiet())
	d.Register(store.OutboxWebhook, &outbox.WebhookSender{Secret: secret})
	start := time.Now()
	runUntil(t, d, func() bool {
		rows, _ := s.ListOutbox(context.Background(), store.OutboxFilter{State: store.OutboxSent})
		return len(rows) == 2
	})
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, int32(1), okCalls.Load())
	assert.Equal(t, int32(4), calls.Load(), "three failures, then one delivery")
	require.Len(t, got, 1)
	assert.Equal(t, "1:", got[0][:2], "delivery id is the outbox id")
	assert.JSONEq(t, `{"ticket":"INT-1","state":"done"}`, got[0][2:])
	rows, err := s.ListOutbox(context.Background(), store.OutboxFilter{})
	require.NoError(t, err)
	for _, r := range rows {
		if r.Target == down.URL {
			assert.Equal(t, 4, r.Attempts)
		}
	}
}

func TestDeadAfterMaxAttemptsAndRetry(t *testing.T) {
	s := pgtest.Store(t)
	var calls atomic.Int32
	fail := true
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxWebhook, Target: srv.URL, Payload: 1, DedupKey: "x"})
	d := outbox.New(s, fastConfig(), quiet())
	d.Register(store.OutboxWebhook, &outbox.WebhookSender{})
	dead := func() bool {
		rows, _ := s.ListOutbox(context.Background(), store.OutboxFilter{State: store.OutboxDead})
		return len(rows) == 1
	}
	runUntil(t, d, dead)
	assert.Equal(t, int32(4), calls.Load())
	rows, _ := s.ListOutbox(context.Background(), store.OutboxFilter{State: store.OutboxDead})
	assert.Contains(t, rows[0].LastError, "502")

	mu.Lock()
	fail = false
	mu.Unlock()
	_, err := s.RetryOutbox(context.Background(), rows[0].ID)
	require.NoError(t, err)
	runUntil(t, d, func() bool {
		rows, _ := s.ListOutbox(context.Background(), store.OutboxFilter{State: store.OutboxSent})
		return len(rows) == 1
	})
	assert.Equal(t, int32(5), calls.Load())
}

func TestPermanentErrorsAndRetryAfter(t *testing.T) {
	s := pgtest.Store(t)
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer gone.Close()
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer busy.Close()
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxWebhook, Target: gone.URL, Payload: 1, DedupKey: "gone"})
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxWebhook, Target: busy.URL, Payload: 1, DedupKey: "busy"})
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxEmail, Target: "a@b.example", Payload: 1, DedupKey: "nosender"})
	cfg := fastConfig()
	cfg.MaxDelay = time.Hour
	d := outbox.New(s, cfg, quiet())
	d.Register(store.OutboxWebhook, &outbox.WebhookSender{})
	n, err := d.RunOnce(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	rows, err := s.ListOutbox(context.Background(), store.OutboxFilter{})
	require.NoError(t, err)
	by := map[string]store.OutboxRow{}
	for _, r := range rows {
		by[r.DedupKey] = r
	}
	assert.Equal(t, store.OutboxDead, by["gone"].State)
	assert.Equal(t, store.OutboxDead, by["nosender"].State)
	assert.Contains(t, by["nosender"].LastError, `no sender for kind "email"`)
	assert.Equal(t, store.OutboxPending, by["busy"].State)
	assert.Greater(t, time.Until(by["busy"].NextAttemptAt), 100*time.Second, "Retry-After is honoured")
}

// TestDeadLettersLoggedAsOneWarning: several messages die in one round (no
// email sender, a hook that is gone); the log gets one WARN with the counts
// and no line per message, while each row keeps its own error.
func TestDeadLettersLoggedAsOneWarning(t *testing.T) {
	s := pgtest.Store(t)
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer gone.Close()
	for i := range 3 {
		enqueue(t, s, store.OutboxMessage{Kind: store.OutboxEmail, Target: fmt.Sprintf("eng%d@contractors.example", i), Payload: 1, DedupKey: fmt.Sprintf("mail%d", i)})
	}
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxWebhook, Target: gone.URL, Payload: 1, DedupKey: "gone"})
	var buf bytes.Buffer
	d := outbox.New(s, fastConfig(), slog.New(slog.NewTextHandler(&buf, nil)))
	d.Register(store.OutboxWebhook, &outbox.WebhookSender{})
	n, err := d.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 4, n)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1, "one line for the round:\n%s", buf.String())
	assert.Contains(t, lines[0], "level=WARN")
	assert.Contains(t, lines[0], "dead=4")
	assert.Contains(t, lines[0], `dead_by_kind="email=3 webhook=1"`)
	assert.NotContains(t, buf.String(), "level=ERROR")

	rows, err := s.ListOutbox(context.Background(), store.OutboxFilter{State: store.OutboxDead})
	require.NoError(t, err)
	require.Len(t, rows, 4)
	for _, r := range rows {
		if r.Kind == store.OutboxEmail {
			assert.Contains(t, r.LastError, `no sender for kind "email"`)
		} else {
			assert.Contains(t, r.LastError, "404")
		}
	}

	// A round with nothing failed says nothing.
	buf.Reset()
	_, err = d.RunOnce(context.Background())
	require.NoError(t, err)
	assert.Empty(t, buf.String())
}

// smtpBackend records messages delivered to an in-process SMTP server.
type smtpBackend struct {
	mu   sync.Mutex
	msgs []string
	fail atomic.Int32 // temporary failures to give before accepting
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{b: b}, nil }

type smtpSession struct {
	b  *smtpBackend
	to []string
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if s.b.fail.Add(-1) >= 0 {
		return &smtp.SMTPError{Code: 451, Message: "try later"}
	}
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, string(b))
	s.b.mu.Unlock()
	return nil
}

func TestEmailReplyThreadedOverSMTP(t *testing.T) {
	s := pgtest.Store(t)
	be := &smtpBackend{}
	be.fail.Store(1)
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Close()

	payload := outbox.Email{Subject: "Статус заявки", Text: "Заявка выполнена.\nИнженер: Петров", ExternalID: "SRV-10234",
		InReplyTo: "<abc@jira.mg.example>", References: []string{"root@jira.mg.example"}}
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxEmail, Target: "support@mg.example", Payload: payload, DedupKey: "mail1"})
	d := outbox.New(s, fastConfig(), quiet())
	d.Register(store.OutboxEmail, outbox.NewEmailSender(outbox.SMTPConfig{Addr: ln.Addr().String(), TLS: "none", From: "dispetcher@tehservis.example"}))
	runUntil(t, d, func() bool {
		rows, _ := s.ListOutbox(context.Background(), store.OutboxFilter{State: store.OutboxSent})
		return len(rows) == 1
	})
	be.mu.Lock()
	defer be.mu.Unlock()
	require.Len(t, be.msgs, 1, "the 451 was retried, then delivered once")
	m := be.msgs[0]
	assert.Contains(t, m, "X-Intake-Origin: outbox\r\n")
	assert.Contains(t, m, "In-Reply-To: <abc@jira.mg.example>\r\n")
	assert.Contains(t, m, "References: <root@jira.mg.example> <abc@jira.mg.example>\r\n")
	assert.Contains(t, m, "Auto-Submitted: auto-generated")
	dec := new(strings.Builder)
	for _, l := range strings.Split(m, "\r\n") {
		if strings.HasPrefix(l, "Subject: ") {
			w, err := new(mime.WordDecoder).DecodeHeader(strings.TrimPrefix(l, "Subject: "))
			require.NoError(t, err)
			dec.WriteString(w)
		}
	}
	assert.Equal(t, "Re: Статус заявки [SRV-10234]", dec.String())
}

func TestCheckResponseStatuses(t *testing.T) {
	cases := []struct {
		status    int
		permanent bool
	}{{400, true}, {401, true}, {404, true}, {408, false}, {429, false}, {500, false}, {503, false}}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tc.status) }))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			require.NoError(t, err)
			resp.Body.Close()
			err = outbox.CheckResponse(resp)
			require.Error(t, err)
			var p *outbox.PermanentError
			assert.Equal(t, tc.permanent, errors.As(err, &p))
		})
	}
}
