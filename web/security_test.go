package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

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
			assert.NotContains(t, csp, "script-src", "no script is ever allowed")
			assert.Contains(t, csp, "frame-ancestors 'none'")
			assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		})
	}
}
