package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/testdata/newchain"
)

// writeNewChain writes the new chain's reference data and mail to a folder.
func writeNewChain(t *testing.T) (refDir, mailDir string) {
	t.Helper()
	root := t.TempDir()
	refDir, mailDir = filepath.Join(root, "reference"), filepath.Join(root, "mail")
	require.NoError(t, os.MkdirAll(refDir, 0o755))
	require.NoError(t, os.MkdirAll(mailDir, 0o755))
	for _, f := range newchain.Reference() {
		require.NoError(t, os.WriteFile(filepath.Join(refDir, f.Name), f.Data, 0o644))
	}
	for _, f := range newchain.Mail() {
		require.NoError(t, os.WriteFile(filepath.Join(mailDir, f.Name), f.Data, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(mailDir, "labels.jsonl"), newchain.Labels(), 0o644))
	return refDir, mailDir
}

// writeRuleDir lays out a rule folder as docs/rules.md tells operations to:
// their own files first (10-...), a copy of the shipped defaults after them
// (90-defaults/...), since a folder is read in path order.
func writeRuleDir(t *testing.T, own map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range own {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	for _, f := range defaults.Files() {
		p := filepath.Join(dir, "90-defaults", filepath.FromSlash(strings.TrimPrefix(f.Name, "rules/defaults/")))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, f.Data, 0o644))
	}
	return dir
}

// importAll imports the demo's reference data, then the new chain's, the
// way operations add a client to a running installation.
func importAll(t *testing.T, url string, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		for _, kind := range reference.Kinds() {
			if _, err := os.Stat(filepath.Join(dir, kind+".csv")); os.IsNotExist(err) && kind == reference.KindEquipment {
				continue // a chain without registered equipment
			}
			out, _, err := runCLI(t, url, "import", kind, filepath.Join(dir, kind+".csv"))
			require.NoError(t, err, "%s/%s.csv: %s", dir, kind, out)
		}
	}
}

var fieldLine = regexp.MustCompile(`(?m)^\s+(\w+)\s+([\d.]+)%\s+\((\d+)/(\d+)\)$`)

// fieldAccuracy reads eval's per-field lines: field -> "correct/total".
func fieldAccuracy(out string) map[string]string {
	acc := map[string]string{}
	for _, m := range fieldLine.FindAllStringSubmatch(out, -1) {
		acc[m[1]] = m[3] + "/" + m[4]
	}
	return acc
}

// TestOnboardNewChainWithYAMLAlone onboards «Зелёный Твист» (ZT), a chain no
// Go code knows, as operations do it from docs/formats.md: import its
// reference data, check the format file, measure it with eval on labelled
// sample mail, apply it and try a mail. Every field must be right on every
// message: new orders, status changes, closures, a cancellation, a comment,
// the directors' own letters, forwards and a re-delivery.
func TestOnboardNewChainWithYAMLAlone(t *testing.T) {
	url := pgtest.URL(t)
	demoRef, _ := writeDemo(t)
	ztRef, mailDir := writeNewChain(t)
	importAll(t, url, demoRef, ztRef)
	ruleDir := writeRuleDir(t, map[string][]byte{"10-zt.yaml": newchain.Rules()})

	out, _, err := runCLI(t, url, "rules", "check", ruleDir)
	require.NoError(t, err, out)
	assert.Contains(t, out, ": ok")

	out, _, err = runCLI(t, url, "eval", "--rules", ruleDir, "--labels", filepath.Join(mailDir, "labels.jsonl"), "--min", "1", mailDir)
	require.NoError(t, err, out)
	n := len(newchain.Mail())
	acc := fieldAccuracy(out)
	for _, field := range replay.EvalFields {
		assert.Equal(t, strconv.Itoa(n)+"/"+strconv.Itoa(n), acc[field], "field %s\n%s", field, out)
	}
	assert.Contains(t, out, "0 violations")

	// Applied, the set is the one in force: try shows the format at work.
	out, _, err = runCLI(t, url, "rules", "apply", ruleDir)
	require.NoError(t, err, out)
	out, _, err = runCLI(t, url, "try", "--json", filepath.Join(mailDir, "0001.eml"), filepath.Join(mailDir, "0009.eml"))
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	for i, want := range []struct{ id, object string }{{"ZT-2026-000118", "ZT-MSK-0042"}, {"ZT-2026-000130", "ZT-VRN-0009"}} {
		var r replay.Result
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &r))
		assert.Equal(t, "ticket", r.Kind)
		assert.Contains(t, r.Rules, "zt-helpdeskpro")
		require.NotNil(t, r.ExternalID)
		assert.Equal(t, want.id, *r.ExternalID)
		require.NotNil(t, r.Object)
		assert.Equal(t, want.object, *r.Object)
	}
}

// TestNewChainNeedsItsYAML runs the same mail with the shipped defaults
// only: the notifications are then read as free text, and the chain's order
// numbers, deadlines and follow-ups are lost. So the YAML did the work.
func TestNewChainNeedsItsYAML(t *testing.T) {
	url := pgtest.URL(t)
	demoRef, _ := writeDemo(t)
	ztRef, mailDir := writeNewChain(t)
	importAll(t, url, demoRef, ztRef)
	ruleDir := writeRuleDir(t, nil)

	out, _, err := runCLI(t, url, "eval", "--rules", ruleDir, "--labels", filepath.Join(mailDir, "labels.jsonl"), "--min", "1", mailDir)
	require.Error(t, err, out)
	acc := fieldAccuracy(out)
	n := strconv.Itoa(len(newchain.Mail()))
	for _, field := range []string{"kind", "external_id", "due"} {
		assert.NotEqual(t, n+"/"+n, acc[field], "field %s should be missed without zt.yaml\n%s", field, out)
	}
	assert.Contains(t, out, `0001.eml external_id: got null, want "ZT-2026-000118"`)
	assert.Contains(t, out, `0003.eml kind: got "ticket", want "follow_up"`)
}
