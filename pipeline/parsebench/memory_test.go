package parsebench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peakEnv names the BigMail kind a re-executed test binary parses.
const peakEnv = "INTAKE_PARSEBENCH_PEAK"

// peak is what one re-executed process reports.
type peak struct {
	Kind     string
	Raw      int64  // bytes of the message
	Before   int64  // VmRSS with the message made and the parser ready
	HWM      int64  // VmHWM after the parse
	Format   string // what extraction made of it, to show it still works
	Object   string // the first store code found in the text
	Ignored  string
	ParseErr string
}

// bigSizes are the content sizes measured: the 25 MB attachment and the
// 10 MB HTML table found to blow the server's memory up.
var bigSizes = map[string]int{BigPDF: 25 << 20, BigXML: 25 << 20, BigJSON: 25 << 20, BigCSV: 25 << 20, BigHTML: 10 << 20}

// The bounds on a process parsing one BigMail. The server is to stay under
// 150 MB while such a message goes through. Its parse stage holds the
// message twice for a while (the row as pgx read it and the scanned raw
// column), 70 MB for the largest here, and an idle `intake serve` is some
// 30 MB: that leaves about 50 MB, of which the parse may take parseGrowth,
// with room for the collector's slack on the rest. A test process holding
// the message and the parser idles at 57 MB with the largest message, so
// peakBound is that plus parseGrowth plus a few MB of margin.
const (
	parseGrowth = 20 << 20 // VmHWM over VmRSS just before the parse
	peakBound   = 80 << 20 // VmHWM of the whole process
)

// TestPeakRSS parses each BigMail in a fresh process (this test binary run
// again) and checks the process's peak resident set: the one honest figure,
// as it counts every copy the parse makes, freed or not, and what the
// garbage collector lets pile up before it runs.
//
//	go test ./pipeline/parsebench/ -run PeakRSS -v
func TestPeakRSS(t *testing.T) {
	if kind := os.Getenv(peakEnv); kind != "" {
		peakChild(kind)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is read from /proc")
	}
	if testing.Short() {
		t.Skip("parses 100 MB of generated mail")
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("VmHWM cannot be reset: %v", err)
	}
	bin := os.Args[0]
	if raceEnabled {
		// The race detector's shadow memory swamps the figures (the
		// process is 230 MB before the parse): measure a build without it.
		bin = filepath.Join(t.TempDir(), "parsebench.test")
		if out, err := exec.Command("go", "test", "-c", "-race=false", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Skipf("building the test binary without the race detector: %v\n%s", err, out)
		}
	}
	for _, kind := range BigKinds {
		t.Run(kind, func(t *testing.T) {
			cmd := exec.Command(bin, "-test.run=^TestPeakRSS$")
			cmd.Env = []string{peakEnv + "=" + kind}
			for _, e := range os.Environ() {
				// The server runs with the runtime's defaults; so does the measurement.
				if !strings.HasPrefix(e, "GOGC=") && !strings.HasPrefix(e, "GOMEMLIMIT=") && !strings.HasPrefix(e, peakEnv+"=") {
					cmd.Env = append(cmd.Env, e)
				}
			}
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			var p peak
			found := false
			for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
				if js, ok := strings.CutPrefix(sc.Text(), "PEAK "); ok {
					require.NoError(t, json.Unmarshal([]byte(js), &p))
					found = true
				}
			}
			require.True(t, found, "no report from the child: %s", out)
			t.Logf("%s: message %.1f MB, content %d MB; RSS before the parse %.1f MB, peak %.1f MB (+%.1f MB); format %q object %q",
				kind, mb(p.Raw), bigSizes[kind]>>20, mb(p.Before), mb(p.HWM), mb(p.HWM-p.Before), p.Format, p.Object)
			assert.Empty(t, p.ParseErr)
			assert.Empty(t, p.Ignored)
			assert.Equal(t, "РМ-007", p.Object, "the store code is still found in the text")
			assert.Less(t, p.HWM-p.Before, int64(parseGrowth), "the parse took %.1f MB, over %d MB", mb(p.HWM-p.Before), parseGrowth>>20)
			assert.Less(t, p.HWM, int64(peakBound), "peak RSS %.1f MB over %d MB", mb(p.HWM), peakBound>>20)
		})
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func peakChild(kind string) {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		panic(err)
	}
	p, err := NewParser(loc)
	if err != nil {
		panic(err)
	}
	raw := BigMail(kind, bigSizes[kind])
	debug.FreeOSMemory()
	// Making the message left garbage behind that pushed VmHWM up; start
	// the peak again from here ("5" resets it, Linux 4.0 and later).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		panic(fmt.Sprintf("resetting VmHWM: %v", err))
	}
	r := peak{Kind: kind, Raw: int64(len(raw)), Before: procStatus("VmRSS:")}
	o, err := p.Parse(raw)
	r.HWM = procStatus("VmHWM:")
	if err != nil {
		r.ParseErr = err.Error()
	}
	r.Format, r.Ignored = o.Format, o.Ignored
	if len(o.Fields.Codes) > 0 {
		r.Object = o.Fields.Codes[0]
	}
	runtime.KeepAlive(raw)
	js, _ := json.Marshal(r)
	fmt.Printf("PEAK %s\n", js)
}

// procStatus reads a kB figure of /proc/self/status in bytes.
func procStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkBigMail parses each BigMail; with -memprofile it shows where the
// parse's memory goes.
//
//	go test ./pipeline/parsebench/ -run '^$' -bench BigMail/html -benchtime 3x -memprofile mem.out
func BenchmarkBigMail(b *testing.B) {
	p, err := NewParser(moscowTest(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range BigKinds {
		b.Run(kind, func(b *testing.B) {
			raw := BigMail(kind, bigSizes[kind])
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
