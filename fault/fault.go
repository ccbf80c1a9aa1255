// Package fault says whether an error can heal. It is the one place where
// Intake decides that retrying is pointless: the pipeline, the outbox and
// the connectors all ask it.
//
// Permanent: bad input (unreadable MIME, a payload that cannot be decoded, a
// 4xx answer from a service desk) and data the database refuses whatever
// the moment (SQLSTATE classes 22, data exception, and 23, integrity
// constraint violation). Everything else (a lost connection, a timeout, a
// 5xx) is transient and worth another attempt.
package fault

import (
	"errors"
	"time"
)

// PermanentError marks a failure that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// sqlStater is what database drivers' errors implement (pgconn.PgError).
type sqlStater interface{ SQLState() string }

// IsPermanent reports whether retrying err cannot help: it was marked
// Permanent, or it is a database error of class 22 or 23.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p *PermanentError
	if errors.As(err, &p) {
		return true
	}
	var s sqlStater
	if errors.As(err, &s) {
		code := s.SQLState()
		return len(code) == 5 && (code[:2] == "22" || code[:2] == "23")
	}
	return false
}

// Backoff is the delay before attempt n+1 after n failed attempts:
// base*2^(n-1), capped at max, with "equal jitter" (half fixed, half random)
// so that rows failed together by one outage do not return together.
func Backoff(n int, base, max time.Duration, rnd func() float64) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rnd()*float64(half))
}
