package parsers

import (
	"os"
	"testing"
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
