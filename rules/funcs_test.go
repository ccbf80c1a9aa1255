package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelpers evaluates each helper through the expression language, as a
// rule would call it.
func TestHelpers(t *testing.T) {
	sat := time.Date(2026, 3, 7, 21, 30, 0, 0, time.UTC) // a Saturday
	fri := time.Date(2026, 3, 6, 9, 0, 0, 0, time.UTC)
	env := &Env{
		From:        "orders@sd.pu.example",
		FromDomain:  "sd.pu.example",
		Subject:     "Заявка №123: не работает холодильник",
		Headers:     map[string]string{"List-Id": "<news.example>", "list-id": "<news.example>"},
		Text:        "Магазин PU-0042\nТелефон 8 (912) 345-67-89",
		Attachments: []Attachment{{Name: "Order.XML", Type: "application/xml", Size: 10}},
		Received:    sat,
		Now:         fri,
		Fields:      Fields{Emails: []string{"a@b.example"}, Phones: []string{"+79123456789"}},
	}
	cases := []struct {
		name string
		expr string
	}{
		{"domain", `domain("Ivan <Ivan@Shop.Example>") == "shop.example"`},
		{"domain without at", `domain("nobody") == ""`},
		{"domain_in exact", `domain_in(["pu.example", "vr.example"])`},
		{"domain_in needs a dot boundary", `!domain_in(["u.example"])`},
		{"domain_in with a field list", `domain_in(from_domain, ["sd.pu.example"])`},
		{"domain_in with an env list", `!domain_in(fields.emails)`},
		{"re", `re("(?i)магазин\\s+PU-\\d{4}", text)`},
		{"matches operator", `text matches "PU-\\d+"`},
		{"matches with a dynamic pattern", `subject matches ("№" + "\\d+")`},
		{"normalize_phone", `normalize_phone("8 (912) 345-67-89") in fields.phones`},
		{"normalize_phone not a phone", `normalize_phone("привет") == ""`},
		{"normalize_address", `normalize_address("г. Москва, ул. Ленина, д. 5") == normalize_address("Москва, улица Ленина 5")`},
		{"has_attachment by name", `has_attachment("*.xml")`},
		{"has_attachment by type", `has_attachment("application/*") && !has_attachment("*.pdf")`},
		{"contains_any ignores case", `contains_any(subject, ["ХОЛОДИЛЬНИК", "свет"])`},
		{"contains_any none", `!contains_any(subject, ["касса"])`},
		{"hour", `hour(received) == 21`},
		{"weekday", `weekday(received) == 6 && weekday(now) == 5`},
		{"workdays_between", `workdays_between(now, received) == 0 && workdays_between(now, add_workdays(now, 7)) == 7`},
		{"add_workdays from a weekend", `add_workdays(received, 1).Weekday().String() == "Monday"`},
		{"add_workdays backwards", `weekday(add_workdays(now, -5)) == 5 && add_workdays(now, -5) < now`},
		{"lower and upper", `lower("ПУ") == "пу" && upper("pu") == "PU"`},
		{"headers, both spellings", `headers["List-Id"] == headers["list-id"] && headers["x-missing"] == ""`},
		{"time arithmetic", `received - now > duration("24h")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prog, p := newCompiler().compile(tc.expr, kindBool)
			require.Nil(t, p, "%+v", p)
			ok, err := test(prog, env)
			require.NoError(t, err)
			assert.True(t, ok, tc.expr)
		})
	}
}

func TestWorkdays(t *testing.T) {
	mon := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		from time.Time
		n    int
		want time.Time
	}{
		{"zero", mon, 0, mon},
		{"within the week", mon, 4, mon.AddDate(0, 0, 4)},
		{"over a weekend", mon, 5, mon.AddDate(0, 0, 7)},
		{"many weeks", mon, 23, mon.AddDate(0, 0, 31)},
		{"saturday plus one", mon.AddDate(0, 0, 5), 1, mon.AddDate(0, 0, 7)},
		{"saturday plus five", mon.AddDate(0, 0, 5), 5, mon.AddDate(0, 0, 11)},
		{"sunday minus one", mon.AddDate(0, 0, 6), -1, mon.AddDate(0, 0, 4)},
		{"monday minus one", mon, -1, mon.AddDate(0, 0, -3)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := addWorkdays(tc.from, tc.n)
			assert.Equal(t, tc.want, got)
			if isWorkday(tc.from) {
				assert.Equal(t, tc.n, workdaysBetween(tc.from, got))
			}
		})
	}
}

func TestRegexInputCap(t *testing.T) {
	long := strings.Repeat("a", MaxRegexInput) + "NEEDLE"
	set := mustLoad(t, `
rules:
  - name: needle
    when: text matches "NEEDLE"
  - name: contains-sees-all
    when: text contains "NEEDLE"
`)
	res := set.Evaluate(StageRoute, &Env{Text: long})
	assert.Equal(t, []string{"contains-sees-all"}, res.Matched, "regex helpers look at the first MaxRegexInput bytes only")
}

func TestRegexCacheBound(t *testing.T) {
	c := newRegexCache()
	for i := range regexCacheSize + 10 {
		_, err := c.get(fmt.Sprintf("x%d", i))
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, len(c.m), regexCacheSize)
}
