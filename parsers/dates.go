package parsers

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Date forms, each found anywhere in the string. The earliest date in the
// string wins, so "03.11.2026 01:00 (была: 02.11.2026 17:00)" is the new date.
var (
	reISO = regexp.MustCompile(`(?i)\b(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|MSK|МСК|UTC|GMT)?)?`)
	// 21.11.2026, 21.11.26, 21/11/2026, 21-11-2026
	reDMY = regexp.MustCompile(`\b(\d{1,2})([./-])(\d{1,2})([./-])(\d{4}|\d{2})\b`)
	// 21 ноября 2026, 21 ноя 2026 г., 07/ноя/26, 21-Nov-2026
	reDMonY = regexp.MustCompile(`(?i)\b(\d{1,2})(?:\s+|\s*[/.-]\s*)([а-яёa-z]{3,9})\.?(?:\s+|\s*[/.-]\s*)(\d{4}|\d{2})(?:\s*г(?:ода|\.)?)?`)
	// Nov 21, 2026; November 21 2026
	reMonDY = regexp.MustCompile(`(?i)\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})`)
	// 21 ноября (no year)
	reDMon   = regexp.MustCompile(`(?i)(?:^|[^\d])(\d{1,2})\s+([а-яё]{3,9})\b`)
	reTime   = regexp.MustCompile(`(?i)(?:^|[^\d:])(\d{1,2})[:.](\d{2})(?::(\d{2}))?(?:\s*([ap])\.?\s?m\.?\b)?(?:$|[^\d])`)
	reRelDay = regexp.MustCompile(`(?i)(послезавтра|позавчера|завтра|сегодня|вчера|today|tomorrow)`)
)

var monthPrefixes = []struct {
	prefix string
	month  time.Month
}{
	{"янв", 1}, {"фев", 2}, {"мар", 3}, {"апр", 4}, {"мая", 5}, {"май", 5}, {"мае", 5}, {"июн", 6}, {"июл", 7},
	{"авг", 8}, {"сен", 9}, {"окт", 10}, {"ноя", 11}, {"дек", 12},
	{"jan", 1}, {"feb", 2}, {"mar", 3}, {"apr", 4}, {"may", 5}, {"jun", 6}, {"jul", 7},
	{"aug", 8}, {"sep", 9}, {"oct", 10}, {"nov", 11}, {"dec", 12},
}

func monthByName(s string) (time.Month, bool) {
	s = strings.ToLower(s)
	for _, m := range monthPrefixes {
		if strings.HasPrefix(s, m.prefix) {
			return m.month, true
		}
	}
	return 0, false
}

type dateHit struct {
	start, end int
	y          int
	m          time.Month
	d          int
	// set when the form carries its own time (ISO)
	hasTime bool
	hh, mm  int
	ss      int
	zone    *time.Location
}

// ParseDate reads a date with an optional time in Russian, ISO or English
// forms ("21.11.2026 14:00", "2026-11-21T14:00:00+03:00", "21 ноября 2026 г.
// 14:00", "до 14:00 21.11.2026", "завтра до 12:00", "Nov 21, 2026 2:00 PM",
// "07/ноя/26 22:00"). Times without a zone are in loc (UTC when nil);
// relative days count from now. A date without a time is midnight.
func ParseDate(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	t, ok := parseDateAny(s, loc, now)
	return t, ok && sensibleTime(t)
}

func parseDateAny(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	if len(s) > 500 {
		s = s[:500]
	}
	hit, ok := findDate(s)
	if !ok {
		m := reRelDay.FindStringSubmatchIndex(s)
		if m == nil || now.IsZero() {
			return time.Time{}, false
		}
		n := now.In(loc)
		shift := map[string]int{"послезавтра": 2, "позавчера": -2, "завтра": 1, "tomorrow": 1, "сегодня": 0, "today": 0, "вчера": -1}[strings.ToLower(s[m[2]:m[3]])]
		day := n.AddDate(0, 0, shift)
		hit = dateHit{start: m[0], end: m[1], y: day.Year(), m: day.Month(), d: day.Day()}
	}
	if !hit.hasTime {
		if hh, mm, ss, ok := findTime(s, hit.start, hit.end); ok {
			hit.hasTime, hit.hh, hit.mm, hit.ss = true, hh, mm, ss
		}
	}
	zone := loc
	if hit.zone != nil {
		zone = hit.zone
	}
	t := time.Date(hit.y, hit.m, hit.d, hit.hh, hit.mm, hit.ss, 0, zone)
	if t.Day() != hit.d || t.Month() != hit.m {
		return time.Time{}, false // 31.02
	}
	return t, true
}

// msk is the zone a date names by the abbreviation MSK (МСК): Moscow time,
// UTC+3 all year since 2014. It is what the text says, not a default: times
// without a zone are in the caller's location.
var msk = time.FixedZone("MSK", 3*3600)

func findDate(s string) (dateHit, bool) {
	var best dateHit
	found := false
	consider := func(h dateHit) {
		if h.y < 1900 || h.y > 2200 || h.m < 1 || h.m > 12 || h.d < 1 || h.d > 31 {
			return
		}
		if !found || h.start < best.start {
			best, found = h, true
		}
	}
	for _, m := range reISO.FindAllStringSubmatchIndex(s, 3) {
		h := dateHit{start: m[0], end: m[1], y: atoi(s, m[2], m[3]), m: time.Month(atoi(s, m[4], m[5])), d: atoi(s, m[6], m[7])}
		if m[8] >= 0 {
			h.hasTime, h.hh, h.mm = true, atoi(s, m[8], m[9]), atoi(s, m[10], m[11])
			if m[12] >= 0 {
				h.ss = atoi(s, m[12], m[13])
			}
			if h.hh > 23 || h.mm > 59 || h.ss > 59 {
				continue
			}
			if m[14] >= 0 {
				h.zone = zoneOf(s[m[14]:m[15]])
			}
		}
		consider(h)
	}
	for _, m := range reDMY.FindAllStringSubmatchIndex(s, 3) {
		if s[m[4]:m[5]] != s[m[8]:m[9]] {
			continue // 21.11-2026
		}
		y := atoi(s, m[10], m[11])
		if m[11]-m[10] == 2 {
			y += 2000
		}
		consider(dateHit{start: m[0], end: m[1], y: y, m: time.Month(atoi(s, m[6], m[7])), d: atoi(s, m[2], m[3])})
	}
	for _, m := range reDMonY.FindAllStringSubmatchIndex(s, 3) {
		mon, ok := monthByName(s[m[4]:m[5]])
		if !ok {
			continue
		}
		y := atoi(s, m[6], m[7])
		if m[7]-m[6] == 2 {
			y += 2000
		}
		consider(dateHit{start: m[0], end: m[1], y: y, m: mon, d: atoi(s, m[2], m[3])})
	}
	for _, m := range reMonDY.FindAllStringSubmatchIndex(s, 3) {
		mon, ok := monthByName(s[m[2]:m[3]])
		if !ok {
			continue
		}
		consider(dateHit{start: m[0], end: m[1], y: atoi(s, m[6], m[7]), m: mon, d: atoi(s, m[4], m[5])})
	}
	return best, found
}

// findTime looks for a time right after the date (within a few words), else
// right before it ("до 14:00 21.11.2026"), else anywhere.
func findTime(s string, start, end int) (hh, mm, ss int, ok bool) {
	type cand struct {
		pos, hh, mm, ss int
	}
	var cands []cand
	for _, m := range reTime.FindAllStringSubmatchIndex(s, 10) {
		h, mi := atoi(s, m[2], m[3]), atoi(s, m[4], m[5])
		sec := 0
		if m[6] >= 0 {
			sec = atoi(s, m[6], m[7])
		}
		if m[8] >= 0 {
			ap := strings.ToLower(s[m[8]:m[9]])
			if h < 1 || h > 12 {
				continue
			}
			if ap == "p" && h != 12 {
				h += 12
			} else if ap == "a" && h == 12 {
				h = 0
			}
		}
		if h > 23 || mi > 59 || sec > 59 {
			continue
		}
		if m[6] < 0 && m[5]+1 < len(s) && strings.IndexByte("./-", s[m[5]]) >= 0 && s[m[5]+1] >= '0' && s[m[5]+1] <= '9' {
			continue // day and month of another date
		}
		// The match may start with the character before the hour.
		pos := m[2]
		if pos >= start && pos < end {
			continue // inside the date itself (21.11 of 21.11.2026)
		}
		cands = append(cands, cand{pos, h, mi, sec})
	}
	for _, c := range cands {
		if c.pos >= end && c.pos-end <= 16 {
			return c.hh, c.mm, c.ss, true
		}
	}
	for i := len(cands) - 1; i >= 0; i-- {
		if c := cands[i]; c.pos < start && start-c.pos <= 24 {
			return c.hh, c.mm, c.ss, true
		}
	}
	if len(cands) > 0 && cands[0].pos >= end {
		c := cands[0]
		return c.hh, c.mm, c.ss, true
	}
	return 0, 0, 0, false
}

func zoneOf(z string) *time.Location {
	switch strings.ToUpper(z) {
	case "Z", "UTC", "GMT":
		return time.UTC
	case "MSK", "МСК":
		return msk
	}
	sign := 1
	if z[0] == '-' {
		sign = -1
	}
	z = strings.ReplaceAll(z[1:], ":", "")
	if len(z) != 4 {
		return nil
	}
	h, _ := strconv.Atoi(z[:2])
	m, _ := strconv.Atoi(z[2:])
	if h > 14 || m > 59 {
		return nil
	}
	return time.FixedZone("", sign*(h*3600+m*60))
}

func atoi(s string, a, b int) int {
	if a < 0 || b > len(s) || a >= b {
		return 0
	}
	n, err := strconv.Atoi(s[a:b])
	if err != nil {
		return -1
	}
	return n
}
