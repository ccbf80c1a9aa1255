package lifecycle

import (
	"fmt"
	"time"
)

// InternalTicket is a ticket that no message brought (a QC ticket, a
// recurring one). Ref is its unique source reference: creating it twice
// creates it once. Why says why it exists.
type InternalTicket struct {
	Ref, Why       string
	Client, Object string
	Category       *string
	Due, SLADue    *time.Time
	Team           string
	Tags           []string
	Problem        string
	State          State
}

// QCTicket is the quality-control ticket of completed ticket src, for the
// QC team: it is not dispatched to field engineers.
func QCTicket(src *Ticket) InternalTicket {
	ext := ""
	if src.ExternalID != nil {
		ext = " (" + *src.ExternalID + ")"
	}
	why := fmt.Sprintf("Контроль качества работ по заявке %s%s: %s", src.Number, ext, src.Problem)
	return InternalTicket{Ref: fmt.Sprintf("qc/%d", src.ID), Why: why, Client: src.Client, Object: src.Object, Category: src.Category,
		Team: "qc", Tags: []string{"qc"}, Problem: why, State: New}
}

// Period returns the period of kind ("week", "month", "quarter", "year")
// that contains t: its first day and the first day of the next one.
func Period(kind string, t time.Time) (start, end time.Time) {
	y, m, d := t.Date()
	loc := t.Location()
	switch kind {
	case "week":
		wd := (int(t.Weekday()) + 6) % 7 // Monday first
		start = time.Date(y, m, d-wd, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 0, 7)
	case "quarter":
		start = time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 3, 0)
	case "year":
		start = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(1, 0, 0)
	}
	start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 1, 0)
}

// RecurringTicket is the ticket of contract c for the period that holds
// now, due at the period's last second, with the period's start; and the
// engineer decision when the contract names one (nil: routing decides).
func RecurringTicket(c *Contract, now time.Time) (InternalTicket, time.Time, *Assignment) {
	start, end := Period(c.Period, now)
	due := end.Add(-time.Second)
	why := fmt.Sprintf("%s (договор %d, период с %s)", c.Problem, c.ID, start.Format("02.01.2006"))
	it := InternalTicket{Ref: fmt.Sprintf("recurring/%d/%s", c.ID, start.Format(time.DateOnly)), Why: why,
		Client: c.Client, Object: c.Object, Category: c.Category, Due: &due, SLADue: &due, Tags: []string{"recurring"}, Problem: why, State: New}
	var a *Assignment
	if c.Engineer != nil {
		a = &Assignment{Engineer: *c.Engineer, Reason: ReasonContract}
	}
	return it, start, a
}
