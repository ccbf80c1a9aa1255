package connectors

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ParseTime reads a desk's timestamp in any of the layouts, in loc when it
// carries no zone.
func ParseTime(s string, loc *time.Location, layouts ...string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if loc == nil {
		loc = time.UTC
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is in none of the known layouts", s)
}

// Cursor is the position after the last record pulled: its change time and
// id. Records are taken in (time, id) order, so a record is after the
// cursor exactly when its pair is greater.
type Cursor struct {
	At time.Time
	ID string
}

// ParseCursor reads "RFC3339Nano|id"; "" is the zero cursor.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	ts, id, _ := strings.Cut(s, "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Cursor{}, fmt.Errorf("cursor %q: %w", s, err)
	}
	return Cursor{At: t, ID: id}, nil
}

func (c Cursor) String() string {
	if c.At.IsZero() {
		return ""
	}
	return c.At.UTC().Format(time.RFC3339Nano) + "|" + c.ID
}

// Before reports whether (at, id) is after the cursor.
func (c Cursor) Before(at time.Time, id string) bool {
	if !at.Equal(c.At) {
		return at.After(c.At)
	}
	return lessID(c.ID, id)
}

// lessID orders ids numerically when both are numbers of the same form.
func lessID(a, b string) bool {
	if len(a) != len(b) {
		if isDigits(a) && isDigits(b) {
			return len(a) < len(b)
		}
	}
	return a < b
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// lessOrder orders by (UpdatedAt, id) with id the desk's key.
func lessOrder(a, b Order) bool {
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		return a.UpdatedAt.Before(b.UpdatedAt)
	}
	return lessID(cmp.Or(a.Key, a.ExternalID), cmp.Or(b.Key, b.ExternalID))
}

// Window keeps the orders after cur in (time, id) order, at most limit of
// them, and returns the page with its cursor.
func Window(orders []Order, cur Cursor, limit int) Page {
	var after []Order
	for _, o := range orders {
		if cur.Before(o.UpdatedAt, cmp.Or(o.Key, o.ExternalID)) {
			after = append(after, o)
		}
	}
	sortOrders(after)
	p := Page{Cursor: cur.String()}
	if limit > 0 && len(after) > limit {
		after, p.More = after[:limit], true
	}
	p.Orders = after
	if n := len(after); n > 0 {
		last := after[n-1]
		p.Cursor = Cursor{At: last.UpdatedAt, ID: cmp.Or(last.Key, last.ExternalID)}.String()
	}
	return p
}

func sortOrders(os []Order) {
	sort.SliceStable(os, func(i, j int) bool { return lessOrder(os[i], os[j]) })
}
