// Package clocktest gives tests the instant they run at.
//
// Every test that involves the time of day or the date runs at Now, not at
// the wall clock. By default that is a Wednesday at 15:00 in Moscow, inside
// working hours; INTAKE_TEST_NOW (RFC 3339, e.g. 2026-03-08T03:00:00+03:00,
// a Sunday night) moves every such test to another instant, to show that
// none of them depends on when it runs:
//
//	INTAKE_TEST_NOW=2026-03-08T03:00:00+03:00 go test ./...
package clocktest

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/intakehq/intake/clock"
)

// Env names the variable that sets the instant.
const Env = "INTAKE_TEST_NOW"

// Default is the instant tests run at unless Env says otherwise: Wednesday
// 4 March 2026, 15:00 Moscow time (12:00 UTC).
var Default = time.Date(2026, time.March, 4, 12, 0, 0, 0, time.UTC)

// Now is the instant tests run at, in the zone the variable was written in
// (UTC for the default).
func Now(t testing.TB) time.Time {
	t.Helper()
	n, err := Instant()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Instant is Now for code that has no testing.TB (a TestMain, a package
// variable).
func Instant() (time.Time, error) {
	v := os.Getenv(Env)
	if v == "" {
		return Default, nil
	}
	n, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 instant such as 2026-03-08T03:00:00+03:00", Env, v)
	}
	return n, nil
}

// Clock is a clock that stands still at Now.
func Clock(t testing.TB) func() time.Time { return clock.Fixed(Now(t)) }
