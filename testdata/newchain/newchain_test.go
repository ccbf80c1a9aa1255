package newchain

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/demo"
)

// TestGeneratedFilesAreCurrent fails when the generator changed and
// `go run ./testdata/newchain/gen` was not run.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	gen := Generate()
	for name, data := range gen {
		got, err := files.ReadFile(name)
		require.NoError(t, err, "%s is not written: run go run ./testdata/newchain/gen", name)
		assert.True(t, bytes.Equal(data, got), "%s is stale: run go run ./testdata/newchain/gen", name)
	}
	assert.Len(t, Mail(), len(gen)-len(Reference())-1, "mail/ holds a message the generator no longer writes")
}

// TestLabelsAreConsistent: every labelled store exists, every follow-up
// follows an earlier file, and every message has one label.
func TestLabelsAreConsistent(t *testing.T) {
	objects := map[string]bool{}
	rows, err := csv.NewReader(bytes.NewReader(mustRead("reference/objects.csv"))).ReadAll()
	require.NoError(t, err)
	for _, r := range rows[1:] {
		objects[r[1]] = true
	}
	seen := map[string]bool{}
	labels, err := demo.ParseLabels("mail/labels.jsonl", bytes.NewReader(Labels()))
	require.NoError(t, err)
	for _, l := range labels {
		if l.Object != nil {
			assert.True(t, objects[*l.Object], "%s: unknown store %s", l.File, *l.Object)
		}
		switch l.Kind {
		case "follow_up", "duplicate":
			require.NotNil(t, l.Follows, l.File)
			assert.True(t, seen[*l.Follows], "%s follows %s, which is not earlier", l.File, *l.Follows)
		default:
			assert.Nil(t, l.Follows, l.File)
		}
		seen[l.File] = true
	}
	assert.Len(t, seen, len(Mail()))
}
