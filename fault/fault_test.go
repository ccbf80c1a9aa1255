package fault

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type pgErr struct{ code string }

func (e pgErr) Error() string    { return "pg " + e.code }
func (e pgErr) SQLState() string { return e.code }

func TestIsPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("connection reset"), false},
		{context.DeadlineExceeded, false},
		{Permanent(errors.New("bad MIME")), true},
		{fmt.Errorf("parse item 3: %w", Permanent(errors.New("bad"))), true},
		{fmt.Errorf("saving: %w", pgErr{"22P05"}), true}, // \u0000 in jsonb
		{pgErr{"23505"}, true},                           // unique violation
		{pgErr{"40001"}, false},                          // serialization failure
		{pgErr{"57014"}, false},                          // query cancelled
	} {
		if got := IsPermanent(tc.err); got != tc.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) must be nil")
	}
}

func TestBackoffDoublesWithJitter(t *testing.T) {
	half := func() float64 { return 0.5 }
	cases := []struct {
		name string
		n    int
		want time.Duration
	}{
		{"first", 1, 7500 * time.Millisecond},
		{"second", 2, 15 * time.Second},
		{"capped", 30, 45 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Backoff(tc.n, 10*time.Second, time.Hour, half))
		})
	}
	zero := func() float64 { return 0 }
	one := func() float64 { return 1 }
	assert.Equal(t, 5*time.Second, Backoff(1, 10*time.Second, time.Hour, zero))
	assert.Equal(t, 10*time.Second, Backoff(1, 10*time.Second, time.Hour, one))
}
