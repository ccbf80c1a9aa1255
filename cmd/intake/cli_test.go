package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// runCLI runs the intake command in-process against databaseURL.
func runCLI(t *testing.T, databaseURL string, args ...string) (string, string, error) {
	t.Helper()
	t.Setenv("DATABASE_URL", databaseURL)
	t.Setenv("INTAKE_CONFIG", "")
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// writeDemo writes the sample reference data and mail to a folder.
func writeDemo(t *testing.T) (refDir, mailDir string) {
	t.Helper()
	root := t.TempDir()
	refDir, mailDir = filepath.Join(root, "reference"), filepath.Join(root, "mail")
	require.NoError(t, os.MkdirAll(refDir, 0o755))
	require.NoError(t, os.MkdirAll(mailDir, 0o755))
	for _, f := range demo.Reference() {
		require.NoError(t, os.WriteFile(filepath.Join(refDir, f.Name), f.Data, 0o644))
	}
	for _, f := range demo.Mail() {
		require.NoError(t, os.WriteFile(filepath.Join(mailDir, f.Name), f.Data, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(mailDir, "labels.jsonl"), demo.Labels(), 0o644))
	return refDir, mailDir
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "intake.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("bus:\n  kind: kafka\nlog:\n  level: loud\nintake:\n  timezone: Mars/Base\n"), 0o600))
	_, err := loadConfig(cfgPath, func(string) string { return "" })
	require.Error(t, err)
	for _, want := range []string{`bus.kind: "kafka" is not one of postgres, nats`, `log.level: "loud"`, `intake.timezone: "Mars/Base"`} {
		assert.Contains(t, err.Error(), want)
	}

	require.NoError(t, os.WriteFile(cfgPath, []byte("htp:\n  addr: x\n"), 0o600))
	_, err = loadConfig(cfgPath, func(string) string { return "" })
	require.ErrorContains(t, err, "field htp not found")

	// The environment overrides the file, and secrets are read from files.
	secret := filepath.Join(t.TempDir(), "db")
	require.NoError(t, os.WriteFile(secret, []byte("postgres://u:p@h/db\n"), 0o600))
	require.NoError(t, os.WriteFile(cfgPath, []byte("http:\n  addr: ':1'\n"), 0o600))
	cfg, err := loadConfig(cfgPath, func(k string) string {
		return map[string]string{"DATABASE_URL_FILE": secret, "INTAKE_HTTP_ADDR": ":2"}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, "postgres://u:p@h/db", cfg.Database.URL)
	assert.Equal(t, ":2", cfg.HTTP.Addr)
}

func TestImportRefusesBrokenFileWhole(t *testing.T) {
	url := pgtest.URL(t)
	refDir, _ := writeDemo(t)
	for _, kind := range reference.Kinds() {
		out, _, err := runCLI(t, url, "import", kind, filepath.Join(refDir, kind+".csv"))
		require.NoError(t, err)
		assert.Contains(t, out, "import "+kind+":")
	}
	// A second import changes nothing.
	out, _, err := runCLI(t, url, "import", "objects", filepath.Join(refDir, "objects.csv"))
	require.NoError(t, err)
	assert.Contains(t, out, "0 inserted, 0 updated")

	// One broken row: refused with its line, nothing imported.
	data, err := os.ReadFile(filepath.Join(refDir, "objects.csv"))
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	lines = append(lines[:3], append([]string{"ZZ,9999,Broken,addr,city,region,45000000,55.7,37.6,LE,"}, lines[3:]...)...)
	broken := filepath.Join(t.TempDir(), "objects.csv")
	require.NoError(t, os.WriteFile(broken, []byte(strings.Join(lines, "\n")), 0o644))
	_, _, err = runCLI(t, url, "import", "objects", broken)
	require.ErrorContains(t, err, `objects.csv:4: client: unknown client "ZZ"`)
}

func TestTryJSONContract(t *testing.T) {
	url := pgtest.URL(t)
	refDir, mailDir := writeDemo(t)
	st, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, replay.ImportReferenceDir(context.Background(), st, refDir, &bytes.Buffer{}))

	files := []string{filepath.Join(mailDir, "0001.eml"), filepath.Join(mailDir, "0002.eml"), filepath.Join(mailDir, "0009.eml")}
	out, _, err := runCLI(t, url, append([]string{"try", "--json"}, files...)...)
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %q", sc.Text())
		for _, key := range []string{"file", "message_id", "kind", "client", "external_id", "object", "category", "priority", "due", "engineer", "ticket", "follows", "rules", "reason"} {
			assert.Contains(t, m, key, "line %d", n+1)
		}
		n++
	}
	require.Equal(t, len(files), n)

	// try writes nothing.
	var items, tickets int
	require.NoError(t, st.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM inbound_items), (SELECT count(*) FROM tickets)`).Scan(&items, &tickets))
	assert.Zero(t, items)
	assert.Zero(t, tickets)
	var used bool
	require.NoError(t, st.Pool.QueryRow(context.Background(), `SELECT is_called FROM tickets_id_seq`).Scan(&used))
	assert.False(t, used, "a dry run uses up no ticket number")

	// The human-readable form shows the trace.
	out, _, err = runCLI(t, url, "try", files[0])
	require.NoError(t, err)
	assert.Contains(t, out, "outcome:")
	assert.Contains(t, out, "rules:")
}

// TestEvalOnSampleSet runs eval on the labelled sample set through the real
// pipeline in a scratch database: the whole extraction chain must stay
// exact on it.
func TestEvalOnSampleSet(t *testing.T) {
	url := pgtest.URL(t)
	refDir, mailDir := writeDemo(t)
	out, _, err := runCLI(t, url, "eval", "--reference", refDir, "--labels", filepath.Join(mailDir, "labels.jsonl"), "--min", "1", mailDir)
	require.NoError(t, err, out)
	assert.Regexp(t, `assignments: [1-9]\d* checked, \d+ to the store's fixed engineer, 0 violations`, out)
	assert.Contains(t, out, "eval: 44 messages, kind 100.0%, client 100.0%, external_id 100.0%, object 100.0%, category 100.0%, due 100.0%")

	// This process's scratch database is gone (other test binaries may be
	// evaluating on the same server).
	st, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	defer st.Close()
	var scratch int
	require.NoError(t, st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)`, replay.EvalScratchPrefix()).Scan(&scratch))
	assert.Zero(t, scratch)
}

func TestDemoOnce(t *testing.T) {
	url := pgtest.URL(t)
	out, _, err := runCLI(t, url, "demo", "--once", "--http", "127.0.0.1:0")
	require.NoError(t, err, out)
	assert.Contains(t, out, "demo: received 44, tickets 22, follow-ups 17, duplicates 1, unmatched 1, ignored 3, failed 0")
}

func TestSLAConfig(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "intake.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(`
sla:
  business_hours:
    PU: {days: [mon, tue, wed, thu, fri], open: "08:00", close: "20:00", timezone: Europe/Moscow, holidays: ["2026-12-31"]}
    OK: {days: [someday], open: "8am"}
  overrides:
    - {client: PU, category: refrigeration, hours: 2}
    - {hours: 5}
`), 0o600))
	_, err := loadConfig(cfgPath, func(string) string { return "" })
	require.Error(t, err)
	for _, want := range []string{
		`sla.business_hours.OK.days: "someday" is not a weekday`,
		`sla.business_hours.OK.open: "8am" is not a time of day`,
		`sla.overrides[1]: give a client, a category or both`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "business_hours.PU")

	cfg := Config{SLA: SLAConfig{
		BusinessHours: map[string]BusinessHoursConfig{"PU": {Days: []string{"Mon", "friday"}, Open: "08:00", Close: "24:00"}},
		Overrides:     []SLAOverrideConfig{{Client: "PU", Category: "refrigeration", Hours: 2}},
	}}
	bhs, ovs, problems := cfg.SLA.build()
	require.Empty(t, problems)
	assert.Equal(t, []time.Weekday{time.Monday, time.Friday}, bhs["PU"].Days)
	assert.Equal(t, 8*time.Hour, bhs["PU"].Open)
	assert.Zero(t, bhs["PU"].Close, "24:00 is midnight")
	assert.Equal(t, 2.0, ovs[0].Hours)
}

// TestIngestTwice: a file ingested again by a later run is a re-delivery,
// recorded as a duplicate of the first; the same run repeated by name (after
// an interruption, say) writes nothing.
func TestIngestTwice(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	_, mailDir := writeDemo(t)
	file := filepath.Join(mailDir, "0001.eml")
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	itemOf := regexp.MustCompile(`: item (\d+), (\w+)`)
	ingest := func(args ...string) (int64, string, string) {
		t.Helper()
		out, _, err := runCLI(t, url, append([]string{"ingest"}, args...)...)
		require.NoError(t, err, out)
		m := itemOf.FindStringSubmatch(out)
		require.NotNil(t, m, out)
		id, err := strconv.ParseInt(m[1], 10, 64)
		require.NoError(t, err)
		return id, m[2], out
	}

	first, status, _ := ingest(file)
	require.Equal(t, "new", status)
	second, status, out := ingest("--wait", "5s", file)
	require.Equal(t, "duplicate", status)
	assert.Contains(t, out, fmt.Sprintf("item %d, duplicate of item %d", second, first))
	assert.Contains(t, out, fmt.Sprintf("%s: duplicate (re-delivery of item %d: the same bytes)", file, first), "the duplicate is finished at once")

	var stage, outcome string
	var dupOf *int64
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT stage, outcome, duplicate_of FROM inbound_items WHERE id = $1`, second).Scan(&stage, &outcome, &dupOf))
	assert.Equal(t, "done", stage)
	assert.Equal(t, "duplicate", outcome)
	require.NotNil(t, dupOf)
	assert.Equal(t, first, *dupOf)

	named, status, _ := ingest("--run", "batch-7", file)
	require.Equal(t, "duplicate", status)
	again, status, _ := ingest("--run", "batch-7", file)
	require.Equal(t, "known", status)
	require.Equal(t, named, again)

	var items, originals int
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE duplicate_of IS NULL) FROM inbound_items`).Scan(&items, &originals))
	assert.Equal(t, 3, items)
	assert.Equal(t, 1, originals)
}

// TestRulesCheckCodes: `rules check` reports a category the reference data
// does not have at its file, line and column, and `rules apply` refuses it;
// without a database it says that codes were not checked.
func TestRulesCheckCodes(t *testing.T) {
	url := pgtest.URL(t)
	refDir, _ := writeDemo(t)
	importAll(t, url, refDir)
	dir := t.TempDir()
	path := filepath.Join(dir, "10-alarms.yaml")
	rule := "rules:\n  - name: alarms\n    when: subject contains \"сигнализация\"\n    then:\n      category: securty\n"
	require.NoError(t, os.WriteFile(path, []byte(rule), 0o644))

	_, _, err := runCLI(t, url, "rules", "check", path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+`: rule "alarms", line 5 col 17: unknown category "securty": not in the reference data (did you mean "security"?)`)
	_, _, err = runCLI(t, url, "rules", "apply", "--comment", "охрана", path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown category "securty"`)

	out, _, err := runCLI(t, "", "rules", "check", path)
	require.NoError(t, err)
	assert.Contains(t, out, "codes not checked: no database configured")

	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(rule, "securty", "security", 1)), 0o644))
	out, _, err = runCLI(t, url, "rules", "check", path)
	require.NoError(t, err)
	assert.Contains(t, out, ": ok (codes checked against the reference data)")
	out, _, err = runCLI(t, url, "rules", "apply", "--comment", "охрана", path)
	require.NoError(t, err, out)
	st, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	defer st.Close()
	rs, err := st.LatestRuleSet(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "охрана", rs.Comment)
}
