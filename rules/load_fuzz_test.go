package rules

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/intakehq/intake/parsers"
)

// The loader reads files that operations staff write and upload: any bytes
// must end in a compiled set or in a LoadError that says where, never in a
// panic. A set that loads must also run: the sample message below goes
// through every stage and every format without panicking, within the
// budget.

// FuzzLoadRules loads one fuzzed rule file.
func FuzzLoadRules(f *testing.F) {
	for _, file := range shippedFiles(f, "defaults/rules.yaml", "testdata/*.yaml", "testdata/chains/*.yaml") {
		f.Add(file.Data)
	}
	f.Add([]byte("rules:\n  - name: r\n    stage: route\n    when: subject contains \"x\"\n    then: {tags: [a]}\n"))
	f.Add([]byte("formats:\n  - name: f\nrules:\n  - name: d\n    stage: message\n    default: true\n    then: {format: f}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLoad(t, File{Name: "fuzz.yaml", Data: data})
	})
}

// FuzzLoadFormats loads one fuzzed format file on its own.
func FuzzLoadFormats(f *testing.F) {
	for _, file := range shippedFiles(f, "defaults/formats/*.yaml", "testdata/chains/*.yaml") {
		f.Add(file.Data)
	}
	f.Add([]byte("formats:\n  - name: f\n    fields:\n      external_id: {regex: '(?P<value>\\d+)', in: subject}\n"))
	f.Add([]byte("formats:\n  - name: f\n    match: from_domain == \"x\"\n    fields:\n      address: {xpath: //a}\n      category: {json: a.b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLoad(t, File{Name: "fuzz.yaml", Data: data})
	})
}

// checkLoad loads one fuzzed file and checks the outcome.
func checkLoad(t *testing.T, fuzzed File) {
	set, err := Load([]File{fuzzed})
	if err != nil {
		if set != nil {
			t.Fatal("a set together with an error")
		}
		var le *LoadError
		if !errors.As(err, &le) {
			t.Fatalf("error %T, want *LoadError: %v", err, err)
		}
		if len(le.Problems) == 0 {
			t.Fatal("LoadError without problems")
		}
		// YAML ends a line at CR LF, CR, LF, NEL, LS or PS.
		lines := regexp.MustCompile("\r\n|[\r\n\u0085\u2028\u2029]").Split(string(fuzzed.Data), -1)
		for _, p := range le.Problems {
			if p.File != fuzzed.Name {
				t.Fatalf("problem in %q, which is not the fuzzed file: %s", p.File, p)
			}
			if p.Msg == "" {
				t.Fatalf("problem without a message: %+v", p)
			}
			if p.Line < 0 || p.Line > len(lines)+1 || p.Column < 0 {
				t.Fatalf("problem at line %d col %d of a %d-line file: %s", p.Line, p.Column, len(lines), p)
			}
			if p.Line >= 1 && p.Line <= len(lines) && utf8.Valid(fuzzed.Data) {
				shown, _, _ := strings.Cut(p.Snippet, "\n")
				if want := strings.ReplaceAll(lines[p.Line-1], "\t", " "); shown != want {
					t.Fatalf("problem at line %d shows %q, not the line %q", p.Line, shown, want)
				}
			}
			if utf8.Valid(fuzzed.Data) && !utf8.ValidString(p.String()) {
				t.Fatalf("problem text is not valid UTF-8: %q", p.String())
			}
		}
		return
	}
	if set == nil {
		t.Fatal("no set and no error")
	}
	for _, st := range Stages {
		for _, r := range set.Rules(st) {
			if r.Stage != st {
				t.Fatalf("rule %q of stage %q listed under %q", r.Name, r.Stage, st)
			}
		}
	}
	runSample(t, set)
}

// runSample runs a set over a sample message: the formats' match
// expressions and extraction, and every stage.
func runSample(t *testing.T, set *Set) {
	set.Budget = Budget{Time: 50 * time.Millisecond}
	set.Counts = NewCounts()
	doc := &parsers.Document{
		From:    parsers.Address{Name: "Кузнецова Ольга", Email: "store0057@sd.pyatugol.ru"},
		To:      []parsers.Address{{Email: "intake@tehnoservis.example"}},
		Subject: "Fwd: WO0000000123456 Не работает касса",
		Text:    "Номер рабочего заказа: WO0000000123456\nМагазин: 0057\nАдрес: г. Казань, ул. Гагарина, д. 12\nПриоритет: Высокий\nСрок: 21.11.2026 14:00",
		Tables:  [][][]string{{{"Магазин", "0057"}, {"Приоритет", "Высокий"}}},
		Header:  map[string][]string{"Content-Type": {"text/plain"}},
	}
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	env := NewEnv("mail", doc, now, now)
	if cf, _ := set.SelectFormat(env); cf != nil && cf.Format != nil {
		env.SetFields(cf.Format.Extract(doc, parsers.ExtractContext{Now: now}))
	}
	for _, cf := range set.Formats() {
		if cf.Format != nil {
			cf.Format.Extract(doc, parsers.ExtractContext{Now: now})
		}
	}
	for _, st := range Stages {
		set.Evaluate(st, env)
	}
}

// shippedFiles reads the files that match the patterns, relative to the
// package folder.
func shippedFiles(tb testing.TB, patterns ...string) []File {
	tb.Helper()
	var out []File
	for _, pattern := range patterns {
		names, err := filepath.Glob(pattern)
		if err != nil || len(names) == 0 {
			tb.Fatalf("no files match %s: %v", pattern, err)
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, File{Name: name, Data: data})
		}
	}
	return out
}
