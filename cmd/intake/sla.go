package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/intakehq/intake/routing"
)

// SLAConfig: service levels beyond the categories' hours. Rules may still
// override a ticket's hours (the sla_hours action).
type SLAConfig struct {
	// BusinessHours per client code: SLA clocks of that client run only in
	// them (a ticket received on Friday evening is due on Monday).
	BusinessHours map[string]BusinessHoursConfig `yaml:"business_hours"`
	// Overrides replace a category's hours for a client, a category, or
	// both; the most specific wins.
	Overrides []SLAOverrideConfig `yaml:"overrides"`

	// In routing's terms, made once by resolve.
	businessHours map[string]*routing.BusinessHours
	overrides     []routing.SLAOverride
}

// resolve builds the routing terms once; the problems name their keys.
func (c *SLAConfig) resolve() []string {
	bhs, ovs, problems := c.build()
	c.businessHours, c.overrides = bhs, ovs
	return problems
}

// BusinessHoursConfig is one client's working time.
type BusinessHoursConfig struct {
	Days     []string `yaml:"days"`  // mon..sun; empty: Monday to Friday
	Open     string   `yaml:"open"`  // "08:00"
	Close    string   `yaml:"close"` // "20:00"; "24:00" or "00:00" for midnight
	Timezone string   `yaml:"timezone"`
	Holidays []string `yaml:"holidays"` // "2026-12-31"
}

// SLAOverrideConfig is one override.
type SLAOverrideConfig struct {
	Client        string               `yaml:"client"`
	Category      string               `yaml:"category"`
	Hours         float64              `yaml:"hours"`
	BusinessHours *BusinessHoursConfig `yaml:"business_hours"`
}

var weekdays = map[string]time.Weekday{"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday}

func (b BusinessHoursConfig) build(key string) (*routing.BusinessHours, []string) {
	var problems []string
	bh := &routing.BusinessHours{Holidays: b.Holidays}
	for _, d := range b.Days {
		wd, ok := weekdays[strings.ToLower(strings.TrimSpace(d))[:min(3, len(strings.TrimSpace(d)))]]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s.days: %q is not a weekday (mon..sun)", key, d))
			continue
		}
		bh.Days = append(bh.Days, wd)
	}
	clock := func(field, v string) time.Duration {
		if v == "" {
			return 0
		}
		var h, m int
		if _, err := fmt.Sscanf(v, "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
			problems = append(problems, fmt.Sprintf("%s.%s: %q is not a time of day such as 08:00", key, field, v))
			return 0
		}
		return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	}
	bh.Open, bh.Close = clock("open", b.Open), clock("close", b.Close)
	if bh.Close == 24*time.Hour {
		bh.Close = 0
	}
	if b.Timezone != "" {
		loc, err := time.LoadLocation(b.Timezone)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.timezone: %q: %v", key, b.Timezone, err))
		}
		bh.Location = loc
	}
	for _, h := range b.Holidays {
		if _, err := time.Parse("2006-01-02", h); err != nil {
			problems = append(problems, fmt.Sprintf("%s.holidays: %q is not a date such as 2026-12-31", key, h))
		}
	}
	return bh, problems
}

// build turns the configuration into routing's terms, with every problem
// named by its key.
func (c SLAConfig) build() (map[string]*routing.BusinessHours, []routing.SLAOverride, []string) {
	var problems []string
	bhs := map[string]*routing.BusinessHours{}
	for client, b := range c.BusinessHours {
		bh, p := b.build("sla.business_hours." + client)
		problems = append(problems, p...)
		bhs[client] = bh
	}
	var ovs []routing.SLAOverride
	for i, o := range c.Overrides {
		key := fmt.Sprintf("sla.overrides[%d]", i)
		if o.Hours <= 0 {
			problems = append(problems, key+".hours: must be positive")
		}
		if o.Client == "" && o.Category == "" {
			problems = append(problems, key+": give a client, a category or both")
		}
		ov := routing.SLAOverride{Client: o.Client, Category: o.Category, Hours: o.Hours}
		if o.BusinessHours != nil {
			bh, p := o.BusinessHours.build(key + ".business_hours")
			problems = append(problems, p...)
			ov.BusinessHours = bh
		}
		ovs = append(ovs, ov)
	}
	return bhs, ovs, problems
}
