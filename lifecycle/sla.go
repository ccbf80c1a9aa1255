package lifecycle

import "time"

// SLA is where a ticket stands against its deadline.
type SLA string

// SLA standings.
const (
	SLANone    SLA = ""        // no deadline, or the work is done
	SLAOnTime  SLA = "on_time" // open, the deadline is more than AtRisk away
	SLAAtRisk  SLA = "at_risk" // open, the deadline is within AtRisk
	SLAOverdue SLA = "overdue" // open, the deadline has passed
)

// AtRisk is how close to its deadline an open ticket counts as at risk.
const AtRisk = 2 * time.Hour

// SLAOf places a ticket in state against its deadline due at now. The
// deadline is the SLA deadline when there is one, else the chain's due
// date. Done, closed and cancelled tickets have none.
func SLAOf(state State, due *time.Time, now time.Time) SLA {
	if due == nil || !state.Open() {
		return SLANone
	}
	switch left := due.Sub(now); {
	case left < 0:
		return SLAOverdue
	case left <= AtRisk:
		return SLAAtRisk
	}
	return SLAOnTime
}
