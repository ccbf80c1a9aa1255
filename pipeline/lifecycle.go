package pipeline

import (
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/routing"
)

// LifecycleRouter lets the lifecycle run routing again over the directory
// in force (dir is read at each call).
func LifecycleRouter(dir func() *routing.Directory) lifecycle.Router {
	return func(t *lifecycle.Ticket, r lifecycle.Reroute) lifecycle.Assignment {
		d := dir()
		if d == nil {
			return lifecycle.Assignment{Reason: ReasonNoDirectory}
		}
		obj := d.Object(t.Client, t.Object)
		if obj == nil || t.Category == nil {
			return lifecycle.Assignment{Reason: ReasonNoCategory}
		}
		return LifecycleAssignment(d.Assign(obj, *t.Category, r.Loads, routing.Policy{Mode: r.Mode, OfferN: r.OfferN, Exclude: r.Exclude}))
	}
}

// LifecycleAssignment is routing's decision as the lifecycle takes it.
func LifecycleAssignment(a routing.Assignment) lifecycle.Assignment {
	out := lifecycle.Assignment{Engineer: a.Engineer, Offer: a.Offer, Reason: a.Reason}
	for _, c := range a.Considered {
		if c.Eligible {
			out.Ranked = append(out.Ranked, c.Code)
		}
		out.Considered = append(out.Considered, lifecycle.Candidate{Code: c.Code, Fixed: c.Fixed, DistanceKm: c.DistanceKm, Load: c.Load,
			Rating: c.Rating, Eligible: c.Eligible, Rejected: c.Rejected, Rank: c.Rank})
	}
	return out
}
