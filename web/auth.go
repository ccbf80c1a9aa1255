package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/store"
)

// Who is asking. Every request to the API (except the engineers' and
// approvers', which carry their own credentials) and to the pages is made
// by a principal: a user signed in to the pages (a session held in the
// database, checked on every request, so that logging out or disabling the
// user ends it at once), a user's API token, or a token from the
// configuration (an admin, for compatibility). What a principal may do is
// auth's decision; what it did is recorded under its name, never under a
// name the request declares.
//
// Without any enabled user and any token, a server answers requests from
// its own machine (a loopback peer) as the admin "local": that is the demo
// and a fresh install. Everyone else is refused.

// Principal is an authenticated caller.
type Principal struct {
	Name string
	Role auth.Role
}

type principalKey struct{}

// PrincipalFrom returns the caller a request was authenticated as.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// actor is who an action of r is recorded as.
func actor(r *http.Request) string {
	if p, ok := PrincipalFrom(r.Context()); ok {
		return p.Name
	}
	return "anonymous"
}

const localUser = "local"

// authenticate guards the API and the pages: it finds the principal, checks
// that its role allows what the request needs, and passes it on in the
// context.
func (s *Server) authenticate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		need := auth.Required(r.Method, r.URL.Path)
		if need == 0 || r.URL.Path == "/ui/login" || r.URL.Path == "/ui/logout" {
			h.ServeHTTP(w, r)
			return
		}
		p, err := s.principal(r)
		if err != nil {
			s.refuse(w, r, err)
			return
		}
		if !p.Role.Allows(need) {
			err := forbidden{fmt.Errorf("%s (%s) may not %s %s: it needs the %s permission", p.Name, p.Role, r.Method, r.URL.Path, need)}
			if strings.HasPrefix(r.URL.Path, "/ui/") {
				err = forbidden{fmt.Errorf("%s (%s): %s — для этого нужна роль %s.", p.Name, Label(LabelRole, string(p.Role)),
					Label(LabelPermission, need.String()), Label(LabelRole, string(auth.RoleFor(need))))}
				setPageHeaders(w)
				s.pageError(w, r, s.newPage(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p))), err)
				return
			}
			writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

type unauthenticated struct{ error }
type tooManyAttempts struct {
	until time.Time
}

func (e tooManyAttempts) Error() string {
	return "too many failed attempts: try again after " + e.until.UTC().Format(time.RFC3339)
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var many tooManyAttempts
	switch {
	case errors.As(err, &many):
		w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(many.until).Seconds())+1))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": err.Error()})
	case errors.As(err, new(unauthenticated)):
		if strings.HasPrefix(r.URL.Path, "/ui/") {
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="intake"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
	default:
		s.writeError(w, r, err)
	}
}

// principal authenticates r by its bearer token, else by its session
// cookie (on the pages, and for reading the API: the pages link to raw
// messages and acts; writes to the API need a token, so a cookie sent along
// by a forged cross-site request changes nothing).
func (s *Server) principal(r *http.Request) (Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		return s.tokenPrincipal(r, h)
	}
	if c, err := r.Cookie(sessionCookie); err == nil && s.Store != nil && c.Value != "" &&
		(strings.HasPrefix(r.URL.Path, "/ui/") || r.Method == http.MethodGet || r.Method == http.MethodHead) {
		u, err := s.Store.SessionUser(r.Context(), auth.HashToken(c.Value))
		if err == nil {
			return Principal{Name: u.Name, Role: auth.Role(u.Role)}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Principal{}, err
		}
	}
	if s.openToLocal(r) {
		return Principal{Name: localUser, Role: auth.Admin}, nil
	}
	return Principal{}, unauthenticated{errors.New("sign in, or send an API token as Authorization: Bearer <token>")}
}

// openToLocal reports whether r comes from this machine to a server that
// has no configured token and no enabled user.
func (s *Server) openToLocal(r *http.Request) bool {
	if len(s.APITokens) > 0 || s.Store == nil || !loopbackPeer(r) {
		return false
	}
	has, err := s.Store.HasUsers(r.Context())
	return err == nil && !has
}

func loopbackPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// peer is the address failures are counted against.
func peer(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// tokenPrincipal checks a bearer token. Failures are logged and counted
// per address; an address that keeps failing is locked out for a while.
func (s *Server) tokenPrincipal(r *http.Request, header string) (Principal, error) {
	addr := peer(r)
	if locked, until := s.Limiter.Locked("addr:" + addr); locked {
		return Principal{}, tooManyAttempts{until}
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	tok = strings.TrimSpace(tok)
	fail := func(reason string) (Principal, error) {
		s.Log.Warn("api token refused", "address", addr, "reason", reason, "path", r.URL.Path)
		s.Limiter.Fail("addr:" + addr)
		return Principal{}, unauthenticated{errors.New("missing or wrong API token")}
	}
	if !ok || tok == "" {
		return fail("no bearer token")
	}
	if err := auth.CheckTokenLen(tok); err != nil {
		return fail(err.Error())
	}
	for i, t := range s.APITokens {
		if len(t) >= auth.MinTokenLen && subtle.ConstantTimeCompare([]byte(tok), []byte(t)) == 1 {
			return Principal{Name: "config-token-" + strconv.Itoa(i+1), Role: auth.Admin}, nil
		}
	}
	if s.Store == nil {
		return fail("unknown token")
	}
	u, err := s.Store.UserByToken(r.Context(), auth.HashToken(tok))
	if errors.Is(err, store.ErrBadToken) {
		return fail("unknown, revoked or of a disabled user")
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{Name: u.Name, Role: auth.Role(u.Role)}, nil
}

type loginView struct {
	page
	Next string
	User string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	p := s.newPage(w, r)
	p.Title, p.Nav = "Вход", "login"
	s.render(w, r, http.StatusOK, "login", loginView{page: p, Next: safeNext(r.URL.Query().Get("next"))})
}

// login checks a user's password and starts a session. Failures are logged
// with the user and the address (never the password) and counted per user
// and per address: either locked out refuses at once, until the lockout
// expires.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	p := s.newPage(w, r)
	p.Title, p.Nav = "Вход", "login"
	if err := checkCSRF(w, r); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	name := strings.ToLower(strings.TrimSpace(r.PostForm.Get("user")))
	if len(name) > 64 {
		name = name[:64]
	}
	addr := peer(r)
	again := func(status int, flash string) {
		p.Flash, p.FlashBad = flash, true
		s.render(w, r, status, "login", loginView{page: p, Next: next, User: name})
	}
	if locked, until := s.Limiter.Locked("user:"+name, "addr:"+addr); locked {
		s.Log.Warn("sign-in refused: locked out", "user", name, "address", addr, "until", until)
		w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(until).Seconds())+1))
		again(http.StatusTooManyRequests, "Слишком много неудачных попыток входа. Повторите позже.")
		return
	}
	if s.Store == nil {
		again(http.StatusUnauthorized, "Вход недоступен на этом сервере.")
		return
	}
	u, hash, err := s.Store.UserPassword(r.Context(), name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.pageError(w, r, p, err)
		return
	}
	ok := auth.PasswordMatches(hash, r.PostForm.Get("password"))
	if !ok || u == nil || u.Disabled {
		reason := "wrong password"
		switch {
		case u == nil:
			reason = "no such user"
		case u.Disabled && ok:
			reason = "user disabled"
		}
		locked := s.Limiter.Fail("user:"+name, "addr:"+addr)
		s.Log.Warn("sign-in failed", "user", name, "address", addr, "reason", reason, "locked_out", locked)
		again(http.StatusUnauthorized, "Неверное имя пользователя или пароль.")
		return
	}
	s.Limiter.Succeed("user:" + name)
	id, err := auth.NewSessionID()
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	exp := time.Now().Add(sessionTTL)
	if err := s.Store.CreateSession(r.Context(), auth.HashToken(id), u.ID, addr, exp); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	s.Log.Info("signed in", "user", u.Name, "role", u.Role, "address", addr)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on the server, not only in the browser: a copy
// of the cookie is worthless afterwards.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	p := s.newPage(w, r)
	if err := checkCSRF(w, r); err != nil {
		s.pageError(w, r, p, err)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && s.Store != nil {
		if err := s.Store.EndSession(r.Context(), auth.HashToken(c.Value)); err != nil {
			s.pageError(w, r, p, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// audit records an action of the request's principal; a failure to record
// is logged, the action stands.
func (s *Server) audit(r *http.Request, action, target string, detail map[string]any) {
	if s.Store == nil {
		return
	}
	if err := s.Store.Audit(r.Context(), actor(r), action, target, detail); err != nil {
		s.Log.Error("audit", "action", action, "target", target, "error", err)
	}
}

// auditLog is GET /api/v1/audit?action=rules&actor=ivanova&target=T&before=ID&limit=N.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	es, err := s.Store.AuditLog(r.Context(), store.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Target: q.Get("target"),
		Before: int64(queryInt(r, "before", 0)), Limit: queryInt(r, "limit", 100)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if es == nil {
		es = []store.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": es})
}

// listUsers is GET /api/v1/users: every user and every user's token (their
// ids, never the tokens). Admins only.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.Store.Users(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ts, err := s.Store.APITokens(r.Context(), "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if us == nil {
		us = []store.User{}
	}
	if ts == nil {
		ts = []store.APIToken{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": us, "tokens": ts})
}

// disableUser is POST /api/v1/users/{name}/disable: the user's sessions end
// and its tokens stop working at once. Admins only.
func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.Store.DisableUser(r.Context(), name, actor(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Log.Info("user disabled", "user", name, "by", actor(r))
	writeJSON(w, http.StatusOK, map[string]any{"user": name, "disabled": true})
}
