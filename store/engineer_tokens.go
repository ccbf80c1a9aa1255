package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrBadToken: the API token is unknown or revoked.
var ErrBadToken = errors.New("unknown or revoked token")

// CreateEngineerToken issues an API token for an engineer. Only its hash is
// stored: the token is shown once.
func (s *Store) CreateEngineerToken(ctx context.Context, engineer, label string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	tok := "eng_" + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(tok))
	_, err := s.Pool.Exec(ctx, `INSERT INTO engineer_tokens (token_sha256, engineer, label) VALUES ($1, $2, $3)`, sum[:], engineer, label)
	if err != nil {
		var exists bool
		if qerr := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM engineers WHERE code = $1)`, engineer).Scan(&exists); qerr == nil && !exists {
			return "", fmt.Errorf("engineer %s: %w", engineer, ErrNotFound)
		}
		return "", err
	}
	return tok, nil
}

// RevokeEngineerTokens revokes every token of an engineer.
func (s *Store) RevokeEngineerTokens(ctx context.Context, engineer string) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `UPDATE engineer_tokens SET revoked_at = now() WHERE engineer = $1 AND revoked_at IS NULL`, engineer)
	return tag.RowsAffected(), err
}

// EngineerByToken returns the engineer an API token belongs to.
func (s *Store) EngineerByToken(ctx context.Context, token string) (string, error) {
	sum := sha256.Sum256([]byte(token))
	var code string
	err := s.Pool.QueryRow(ctx, `SELECT t.engineer FROM engineer_tokens t JOIN engineers e ON e.code = t.engineer
		WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND e.status <> 'blacklisted'`, sum[:]).Scan(&code)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrBadToken
	}
	return code, err
}
