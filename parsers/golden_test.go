package parsers

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/mail")

const mailDir = "../testdata/mail"

func mailFixtures(t testing.TB) []string {
	files, err := filepath.Glob(filepath.Join(mailDir, "*.eml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "run go run ./testdata/mail/gen from the module root")
	return files
}

// TestGolden compares the Document of every fixture with its golden JSON.
func TestGolden(t *testing.T) {
	for _, f := range mailFixtures(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			d, err := Normalize(raw)
			require.NoError(t, err)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(d))
			got := buf.Bytes()
			golden := filepath.Join(mailDir, name+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "missing golden file; run with -update")
			assert.Equal(t, string(want), string(got))
		})
	}
}
