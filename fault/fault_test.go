package fault

import (
	"context"
	"errors"
	"fmt"
	"testing"
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
