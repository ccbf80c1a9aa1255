// Package store is Intake's PostgreSQL layer: a pgx pool, the embedded
// migrations, reference data, the durable inbox, tickets and rule sets. SQL
// lives beside the method that runs it. Every state change is one transaction.
package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// ErrSchemaBehind is returned by CheckSchema when migrations are pending.
var ErrSchemaBehind = errors.New("database schema is behind: run `intake migrate`")

// Store wraps a pgx pool.
type Store struct {
	Pool *pgxpool.Pool
}

// Open connects to url and pings the server.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database url: %w", err)
	}
	if !strings.Contains(url, "sslmode") && os.Getenv("PGSSLMODE") == "" {
		plainOnLoopback(&cfg.ConnConfig.Config)
	}
	for _, o := range opts {
		o(cfg.ConnConfig)
	}
	// The bus subscribers, the stage handlers, the mailbox sources and HTTP
	// each hold connections: pgx's default (4 on two cores) starves them.
	if !strings.Contains(url, "pool_max_conns") && cfg.MaxConns < 24 {
		cfg.MaxConns = 24
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to database %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return &Store{Pool: pool}, nil
}

// plainOnLoopback drops TLS for a server on this machine's loopback address
// when the URL does not ask for a TLS mode: the bytes never leave the host,
// and encrypting them costs both sides CPU on every statement (libpq's
// default, "prefer", would use TLS wherever the server offers it). A URL
// with sslmode= is followed as written.
func plainOnLoopback(cc *pgconn.Config) {
	if cc.TLSConfig == nil || !isLoopback(cc.Host) {
		return
	}
	cc.TLSConfig = nil
	var plain []*pgconn.FallbackConfig
	for _, f := range cc.Fallbacks {
		if f.TLSConfig == nil {
			plain = append(plain, f)
		}
	}
	cc.Fallbacks = plain
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New wraps an existing pool.
func New(pool *pgxpool.Pool) *Store { return &Store{Pool: pool} }

// Close closes the pool.
func (s *Store) Close() { s.Pool.Close() }

// InTx runs fn in one transaction, committing when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.Pool, fn)
}

// isUniqueViolation reports whether err is a unique-constraint violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
