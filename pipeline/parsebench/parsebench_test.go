package parsebench

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCorpus checks that the corpus is what the benchmark claims: every
// message normalizes, the chains' formats, free text and ignored mail all
// occur, and the same seed gives the same bytes.
func TestCorpus(t *testing.T) {
	p, err := NewParser(moscowTest(t))
	require.NoError(t, err)
	c := Corpus(400, 1)
	assert.Equal(t, c, Corpus(400, 1))
	res := p.Run(c)
	assert.Zero(t, res.Errors)
	assert.Greater(t, res.Formats[""], 100, "free text")
	formats := 0
	for name, n := range res.Formats {
		if name != "" && name[0] != 'i' {
			formats += n
		}
	}
	assert.Greater(t, formats, 50, "chain formats: %v", res.Formats)
	t.Logf("%d messages, %d bytes; outcomes %v", res.Messages, res.Bytes, res.Formats)
}

// BenchmarkParse runs the parse stage (normalize plus extract through the
// shipped rules) over a generated corpus of 2,000 messages on one core.
//
//	go test ./pipeline/parsebench/ -run '^$' -bench Parse -benchtime 5x -count 5
//
// One op is one pass over the corpus; msg/s and MB/s are per message and per
// byte of raw mail of wall time, msg/cpu-s per second of the process's CPU
// time (on a shared machine wall time includes waiting for the core),
// peak-RSS-MB the process's VmHWM (which includes the
// test binary and the corpus).
func BenchmarkParse(b *testing.B) {
	p, err := NewParser(moscowTest(b))
	if err != nil {
		b.Fatal(err)
	}
	c := Corpus(2000, 1)
	size := Size(c)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.GC()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	n, cpu := 0, time.Duration(0)
	for b.Loop() {
		r := p.Run(c)
		n += r.Messages
		cpu += r.CPU
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msg/s")
	if cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "msg/cpu-s")
	}
	b.ReportMetric(float64(PeakRSS())/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(size)/float64(len(c)), "B/msg")
}

// moscowTest is the zone the corpus's dates are written in.
func moscowTest(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
