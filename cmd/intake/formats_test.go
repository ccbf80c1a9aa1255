package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/testdata/newchain"
)

// The worked example of docs/formats.md, «Зелёный Твист» (ZT), learned
// rather than written: its samples and reference CSVs are in
// testdata/newchain.
const newchainDir = "../../testdata/newchain"

func TestFormatsLearnWritesAFormatThatChecks(t *testing.T) {
	out := filepath.Join(t.TempDir(), "zt.yaml")
	var stdout, stderr bytes.Buffer
	args := []string{"formats", "learn", "--client", "ZT", "--name", "zt-learned", "--reference", filepath.Join(newchainDir, "reference"), "--out", out}
	for i := 1; i <= 5; i++ {
		args = append(args, filepath.Join(newchainDir, "mail", "000"+strconv.Itoa(i)+".eml"))
	}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "zt.yaml written from 5 samples")
	y, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(y), "name: zt-learned")
	assert.Contains(t, string(y), `# order number ZT-\d{4}-\d{6}`)
	assert.Contains(t, string(y), "labels: [Важность")

	// Without a database the check compiles the file (a DATABASE_URL of
	// the environment would have it read codes from a database of no
	// concern here).
	t.Setenv("DATABASE_URL", "")
	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"rules", "check", out}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "1 formats")
	assert.Contains(t, stdout.String(), "ok")
}

func TestFormatsLearnCheckScoresTheRest(t *testing.T) {
	var stdout, stderr bytes.Buffer
	mail := filepath.Join(newchainDir, "mail")
	err := run(context.Background(), []string{"formats", "learn", "--client", "ZT", "--reference", filepath.Join(newchainDir, "reference"),
		"--check", filepath.Join(mail, "labels.jsonl"), "--k", "5", mail}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	t.Log(stdout.String())
	assert.Contains(t, stdout.String(), "from 5 mails, scored on 17")
	for _, f := range []string{"format", "external_id", "object", "category", "priority", "due"} {
		m := regexp.MustCompile(`(?m)^\s+` + f + `\s+([\d.]+)%`).FindStringSubmatch(stdout.String())
		require.NotNil(t, m, "no line for %s", f)
		pct, _ := strconv.ParseFloat(m[1], 64)
		assert.GreaterOrEqual(t, pct, 97.0, f)
	}
}

func TestFormatsLearnBadInput(t *testing.T) {
	ref := filepath.Join(newchainDir, "reference")
	sample := filepath.Join(newchainDir, "mail", "0001.eml")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no client", []string{"formats", "learn", sample}, "--client"},
		{"unknown client", []string{"formats", "learn", "--client", "QQ", "--reference", ref, sample, sample}, `client "QQ"`},
		{"one sample", []string{"formats", "learn", "--client", "ZT", "--reference", ref, sample}, "at least 2 samples"},
		{"missing file", []string{"formats", "learn", "--client", "ZT", "--reference", ref, sample, "nope.eml"}, "nope.eml"},
		{"unknown subcommand", []string{"formats", "teach"}, "unknown formats command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), c.args, &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestOnboardNewChainByLearning onboards ZT as TestOnboardNewChainWithYAMLAlone
// does, but the format is learned from five of its mails, with the
// reference data read from the database: eval through the real pipeline
// then finds every field of every message right.
func TestOnboardNewChainByLearning(t *testing.T) {
	url := pgtest.URL(t)
	demoRef, _ := writeDemo(t)
	ztRef, mailDir := writeNewChain(t)
	importAll(t, url, demoRef, ztRef)
	learned := filepath.Join(t.TempDir(), "10-zt.yaml")
	args := []string{"formats", "learn", "--client", "ZT", "--name", "zt-helpdeskpro", "--out", learned}
	for _, n := range []string{"0001.eml", "0002.eml", "0003.eml", "0004.eml", "0005.eml"} {
		args = append(args, filepath.Join(mailDir, n))
	}
	out, errOut, err := runCLI(t, url, args...)
	require.NoError(t, err, errOut)
	assert.Contains(t, out, "written from 5 samples")
	y, err := os.ReadFile(learned)
	require.NoError(t, err)
	ruleDir := writeRuleDir(t, map[string][]byte{"10-zt.yaml": y})

	out, _, err = runCLI(t, url, "eval", "--rules", ruleDir, "--labels", filepath.Join(mailDir, "labels.jsonl"), "--min", "1", mailDir)
	require.NoError(t, err, "%s\n%s", out, y)
	n := strconv.Itoa(len(newchain.Mail()))
	acc := fieldAccuracy(out)
	for _, field := range replay.EvalFields {
		assert.Equal(t, n+"/"+n, acc[field], "field %s\n%s", field, out)
	}
}
