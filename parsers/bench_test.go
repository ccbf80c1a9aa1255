package parsers

import (
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkNormalize runs Normalize over the fixture corpus (a mix of plain,
// HTML, multipart, forwarded and attachment-carrying mail).
func BenchmarkNormalize(b *testing.B) {
	var corpus [][]byte
	total := 0
	for _, f := range mailFixtures(b) {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		corpus = append(corpus, raw)
		total += len(raw)
	}
	b.SetBytes(int64(total / len(corpus)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := Normalize(corpus[i%len(corpus)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// fixtureTexts returns the decoded text of every fixture message.
func fixtureTexts(b *testing.B) []string {
	var out []string
	for _, f := range mailFixtures(b) {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		d, err := Normalize(raw)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, d.Text)
	}
	return out
}

// BenchmarkExplicitDue compares explicitDue with the version that ran
// reRelDay over every line with a digit (slowExplicitDue).
func BenchmarkExplicitDue(b *testing.B) {
	texts := fixtureTexts(b)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, moscowTest)
	b.Run("before", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			slowExplicitDue(texts[i%len(texts)], now)
		}
	})
	b.Run("after", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			explicitDue(texts[i%len(texts)], moscowTest, now)
		}
	})
}

// BenchmarkSignatureStart compares signatureStart with the version that ran
// both sign-off expressions over every line near the end (slowSignatureStart).
func BenchmarkSignatureStart(b *testing.B) {
	var texts [][]string
	for _, t := range fixtureTexts(b) {
		texts = append(texts, strings.Split(t, "\n"))
	}
	b.Run("before", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			slowSignatureStart(texts[i%len(texts)])
		}
	})
	b.Run("after", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			signatureStart(texts[i%len(texts)])
		}
	})
}

// BenchmarkCleanGreetings compares cleanGreetings with the version that ran
// closingLine over every line (slowCleanGreetings).
func BenchmarkCleanGreetings(b *testing.B) {
	texts := fixtureTexts(b)
	b.Run("before", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			slowCleanGreetings(texts[i%len(texts)])
		}
	})
	b.Run("after", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			cleanGreetings(texts[i%len(texts)])
		}
	})
}
