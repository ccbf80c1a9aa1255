package parsers

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDate(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	now := time.Date(2026, 11, 20, 9, 30, 0, 0, msk)
	at := func(y int, m time.Month, d, hh, mm, ss int) time.Time { return time.Date(y, m, d, hh, mm, ss, 0, msk) }
	cases := []struct {
		name string
		in   string
		want time.Time
		ok   bool
	}{
		{"dotted with minutes", "21.11.2026 14:00", at(2026, 11, 21, 14, 0, 0), true},
		{"dotted with seconds", "21.11.2026 14:00:00", at(2026, 11, 21, 14, 0, 0), true},
		{"two-digit year", "21.11.26", at(2026, 11, 21, 0, 0, 0), true},
		{"iso space", "2026-11-21 14:00", at(2026, 11, 21, 14, 0, 0), true},
		{"iso with offset", "2026-11-21T14:00:00+03:00", at(2026, 11, 21, 14, 0, 0), true},
		{"iso utc", "2026-11-21T11:00:00Z", at(2026, 11, 21, 14, 0, 0), true},
		{"iso no zone", "2026-11-04T04:00:00", at(2026, 11, 4, 4, 0, 0), true},
		{"iso msk suffix", "2026-11-03 10:00:00 MSK", at(2026, 11, 3, 10, 0, 0), true},
		{"russian month with year mark and time", "21 ноября 2026 г. 14:00", at(2026, 11, 21, 14, 0, 0), true},
		{"russian month no time", "21 ноября 2026 г.", at(2026, 11, 21, 0, 0, 0), true},
		{"short month", "21 ноя 2026", at(2026, 11, 21, 0, 0, 0), true},
		{"time before date", "до 14:00 21.11.2026", at(2026, 11, 21, 14, 0, 0), true},
		{"tomorrow", "завтра до 12:00", at(2026, 11, 21, 12, 0, 0), true},
		{"today", "сегодня к 18:30", at(2026, 11, 20, 18, 30, 0), true},
		{"english", "Nov 21, 2026 2:00 PM", at(2026, 11, 21, 14, 0, 0), true},
		{"english am", "Nov 21, 2026 12:15 AM", at(2026, 11, 21, 0, 15, 0), true},
		{"jira", "07/ноя/26 22:00", at(2026, 11, 7, 22, 0, 0), true},
		{"changed, old value in parens", "03.11.2026 01:00:00 (была: 02.11.2026 17:00:00)", at(2026, 11, 3, 1, 0, 0), true},
		{"jira changed", "06/ноя/26 10:00  (было: 05/ноя/26 10:00)", at(2026, 11, 6, 10, 0, 0), true},
		{"range takes first", "с 21.11.2026 по 22.11.2026", at(2026, 11, 21, 0, 0, 0), true},
		{"may genitive", "1 мая 2026 9:05", at(2026, 5, 1, 9, 5, 0), true},
		{"impossible day", "31.02.2026 10:00", time.Time{}, false},
		{"bad month", "21.13.2026", time.Time{}, false},
		{"no date", "как можно скорее", time.Time{}, false},
		{"empty", "", time.Time{}, false},
		{"time only", "до 14:00", time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseDate(tc.in, msk, now)
			require.Equal(t, tc.ok, ok, "ok for %q", tc.in)
			if ok {
				assert.True(t, tc.want.Equal(got), "got %s want %s", got.Format(time.RFC3339), tc.want.Format(time.RFC3339))
			}
		})
	}
}

// moscowTest is the zone the fixtures were written in; the parsers take it
// as a parameter like any other.
var moscowTest = func() *time.Location {
	l, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	return l
}()

func TestParseDateTakesTheCallersZone(t *testing.T) {
	yekt, err := time.LoadLocation("Asia/Yekaterinburg")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		loc  *time.Location
		want string
	}{
		{"moscow", moscowTest, "2026-11-21T14:00:00+03:00"},
		{"yekaterinburg", yekt, "2026-11-21T14:00:00+05:00"},
		{"nil is utc", nil, "2026-11-21T14:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseDate("21.11.2026 14:00", tc.loc, time.Time{})
			require.True(t, ok)
			assert.Equal(t, tc.want, got.Format(time.RFC3339))
		})
	}
	// A zone written in the text wins over the caller's.
	got, ok := ParseDate("2026-11-03 10:00:00 MSK", yekt, time.Time{})
	require.True(t, ok)
	assert.Equal(t, "2026-11-03T10:00:00+03:00", got.Format(time.RFC3339))
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"21.11.2026 14:00", "2026-11-21T14:00:00+03:00", "21 ноября 2026 г. 14:00",
		"до 14:00 21.11.2026", "завтра до 12:00", "Nov 21, 2026 2:00 PM", "07/ноя/26 22:00", "1.1.1", "99:99 31.02.2026"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseDate(s, nil, now)
		if !ok && !got.IsZero() {
			t.Fatalf("not ok but a time: %v", got)
		}
		if ok && (got.Year() < 1900 || got.Year() > 2200) {
			t.Fatalf("year out of range: %v", got)
		}
	})
}
