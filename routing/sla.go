package routing

import (
	"slices"
	"time"
)

// DefaultSLAHours applies when neither an override nor the category gives
// the hours.
const DefaultSLAHours = 24

// BusinessHours are a client's working hours: SLA clocks stop outside them.
type BusinessHours struct {
	// Days are the working weekdays; empty means Monday to Friday.
	Days []time.Weekday `json:"days,omitempty"`
	// Open and Close are offsets from local midnight. Close 0 means midnight
	// at the end of the day; Open == Close == 0 means the whole day.
	Open  time.Duration `json:"open"`
	Close time.Duration `json:"close"`
	// Location is the client's time zone; nil means the zone of the
	// received time. The caller loads it (time.LoadLocation reads files).
	Location *time.Location `json:"-"`
	// Holidays are non-working dates, "2006-01-02" in Location.
	Holidays []string `json:"holidays,omitempty"`
}

// SLAOverride replaces the category's SLA for a client, a category, or a
// client and category. Empty Client or Category matches any.
type SLAOverride struct {
	Client        string         `json:"client"`
	Category      string         `json:"category"`
	Hours         float64        `json:"hours"`
	BusinessHours *BusinessHours `json:"business_hours,omitempty"`
}

// SLA is the resolved service level of a ticket.
type SLA struct {
	Hours         float64
	BusinessHours *BusinessHours // nil: around the clock
	Source        string         // "override client+category", "override client", "override category", "category", "default"
}

// ResolveSLA picks the SLA for a client and category: the most specific
// override, else the category's hours, else DefaultSLAHours. Business hours
// come from the chosen override when it has them, else from the client.
func (d *Directory) ResolveSLA(client, category string, overrides []SLAOverride) SLA {
	var bh *BusinessHours
	if c := d.Client(client); c != nil {
		bh = c.BusinessHours
	}
	for _, level := range []struct {
		client, category, source string
	}{
		{client, category, "override client+category"},
		{client, "", "override client"},
		{"", category, "override category"},
	} {
		for _, o := range overrides {
			if o.Client == level.client && o.Category == level.category && o.Hours > 0 {
				s := SLA{Hours: o.Hours, BusinessHours: bh, Source: level.source}
				if o.BusinessHours != nil {
					s.BusinessHours = o.BusinessHours
				}
				return s
			}
		}
	}
	if c := d.Category(category); c != nil && c.SLAHours > 0 {
		return SLA{Hours: c.SLAHours, BusinessHours: bh, Source: "category"}
	}
	return SLA{Hours: DefaultSLAHours, BusinessHours: bh, Source: "default"}
}

// Due is when a ticket received at received must be done, slaHours later.
// With business hours only working time counts: a ticket received on Friday
// evening with 3 hours is due on Monday morning plus what was left. The
// result is in the business hours' zone (else in received's).
func Due(received time.Time, slaHours float64, bh *BusinessHours) time.Time {
	left := time.Duration(slaHours * float64(time.Hour))
	if bh == nil || left <= 0 {
		return received.Add(left)
	}
	loc := bh.Location
	if loc == nil {
		loc = received.Location()
	}
	open, closeAt := bh.Open, bh.Close
	if closeAt <= 0 || closeAt > 24*time.Hour {
		closeAt = 24 * time.Hour
	}
	if open < 0 || open >= closeAt {
		open = 0
	}
	t := received.In(loc)
	// Ten years of days bounds the walk when no day is a working day.
	for range 3660 {
		y, m, dd := t.Date()
		day := time.Date(y, m, dd, 0, 0, 0, 0, loc)
		next := time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
		if bh.workday(day) {
			from := day.Add(open)
			to := day.Add(closeAt)
			if to.After(next) {
				to = next
			}
			if t.Before(from) {
				t = from
			}
			if t.Before(to) {
				if avail := to.Sub(t); left <= avail {
					return t.Add(left)
				} else {
					left -= avail
				}
			}
		}
		t = next
	}
	return t
}

func (bh *BusinessHours) workday(day time.Time) bool {
	if len(bh.Days) == 0 {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return false
		}
	} else if !slices.Contains(bh.Days, day.Weekday()) {
		return false
	}
	return !slices.Contains(bh.Holidays, day.Format(time.DateOnly))
}
