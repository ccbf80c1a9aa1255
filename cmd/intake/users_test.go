package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// Issue 13, row 1: starting on an address other machines reach, with no
// user and no token, is refused before anything listens, saying what to do.
func TestServeRefusesOpenAddress(t *testing.T) {
	url := pgtest.URL(t)
	t.Setenv("INTAKE_HTTP_ADDR", ":8080")
	_, _, err := runCLI(t, url, "serve")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "http.addr :8080 is reachable from other machines")
	assert.Contains(t, err.Error(), "intake users add")

	t.Setenv("INTAKE_API_TOKENS", "x")
	_, _, err = runCLI(t, url, "serve")
	require.ErrorContains(t, err, "token 1 is shorter than 32 characters", "a short configured token is refused")
}

func TestListenAddr(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	long := strings.Repeat("k", auth.MinTokenLen)
	cases := []struct {
		name, addr string
		tokens     []string
		users      bool
		want, err  string
	}{
		{"unset, nobody can sign in: loopback", "", nil, false, "127.0.0.1:8080", ""},
		{"unset, with users: every interface", "", nil, true, ":8080", ""},
		{"unset, with a configured token", "", []string{long}, false, ":8080", ""},
		{"all interfaces without users", ":8080", nil, false, "", "intake users add"},
		{"a public address without users", "0.0.0.0:9000", nil, false, "", "reachable from other machines"},
		{"loopback without users", "127.0.0.1:9000", nil, false, "127.0.0.1:9000", ""},
		{"localhost without users", "localhost:9000", nil, false, "localhost:9000", ""},
		{"ipv6 loopback without users", "[::1]:9000", nil, false, "[::1]:9000", ""},
		{"all interfaces with users", ":8080", nil, true, ":8080", ""},
		{"a short configured token", ":8080", []string{"abc"}, true, "", "shorter than 32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := listenAddr(tc.addr, tc.tokens, tc.users, log)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUsersAndTokensCommands(t *testing.T) {
	url := pgtest.URL(t)
	pw := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pw, []byte("short\n"), 0o600))
	_, _, err := runCLI(t, url, "users", "add", "ivanova", "--role", "dispatcher", "--password-file", pw)
	require.ErrorIs(t, err, auth.ErrWeakPassword)
	_, _, err = runCLI(t, url, "users", "add", "ivanova", "--role", "boss", "--password-file", pw)
	require.ErrorContains(t, err, "unknown role")

	require.NoError(t, os.WriteFile(pw, []byte("a good long password\n"), 0o600))
	out, _, err := runCLI(t, url, "users", "add", "ivanova", "--role", "dispatcher", "--password-file", pw)
	require.NoError(t, err)
	assert.Contains(t, out, "user ivanova added (dispatcher)")
	_, _, err = runCLI(t, url, "users", "add", "Ivanova", "--role", "admin", "--password-file", pw)
	require.ErrorIs(t, err, store.ErrUserExists)

	tok, _, err := runCLI(t, url, "tokens", "create", "--user", "ivanova", "--label", "script")
	require.NoError(t, err)
	tok = strings.TrimSpace(tok)
	require.NoError(t, auth.CheckTokenLen(tok))

	st, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	u, err := st.UserByToken(context.Background(), auth.HashToken(tok))
	require.NoError(t, err)
	assert.Equal(t, "ivanova", u.Name)
	var stored int
	require.NoError(t, st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM api_tokens WHERE token_sha256 = $1`, []byte(tok)).Scan(&stored))
	assert.Zero(t, stored, "the token itself is not stored")

	out, _, err = runCLI(t, url, "users", "list")
	require.NoError(t, err)
	assert.Regexp(t, `ivanova\s+dispatcher\s+active`, out)

	_, _, err = runCLI(t, url, "tokens", "revoke", "--user", "ivanova", "--token", auth.TokenID(tok))
	require.NoError(t, err)
	_, err = st.UserByToken(context.Background(), auth.HashToken(tok))
	require.ErrorIs(t, err, store.ErrBadToken)

	_, _, err = runCLI(t, url, "users", "disable", "ivanova")
	require.NoError(t, err)
	_, _, err = runCLI(t, url, "tokens", "create", "--user", "ivanova")
	require.ErrorContains(t, err, "no such enabled user")

	entries, err := st.AuditLog(context.Background(), store.AuditFilter{})
	require.NoError(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		assert.True(t, strings.HasPrefix(e.Actor, "cli"), e.Actor)
	}
	assert.Equal(t, []string{"user.disable", "token.revoke", "token.create", "user.add"}, actions)
}
