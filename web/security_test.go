package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/web"
)

func TestSecurity_EveryResponseHasCSPAndNosniff(t *testing.T) {
	// Extra stands for the components' routes: an act, a link page, a
	// webhook; it sniffs as HTML on purpose.
	extra := http.NewServeMux()
	extra.HandleFunc("GET /api/v1/tickets/{id}/act", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<html><script>alert(1)</script></html>`)) //nolint:errcheck
	})
	extra.HandleFunc("GET /l/{token}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<p>link</p>")) }) //nolint:errcheck
	s := &web.Server{APITokens: []string{"a-long-enough-api-token"}, Extra: extra, Log: discard()}
	h := s.Handler()
	for _, path := range []string{"/healthz", "/metrics", "/api/v1/stats", "/api/v1/tickets/1/act", "/ui/login", "/ui/", "/l/abc", "/nowhere"} {
		t.Run(path, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if path != "/api/v1/stats" { // refused: 401 has the headers too
				req.Header.Set("Authorization", "Bearer a-long-enough-api-token")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			csp := rec.Header().Get("Content-Security-Policy")
			assert.Contains(t, csp, "default-src 'none'", "status %d", rec.Code)
			assert.Contains(t, csp, "script-src 'self';", "scripts only from our own files, never inline or from elsewhere")
			assert.NotContains(t, csp, "unsafe-eval")
			assert.Contains(t, csp, "frame-ancestors 'none'")
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		})
	}
}

func TestSecurity_AnApprovalTokenDoesOnlyItsOwnAction(t *testing.T) {
	f := newLCFixture(t, func(c *lifecycle.Config) {
		c.Approvals = map[string][]lifecycle.ApprovalStep{"PU": {{Role: "regional_director", ByRegion: true}}}
	}, discard())
	id := f.ticket(routing.ModeOffer)
	apps, err := f.st.Approvals(f.ctx, id)
	require.NoError(t, err)
	require.Len(t, apps, 1)
	a := apps[0]
	token := func(act lifecycle.Action) string {
		return f.signer.Sign(lifecycle.Link{Action: act, Kind: "approval", Subject: a.ID, Who: a.ContactEmail, Expires: f.now.Add(time.Hour)})
	}
	approve, decline := token(lifecycle.ActApprove), token(lifecycle.ActDecline)
	path := fmt.Sprintf("/api/v1/approvals/%d/", a.ID)

	code, body := f.do("POST", path+"decline", approve, `{"reason":"нет"}`)
	assert.Equal(t, http.StatusForbidden, code, body)
	code, body = f.do("POST", path+"approve", decline, "")
	assert.Equal(t, http.StatusForbidden, code, body)
	got, err := f.st.ApprovalByID(f.ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "pending", got.State, "neither token did the other's action")

	code, body = f.do("POST", path+"approve", approve, "")
	assert.Equal(t, http.StatusOK, code, body)
	got, err = f.st.ApprovalByID(f.ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "approved", got.State)
}

func TestSecurity_AnEngineerWhoLostAnOfferNoLongerReadsTheTask(t *testing.T) {
	f := newLCFixture(t, nil, discard())
	id := f.ticket(routing.ModeOffer)
	lcOf, err := f.st.LifecycleOf(f.ctx, id)
	require.NoError(t, err)
	require.Len(t, lcOf.Offers, 3)
	task := lcOf.Offers[0].TaskID
	tokens := map[string]string{}
	for _, o := range lcOf.Offers {
		tok, err := f.st.CreateEngineerToken(f.ctx, o.Engineer, "test")
		require.NoError(t, err)
		tokens[o.Engineer] = tok
	}
	winner, loser := lcOf.Offers[0].Engineer, lcOf.Offers[1].Engineer
	taskPath := fmt.Sprintf("/api/v1/engineer/tasks/%d", task)

	code, body := f.do("GET", taskPath, tokens[loser], "")
	require.Equal(t, http.StatusOK, code, "an open offer shows the task: %s", body)
	require.NoError(t, f.lc.Accept(f.ctx, task, winner, "engineer:"+winner))
	aid, err := f.lc.AddAttachment(f.ctx, task, winner, "act.jpg", "image/jpeg", []byte("the winner's photo"))
	require.NoError(t, err)

	code, body = f.do("GET", taskPath, tokens[loser], "")
	assert.Equal(t, http.StatusNotFound, code, body)
	assert.NotContains(t, body, "Не холодит")
	code, body = f.do("GET", fmt.Sprintf("%s/attachments/%d", taskPath, aid), tokens[loser], "")
	assert.Equal(t, http.StatusNotFound, code, body)
	assert.NotContains(t, body, "the winner's photo")
	code, body = f.do("GET", "/api/v1/engineer/tasks", tokens[loser], "")
	assert.Equal(t, http.StatusOK, code)
	assert.NotContains(t, body, "Не холодит")

	code, body = f.do("GET", fmt.Sprintf("%s/attachments/%d", taskPath, aid), tokens[winner], "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "the winner's photo", body)
}

func TestSecurity_AHugeSubjectMakesNoHugePage(t *testing.T) {
	f := newLCFixture(t, nil, discard())
	subject := "Не работает витрина " + strings.Repeat("Ж", 5<<20/2)
	raw := "From: Someone <someone@mail.example.org>\r\nTo: zayavki@tehservis.example\r\nSubject: " + subject +
		"\r\nDate: Mon, 02 Nov 2026 09:15:00 +0300\r\nMessage-ID: <huge-subject@mail.example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nНе холодит витрина в магазине.\r\n"
	res, err := ingest.NewInbox(f.st, nil, clock.Fixed(f.now)).Put(f.ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "test/huge", Raw: []byte(raw)}}, nil)
	require.NoError(t, err)
	rt, err := pipeline.LoadRuntime(f.ctx, f.st, defaults.Files())
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clock.Fixed(f.now))
	require.NoError(t, f.st.InTx(f.ctx, func(tx pgx.Tx) error { return proc.RunInline(f.ctx, tx, res[0].ID) }))

	var saved int
	require.NoError(t, f.st.Pool.QueryRow(f.ctx, `SELECT octet_length(parsed->>'subject') FROM inbound_items WHERE id = $1`, res[0].ID).Scan(&saved))
	assert.LessOrEqual(t, saved, 1000, "the subject is clipped where it is saved")

	// An item saved before the clip (or by another source) is clipped for
	// display all the same.
	_, err = f.st.Pool.Exec(f.ctx, `UPDATE inbound_items SET parsed = jsonb_set(parsed, '{subject}', to_jsonb($2::text)) WHERE id = $1`, res[0].ID, subject)
	require.NoError(t, err)
	// And a ticket whose problem text came in huge (a desk's description).
	ticket := f.ticket(routing.ModeOffer)
	_, err = f.st.Pool.Exec(f.ctx, `UPDATE tickets SET problem = $2 WHERE id = $1`, ticket, subject)
	require.NoError(t, err)
	open := &web.Server{Store: f.st, Log: discard()}
	srv := httptest.NewServer(open.Handler())
	t.Cleanup(srv.Close)
	for _, path := range []string{"/ui/", "/ui/failed", fmt.Sprintf("/ui/items/%d", res[0].ID), "/ui/tickets", fmt.Sprintf("/ui/tickets/%d", ticket)} {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Less(t, len(b), 64<<10, "%s is %d bytes", path, len(b))
	}
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/items/%d/raw", srv.URL, res[0].ID))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, raw, string(b), "the raw message stays whole")
}
