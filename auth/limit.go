package auth

import (
	"sync"
	"time"
)

// Limiter counts failed sign-ins per key (a user name, an address) and locks
// a key out for Lockout once it has failed MaxFailures times within Window.
// A lockout expires on its own; a success clears the key. Now is the clock
// (time.Now when nil), injected so that tests decide when a lockout ends.
//
// It keeps its counts in memory: each replica limits on its own, which
// bounds guessing to MaxFailures per Window per replica.
type Limiter struct {
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
	Now         func() time.Time

	mu   sync.Mutex
	keys map[string]*attempts
}

type attempts struct {
	failures    []time.Time
	lockedUntil time.Time
}

// NewLimiter is a limiter of 5 failures in 15 minutes, locking out for 15
// minutes.
func NewLimiter() *Limiter {
	return &Limiter{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Locked reports whether any of keys is locked out, and until when.
func (l *Limiter) Locked(keys ...string) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		if a := l.keys[k]; a != nil && now.Before(a.lockedUntil) {
			return true, a.lockedUntil
		}
	}
	return false, time.Time{}
}

// Fail records a failure for each key and reports whether one of them is
// now locked out.
func (l *Limiter) Fail(keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = map[string]*attempts{}
	}
	now := l.now()
	locked := false
	for _, k := range keys {
		a := l.keys[k]
		if a == nil {
			a = &attempts{}
			l.keys[k] = a
		}
		kept := a.failures[:0]
		for _, t := range a.failures {
			if now.Sub(t) < l.Window {
				kept = append(kept, t)
			}
		}
		a.failures = append(kept, now)
		if len(a.failures) >= l.MaxFailures {
			a.lockedUntil = now.Add(l.Lockout)
			a.failures = a.failures[:0]
			locked = true
		}
	}
	l.prune(now)
	return locked
}

// Succeed clears a key's failures.
func (l *Limiter) Succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// prune drops keys with nothing left to remember, so that guessing from
// many addresses does not grow the map without bound.
func (l *Limiter) prune(now time.Time) {
	if len(l.keys) < 10000 {
		return
	}
	for k, a := range l.keys {
		if !now.Before(a.lockedUntil) && (len(a.failures) == 0 || now.Sub(a.failures[len(a.failures)-1]) >= l.Window) {
			delete(l.keys, k)
		}
	}
}
