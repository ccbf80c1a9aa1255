package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web/webtest"
)

// The HTTP side as serve assembles it: the handler serve builds (API, pages,
// components' routes) from the configuration, on a fresh database holding
// the demo reference data and the demo mailbox run through the real stages.
// What the web handlers do on their own is tested in package web; these
// tests are about the wiring: tokens guarding the components' routes, the
// lifecycle's engineer API, what the configuration leaves out.

const testLinkKey = "0123456789abcdef0123456789abcdef-web-test"

type webFixture struct {
	webtest.API
	eng    *engine
	st     *store.Store
	signer *lifecycle.Signer
	failed int64 // an item that failed
}

func newWebFixture(t *testing.T, apiToken string) *webFixture {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	cfg, err := loadConfig("", func(k string) string {
		switch k {
		case "DATABASE_URL":
			return dbURL
		case "INTAKE_LINK_KEY":
			return testLinkKey
		}
		return ""
	})
	require.NoError(t, err)
	if apiToken != "" {
		cfg.HTTP.APITokens = []string{apiToken}
	}
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	pgtest.ImportDemo(t, st)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := newEngine(ctx, cfg, st, log)
	require.NoError(t, err)
	eng.setClock(clocktest.Clock(t))
	reg := prometheus.NewRegistry()
	mux, _, err := setupComponents(eng, log, reg)
	require.NoError(t, err)

	// The demo mailbox, each message through the stages inline (the
	// components' hooks run: the lifecycle makes engineer tasks).
	failed := webtest.Seed(t, st, eng.proc.RunInline)

	srv := httptest.NewServer(newWebServer(eng, &sourceSet{}, mux, log, reg).Handler())
	t.Cleanup(srv.Close)
	signer, err := lifecycle.NewSigner([]byte(testLinkKey))
	require.NoError(t, err)
	return &webFixture{API: webtest.API{Srv: srv, Token: apiToken}, eng: eng, st: st, signer: signer, failed: failed}
}

func TestHTTPAPITokenEnforced(t *testing.T) {
	f := newWebFixture(t, testAPIToken)
	cases := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"health is open", "GET", "/healthz", "", http.StatusOK},
		{"readiness is open", "GET", "/readyz", "", http.StatusOK},
		{"no token", "GET", "/api/v1/items", "", http.StatusUnauthorized},
		{"wrong token", "GET", "/api/v1/unmatched", "Bearer nope", http.StatusUnauthorized},
		{"right token", "GET", "/api/v1/unmatched", "Bearer " + testAPIToken, http.StatusOK},
		{"writes too", "POST", "/api/v1/items/retry-failed", "", http.StatusUnauthorized},
		{"lifecycle's dispatcher endpoints too", "POST", "/api/v1/engineers/ENG-0001/tokens", "", http.StatusUnauthorized},
		{"engineer endpoints use engineer tokens", "GET", "/api/v1/engineer/tasks", "Bearer " + testAPIToken, http.StatusUnauthorized},
		{"pages want a sign-in", "GET", "/ui/", "", http.StatusOK}, // after the redirect to the login form
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, f.CallAs(t, tc.auth, tc.method, tc.path, nil, nil))
		})
	}
}

// TestHTTPEngineerFlow walks docs/lifecycle.md's engineer API.
func TestHTTPEngineerFlow(t *testing.T) {
	ctx := context.Background()
	f := newWebFixture(t, testAPIToken)
	// Engineers' tasks from the demo mail: three open ones, the first two
	// of different engineers.
	type openTask struct {
		ID, Ticket int64
		Engineer   string
	}
	rows, err := f.st.Pool.Query(ctx, `SELECT id, ticket_id AS ticket, engineer FROM engineer_tasks
		WHERE state = 'assigned' AND engineer IS NOT NULL ORDER BY id`)
	require.NoError(t, err)
	open, err := pgx.CollectRows(rows, pgx.RowToStructByName[openTask])
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(open), 3, "the demo corpus should give three open tasks")
	a := open[0]
	var b, c openTask
	for _, k := range open[1:] {
		if b.ID == 0 && k.Engineer != a.Engineer {
			b = k
		} else if c.ID == 0 {
			c = k
		}
	}
	require.NotZero(t, b.ID, "two engineers")
	require.NotZero(t, c.ID)

	tokens := map[string]string{}
	for _, k := range []openTask{a, b, c} {
		if tokens[k.Engineer] != "" {
			continue
		}
		var out struct{ Engineer, Token string }
		require.Equal(t, http.StatusCreated, f.Call(t, "POST", "/api/v1/engineers/"+k.Engineer+"/tokens", map[string]string{"label": "test phone"}, &out))
		assert.Equal(t, k.Engineer, out.Engineer)
		require.NotEmpty(t, out.Token)
		tokens[k.Engineer] = "Bearer " + out.Token
	}
	me, other := a.Engineer, b.Engineer

	var mine struct {
		Engineer string
		Tasks    []store.TaskView
	}
	require.Equal(t, http.StatusOK, f.CallAs(t, tokens[me], "GET", "/api/v1/engineer/tasks", nil, &mine))
	assert.Equal(t, me, mine.Engineer)
	var listed *store.TaskView
	for i := range mine.Tasks {
		if mine.Tasks[i].ID == a.ID {
			listed = &mine.Tasks[i]
		}
	}
	require.NotNil(t, listed, "task %d is listed for %s", a.ID, me)
	assert.Contains(t, listed.Actions, "accept")
	assert.NotEmpty(t, listed.Address)
	task := func(id int64, action string) string { return fmt.Sprintf("/api/v1/engineer/tasks/%d/%s", id, action) }

	t.Run("who may", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, f.CallAs(t, "", "GET", "/api/v1/engineer/tasks", nil, nil))
		assert.Equal(t, http.StatusUnauthorized, f.CallAs(t, "Bearer eng_forged", "GET", "/api/v1/engineer/tasks", nil, nil))
		assert.Equal(t, http.StatusForbidden, f.CallAs(t, tokens[other], "POST", task(a.ID, "accept"), nil, nil))
		assert.Equal(t, http.StatusNotFound, f.CallAs(t, tokens[me], "POST", task(99999999, "accept"), nil, nil))
	})

	t.Run("accept, start, complete with a photo", func(t *testing.T) {
		var tv store.TaskView
		require.Equal(t, http.StatusOK, f.CallAs(t, tokens[me], "POST", task(a.ID, "accept"), nil, &tv))
		assert.Equal(t, "accepted", tv.State)
		assert.Equal(t, http.StatusConflict, f.CallAs(t, tokens[me], "POST", task(a.ID, "accept"), nil, nil), "accepted twice")
		require.Equal(t, http.StatusOK, f.CallAs(t, tokens[me], "POST", task(a.ID, "start"), nil, &tv))
		assert.Equal(t, "in_progress", tv.State)
		assert.Equal(t, http.StatusUnprocessableEntity, f.CallAs(t, tokens[me], "POST", task(a.ID, "complete"), map[string]string{}, nil), "work done is required")
		photo := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
		body := webtest.NewMultipart(t, map[string]string{"problem_found": "Вентилятор конденсатора", "work_done": "Заменён вентилятор"}, map[string][]byte{"after.png": photo})
		require.Equal(t, http.StatusOK, f.CallAs(t, tokens[me], "POST", task(a.ID, "complete"), body, &tv))
		assert.Equal(t, "done", tv.State)
		assert.Equal(t, 1, tv.Attachments)
		assert.Equal(t, http.StatusConflict, f.CallAs(t, tokens[me], "POST", task(a.ID, "start"), nil, nil), "done is done")

		var got struct {
			Attachments []struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			}
		}
		require.Equal(t, http.StatusOK, f.CallAs(t, tokens[me], "GET", fmt.Sprintf("/api/v1/engineer/tasks/%d", a.ID), nil, &got))
		require.Len(t, got.Attachments, 1)
		var data []byte
		require.Equal(t, http.StatusOK, f.CallAs(t, tokens[me], "GET", fmt.Sprintf("/api/v1/engineer/tasks/%d/attachments/%d", a.ID, got.Attachments[0].ID), nil, &data))
		assert.Equal(t, photo, data)

		// The act of the done ticket (one task per demo ticket).
		var act []byte
		require.Equal(t, http.StatusOK, f.Call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d/act", a.Ticket), nil, &act))
		assert.Contains(t, string(act), "Заменён вентилятор")
	})

	t.Run("postpone", func(t *testing.T) {
		assert.Equal(t, http.StatusUnprocessableEntity, f.CallAs(t, tokens[other], "POST", task(b.ID, "postpone"),
			map[string]any{"until": f.eng.now().Add(24 * time.Hour)}, nil), "a reason is required")
		var tv store.TaskView
		require.Equal(t, http.StatusOK, f.CallAs(t, tokens[other], "POST", task(b.ID, "postpone"),
			map[string]any{"reason": "магазин закрыт", "until": f.eng.now().Add(24 * time.Hour)}, &tv))
		assert.Equal(t, "postponed", tv.State)
		assert.Equal(t, http.StatusConflict, f.CallAs(t, tokens[other], "POST", task(b.ID, "start"), nil, nil), "postponed work is not started")
	})

	t.Run("signed link", func(t *testing.T) {
		// Task c, by the link in its engineer's email.
		id, who := c.ID, c.Engineer
		link := func(exp time.Time) string {
			return "/l/" + f.signer.Sign(lifecycle.Link{Action: lifecycle.ActAccept, Kind: "task", Subject: id, Who: who, Expires: exp})
		}
		state := func() string {
			var tv struct{ Task store.TaskView }
			require.Equal(t, http.StatusOK, f.CallAs(t, tokens[who], "GET", fmt.Sprintf("/api/v1/engineer/tasks/%d", id), nil, &tv))
			return tv.Task.State
		}
		good := link(f.eng.now().Add(time.Hour))
		var page []byte
		require.Equal(t, http.StatusOK, f.CallAs(t, "", "GET", good, nil, &page))
		assert.Contains(t, string(page), `<form method="post">`)
		assert.Equal(t, "assigned", state(), "opening the link changes nothing")

		require.Equal(t, http.StatusOK, f.CallAs(t, "", "POST", good, nil, &page))
		assert.Contains(t, string(page), "Готово")
		assert.Equal(t, "accepted", state())
		assert.Equal(t, http.StatusConflict, f.CallAs(t, "", "POST", good, nil, nil), "a decision taken")

		tampered := []byte(good)
		i := len(tampered) - 3
		if tampered[i] == 'A' {
			tampered[i] = 'B'
		} else {
			tampered[i] = 'A'
		}
		assert.Equal(t, http.StatusForbidden, f.CallAs(t, "", "GET", string(tampered), nil, nil))
		assert.Equal(t, http.StatusForbidden, f.CallAs(t, "", "POST", string(tampered), nil, nil))
		expired := link(f.eng.now().Add(-time.Minute))
		assert.Equal(t, http.StatusGone, f.CallAs(t, "", "GET", expired, nil, nil))
		assert.Equal(t, http.StatusGone, f.CallAs(t, "", "POST", expired, nil, nil))
	})
}

// TestDeadOutboxShown: the configuration has no SMTP relay, so the demo
// mail's lifecycle queued no email. A message that nonetheless died (an
// email queued before, with no sender) is listed with its error by
// /api/v1/outbox?state=dead and on the failed page, which then does not say
// there are no errors; the page puts it back in the queue.
func TestDeadOutboxShown(t *testing.T) {
	f := newWebFixture(t, "")
	ctx := context.Background()
	var emails, assigned int
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE kind = 'email'`).Scan(&emails))
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM engineer_tasks WHERE engineer IS NOT NULL`).Scan(&assigned))
	require.Positive(t, assigned, "engineers were given tasks")
	assert.Zero(t, emails, "no email is queued without an email sender")

	c := webtest.Browser(t)
	// Nothing failed yet: the page says so.
	require.Equal(t, http.StatusOK, f.Call(t, "POST", fmt.Sprintf("/api/v1/items/%d/retry", f.failed), nil, nil))
	_, doc := webtest.GetPage(t, c, f.Srv.URL+"/ui/failed")
	assert.Contains(t, doc.Find(".empty").Text(), "Ошибок нет")

	webtest.DeadEmail(t, f.st)

	var list struct {
		Messages []store.OutboxRow
		Counts   map[string]int
	}
	require.Equal(t, http.StatusOK, f.Call(t, "GET", "/api/v1/outbox?state=dead", nil, &list))
	require.Len(t, list.Messages, 1)
	dead := list.Messages[0]
	assert.Equal(t, store.OutboxDead, dead.State)
	assert.Contains(t, dead.LastError, `no sender for kind "email"`)
	assert.Equal(t, 1, list.Counts[store.OutboxDead])

	_, doc = webtest.GetPage(t, c, f.Srv.URL+"/ui/failed")
	assert.Zero(t, doc.Find(".empty").Length(), "no \"Ошибок нет\" while a message is dead")
	assert.Contains(t, doc.Find("h2#dead").Text(), "Недоставленные уведомления: 1")
	row := doc.Find(fmt.Sprintf("#outbox-%d", dead.ID))
	require.Equal(t, 1, row.Length())
	assert.Contains(t, row.Text(), "eng0006@contractors.example")
	assert.Contains(t, row.Text(), "Вам назначена заявка INT-1")
	assert.Contains(t, row.Find(".error").Text(), `no sender for kind "email"`)

	resp, err := c.PostForm(f.Srv.URL+fmt.Sprintf("/ui/outbox/%d/retry", dead.ID), url.Values{"csrf": {webtest.CSRF(t, doc)}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/ui/failed", resp.Request.URL.Path)
	row2, err := f.st.GetOutbox(ctx, dead.ID)
	require.NoError(t, err)
	assert.Equal(t, store.OutboxPending, row2.State)
	_, doc = webtest.GetPage(t, c, f.Srv.URL+"/ui/failed")
	assert.Contains(t, doc.Find(".empty").Text(), "Ошибок нет")
}

// testAPIToken is a configured admin token, as long as a real one must be.
const testAPIToken = "api-secret-0123456789-abcdefghijklmnop"
