package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/rules"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// ingestDemo stores the sample mailbox and runs every item through the
// stages in order, inline.
func ingestDemo(t *testing.T) (*store.Store, *pipeline.Processor, map[string]int64) {
	return ingestDemoWith(t, defaults.Files())
}

// ingestDemoWith is ingestDemo with the rule files given.
func ingestDemoWith(t *testing.T, files []rules.File) (*store.Store, *pipeline.Processor, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	rt, err := pipeline.LoadRuntime(ctx, st, files)
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
	in := ingest.NewInbox(st, nil, clocktest.Clock(t))
	ids := map[string]int64{}
	for _, m := range demo.Mail() {
		key, mid := ingest.MailKeys(m.Data)
		res, err := in.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "test/" + m.Name, DedupKey: key, MessageID: mid, Raw: m.Data}}, nil)
		require.NoError(t, err)
		ids[m.Name] = res[0].ID
		require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error { return proc.RunInline(ctx, tx, res[0].ID) }))
	}
	return st, proc, ids
}

func TestStagesGiveEveryItemOneOutcome(t *testing.T) {
	ctx := context.Background()
	st, proc, ids := ingestDemo(t)
	for _, l := range demo.SampleLabels() {
		o, err := pipeline.ReadOutcome(ctx, st.Pool, ids[l.File])
		require.NoError(t, err)
		assert.Equal(t, l.Kind, o.Kind, l.File)
	}

	// Running items again changes nothing: each is found done.
	before, err := st.OutcomeCounts(ctx)
	require.NoError(t, err)
	var events int
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM ticket_events`).Scan(&events))
	for _, id := range ids {
		require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error { return proc.RunInOrder(ctx, tx, id) }))
	}
	after, err := st.OutcomeCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	var events2 int
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM ticket_events`).Scan(&events2))
	assert.Equal(t, events, events2)
}

func TestDispatcherResolvesUnmatched(t *testing.T) {
	ctx := context.Background()
	st, proc, _ := ingestDemo(t)
	items, err := st.ListItems(ctx, store.ItemFilter{Outcome: store.OutcomeUnmatched})
	require.NoError(t, err)
	require.NotEmpty(t, items)
	id := items[0].ID

	var tid int64
	require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		tid, err = proc.Resolve(ctx, tx, id, "PU", "0135", "ivanova")
		return err
	}))
	o, err := pipeline.ReadOutcome(ctx, st.Pool, id)
	require.NoError(t, err)
	assert.Equal(t, store.OutcomeTicket, o.Kind)
	assert.Equal(t, "0135", *o.Object)
	evs, err := st.TicketEvents(ctx, tid)
	require.NoError(t, err)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind+"/"+e.Actor)
	}
	assert.Contains(t, kinds, "resolved/ivanova")

	// Only unmatched items can be resolved, and a store must exist.
	err = st.InTx(ctx, func(tx pgx.Tx) error { _, err := proc.Resolve(ctx, tx, id, "PU", "0135", "x"); return err })
	require.ErrorIs(t, err, pipeline.ErrNotUnmatched)
}

// TestRouteDefersAReplyToAnUnroutedItem: when a reply comes up before the
// order it refers to has an outcome (the order is being retried, or another
// replica has it), it is deferred instead of making a second ticket; once
// the order is a ticket, the reply becomes its follow-up.
func TestRouteDefersAReplyToAnUnroutedItem(t *testing.T) {
	ctx := context.Background()
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
	in := ingest.NewInbox(st, nil, clocktest.Clock(t))
	mail := map[string][]byte{}
	for _, m := range demo.Mail() {
		mail[m.Name] = m.Data
	}
	put := func(name string) int64 {
		key, mid := ingest.MailKeys(mail[name])
		res, err := in.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "t/" + name, DedupKey: key, MessageID: mid, Raw: mail[name]}}, nil)
		require.NoError(t, err)
		return res[0].ID
	}
	step := func(id int64) error {
		return st.InTx(ctx, func(tx pgx.Tx) error { return proc.RunInOrder(ctx, tx, id) })
	}
	order, reply := put("0029.eml"), put("0035.eml")
	// The order's first attempt got as far as parsing, then failed: it
	// waits for its retry with its parse result kept.
	var parsed []byte
	var client string
	_ = st.InTx(ctx, func(tx pgx.Tx) error {
		require.NoError(t, proc.RunInline(ctx, tx, order))
		require.NoError(t, tx.QueryRow(ctx, `SELECT parsed, client FROM inbound_items WHERE id = $1`, order).Scan(&parsed, &client))
		return errors.New("roll back")
	})
	require.NoError(t, st.RetryItemAt(ctx, order, "connection reset", time.Now(), parsed, client))
	require.ErrorIs(t, step(reply), pipeline.ErrDeferred)
	require.NoError(t, step(order))
	require.NoError(t, step(reply))

	o, err := pipeline.ReadOutcome(ctx, st.Pool, reply)
	require.NoError(t, err)
	assert.Equal(t, "follow_up", o.Kind)
	first, err := pipeline.ReadOutcome(ctx, st.Pool, order)
	require.NoError(t, err)
	assert.Equal(t, "ticket", first.Kind)
	assert.Equal(t, *first.Ticket, *o.Ticket)
}

// TestSLAOverridesAndBusinessHours: a configured override replaces the
// category's hours, and a client's business hours stop the clock outside
// them; a chain's stated due time still wins.
func TestSLAOverridesAndBusinessHours(t *testing.T) {
	ctx := context.Background()
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
	msk, err := time.LoadLocation("Europe/Moscow")
	require.NoError(t, err)
	bh := &routing.BusinessHours{Days: []time.Weekday{time.Monday}, Open: 9 * time.Hour, Close: 10 * time.Hour, Location: msk}
	proc.SetSLA(map[string]*routing.BusinessHours{"SB": bh}, []routing.SLAOverride{{Client: "SB", Hours: 2}})

	// 0007.eml: a store director of SB, free text, no stated due.
	var raw []byte
	for _, m := range demo.Mail() {
		if m.Name == "0007.eml" {
			raw = m.Data
		}
	}
	key, mid := ingest.MailKeys(raw)
	res, err := ingest.NewInbox(st, nil, clocktest.Clock(t)).Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "t/0007", DedupKey: key, MessageID: mid, Raw: raw}}, nil)
	require.NoError(t, err)
	id := res[0].ID
	require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error { return proc.RunInline(ctx, tx, id) }))
	o, err := pipeline.ReadOutcome(ctx, st.Pool, id)
	require.NoError(t, err)
	require.Equal(t, "ticket", o.Kind)
	require.Equal(t, "SB", *o.Client)
	require.Nil(t, o.Due, "free text states no due time")
	it, err := st.GetItem(ctx, id)
	require.NoError(t, err)
	want := routing.Due(it.ReceivedAt, 2, bh)
	require.NotNil(t, o.SLADue)
	assert.True(t, o.SLADue.Equal(want), "sla due %s, want %s", o.SLADue, want)
	// Two working hours on Mondays 9–10 take two Mondays.
	assert.Equal(t, time.Monday, o.SLADue.In(msk).Weekday())
	assert.Greater(t, o.SLADue.Sub(it.ReceivedAt), 7*24*time.Hour)
}

// bombs are rules that, unbudgeted, would take minutes (the regular
// expression run 99,999 times over the text) or gigabytes (the text
// repeated a million times) for each message.
const bombs = `rules:
  - name: repeat-bomb
    stage: message
    when: len(repeat(text, 1000000)) < 0
    then:
      ignore: never
  - name: regex-bomb
    when: any(1..99999, {text matches "(?i)щщщ.*ъъъ"})
    then:
      tags: [bomb]
      continue: true
`

// TestRuleBombsCountAsNoMatch: rules that would exhaust time or memory pass
// the check, and at run time they count as no match with the reason in the
// trace. Every item gets the outcome it gets without them, and the process
// stays below 512 MiB (without the budget the repeat bomb alone asks for
// gigabytes per message).
func TestRuleBombsCountAsNoMatch(t *testing.T) {
	ctx := context.Background()
	files := append([]rules.File{{Name: "bombs.yaml", Data: []byte(bombs)}}, defaults.Files()...)
	_, err := rules.Load(files)
	require.NoError(t, err, "rules check accepts them: their cost depends on the message")
	st, _, ids := ingestDemoWith(t, files)
	budgets := map[string]int{}
	for _, l := range demo.SampleLabels() {
		o, err := pipeline.ReadOutcome(ctx, st.Pool, ids[l.File])
		require.NoError(t, err)
		assert.Equal(t, l.Kind, o.Kind, l.File)
		var trace []rules.TraceEntry
		if o.Decision != nil {
			trace = o.Decision.Trace
		}
		if o.Parsed != nil && len(trace) == 0 {
			trace = o.Parsed.Trace
		}
		for _, e := range trace {
			if e.Rule == "repeat-bomb" || e.Rule == "regex-bomb" {
				assert.False(t, e.Matched, "%s: %s", l.File, e.Rule)
				if e.Budget != "" {
					assert.Contains(t, e.Err, "budget", "%s: %s", l.File, e.Rule)
					budgets[e.Rule+"/"+e.Budget]++
				}
			}
		}
	}
	t.Logf("evaluations stopped by a budget: %v", budgets)
	assert.Positive(t, budgets["repeat-bomb/memory"], "the repeat bomb is stopped by the memory budget")
	assert.Positive(t, budgets["regex-bomb/time"]+budgets["regex-bomb/memory"], "the regex bomb is stopped by a budget")
	assert.Less(t, peakRSS(t), int64(512<<20), "peak RSS")
}

// peakRSS is the process's peak resident set (VmHWM).
func peakRSS(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			t.Logf("peak RSS %d MiB", kb>>10)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
