package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Users, API tokens, sessions and the audit log. Passwords arrive hashed and
// tokens and session ids as their SHA-256: the store never sees a secret.
// Every change to a user or a token is written to the audit log in the same
// transaction.

// ErrUserExists: a user of that name exists already.
var ErrUserExists = errors.New("user exists")

// User is a person who signs in: a dispatcher, operations staff or an admin.
type User struct {
	ID        int64     `json:"id" db:"id"`
	Name      string    `json:"name" db:"name"`
	Role      string    `json:"role" db:"role"`
	Disabled  bool      `json:"disabled" db:"disabled"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

const userColumns = `u.id, u.name, u.role, u.disabled, u.created_at`

// AddUser creates a user.
func (s *Store) AddUser(ctx context.Context, name, role string, passwordHash []byte, actor string) (*User, error) {
	var u *User
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		u, err = one[User](ctx, tx, "", `INSERT INTO users AS u (name, role, password_hash) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO NOTHING RETURNING `+userColumns, name, role, passwordHash)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("user %s: %w", name, ErrUserExists)
		}
		if err != nil {
			return fmt.Errorf("adding user %s: %w", name, err)
		}
		return audit(ctx, tx, actor, "user.add", name, map[string]any{"role": role})
	})
	return u, err
}

// Users lists every user by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[User])
}

// UserPassword returns a user and its password hash, for signing in.
// Unknown users are ErrNotFound.
func (s *Store) UserPassword(ctx context.Context, name string) (*User, []byte, error) {
	var u User
	var hash []byte
	err := s.Pool.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.name = $1`, name).
		Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &u.CreatedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	return &u, hash, nil
}

// DisableUser disables a user: its sessions end and its tokens stop working
// at once.
func (s *Store) DisableUser(ctx context.Context, name, actor string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		id, err := oneValue[int64](ctx, tx, `UPDATE users SET disabled = true WHERE name = $1 RETURNING id`, name)
		if err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "user.disable", name, nil)
	})
}

// SetPassword replaces a user's password and ends its sessions.
func (s *Store) SetPassword(ctx context.Context, name string, passwordHash []byte, actor string) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		id, err := oneValue[int64](ctx, tx, `UPDATE users SET password_hash = $2 WHERE name = $1 RETURNING id`, name, passwordHash)
		if err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "user.passwd", name, nil)
	})
}

// HasUsers reports whether any user is enabled: without one, and without
// configured tokens, nobody can sign in.
func (s *Store) HasUsers(ctx context.Context) (bool, error) {
	return oneValue[bool](ctx, s.Pool, `SELECT EXISTS (SELECT 1 FROM users WHERE NOT disabled)`)
}

// APIToken is a token as listed: never the token itself.
type APIToken struct {
	ID         int64      `json:"id" db:"id"`
	User       string     `json:"user" db:"user_name"`
	Prefix     string     `json:"prefix" db:"prefix"`
	Label      string     `json:"label" db:"label"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at" db:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at" db:"revoked_at"`
}

// CreateAPIToken stores a new token of a user by its hash and displayable
// prefix.
func (s *Store) CreateAPIToken(ctx context.Context, user, prefix string, tokenSHA256 []byte, label, actor string) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		id, err = oneValue[int64](ctx, tx, `INSERT INTO api_tokens (user_id, prefix, token_sha256, label)
			SELECT id, $2, $3, $4 FROM users WHERE name = $1 AND NOT disabled RETURNING id`, user, prefix, tokenSHA256, label)
		if err != nil {
			return fmt.Errorf("enabled user %s: %w", user, err)
		}
		return audit(ctx, tx, actor, "token.create", user, map[string]any{"token": prefix, "label": label})
	})
	return id, err
}

// RevokeAPITokens revokes a user's tokens: the one whose prefix is given,
// or all of them when prefix is "". It returns how many were revoked.
func (s *Store) RevokeAPITokens(ctx context.Context, user, prefix, actor string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_tokens t SET revoked_at = now() FROM users u
			WHERE u.id = t.user_id AND u.name = $1 AND ($2 = '' OR t.prefix = $2) AND t.revoked_at IS NULL`, user, prefix)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return audit(ctx, tx, actor, "token.revoke", user, map[string]any{"token": prefix, "revoked": n})
	})
	return n, err
}

// APITokens lists a user's tokens (every user's when user is "").
func (s *Store) APITokens(ctx context.Context, user string) ([]APIToken, error) {
	rows, err := s.Pool.Query(ctx, `SELECT t.id, u.name AS user_name, t.prefix, t.label, t.created_at, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE $1 = '' OR u.name = $1 ORDER BY t.id`, user)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[APIToken])
}

// UserByToken returns the enabled user holding the unrevoked token with this
// hash, else ErrBadToken.
func (s *Store) UserByToken(ctx context.Context, tokenSHA256 []byte) (*User, error) {
	u, err := one[User](ctx, s.Pool, "", `UPDATE api_tokens t SET last_used_at = now() FROM users u
		WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND u.id = t.user_id AND NOT u.disabled
		RETURNING `+userColumns, tokenSHA256)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrBadToken
	}
	return u, err
}

// CreateSession records a signed-in browser session by its id's hash.
func (s *Store) CreateSession(ctx context.Context, idSHA256 []byte, userID int64, address string, expires time.Time) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO sessions (id_sha256, user_id, address, expires_at) VALUES ($1, $2, $3, $4)`,
		idSHA256, userID, address, expires)
	if err != nil {
		return fmt.Errorf("creating session: %w", err)
	}
	// Expired sessions of anyone are dropped as new ones are made.
	_, err = s.Pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < now() - interval '1 day'`)
	return err
}

// SessionUser returns the enabled user of an unexpired session, else
// ErrNotFound.
func (s *Store) SessionUser(ctx context.Context, idSHA256 []byte) (*User, error) {
	return one[User](ctx, s.Pool, "session", `SELECT `+userColumns+` FROM sessions x JOIN users u ON u.id = x.user_id
		WHERE x.id_sha256 = $1 AND x.expires_at > now() AND NOT u.disabled`, idSHA256)
}

// EndSession deletes a session.
func (s *Store) EndSession(ctx context.Context, idSHA256 []byte) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM sessions WHERE id_sha256 = $1`, idSHA256)
	return err
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     int64           `json:"id" db:"id"`
	At     time.Time       `json:"at" db:"at"`
	Actor  string          `json:"actor" db:"actor"`
	Action string          `json:"action" db:"action"`
	Target string          `json:"target" db:"target"`
	Detail json.RawMessage `json:"detail" db:"detail"`
}

// Audit records an action by an authenticated actor.
func (s *Store) Audit(ctx context.Context, actor, action, target string, detail map[string]any) error {
	return audit(ctx, s.Pool, actor, action, target, detail)
}

func audit(ctx context.Context, q Querier, actor, action, target string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	rows, err := q.Query(ctx, `INSERT INTO audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4)`, actor, action, target, b)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	rows.Close()
	return rows.Err()
}

// AuditFilter selects audit entries: by action (a prefix: "token" finds
// token.create and token.revoke), actor and target, newest first, before an
// id.
type AuditFilter struct {
	Action, Actor, Target string
	Before                int64
	Limit                 int
}

// AuditLog lists audit entries, newest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, at, actor, action, target, detail FROM audit_log
		WHERE ($1 = '' OR action = $1 OR action LIKE $1 || '.%') AND ($2 = '' OR actor = $2) AND ($3 = '' OR target = $3)
		  AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, f.Action, f.Actor, f.Target, f.Before, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByName[AuditEntry])
}
