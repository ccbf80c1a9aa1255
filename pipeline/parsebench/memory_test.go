package parsebench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

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

// peakBound is the most VmHWM a process parsing one BigMail may reach. The
// server is to stay under 150 MB while such a message goes through; an idle
// `intake serve` holds about 30 MB and the stage's row read (pgx's buffer
// plus the scanned raw) one more copy of the message, which leaves this for
// a test process holding the message, the parser and the parse. The largest
// message (25 MB in base64) is 34 MB of it.
const peakBound = 100 << 20

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
	for _, kind := range BigKinds {
		t.Run(kind, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSS$")
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
			assert.Less(t, p.HWM, int64(peakBound), "peak RSS %.1f MB over %d MB", mb(p.HWM), peakBound>>20)
		})
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func peakChild(kind string) {
	p, err := NewParser()
	if err != nil {
		panic(err)
	}
	raw := BigMail(kind, bigSizes[kind])
	runtime.GC()
	debug.FreeOSMemory()
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
