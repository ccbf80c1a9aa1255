package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/rules"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// now is the instant every processor of these tests runs at, a Monday
// morning in Moscow: rules and SLA that look at the clock give the same
// answer whenever the tests run.
var now = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

var moscow = time.FixedZone("MSK", 3*60*60)

// demoStore is a fresh database holding the demo's reference data.
func demoStore(t *testing.T) *store.Store {
	t.Helper()
	st := pgtest.Store(t)
	for _, f := range demo.Reference() {
		kind := strings.TrimSuffix(f.Name, ".csv")
		_, err := st.Import(context.Background(), kind, f.Name, bytes.NewReader(f.Data), nil)
		require.NoError(t, err, f.Name)
	}
	return st
}

// ruleFiles are the shipped rules without tag-after-hours: that rule looks
// at when an item was received, which in a replay is the database's clock,
// not the processor's.
func ruleFiles(t *testing.T) []rules.File {
	t.Helper()
	files := defaults.Files()
	for i, f := range files {
		src := string(f.Data)
		start := strings.Index(src, "  - name: tag-after-hours\n")
		if start < 0 {
			continue
		}
		end := strings.Index(src[start+1:], "  - name: ")
		require.Positive(t, end, "tag-after-hours is not followed by another rule")
		files[i].Data = []byte(src[:start] + src[start+1+end:])
		mustLoad(t, files)
		return files
	}
	t.Fatal("no rule tag-after-hours in the shipped rules")
	return nil
}

func processor(t *testing.T, st *store.Store) *pipeline.Processor {
	t.Helper()
	rt, err := pipeline.LoadRuntime(context.Background(), st, ruleFiles(t))
	require.NoError(t, err)
	return pipeline.NewProcessor(rt, nil, moscow, func() time.Time { return now })
}

// demoMessages returns the demo's messages by name, named as in a folder.
func demoMessages(t *testing.T, names ...string) []replay.Message {
	t.Helper()
	all := map[string][]byte{}
	for _, f := range demo.Mail() {
		all[f.Name] = f.Data
	}
	var out []replay.Message
	for _, n := range names {
		require.Contains(t, all, n)
		out = append(out, replay.Message{Name: "mail/" + n, Raw: all[n]})
	}
	return out
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./replay -update to write it")
	assert.Equal(t, string(want), string(got))
}

// TestTry: a run shows what each message becomes, a follow-up names the
// message of the run that created its order, a message given twice is a
// duplicate of the first, and nothing is written.
func TestTry(t *testing.T) {
	ctx := context.Background()
	st := demoStore(t)
	proc := processor(t, st)
	msgs := demoMessages(t, "0001.eml", "0002.eml", "0009.eml", "0001.eml")

	var text, jsonl bytes.Buffer
	enc := json.NewEncoder(&jsonl)
	enc.SetEscapeHTML(false)
	var got []replay.Result
	err := replay.Try(ctx, st, proc, msgs, false, func(tr replay.Tried) error {
		replay.WriteTrace(&text, tr, moscow)
		got = append(got, tr.Result(moscow))
		return enc.Encode(tr.Result(moscow))
	})
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, "0001.eml", got[0].File, "a result names the file, not the path")
	assert.Equal(t, "ticket", got[0].Kind)
	assert.Equal(t, "duplicate", got[3].Kind)
	require.NotNil(t, got[3].Follows)
	assert.Equal(t, "0001.eml", *got[3].Follows)
	golden(t, "try.txt", text.Bytes())
	golden(t, "try.jsonl", jsonl.Bytes())

	var items, tickets int
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM inbound_items), (SELECT count(*) FROM tickets)`).Scan(&items, &tickets))
	assert.Zero(t, items, "try writes nothing")
	assert.Zero(t, tickets)

	// A dry run uses up no ticket number: a run again predicts the same.
	var again []replay.Result
	require.NoError(t, replay.Try(ctx, st, proc, msgs, false, func(tr replay.Tried) error {
		again = append(again, tr.Result(moscow))
		return nil
	}))
	require.NotNil(t, again[0].Ticket)
	assert.Equal(t, *got[0].Ticket, *again[0].Ticket)

	// An error of the caller stops the run.
	stop := fmt.Errorf("enough")
	n := 0
	err = replay.Try(ctx, st, proc, msgs, false, func(replay.Tried) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)
}

// TestTryStored: a message Intake already holds is tried as new by
// default, and the result names the stored item and what it became, rather
// than calling it a duplicate of itself. With dedup it is the duplicate the
// pipeline would see, following the stored item. The numbers that dry runs
// show are the ones real tickets then get: none is used up.
func TestTryStored(t *testing.T) {
	ctx := context.Background()
	st := demoStore(t)
	proc := processor(t, st)
	order := demoMessages(t, "0001.eml")
	other := demoMessages(t, "0009.eml")

	try := func(msgs []replay.Message, dedup bool) replay.Result {
		var got []replay.Result
		require.NoError(t, replay.Try(ctx, st, proc, msgs, dedup, func(tr replay.Tried) error {
			got = append(got, tr.Result(moscow))
			return nil
		}))
		require.Len(t, got, 1)
		return got[0]
	}
	store1 := func(m replay.Message) int64 {
		var id int64
		require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error {
			key, mid := ingest.MailKeys(m.Raw)
			res, err := ingest.PutTx(ctx, tx, ingest.Item{Source: flow.SourceMail, SourceRef: "test/" + m.Name, DedupKey: key, MessageID: mid, Raw: m.Raw}, now)
			if err != nil {
				return err
			}
			id = res.ID
			return proc.RunInline(ctx, tx, id)
		}))
		return id
	}

	// Two dry runs predict the same number, and the real ticket gets it.
	first, second := try(order, false), try(order, false)
	require.NotNil(t, first.Ticket)
	assert.Equal(t, "INT-1", *first.Ticket)
	assert.Equal(t, *first.Ticket, *second.Ticket)
	assert.Nil(t, first.Stored, "not stored yet")
	id := store1(order[0])
	var number string
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT number FROM tickets WHERE source_item = $1`, id).Scan(&number))
	assert.Equal(t, "INT-1", number, "the dry runs used up no ticket number")

	// Stored now: tried as new by default, and said to be stored.
	r := try(order, false)
	assert.NotEqual(t, "duplicate", r.Kind)
	require.NotNil(t, r.Stored)
	assert.Equal(t, id, r.Stored.Item)
	assert.Equal(t, "ticket", r.Stored.Outcome)
	require.NotNil(t, r.Stored.Ticket)
	assert.Equal(t, "INT-1", *r.Stored.Ticket)
	require.NotNil(t, r.Client)
	if r.Follows != nil {
		assert.NotContains(t, *r.Follows, "try/", "never follows itself")
	}

	// With dedup: the duplicate of the stored item, following it.
	r = try(order, true)
	assert.Equal(t, "duplicate", r.Kind)
	require.NotNil(t, r.Follows)
	assert.Equal(t, "test/mail/0001.eml", *r.Follows)

	// The next new ticket's number is predicted right after a real one.
	r = try(other, false)
	if r.Kind == "ticket" {
		require.NotNil(t, r.Ticket)
		assert.Equal(t, "INT-2", *r.Ticket)
	}
}

func TestWriteDocument(t *testing.T) {
	var b bytes.Buffer
	for _, m := range demoMessages(t, "0002.eml", "0005.eml") {
		replay.WriteDocument(&b, m)
	}
	replay.WriteDocument(&b, replay.Message{Name: "empty.eml"})
	golden(t, "doc.txt", b.Bytes())
}

// writeCorpus writes the first n demo messages and their labels to a
// folder; change edits the labels first.
func writeCorpus(t *testing.T, n int, change func(map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	var keep []string
	for _, f := range demo.Mail()[:n] {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644))
		keep = append(keep, f.Name)
	}
	var labels bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(string(demo.Labels())), "\n") {
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &l))
		for _, k := range keep {
			if l["file"] == k {
				if change != nil {
					change(l)
				}
				b, err := json.Marshal(l)
				require.NoError(t, err)
				labels.Write(append(b, '\n'))
			}
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.jsonl"), labels.Bytes(), 0o644))
	return dir
}

func TestReadCorpus(t *testing.T) {
	dir := writeCorpus(t, 3, nil)
	c, err := replay.ReadCorpus(dir, filepath.Join(dir, "labels.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, []string{"0001.eml", "0002.eml", "0003.eml"}, c.Files)
	assert.Len(t, c.Labels, 3)
	assert.Equal(t, "ticket", c.Labels["0002.eml"].Kind)

	bad := filepath.Join(t.TempDir(), "labels.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("{\"file\": \"a.eml\"}\n\n{oops\n"), 0o644))
	_, err = replay.ReadCorpus(dir, bad)
	require.ErrorContains(t, err, bad+":3: ")

	_, err = replay.ReadCorpus(t.TempDir(), filepath.Join(dir, "labels.jsonl"))
	require.ErrorContains(t, err, "no .eml files in ")
}

// startPipeline builds the pipeline over a scratch database the way the
// command line does, quick to poll.
func startPipeline(ctx context.Context, st *store.Store) (replay.Pipeline, error) {
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	if err != nil {
		return replay.Pipeline{}, err
	}
	proc := pipeline.NewProcessor(rt, nil, moscow, func() time.Time { return now })
	pipe := pipeline.New(pipeline.Config{Bus: "postgres", PollInterval: 5 * time.Millisecond, Retries: 2, RetryInitial: 50 * time.Millisecond},
		st, proc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := pipeline.InitSchema(ctx, st.Pool, nil); err != nil {
		return replay.Pipeline{}, err
	}
	return replay.Pipeline{Run: pipe.Run, Inbox: ingest.NewInbox(st, pipe.Publish, func() time.Time { return now }), Processor: proc}, nil
}

// TestEval runs part of the demo's mail through the pipeline in a scratch
// database: a wrong label is a miss, the rest are right, and the scratch
// database is gone afterwards.
func TestEval(t *testing.T) {
	ctx := context.Background()
	live := demoStore(t)
	dir := writeCorpus(t, 8, func(l map[string]any) {
		if l["file"] == "0003.eml" {
			l["category"] = "hvac"
		}
	})
	c, err := replay.ReadCorpus(dir, filepath.Join(dir, "labels.jsonl"))
	require.NoError(t, err)
	var progress []int
	cfg := replay.EvalConfig{
		AdminURL: pgtest.ServerURL(t), Live: live, Start: startPipeline,
		Progress: func(done, total int) { progress = append(progress, done); assert.Equal(t, 8, total) },
	}
	rep, err := replay.Eval(ctx, cfg, c)
	require.NoError(t, err)
	assert.Equal(t, 8, rep.Labelled)
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, progress)
	for _, f := range replay.EvalFields {
		want := 8
		if f == "category" {
			want = 7
		}
		assert.Equal(t, want, rep.Correct[f], f)
	}
	require.Len(t, rep.Misses, 1)
	assert.True(t, strings.HasPrefix(rep.Misses[0], `0003.eml category: got "plumbing", want "hvac"  (ticket; `), rep.Misses[0])
	assert.Empty(t, rep.Assignments.Violations)
	assert.True(t, rep.Failed(1))
	assert.False(t, rep.Failed(0.8))

	var out bytes.Buffer
	rep.WriteText(&out, 200)
	assert.Contains(t, out.String(), "  category       87.5%  (7/8)\n")
	assert.Contains(t, out.String(), "misses (1):\n  0003.eml category:")
	assert.Contains(t, out.String(), "eval: 8 messages, kind 100.0%, client 100.0%, external_id 100.0%, object 100.0%, category 87.5%, due 100.0%\n")
	out.Reset()
	rep.WriteText(&out, 0)
	assert.Contains(t, out.String(), "misses (1):\n  ... 1 more\n")

	// This process's scratch database is gone (other test binaries may be
	// evaluating on the same server).
	var scratch int
	require.NoError(t, live.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)`, replay.EvalScratchPrefix()).Scan(&scratch))
	assert.Zero(t, scratch)
}

// processAll runs the demo's mail through the stages of live, committing
// each message, as a quiet mailbox delivers them.
func processAll(t *testing.T, live *store.Store) {
	t.Helper()
	ctx := context.Background()
	proc := processor(t, live)
	for i, f := range demo.Mail() {
		key, mid := ingest.MailKeys(f.Data)
		require.NoError(t, live.InTx(ctx, func(tx pgx.Tx) error {
			res, err := ingest.PutTx(ctx, tx, ingest.Item{Source: flow.SourceMail, SourceRef: fmt.Sprintf("orders/INBOX/%d", i+1), DedupKey: key, MessageID: mid, Raw: f.Data}, now)
			if err != nil || res.Status != ingest.StatusNew {
				return err
			}
			return proc.RunInline(ctx, tx, res.ID)
		}))
	}
}

// TestBacktest replays the demo's mail with the rules in force and with a
// candidate that sends every order of client OK to a dispatcher: only OK's
// orders change.
func TestBacktest(t *testing.T) {
	ctx := context.Background()
	live := demoStore(t)
	processAll(t, live)
	candidateFiles := append([]rules.File{{Name: "00-ok.yaml", Data: []byte(`rules:
  - name: ok-to-dispatch
    when: client.code == "OK"
    then:
      unmatched: OK order, confirm by phone
`)}}, defaults.Files()...)
	candidate, err := rules.Load(candidateFiles)
	require.NoError(t, err)

	// OK's orders and their follow-ups become items for a dispatcher,
	// without a store or an engineer.
	var okOrders, okAssigned int
	require.NoError(t, live.Pool.QueryRow(ctx, `SELECT count(*), count(t.engineer) FROM inbound_items i
		LEFT JOIN tickets t ON t.id = i.ticket_id
		WHERE i.outcome IN ('ticket', 'follow_up') AND i.client = 'OK'`).Scan(&okOrders, &okAssigned))
	require.NotZero(t, okOrders)

	cfg := replay.BacktestConfig{
		Live: live, AdminURL: pgtest.ServerURL(t),
		Candidate: candidate, CandidateFiles: candidateFiles, Fallback: defaults.Files(),
		Location: moscow, Since: now.Add(-1000 * 24 * time.Hour),
	}
	rep, err := replay.Backtest(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, len(demo.Mail())-1, rep.Items, "the re-delivered duplicate is not replayed")
	assert.Equal(t, okOrders, rep.Changed["kind"])
	assert.Equal(t, okOrders, rep.Changed["object"])
	assert.Equal(t, okAssigned, rep.Changed["engineer"])
	assert.Zero(t, rep.Changed["client"])
	assert.Zero(t, rep.Changed["category"])
	require.NotEmpty(t, rep.Examples["kind"])
	assert.Regexp(t, `^item \d+ \(orders/INBOX/\d+\): "(ticket|follow_up)" -> "unmatched"$`, rep.Examples["kind"][0])

	var out bytes.Buffer
	rep.WriteText(&out)
	assert.True(t, strings.HasPrefix(out.String(), fmt.Sprintf("backtest: %d items replayed, %d would change\n  kind        %d would change\n", rep.Items, okOrders, okOrders)), out.String())
	for _, f := range replay.BacktestFields {
		assert.Contains(t, out.String(), fmt.Sprintf("\n  %-11s %d would change\n", f, rep.Changed[f]), "every field is counted")
	}

	// Every changed item is a row with both outcomes and what differs.
	require.Len(t, rep.Rows, okOrders)
	assert.Equal(t, okOrders, rep.ChangedItems)
	row := rep.Rows[0]
	assert.Contains(t, []string{"ticket", "follow_up"}, row.Before.Kind)
	assert.Equal(t, "unmatched", row.After.Kind)
	assert.Contains(t, row.Changed, "kind")
	assert.Contains(t, row.Changed, "object")
	assert.NotContains(t, row.Changed, "client")
	assert.Equal(t, "OK", replay.Value(row.After, "client"))
	assert.Contains(t, out.String(), "kind changes (up to 20):\n  item ")

	// The same rules change nothing; Limit takes the newest items.
	cfg.Candidate, cfg.CandidateFiles, cfg.Limit = mustLoad(t, defaults.Files()), defaults.Files(), 5
	rep, err = replay.Backtest(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, 5, rep.Items)
	for _, f := range replay.BacktestFields {
		assert.Zero(t, rep.Changed[f], f)
	}

	rows, err := live.Pool.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, replay.BacktestScratchPrefix())
	require.NoError(t, err)
	scratch, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Empty(t, scratch)
}

func mustLoad(t *testing.T, files []rules.File) *rules.Set {
	t.Helper()
	set, err := rules.Load(files)
	require.NoError(t, err)
	return set
}

// TestVerifyAssignments: the demo's assignments keep the rules of
// assignment; an engineer struck off afterwards shows every ticket he got.
func TestVerifyAssignments(t *testing.T) {
	ctx := context.Background()
	live := demoStore(t)
	processAll(t, live)
	dir := processor(t, live).Runtime().Directory

	rep, err := replay.VerifyAssignments(ctx, live, dir)
	require.NoError(t, err)
	require.NotZero(t, rep.Checked)
	assert.Empty(t, rep.Violations)

	var engineer string
	var got int
	require.NoError(t, live.Pool.QueryRow(ctx, `SELECT engineer, count(*) FROM tickets WHERE engineer IS NOT NULL GROUP BY engineer ORDER BY count(*) DESC, engineer LIMIT 1`).Scan(&engineer, &got))
	_, err = live.Pool.Exec(ctx, `UPDATE engineers SET status = 'blacklisted' WHERE code = $1`, engineer)
	require.NoError(t, err)
	dir = processor(t, live).Runtime().Directory
	rep, err = replay.VerifyAssignments(ctx, live, dir)
	require.NoError(t, err)
	assert.Len(t, rep.Violations, got)

	var out bytes.Buffer
	rep.WriteText(&out)
	assert.Contains(t, out.String(), fmt.Sprintf("assignments: %d checked, %d to the store's fixed engineer, %d violations\n", rep.Checked, rep.FixedGot, got))
}
