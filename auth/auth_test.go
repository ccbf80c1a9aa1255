package auth_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
)

func TestRoles(t *testing.T) {
	cases := []struct {
		method, path string
		dispatcher   bool
		operations   bool
		admin        bool
	}{
		{"GET", "/api/v1/items", true, true, true},
		{"POST", "/api/v1/items/3/resolve", true, true, true},
		{"POST", "/api/v1/tickets/3/dispatch", true, true, true},
		{"POST", "/api/v1/rules", false, true, true},
		{"POST", "/api/v1/rules/check", false, true, true},
		{"POST", "/api/v1/try", false, true, true},
		{"GET", "/api/v1/audit", false, true, true},
		{"POST", "/api/v1/engineers/ENG-1/tokens", false, false, true},
		{"DELETE", "/api/v1/engineers/ENG-1/tokens", false, false, true},
		{"GET", "/api/v1/users", false, false, true},
		{"POST", "/api/v1/users/ivanova/disable", false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			p := auth.Required(tc.method, tc.path)
			assert.Equal(t, tc.dispatcher, auth.Dispatcher.Allows(p), "dispatcher")
			assert.Equal(t, tc.operations, auth.Operations.Allows(p), "operations")
			assert.Equal(t, tc.admin, auth.Admin.Allows(p), "admin")
		})
	}
	assert.Zero(t, auth.Required("POST", "/api/v1/engineer/tasks/1/accept"), "engineers carry their own tokens")
	assert.False(t, auth.Role("root").Allows(auth.Read))
}

// A client's system may submit requests and read their status, nothing
// else; the request form needs no sign-in at all.
func TestClientRole(t *testing.T) {
	for _, path := range []string{"/form/", "/form/s/abc.def", "/form/r/abc.def"} {
		assert.Zero(t, auth.Required("GET", path), path)
	}
	assert.Zero(t, auth.Required("POST", "/form/"), "store staff submit without signing in")
	for _, r := range []auth.Role{auth.Client, auth.Dispatcher, auth.Operations, auth.Admin} {
		assert.True(t, r.Allows(auth.Required("POST", "/api/v1/requests")), r)
		assert.True(t, r.Allows(auth.Required("GET", "/api/v1/requests/12")), r)
	}
	for _, p := range []auth.Permission{auth.Read, auth.Work, auth.Configure, auth.Audit, auth.Manage} {
		assert.False(t, auth.Client.Allows(p), p)
	}
	r, err := auth.ParseRole("client")
	require.NoError(t, err)
	assert.Equal(t, auth.Client, r)
}

func TestPasswordPolicy(t *testing.T) {
	for _, bad := range []string{"", "short", "aaaaaaaaaaaaaaaa", "ivanova-dispatch"} {
		assert.ErrorIs(t, auth.CheckPassword("ivanova-dispatch", bad), auth.ErrWeakPassword, bad)
	}
	require.NoError(t, auth.CheckPassword("ivanova", "correct horse battery"))
	h, err := auth.HashPassword("correct horse battery")
	require.NoError(t, err)
	assert.True(t, auth.PasswordMatches(h, "correct horse battery"))
	assert.False(t, auth.PasswordMatches(h, "correct horse batterY"))
	assert.False(t, auth.PasswordMatches(nil, "correct horse battery"))
}

func TestTokens(t *testing.T) {
	a, err := auth.NewToken()
	require.NoError(t, err)
	b, err := auth.NewToken()
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.NoError(t, auth.CheckTokenLen(a))
	assert.ErrorIs(t, auth.CheckTokenLen("x"), auth.ErrShortToken)
	assert.Len(t, auth.HashToken(a), 32)
	assert.Equal(t, a[:12], auth.TokenID(a))
}

func TestLimiterLocksOutAndExpires(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l := &auth.Limiter{MaxFailures: 3, Window: time.Minute, Lockout: 5 * time.Minute, Now: func() time.Time { return now }}
	assert.False(t, l.Fail("user:ivanova", "addr:10.0.0.1"))
	assert.False(t, l.Fail("user:ivanova", "addr:10.0.0.2"))
	locked, _ := l.Locked("user:ivanova")
	assert.False(t, locked)
	assert.True(t, l.Fail("user:ivanova", "addr:10.0.0.3"), "the third failure for the user locks it")
	locked, until := l.Locked("user:ivanova", "addr:10.0.0.9")
	assert.True(t, locked)
	assert.Equal(t, now.Add(5*time.Minute), until)
	locked, _ = l.Locked("addr:10.0.0.1")
	assert.False(t, locked, "each address failed once")

	now = now.Add(5 * time.Minute)
	locked, _ = l.Locked("user:ivanova")
	assert.False(t, locked, "the lockout expires")

	// Failures further apart than the window do not add up.
	l.Fail("addr:x")
	now = now.Add(2 * time.Minute)
	l.Fail("addr:x")
	now = now.Add(2 * time.Minute)
	assert.False(t, l.Fail("addr:x"))
	l.Succeed("addr:x")
}
