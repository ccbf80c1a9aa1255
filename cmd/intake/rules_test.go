package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// syncBuffer is a log sink that the server writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is `intake serve` running in-process on a fresh database with
// the sample reference data and no stored rule set (the shipped defaults).
// Its clock stands still at testNow: every item it ingests is received then
// and the rules and the lifecycle see it as now, so the shipped rules that
// look at the hour (tag-after-hours) decide the same at any time of day the
// test runs, and as hourTags expects at the instant clocktest gives.
type testServer struct {
	st   *store.Store
	eng  *engine
	base string
	logs *syncBuffer
}

// testNow is the instant a test server lives at (clocktest: a Wednesday at
// 15:00 in Moscow unless INTAKE_TEST_NOW says otherwise).
var testNow = func() time.Time {
	n, err := clocktest.Instant()
	if err != nil {
		panic(err)
	}
	return n
}()

// testConfig is the configuration of an empty file and environment, as
// loadConfig makes it (with the zone loaded).
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg, err := loadConfig("", func(string) string { return "" })
	require.NoError(t, err)
	return cfg
}

// hourTags are tags as the shipped rules leave them on an item received at
// testNow: tag-after-hours adds after-hours outside 08:00-20:00 on workdays,
// read in the server's zone. The tests pass at any instant clocktest gives.
func (s *testServer) hourTags(tags ...string) []string {
	local := testNow.In(s.eng.cfg.Intake.Location)
	if h, wd := local.Hour(), local.Weekday(); h < 8 || h >= 20 || wd == time.Saturday || wd == time.Sunday {
		return append(tags, "after-hours")
	}
	return tags
}

func startTestServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	pgtest.ImportDemo(t, st)

	cfg := testConfig(t)
	cfg.Database.URL = url
	cfg.Bus.PollInterval = Duration(10 * time.Millisecond)
	cfg.Pipeline.RetryInitial = Duration(50 * time.Millisecond)
	logs := &syncBuffer{}
	log := newLogger(LogConfig{Level: "info"}, logs)
	eng, err := newEngine(ctx, cfg, st, log)
	require.NoError(t, err)
	eng.setClock(func() time.Time { return testNow })
	reg := prometheus.NewRegistry()
	src, err := newSources(cfg, eng, log, reg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runServer(runCtx, eng, src, ln, log, reg) }()
	t.Cleanup(func() {
		stop()
		assert.NoError(t, <-done, "serve stops cleanly; log:\n%s", logs.String())
	})
	s := &testServer{st: st, eng: eng, base: "http://" + ln.Addr().String(), logs: logs}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "server did not become healthy; log:\n%s", logs.String())
	}
	return s
}

// call sends a JSON request and decodes the JSON answer.
func (s *testServer) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// applyFiles posts a rule set made of files and the shipped defaults, as
// operations staff do: their own files first, so their rules run first.
func (s *testServer) applyFiles(t *testing.T, own map[string]string) (int, map[string]any) {
	t.Helper()
	files := map[string]string{}
	for _, f := range defaults.Files() {
		files[f.Name] = string(f.Data)
	}
	for name, data := range own {
		files[name] = data
	}
	return s.call(t, http.MethodPost, "/api/v1/rules", map[string]any{"files": files, "by": "test"})
}

// ingest stores one mail through the inbox, as a mailbox does, received at
// testNow, and waits for the running pipeline to give it its outcome.
func (s *testServer) ingest(t *testing.T, raw []byte, ref string) int64 {
	t.Helper()
	ctx := context.Background()
	key, mid := ingest.MailKeys(raw)
	// The database stamps received_at with its own clock; the item is
	// restamped in the inbox's transaction, before the pipeline can see it.
	receivedAt := func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE inbound_items SET received_at = $3 WHERE source = $1 AND source_ref = $2`, flow.SourceMail, ref, testNow)
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("restamping %s: %d rows", ref, tag.RowsAffected())
		}
		return err
	}
	res, err := s.eng.inbox.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: ref, DedupKey: key, MessageID: mid, Raw: raw}}, receivedAt)
	require.NoError(t, err)
	require.Equal(t, ingest.StatusNew, res[0].Status)
	require.NoError(t, replay.WaitDone(ctx, s.st, res[0].ID, 30*time.Second), "log:\n%s", s.logs.String())
	return res[0].ID
}

// processed is what the pipeline recorded for an item that became a ticket.
type processed struct {
	Outcome      string
	RulesVersion int64
	Rules        []string
	Priority     string
	Tags         []string
}

func (s *testServer) processed(t *testing.T, id int64) processed {
	t.Helper()
	var p processed
	var rulesJSON []byte
	require.NoError(t, s.st.Pool.QueryRow(context.Background(), `
		SELECT i.outcome, coalesce(i.rules_version, -1), coalesce(i.decision->'rules', '[]'), coalesce(t.priority, ''), coalesce(t.tags, '{}')
		FROM inbound_items i LEFT JOIN tickets t ON t.id = i.ticket_id WHERE i.id = $1`, id).
		Scan(&p.Outcome, &p.RulesVersion, &rulesJSON, &p.Priority, &p.Tags))
	require.NoError(t, json.Unmarshal(rulesJSON, &p.Rules))
	return p
}

// demoMail returns a sample mail by file name with a fresh Message-ID, so
// that it is not a duplicate of an earlier copy.
func demoMail(t *testing.T, name, tag string) []byte {
	t.Helper()
	for _, f := range demo.Mail() {
		if f.Name == name {
			out := messageIDHeader.ReplaceAll(f.Data, []byte("${1}"+tag+"."))
			require.NotEqual(t, f.Data, out, "%s has a Message-ID", name)
			return out
		}
	}
	t.Fatalf("no sample mail %s", name)
	return nil
}

// puRule is an operations rule for client PU that leaves a visible mark:
// the ticket's priority and a tag.
func puRule(name, priority, tag string) string {
	return fmt.Sprintf(`rules:
  - name: %s
    description: PU orders, contract test.
    when: client.code == "PU"
    then:
      priority: %s
      tags: [%s]
      continue: true
`, name, priority, tag)
}

// TestRulesBrokenSetRefusedOnRunningServer applies a good rule set to a
// running server, then a broken one: the broken one is refused with the
// file, rule, line and column of each mistake, and the server goes on
// processing new mail with the good one.
func TestRulesBrokenSetRefusedOnRunningServer(t *testing.T) {
	s := startTestServer(t)
	ctx := context.Background()

	code, body := s.applyFiles(t, map[string]string{"00-pu.yaml": puRule("pu-low", "low", "pu-v1")})
	require.Equal(t, http.StatusOK, code, body)
	good := int64(body["version"].(float64))
	require.Positive(t, good)
	waitRulesVersion(t, s, good)

	first := s.processed(t, s.ingest(t, demoMail(t, "0001.eml", "v1"), "test/0001"))
	assert.Equal(t, processed{Outcome: "ticket", RulesVersion: good, Priority: "low", Tags: s.hourTags("pu-v1"),
		Rules: first.Rules}, first)
	assert.Contains(t, first.Rules, "pu-low")

	// A set with an unknown name and a bad regular expression.
	broken := `rules:
  - name: pu-typo
    when: client.code == "PU" && subjet contains "касса"
    then:
      priority: critical
  - name: pu-bad-regex
    when: subject matches "(?i)[касса"
    then:
      tags: [pos]
`
	wantProblems := []string{
		`00-pu.yaml: rule "pu-typo", line 3 col 34: unknown name "subjet"`,
		`00-pu.yaml: rule "pu-bad-regex", line 7 col 27: bad regular expression: missing closing ]`,
	}
	for _, path := range []string{"/api/v1/rules/check", "/api/v1/rules"} {
		files := map[string]string{"00-pu.yaml": broken}
		for _, f := range defaults.Files() {
			files[f.Name] = string(f.Data)
		}
		code, body := s.call(t, http.MethodPost, path, map[string]any{"files": files})
		require.Equal(t, http.StatusUnprocessableEntity, code, "%s: %v", path, body)
		assert.Equal(t, false, body["ok"], path)
		msg, _ := body["error"].(string)
		for _, want := range wantProblems {
			assert.Contains(t, msg, want, path)
		}
		// Each problem also comes as a record a client can show by itself.
		problems, _ := body["problems"].([]any)
		require.Len(t, problems, 2, "%s: %v", path, body)
		p0 := problems[0].(map[string]any)
		assert.Equal(t, map[string]any{"file": "00-pu.yaml", "rule": "pu-typo", "line": 3.0, "column": 34.0}, map[string]any{
			"file": p0["file"], "rule": p0["rule"], "line": p0["line"], "column": p0["column"]}, path)
		assert.Contains(t, p0["snippet"], `subjet contains "касса"`, path)
	}

	// Nothing was stored: the API still shows the good version, which stays
	// in force on the running pipeline.
	code, body = s.call(t, http.MethodGet, "/api/v1/rules", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, float64(good), body["version"])
	latest, err := s.st.RuleSetVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, good, latest)

	second := s.processed(t, s.ingest(t, demoMail(t, "0010.eml", "after-broken"), "test/0010"))
	assert.Equal(t, processed{Outcome: "ticket", RulesVersion: good, Priority: "low", Tags: s.hourTags("pu-v1"),
		Rules: second.Rules}, second)
	assert.Equal(t, good, s.eng.proc.Runtime().RulesVersion)
	assert.NotContains(t, s.logs.String(), "level=ERROR")

	// A stored set that does not compile (written by hand, or by a release
	// that knows more functions) is refused by the running server too, and
	// said once; reference data changed meanwhile are still picked up.
	_, _, err = s.st.SaveRuleSet(ctx, "hand-written", []store.RuleSource{{Name: "00-pu.yaml", Data: broken}}, "psql")
	require.NoError(t, err)
	refused := fmt.Sprintf("rule set version %d refused, version %d stays active", good+1, good)
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(s.logs.String(), refused); time.Sleep(5 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "no refusal logged; log:\n%s", s.logs.String())
	}
	assert.Contains(t, s.logs.String(), `unknown name \"subjet\"`)
	for _, f := range demo.Reference() {
		if f.Name == "categories.csv" {
			data := bytes.Replace(f.Data, []byte(",hvac,24,"), []byte(",hvac,12,"), 1)
			require.NotEqual(t, f.Data, data)
			_, err := s.st.Import(ctx, "categories", f.Name, bytes.NewReader(data), nil)
			require.NoError(t, err)
		}
	}
	dv, err := s.st.DirectoryVersion(ctx)
	require.NoError(t, err)
	for deadline := time.Now().Add(15 * time.Second); s.eng.proc.Runtime().DirVersion != dv; time.Sleep(5 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "reference data not reloaded; log:\n%s", s.logs.String())
	}
	assert.Equal(t, 12.0, s.eng.proc.Runtime().Directory.Category("hvac").SLAHours)
	third := s.processed(t, s.ingest(t, demoMail(t, "0022.eml", "after-stored-broken"), "test/0022"))
	assert.Equal(t, processed{Outcome: "ticket", RulesVersion: good, Priority: "low", Tags: s.hourTags("pu-v1"),
		Rules: third.Rules}, third)
	assert.Equal(t, 1, strings.Count(s.logs.String(), refused), "the refusal is logged once")
}

// TestRulesHotReload applies new versions to a running server: the
// pipeline switches to each within seconds, without a restart, and the mail
// that comes next is processed with it.
func TestRulesHotReload(t *testing.T) {
	s := startTestServer(t)
	assert.Zero(t, s.eng.proc.Runtime().RulesVersion, "shipped defaults before any apply")

	mails := []string{"0001.eml", "0010.eml", "0022.eml"}
	for i, v := range []struct{ priority, tag string }{{"low", "pu-v1"}, {"critical", "pu-v2"}, {"high", "pu-v3"}} {
		applied := time.Now()
		code, body := s.applyFiles(t, map[string]string{"00-pu.yaml": puRule("pu-"+v.tag, v.priority, v.tag)})
		require.Equal(t, http.StatusOK, code, body)
		version := int64(body["version"].(float64))
		switched := waitRulesVersion(t, s, version)
		t.Logf("version %d: in force %s after the apply returned (%s after the request was sent)",
			version, switched.Round(time.Microsecond), time.Since(applied).Round(time.Microsecond))

		got := s.processed(t, s.ingest(t, demoMail(t, mails[i], "hot"), "test/"+mails[i]))
		assert.Equal(t, processed{Outcome: "ticket", RulesVersion: version, Priority: v.priority, Tags: s.hourTags(v.tag),
			Rules: got.Rules}, got, "version %d", version)
		assert.Contains(t, got.Rules, "pu-"+v.tag)
	}
	assert.Contains(t, s.logs.String(), "rule set switched")
}

// waitRulesVersion waits until the running pipeline has version in force
// and returns how long that took.
func waitRulesVersion(t *testing.T, s *testServer, version int64) time.Duration {
	t.Helper()
	start := time.Now()
	for s.eng.proc.Runtime().RulesVersion != version {
		require.Less(t, time.Since(start), 15*time.Second, "version %d not in force; log:\n%s", version, s.logs.String())
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// TestRulesBacktest stores 1,000 mails processed with the shipped rules,
// then backtests the shipped rules plus one change: client OK's orders go
// to the dispatchers. The printed diff must be exactly what the stored
// outcomes say the change does, and the live database must not change.
func TestRulesBacktest(t *testing.T) {
	const n = 1000
	ctx := context.Background()
	url := pgtest.URL(t)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	pgtest.ImportDemo(t, st)

	// The live history: n mails through the real pipeline.
	start := time.Now()
	cfg := testConfig(t)
	cfg.Database.URL = url
	cfg.Bus.PollInterval = Duration(time.Millisecond)
	cfg.Pipeline.RetryInitial = Duration(50 * time.Millisecond)
	eng, err := newEngine(ctx, cfg, st, newLogger(LogConfig{Level: "warn"}, io.Discard))
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return eng.pipe.Run(gctx) })
	// One at a time, as a quiet mailbox delivers them: then the stored
	// outcomes are what a replay in order gives (engineers' loads at
	// assignment depend on which tickets exist by then).
	for i, raw := range sampleMessages(n) {
		key, mid := ingest.MailKeys(raw)
		res, err := eng.inbox.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: fmt.Sprintf("orders/INBOX/%d", i+1), DedupKey: key, MessageID: mid, Raw: raw}}, nil)
		require.NoError(t, err)
		require.NoError(t, replay.WaitDone(ctx, st, res[0].ID, time.Minute))
	}
	stop()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		require.NoError(t, err)
	}
	counts, err := st.OutcomeCounts(ctx)
	require.NoError(t, err)
	t.Logf("%d mails through the pipeline in %s: %v", n, time.Since(start).Round(time.Millisecond), counts)
	require.Zero(t, counts["failed"])

	// The candidate: the shipped files plus one rule, first.
	dir := t.TempDir()
	for _, f := range defaults.Files() {
		p := filepath.Join(dir, f.Name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, f.Data, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00-ok.yaml"), []byte(`rules:
  - name: ok-to-dispatch
    description: OK asked that every order be confirmed by phone first.
    when: client.code == "OK"
    then:
      unmatched: OK order, confirm by phone
`), 0o644))

	want := expectedOKBacktest(t, st)
	before := liveFingerprint(t, st)

	start = time.Now()
	out, errOut, err := runCLI(t, url, "rules", "backtest", "--since", "30d", dir)
	require.NoError(t, err, errOut)
	t.Logf("backtest of %d items in %s", n, time.Since(start).Round(time.Millisecond))
	t.Logf("backtest output:\n%s", out)
	assert.True(t, strings.HasPrefix(out, want[0]), out)
	for _, w := range want {
		assert.Contains(t, out, w)
	}
	assert.Empty(t, errOut, "no progress bar when stderr is not a terminal")

	// Nothing changed in the live database, and the scratch databases are
	// gone: this process's, for other test binaries may be backtesting on
	// the same server.
	assert.Equal(t, before, liveFingerprint(t, st))
	rows, err := st.Pool.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, replay.BacktestScratchPrefix())
	require.NoError(t, err)
	scratch, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Empty(t, scratch)

	// The same backtest prints the same report.
	again, _, err := runCLI(t, url, "rules", "backtest", "--since", "30d", dir)
	require.NoError(t, err)
	assert.Equal(t, out, again)

	// A window that holds nothing replays nothing.
	require.NoError(t, err)
	_, err = st.Pool.Exec(ctx, `UPDATE inbound_items SET received_at = received_at - interval '40 days'`)
	require.NoError(t, err)
	out, _, err = runCLI(t, url, "rules", "backtest", "--since", "30d", dir)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out, "backtest: 0 items replayed, 0 would change\n"), out)
}

// expectedOKBacktest computes, from the stored outcomes alone, the report of
// a backtest that sends client OK to the dispatchers: every OK item that
// became a ticket or a follow-up becomes unmatched, losing its store and
// engineer, and its category becomes the one extraction found (what an
// unmatched item shows). Nothing else may change: the engineers who took
// OK orders have less load in the candidate's replay, but on the sample
// data load only breaks ties that do not occur.
func expectedOKBacktest(t *testing.T, st *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	var total int
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items WHERE source = 'mail' AND duplicate_of IS NULL`).Scan(&total))
	rows, err := st.Pool.Query(ctx, `
		SELECT i.id, i.source_ref, i.outcome, t.object, t.category, t.engineer, nullif(i.parsed->'fields'->>'category', '')
		FROM inbound_items i JOIN tickets t ON t.id = i.ticket_id
		WHERE i.source = 'mail' AND i.duplicate_of IS NULL AND t.client = 'OK' AND i.outcome IN ('ticket', 'follow_up')
		ORDER BY i.id`)
	require.NoError(t, err)
	defer rows.Close()
	changed := map[string]int{}
	examples := map[string][]string{}
	add := func(field string, id int64, ref, from, to string) {
		changed[field]++
		if len(examples[field]) < 20 {
			examples[field] = append(examples[field], fmt.Sprintf("item %d (%s): %s -> %s", id, ref, from, to))
		}
	}
	q := func(p *string) string {
		if p == nil || *p == "" {
			return "null"
		}
		return fmt.Sprintf("%q", *p)
	}
	for rows.Next() {
		var id int64
		var ref, outcome, object string
		var category, engineer, extracted *string
		require.NoError(t, rows.Scan(&id, &ref, &outcome, &object, &category, &engineer, &extracted))
		add("kind", id, ref, q(&outcome), `"unmatched"`)
		add("object", id, ref, q(&object), "null")
		if q(category) != q(extracted) {
			add("category", id, ref, q(category), q(extracted))
		}
		if engineer != nil {
			add("engineer", id, ref, q(engineer), "null")
		}
	}
	require.NoError(t, rows.Err())
	require.Positive(t, changed["kind"])
	require.Positive(t, changed["engineer"])

	// The chain's number, priority and due of an OK item change too (a
	// ticket's are the order's as its follow-ups left them, an unmatched
	// item's what extraction found in it): those are counted, and not
	// predicted here.
	want := []string{fmt.Sprintf("backtest: %d items replayed, %d would change\n", total, changed["kind"])}
	for _, f := range []string{"kind", "object", "category", "engineer"} {
		want = append(want, fmt.Sprintf("  %-11s %d would change\n", f, changed[f]))
		var b strings.Builder
		if len(examples[f]) > 0 {
			fmt.Fprintf(&b, "%s changes (up to 20):\n", f)
			for _, e := range examples[f] {
				b.WriteString("  " + e + "\n")
			}
			want = append(want, b.String())
		}
	}
	for _, f := range []string{"client"} {
		want = append(want, fmt.Sprintf("  %-11s 0 would change\n", f))
	}
	for _, f := range []string{"external_id", "priority", "due"} {
		want = append(want, fmt.Sprintf("  %-11s ", f))
	}
	return want
}

// liveFingerprint sums up everything a backtest must not touch.
func liveFingerprint(t *testing.T, st *store.Store) string {
	t.Helper()
	var fp string
	require.NoError(t, st.Pool.QueryRow(context.Background(), `SELECT concat_ws(' ',
		(SELECT count(*) FROM inbound_items),
		(SELECT md5(coalesce(string_agg(concat_ws('|', id, stage, outcome, client, ticket_id, rules_version, decision::text, updated_at), ',' ORDER BY id), '')) FROM inbound_items),
		(SELECT count(*) FROM tickets),
		(SELECT md5(coalesce(string_agg(concat_ws('|', id, state, category, priority, engineer, updated_at), ',' ORDER BY id), '')) FROM tickets),
		(SELECT count(*) FROM ticket_events),
		(SELECT count(*) FROM rule_sets))`).Scan(&fp))
	return fp
}
