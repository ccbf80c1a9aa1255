// Package clock is where Intake reads the wall clock to decide by it.
//
// Whatever depends on the time of day, the date or a deadline (working
// hours and SLA, rules that look at the hour, lifecycle timers and
// recurring tickets, the received_at of an inbound item, session and link
// expiry) takes its clock as a func() time.Time. cmd/intake gives it Wall;
// tests give it a fixed instant (clock/clocktest), so that no test depends on
// when it runs. Measuring a duration (latency, a timeout, a budget, a rate
// limit) reads time.Now directly: it decides nothing by the calendar.
// deps_test.go keeps time.Now out of everything else.
package clock

import "time"

// Wall is the real clock.
func Wall() time.Time { return time.Now() }

// Fixed is a clock that stands still at t.
func Fixed(t time.Time) func() time.Time { return func() time.Time { return t } }
