// Package auth decides who may do what on Intake's HTTP side: the roles and
// what each may do, the password policy, the format of API tokens, and when
// repeated failed sign-ins lock a user or an address out. It holds no I/O:
// the store keeps users, tokens and sessions, web asks auth.
//
// Roles are cumulative. A dispatcher works the queues and tickets (reads the
// API, resolves, retries, re-dispatches); operations staff may also change
// rules, formats and reference data and read the audit log; an admin may
// also manage users and tokens, including engineers' tokens (a token for an
// engineer acts as that engineer). Engineers and approvers are not users:
// they carry their own tokens and signed links.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Role is a user's role.
type Role string

// The roles, from least to most allowed.
const (
	// Client is a client's system: it may only submit requests
	// (POST /api/v1/requests) and read what became of them.
	Client     Role = "client"
	Dispatcher Role = "dispatcher"
	Operations Role = "operations"
	Admin      Role = "admin"
)

// Roles lists the roles in order.
var Roles = []Role{Client, Dispatcher, Operations, Admin}

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: one of client, dispatcher, operations, admin", s)
}

// Permission is something a request needs.
type Permission int

// The permissions.
const (
	// Read: the API's GETs and the dispatcher pages.
	Read Permission = iota + 1
	// Work: resolve, retry, re-dispatch, cancel and close tickets, resend
	// notifications, make tickets from calls.
	Work
	// Configure: rules and formats, reference data, recurring work.
	Configure
	// Audit: the audit log.
	Audit
	// Manage: users and tokens, engineers' tokens.
	Manage
	// Submit: send requests through the request API and read their
	// status.
	Submit
)

func (p Permission) String() string {
	switch p {
	case Read:
		return "read"
	case Work:
		return "work"
	case Configure:
		return "configure"
	case Audit:
		return "audit"
	case Manage:
		return "manage"
	case Submit:
		return "submit"
	}
	return fmt.Sprintf("permission(%d)", int(p))
}

var grants = map[Role][]Permission{
	Client:     {Submit},
	Dispatcher: {Read, Work, Submit},
	Operations: {Read, Work, Configure, Audit, Submit},
	Admin:      {Read, Work, Configure, Audit, Manage, Submit},
}

// RoleFor is the least role that has p (Admin when none has it).
func RoleFor(p Permission) Role {
	for _, r := range []Role{Client, Dispatcher, Operations, Admin} {
		if r.Allows(p) {
			return r
		}
	}
	return Admin
}

// Allows reports whether role r has permission p. An unknown role has none.
func (r Role) Allows(p Permission) bool {
	for _, g := range grants[r] {
		if g == p {
			return true
		}
	}
	return false
}

// Required is the permission an API or page request needs, by method and
// path. Paths outside the API and the pages (health, metrics, webhooks,
// engineers' and approvers' endpoints, signed links) need none: 0.
func Required(method, path string) Permission {
	switch {
	case strings.HasPrefix(path, "/api/v1/engineer/"), strings.HasPrefix(path, "/api/v1/approvals/"), strings.HasPrefix(path, "/ui/static/"):
		return 0
	case path == "/form" || strings.HasPrefix(path, "/form/"):
		return 0 // the request form: no sign-in; a store's own link is signed
	case path == "/api/v1/requests" || strings.HasPrefix(path, "/api/v1/requests/"):
		return Submit
	case strings.HasPrefix(path, "/api/v1/engineers/") && strings.HasSuffix(path, "/tokens"):
		return Manage
	case path == "/api/v1/users", strings.HasPrefix(path, "/api/v1/users/"):
		return Manage
	case path == "/api/v1/audit":
		return Audit
	case strings.HasPrefix(path, "/api/v1/rules") && method != "GET" && method != "HEAD":
		return Configure
	case path == "/api/v1/recurring" && method != "GET" && method != "HEAD":
		return Configure
	case path == "/ui/rules", strings.HasPrefix(path, "/ui/rules/"), path == "/ui/reprocess", strings.HasPrefix(path, "/ui/reprocess/"),
		strings.HasPrefix(path, "/api/v1/reprocess"):
		return Configure // the rule editor and reprocessing are operations' tools
	case path == "/api/v1/try":
		return Configure // a dry run of the stages: the tool of whoever writes rules and formats
	case strings.HasPrefix(path, "/api/v1/"), strings.HasPrefix(path, "/ui/"):
		if method == "GET" || method == "HEAD" {
			return Read
		}
		return Work
	}
	return 0
}

// Password policy.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 72 // bcrypt reads no further
)

// ErrWeakPassword: the password breaks the policy.
var ErrWeakPassword = errors.New("password too weak")

// CheckPassword applies the policy: 12 to 72 bytes, not all one character,
// not the user's name.
func CheckPassword(user, password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return fmt.Errorf("%w: at least %d characters", ErrWeakPassword, MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return fmt.Errorf("%w: at most %d bytes", ErrWeakPassword, MaxPasswordLen)
	case strings.EqualFold(password, user), strings.Count(password, password[:1]) == len(password):
		return fmt.Errorf("%w: not the user name, not one repeated character", ErrWeakPassword)
	}
	return nil
}

// HashPassword hashes a password with bcrypt.
func HashPassword(password string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
}

// dummyHash is compared against when a user does not exist, so that an
// unknown name takes as long to refuse as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("intake-no-such-user"), bcrypt.DefaultCost)

// PasswordMatches reports whether password is the one hashed in hash; a nil
// hash (no such user) never matches but costs the same time.
func PasswordMatches(hash []byte, password string) bool {
	if hash == nil {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(password)) //nolint:errcheck
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// API tokens are "itk_" followed by 43 characters of base64url (32 random
// bytes). The first 12 characters identify a token on lists and in the
// audit log; only the SHA-256 of the whole token is stored.
const (
	TokenPrefix    = "itk_"
	MinTokenLen    = 32
	tokenIDLen     = 12
	tokenRandBytes = 32
)

// ErrShortToken: a presented token is shorter than any Intake issues.
var ErrShortToken = fmt.Errorf("token shorter than %d characters", MinTokenLen)

// NewToken returns a new random token.
func NewToken() (string, error) {
	b := make([]byte, tokenRandBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenID is the displayable prefix of a token.
func TokenID(token string) string {
	if len(token) <= tokenIDLen {
		return token
	}
	return token[:tokenIDLen]
}

// HashToken is what is stored of a token or a session id.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CheckTokenLen refuses a presented token too short to be one (configured
// tokens are held to the same length).
func CheckTokenLen(token string) error {
	if len(token) < MinTokenLen {
		return ErrShortToken
	}
	return nil
}

// NewSessionID returns a random session id for a cookie.
func NewSessionID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
