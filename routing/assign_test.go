package routing

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAreaPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"45000000":    "45",
		"46760000":    "46760",
		"56701000":    "56701",
		"56701001":    "56701001",
		"56701001000": "56701001",
		"12":          "12",
	} {
		assert.Equal(t, want, areaPrefix(in), in)
	}
}

func considered(a Assignment, code string) Considered {
	for _, c := range a.Considered {
		if c.Code == code {
			return c
		}
	}
	return Considered{}
}

func TestAssign(t *testing.T) {
	d := fixtureDirectory(t)
	penza := d.Object("PU", "0001") // fixed engineer ENG-0001

	t.Run("fixed engineer first", func(t *testing.T) {
		a := d.Assign(penza, "refrigeration", nil, Policy{})
		assert.Equal(t, "ENG-0001", a.Engineer)
		assert.Equal(t, "store's fixed engineer", a.Reason)
		c := considered(a, "ENG-0001")
		assert.True(t, c.Fixed)
		assert.Equal(t, 1, c.Rank)
		assert.Equal(t, RejectInactive, considered(a, "ENG-0004").Rejected)
		assert.Equal(t, RejectBlacklisted, considered(a, "ENG-0005").Rejected)
		assert.Equal(t, RejectCompetence, considered(a, "ENG-0006").Rejected)
		// ENG-0003 covers Казань by area but is based next to the store.
		assert.True(t, considered(a, "ENG-0003").Eligible, "radius covers")
		require.NoError(t, CheckAssignment(d, penza, "refrigeration", a.Engineer, nil))
	})
	t.Run("fixed engineer at capacity: nearest then load then rating", func(t *testing.T) {
		load := map[string]int{"ENG-0001": 5}
		a := d.Assign(penza, "refrigeration", load, Policy{})
		assert.Equal(t, RejectCapacity, considered(a, "ENG-0001").Rejected)
		// ENG-0003 is 0.9 km away, ENG-0002 about 9 km.
		assert.Equal(t, "ENG-0003", a.Engineer, a.Reason)
		assert.Contains(t, a.Reason, "fixed engineer ENG-0001 at capacity")
		require.NoError(t, CheckAssignment(d, penza, "refrigeration", a.Engineer, load))
		// Checking the same pick with the fixed engineer free fails.
		require.ErrorIs(t, CheckAssignment(d, penza, "refrigeration", a.Engineer, nil), ErrAssignmentInvariant)
	})
	t.Run("exclude and prefer", func(t *testing.T) {
		a := d.Assign(penza, "refrigeration", nil, Policy{Exclude: []string{"ENG-0001"}, Prefer: []string{"ENG-0002"}})
		assert.Equal(t, "ENG-0002", a.Engineer)
		assert.Equal(t, RejectExcluded, considered(a, "ENG-0001").Rejected)
		assert.Equal(t, "preferred by rule", a.Reason)
	})
	t.Run("only", func(t *testing.T) {
		a := d.Assign(penza, "refrigeration", nil, Policy{Only: []string{"ENG-0002", "ENG-0007"}})
		assert.Equal(t, "ENG-0002", a.Engineer)
		assert.Len(t, a.Considered, 2)
		assert.Equal(t, RejectArea, considered(a, "ENG-0007").Rejected)
	})
	t.Run("forced by rule", func(t *testing.T) {
		a := d.Assign(penza, "refrigeration", nil, Policy{Engineer: "ENG-0002"})
		assert.Equal(t, "ENG-0002", a.Engineer)
		a = d.Assign(penza, "refrigeration", nil, Policy{Engineer: "ENG-0005"})
		assert.Equal(t, "ENG-0001", a.Engineer)
		assert.Contains(t, a.Reason, "rule's engineer ENG-0005 not eligible (blacklisted)")
	})
	t.Run("offer", func(t *testing.T) {
		a := d.Assign(penza, "refrigeration", nil, Policy{Mode: ModeOffer, OfferN: 2})
		assert.Empty(t, a.Engineer)
		assert.Equal(t, []string{"ENG-0001", "ENG-0003"}, a.Offer)
	})
	t.Run("none eligible explains", func(t *testing.T) {
		a := d.Assign(penza, "lighting", nil, Policy{})
		assert.Empty(t, a.Engineer)
		assert.Contains(t, a.Reason, "no eligible engineer: 6 considered")
		assert.Contains(t, a.Reason, "without lighting")
	})
	t.Run("area prefix covers sub-areas", func(t *testing.T) {
		moscow := d.Object("MG", "MG-26-884")
		a := d.Assign(moscow, "refrigeration", map[string]int{"ENG-0007": 1}, Policy{})
		assert.Equal(t, "ENG-0007", a.Engineer)
		a = d.Assign(moscow, "refrigeration", map[string]int{"ENG-0007": 2}, Policy{})
		assert.Empty(t, a.Engineer)
		assert.Contains(t, a.Reason, "at capacity")
	})
	t.Run("check catches every invariant", func(t *testing.T) {
		for eng, want := range map[string]string{
			"ENG-0004": RejectInactive, "ENG-0005": RejectBlacklisted, "ENG-0006": RejectCompetence,
			"ENG-0007": RejectArea, "ENG-9999": "unknown engineer",
		} {
			err := CheckAssignment(d, penza, "refrigeration", eng, nil)
			require.ErrorIs(t, err, ErrAssignmentInvariant, eng)
			assert.Contains(t, err.Error(), want)
		}
	})
}

func TestDue(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, msk)
		require.NoError(t, err)
		return tm
	}
	bh := &BusinessHours{Open: 9 * time.Hour, Close: 18 * time.Hour, Location: msk, Holidays: []string{"2026-11-04"}}
	tests := []struct {
		name     string
		received string
		hours    float64
		bh       *BusinessHours
		want     string
	}{
		{"around the clock", "2026-11-06 22:00", 3, nil, "2026-11-07 01:00"},
		{"within the day", "2026-11-02 10:00", 3, bh, "2026-11-02 13:00"},
		{"runs over the evening", "2026-11-02 16:00", 3, bh, "2026-11-03 10:00"},
		{"received before opening", "2026-11-02 07:30", 2, bh, "2026-11-02 11:00"},
		{"friday evening to monday", "2026-11-06 17:00", 3, bh, "2026-11-09 11:00"},
		{"weekend waits for monday", "2026-11-07 12:00", 1, bh, "2026-11-09 10:00"},
		{"holiday skipped", "2026-11-03 17:00", 2, bh, "2026-11-05 10:00"},
		// 9 h a day: Monday 9, Tuesday 9, Wednesday is a holiday, Thursday 6.
		{"several days", "2026-11-02 09:00", 24, bh, "2026-11-05 15:00"},
		{"every day, whole day", "2026-11-07 23:00", 2, &BusinessHours{Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, Location: msk}, "2026-11-08 01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, at(tt.want), Due(at(tt.received), tt.hours, tt.bh).In(msk))
		})
	}
}

func TestResolveSLA(t *testing.T) {
	cl := fixtureClients()
	bh := &BusinessHours{Open: 9 * time.Hour, Close: 18 * time.Hour}
	cl[0].BusinessHours = bh
	d, err := NewDirectory(cl, fixtureObjects(), fixtureEngineers(), fixtureContacts(), fixtureCategories())
	require.NoError(t, err)
	ov := []SLAOverride{
		{Category: "plumbing", Hours: 12},
		{Client: "PU", Hours: 10},
		{Client: "PU", Category: "refrigeration", Hours: 2},
	}
	s := d.ResolveSLA("PU", "refrigeration", ov)
	assert.Equal(t, SLA{Hours: 2, BusinessHours: bh, Source: "override client+category"}, s)
	assert.Equal(t, 10.0, d.ResolveSLA("PU", "plumbing", ov).Hours)
	assert.Equal(t, 12.0, d.ResolveSLA("PL", "plumbing", ov).Hours)
	s = d.ResolveSLA("PL", "lighting", ov)
	assert.Equal(t, SLA{Hours: 48, Source: "category"}, s)
	assert.Equal(t, "default", d.ResolveSLA("PL", "unknown", nil).Source)
}
