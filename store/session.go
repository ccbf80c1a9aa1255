package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TryExclusive runs fn unless another holder of key (in any process on the
// database) is running it: a session advisory lock, released when fn returns
// or the holder's connection dies. ran is false when the lock was taken.
func (s *Store) TryExclusive(ctx context.Context, key string, fn func() error) (ran bool, err error) {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, key).Scan(&got); err != nil {
		return false, err
	}
	if !got {
		return false, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, key) //nolint:errcheck
	return true, fn()
}

// Listen listens on channels on one connection until ctx ends or the
// connection fails. It calls fn once it is listening (whatever was notified
// before reached nobody) and after each notification.
func (s *Store) Listen(ctx context.Context, channels []string, fn func()) error {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listening on %s: %w", ch, err)
		}
	}
	fn()
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		fn()
	}
}

// CreateDatabase creates database name on the server of adminURL (the role
// needs CREATEDB).
func CreateDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
	return err
}

// DropDatabase drops database name on the server of adminURL, if it exists,
// with whatever connections it still has.
func DropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	return err
}
