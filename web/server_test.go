package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/web"
)

func TestAPITokens(t *testing.T) {
	extra := http.NewServeMux()
	extra.HandleFunc("GET /api/v1/engineer/tasks", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	s := &web.Server{APITokens: []string{"s3cret"}, Extra: extra, Log: discard()}
	h := s.Handler()
	cases := []struct {
		name, path, auth string
		want             int
	}{
		{"health is open", "/healthz", "", http.StatusOK},
		{"api without token", "/api/v1/stats", "", http.StatusUnauthorized},
		{"api with a wrong token", "/api/v1/stats", "Bearer nope", http.StatusUnauthorized},
		{"engineer endpoints have their own tokens", "/api/v1/engineer/tasks", "", http.StatusTeapot},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code)
		})
	}
}
