package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// rulesYAML writes n route rules whose condition is when(i).
func rulesYAML(n int, when func(i int) string) []File {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: rule-%04d\n    when: %s\n    then:\n      priority: high\n      tags: [r%d]\n", i, when(i), i)
	}
	return []File{{Name: "bench.yaml", Data: []byte(b.String())}}
}

// benchText is a work order of about 4 KiB, the size of a typical
// notification body.
func benchText(size int) string {
	line := "Магазин FM0042, г. Москва, ул. Ленина, д. 5. Не холодит витрина, температура +12. Контакт: 8 (912) 345-67-89.\n"
	return strings.Repeat(line, size/len(line)+1)[:size]
}

// BenchmarkEvaluate1000Rules evaluates one message against 1,000 route rules.
//
//	go test -run '^$' -bench Evaluate1000Rules -benchmem ./rules/
func BenchmarkEvaluate1000Rules(b *testing.B) {
	cases := []struct {
		name string
		when func(i int) string
		text int
	}{
		// (a) 999 rules fail on a sender check, the last one matches.
		{"sender-check", func(i int) string {
			return fmt.Sprintf(`'from_domain == "chain-%d.example" && subject contains "заявка"'`, i)
		}, 4 << 10},
		// (b) worst case: every rule runs its own regular expression over
		// the whole text, and none but the last matches.
		{"regex-over-text-4KiB", func(i int) string {
			return fmt.Sprintf(`'text matches "заказ\\s+№\\s*%d\\b"'`, i)
		}, 4 << 10},
		// (?i) disables Go's literal-prefix scan: about 100 times slower.
		{"regex-ignore-case-4KiB", func(i int) string {
			return fmt.Sprintf(`'text matches "(?i)заказ\\s+№\\s*%d\\b"'`, i)
		}, 4 << 10},
		{"regex-over-text-64KiB", func(i int) string {
			return fmt.Sprintf(`'text matches "заказ\\s+№\\s*%d\\b"'`, i)
		}, MaxRegexInput},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			set, err := Load(rulesYAML(1000, tc.when))
			if err != nil {
				b.Fatal(err)
			}
			text := benchText(tc.text-len("заказ № 999")) + "заказ № 999"
			env := &Env{
				Source:     "mail",
				From:       "helpdesk@chain-999.example",
				FromDomain: "chain-999.example",
				Subject:    "Новая заявка №40512",
				Text:       text,
				Received:   time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC),
			}
			res := set.Evaluate(StageRoute, env)
			if len(res.Matched) != 1 || res.Matched[0] != "rule-0999" || len(res.Trace) != 1000 {
				b.Fatalf("matched %v after %d rules", res.Matched, len(res.Trace))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				set.Evaluate(StageRoute, env)
			}
		})
	}
}

// BenchmarkLoad1000Rules is the cost of compiling a large set at load.
func BenchmarkLoad1000Rules(b *testing.B) {
	files := rulesYAML(1000, func(i int) string {
		return fmt.Sprintf(`'from_domain == "chain-%d.example" && text matches "(?i)заказ\\s+%d"'`, i, i)
	})
	for b.Loop() {
		if _, err := Load(files); err != nil {
			b.Fatal(err)
		}
	}
}
