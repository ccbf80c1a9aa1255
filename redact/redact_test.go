package redact_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/redact"
)

func TestText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"okdesk url in a url.Error", `Get "https://acme.okdesk.ru/api/v1/issues/list?api_token=s3cr3t&updated_since=01-11-2026": dial tcp: refused`,
			`Get "https://acme.okdesk.ru/api/v1/issues/list?api_token=REDACTED&updated_since=01-11-2026": dial tcp: refused`},
		{"naumen access key", "GET https://sd.example/services/rest/get/x$1?accessKey=abc-def: EOF", "GET https://sd.example/services/rest/get/x$1?accessKey=REDACTED: EOF"},
		{"token first", "https://x.example/hook?token=abc", "https://x.example/hook?token=REDACTED"},
		{"link token param", "/api/v1/approvals/3/approve?t=eyJhIjoi", "/api/v1/approvals/3/approve?t=REDACTED"},
		{"password in a url", "postgres://intake:pa55@db:5432/intake", "postgres://intake:REDACTED@db:5432/intake"},
		{"link path", "GET /l/eyJhIjoiYWNjZXB0In0.c2ln", "GET /l/REDACTED"},
		{"plain words stay", "a task=5 at key points", "a task=5 at key points"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, redact.Text(tc.in)) })
	}
}

func TestErrorKeepsWhatItWraps(t *testing.T) {
	base := errors.New("boom")
	err := redact.Error(fmt.Errorf("GET https://x.example/?api_token=zzz: %w", base))
	assert.Equal(t, "GET https://x.example/?api_token=REDACTED: boom", err.Error())
	assert.ErrorIs(t, err, base)
	assert.NoError(t, redact.Error(nil))
}

func TestRequest(t *testing.T) {
	raw := "POST /telephony/mango/events/call?token=qq HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nSignature: c2ln\r\nX-Intake-Signature: sha256=ab\r\n\r\n" +
		"vpbx_api_key=KEY123&sign=abcdef&json=%7B%22entry_id%22%3A1%7D"
	got := string(redact.Request([]byte(raw)))
	for _, secret := range []string{"qq", "c2ln", "sha256=ab", "KEY123", "abcdef"} {
		assert.NotContains(t, got, secret)
	}
	assert.Contains(t, got, "json=%7B%22entry_id%22%3A1%7D")
	assert.Contains(t, got, "Host: x")
}

func TestHandler(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(redact.Handler(slog.NewTextHandler(&b, nil))).With("url", "https://x/?api_token=one")
	log.Warn("pull failed", "error", errors.New(`Get "https://x/?api_token=two": EOF`), "path", "/l/three", "status", http.StatusOK)
	for _, s := range []string{"one", "two", "three"} {
		assert.NotContains(t, b.String(), s)
	}
	assert.Contains(t, b.String(), "status=200")
}
