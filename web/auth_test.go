package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web"
)

// The attacks of rows 1, 2, 7 and 8 of issue 13, each done against the
// handler and refused.

// recordingRules accepts every rule set and remembers who applied it.
type recordingRules struct{ by []string }

func (r *recordingRules) Check(context.Context, map[string][]byte) error { return nil }
func (r *recordingRules) Apply(_ context.Context, _ map[string][]byte, by, _ string) (int64, error) {
	r.by = append(r.by, by)
	return int64(len(r.by)), nil
}

type authFixture struct {
	st    *store.Store
	srv   *web.Server
	h     http.Handler
	rules *recordingRules
	log   *syncBuffer
	now   time.Time
}

func newAuthFixture(t *testing.T, tokens ...string) *authFixture {
	t.Helper()
	f := &authFixture{st: pgtest.Store(t), rules: &recordingRules{}, log: &syncBuffer{},
		now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	// Stands in for the lifecycle component's route: the middleware decides
	// before it is reached.
	extra := http.NewServeMux()
	extra.HandleFunc("POST /api/v1/engineers/{code}/tokens", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	f.srv = &web.Server{Store: f.st, Log: slog.New(slog.NewTextHandler(f.log, nil)), Rules: f.rules, APITokens: tokens, Extra: extra,
		Limiter: &auth.Limiter{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute, Now: func() time.Time { return f.now }}}
	f.h = f.srv.Handler()
	return f
}

func (f *authFixture) addUser(t *testing.T, name string, role auth.Role, password string) *store.User {
	t.Helper()
	hash, err := auth.HashPassword(password)
	require.NoError(t, err)
	u, err := f.st.AddUser(context.Background(), name, string(role), hash, "test")
	require.NoError(t, err)
	return u
}

func (f *authFixture) token(t *testing.T, user string) string {
	t.Helper()
	tok, err := auth.NewToken()
	require.NoError(t, err)
	_, err = f.st.CreateAPIToken(context.Background(), user, auth.TokenID(tok), auth.HashToken(tok), "test", "test")
	require.NoError(t, err)
	return tok
}

// do serves one request from addr ("" is a remote address) with an
// optional bearer token and JSON body.
func (f *authFixture) do(t *testing.T, method, path, addr, token string, body any, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	if addr != "" {
		req.RemoteAddr = addr
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login posts the sign-in form from addr and returns the response and the
// cookies a browser would then hold.
func (f *authFixture) login(t *testing.T, addr, user, password string) (*httptest.ResponseRecorder, []*http.Cookie) {
	t.Helper()
	form := f.do(t, "GET", "/ui/login", addr, "", nil)
	require.Equal(t, http.StatusOK, form.Code)
	m := csrfInput.FindStringSubmatch(form.Body.String())
	require.NotNil(t, m, "the login form has a CSRF token")
	cookies := form.Result().Cookies()
	req := httptest.NewRequest("POST", "/ui/login", strings.NewReader(url.Values{"csrf": {m[1]}, "user": {user}, "password": {password}, "next": {"/ui/"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec, append(cookies, rec.Result().Cookies()...)
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	var found *http.Cookie
	for _, c := range cs {
		if c.Name == name {
			found = c
		}
	}
	return found
}

const remote = "203.0.113.7:40000"

// Row 1: with no user and no token, nobody but this machine gets in.
func TestAttackOpenByDefault(t *testing.T) {
	f := newAuthFixture(t)
	rules := map[string]any{"files": map[string]string{"x.yaml": "rules: []"}}
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "POST", "/api/v1/rules", remote, "", rules).Code, "applying rules from another machine")
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "POST", "/api/v1/engineers/ENG-0001/tokens", remote, "", map[string]string{}).Code, "minting an engineer token")
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/items", remote, "", nil).Code)
	page := f.do(t, "GET", "/ui/", remote, "", nil)
	assert.Equal(t, http.StatusSeeOther, page.Code)
	assert.True(t, strings.HasPrefix(page.Header().Get("Location"), "/ui/login"))
	assert.Empty(t, f.rules.by, "no rule set was applied")

	// This machine may (the demo, a fresh install) until a user exists.
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/stats", "127.0.0.1:5000", "", nil).Code)
	f.addUser(t, "admin", auth.Admin, "a long enough secret")
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/stats", "127.0.0.1:5000", "", nil).Code, "closed once a user exists")
}

// Row 2: a token does only what its user's role allows, and an action is
// recorded as the token's user whatever the request says.
func TestAttackNoRolesAndImpersonation(t *testing.T) {
	f := newAuthFixture(t)
	f.addUser(t, "ivanova", auth.Dispatcher, "dispatcher secret 1")
	f.addUser(t, "olga", auth.Operations, "operations secret 1")
	disp, ops := f.token(t, "ivanova"), f.token(t, "olga")
	rules := map[string]any{"files": map[string]string{"x.yaml": "rules: []"}, "by": "admin"}

	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/stats", remote, disp, nil).Code, "a dispatcher reads")
	assert.Equal(t, http.StatusForbidden, f.do(t, "POST", "/api/v1/rules", remote, disp, rules).Code, "a dispatcher may not apply rules")
	assert.Equal(t, http.StatusForbidden, f.do(t, "POST", "/api/v1/rules/check", remote, disp, rules).Code)
	assert.Equal(t, http.StatusForbidden, f.do(t, "POST", "/api/v1/engineers/ENG-0001/tokens", remote, disp, map[string]string{}).Code,
		"a dispatcher may not mint an engineer's token")
	assert.Equal(t, http.StatusForbidden, f.do(t, "POST", "/api/v1/engineers/ENG-0001/tokens", remote, ops, map[string]string{}).Code,
		"nor may operations: that is an admin's")
	assert.Equal(t, http.StatusForbidden, f.do(t, "GET", "/api/v1/audit", remote, disp, nil).Code)
	f.addUser(t, "root", auth.Admin, "admin secret 12")
	root := f.token(t, "root")
	assert.Equal(t, http.StatusCreated, f.do(t, "POST", "/api/v1/engineers/ENG-0001/tokens", remote, root, map[string]string{}).Code,
		"an admin may")
	assert.Equal(t, http.StatusForbidden, f.do(t, "GET", "/api/v1/users", remote, ops, nil).Code, "users are an admin's")
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/users", remote, root, nil).Code)
	assert.Empty(t, f.rules.by)

	rec := f.do(t, "POST", "/api/v1/rules", remote, ops, rules)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, []string{"olga"}, f.rules.by, `recorded as the token's user, not the body's "by"`)

	rec = f.do(t, "GET", "/api/v1/audit?action=rules", remote, ops, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	var got struct{ Entries []store.AuditEntry }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	require.Len(t, got.Entries, 1)
	assert.Equal(t, "olga", got.Entries[0].Actor)
	assert.Equal(t, "rules.apply", got.Entries[0].Action)

	// A dispatcher's session on the pages is a dispatcher too.
	_, cookies := f.login(t, remote, "ivanova", "dispatcher secret 1")
	page := f.do(t, "GET", "/ui/", remote, "", nil, cookies...)
	assert.Equal(t, http.StatusOK, page.Code)
	assert.Contains(t, page.Body.String(), "ivanova")
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "POST", "/api/v1/rules", remote, "", rules, cookies...).Code, "API writes need a token")
}

// Row 7: guessing passwords and tokens is logged and soon locked out; the
// lockout expires; a one-character token is refused.
func TestAttackUnlimitedGuessing(t *testing.T) {
	f := newAuthFixture(t, "x")
	f.addUser(t, "ivanova", auth.Dispatcher, "dispatcher secret 1")

	assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/stats", remote, "x", nil).Code, "a one-character token, even a configured one")

	for i := range 5 {
		rec, _ := f.login(t, "198.51.100.1:1000", "ivanova", "guess-number-"+string(rune('a'+i)))
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
	}
	rec, cookies := f.login(t, "198.51.100.2:1000", "ivanova", "dispatcher secret 1")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "the user is locked out, from any address, even with the password")
	assert.Nil(t, cookieNamed(cookies, "intake_session"))
	logs := f.log.String()
	assert.Contains(t, logs, "sign-in failed")
	assert.Contains(t, logs, "user=ivanova")
	assert.Contains(t, logs, "address=198.51.100.1")
	assert.NotContains(t, logs, "guess-number", "passwords are never logged")
	assert.NotContains(t, logs, "dispatcher secret")

	f.now = f.now.Add(16 * time.Minute)
	rec, _ = f.login(t, "198.51.100.2:1000", "ivanova", "dispatcher secret 1")
	assert.Equal(t, http.StatusSeeOther, rec.Code, "the lockout expires")

	// Bearer guessing from one address.
	for range 5 {
		assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/stats", "198.51.100.3:1", strings.Repeat("g", 43), nil).Code)
	}
	real := f.token(t, "ivanova")
	assert.Equal(t, http.StatusTooManyRequests, f.do(t, "GET", "/api/v1/stats", "198.51.100.3:1", real, nil).Code)
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/api/v1/stats", "198.51.100.4:1", real, nil).Code, "other addresses are not locked out")
	assert.Contains(t, f.log.String(), "api token refused")
}

// Row 8: logging out, or disabling the user, ends the session on the
// server: the old cookie is worthless.
func TestAttackLogoutKeepsSession(t *testing.T) {
	f := newAuthFixture(t)
	f.addUser(t, "ivanova", auth.Dispatcher, "dispatcher secret 1")
	rec, cookies := f.login(t, remote, "ivanova", "dispatcher secret 1")
	require.Equal(t, http.StatusSeeOther, rec.Code)
	session := cookieNamed(cookies, "intake_session")
	require.NotNil(t, session)
	assert.True(t, session.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, session.SameSite)
	assert.Equal(t, http.StatusOK, f.do(t, "GET", "/ui/", remote, "", nil, cookies...).Code)

	page := f.do(t, "GET", "/ui/", remote, "", nil, cookies...)
	m := csrfInput.FindStringSubmatch(page.Body.String())
	require.NotNil(t, m)
	req := httptest.NewRequest("POST", "/ui/logout", strings.NewReader(url.Values{"csrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	for _, c := range cookies {
		req.AddCookie(c)
	}
	out := httptest.NewRecorder()
	f.h.ServeHTTP(out, req)
	require.Equal(t, http.StatusSeeOther, out.Code)

	replay := f.do(t, "GET", "/ui/", remote, "", nil, cookies...)
	assert.Equal(t, http.StatusSeeOther, replay.Code, "the saved cookie no longer signs in")
	assert.True(t, strings.HasPrefix(replay.Header().Get("Location"), "/ui/login"))
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/stats", remote, "", nil, cookies...).Code)

	// Disabling a user ends its sessions and stops its tokens at once.
	_, cookies = f.login(t, remote, "ivanova", "dispatcher secret 1")
	tok := f.token(t, "ivanova")
	require.Equal(t, http.StatusOK, f.do(t, "GET", "/ui/", remote, "", nil, cookies...).Code)
	f.addUser(t, "root", auth.Admin, "admin secret 12")
	require.Equal(t, http.StatusOK, f.do(t, "POST", "/api/v1/users/ivanova/disable", remote, f.token(t, "root"), nil).Code)
	assert.Equal(t, http.StatusSeeOther, f.do(t, "GET", "/ui/", remote, "", nil, cookies...).Code)
	assert.Equal(t, http.StatusUnauthorized, f.do(t, "GET", "/api/v1/stats", remote, tok, nil).Code)
	rec, _ = f.login(t, remote, "ivanova", "dispatcher secret 1")
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "a disabled user cannot sign in")
}
