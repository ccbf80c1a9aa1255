package store_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// TestCompletionActFromCorpus runs a mail of the demo corpus through the
// real pipeline with the lifecycle hook, completes the work, renders the
// act and checks it in a real headless Chromium.
func TestCompletionActFromCorpus(t *testing.T) {
	chromium := findChromium(t)
	ctx := context.Background()
	st := pgtest.Store(t)
	for _, f := range demo.Reference() {
		_, err := st.Import(ctx, strings.TrimSuffix(f.Name, ".csv"), f.Name, bytes.NewReader(f.Data), nil)
		require.NoError(t, err, f.Name)
	}
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	msk := time.FixedZone("MSK", 3*3600)
	clock := &fakeClock{}
	clock.Set(clocktest.Now(t))
	proc := pipeline.NewProcessor(rt, nil, msk, clock.Now)
	cfg := lifecycle.Config{Contractor: "ООО «Техсервис»", Location: msk,
		Chains: map[string]lifecycle.ChainTarget{"PU": {Channel: lifecycle.ChannelConnector, Target: "pu"}}, QCDelay: map[string]time.Duration{"": 72 * time.Hour}}
	lc := lifecycle.NewService(st, cfg, nil, pipeline.LifecycleRouter(func() *routing.Directory { return rt.Directory }), clock.Now)
	proc.OnTicket(func(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec flow.Decision, created *store.Ticket) error {
		if created != nil {
			lt := store.LifecycleTicket(created)
			err := lc.OnCreated(ctx, store.LifecycleTx(tx), lt, testAssignment(dec.Assignment))
			created.State, created.Engineer = lt.State, lt.Engineer
			return err
		}
		return lc.OnTicket(ctx, store.LifecycleTx(tx), ticketID, false, dec.Event, testAssignment(dec.Assignment))
	})

	mail := demo.Mail()[0] // 0001.eml: PU Remedy, store 0135, refrigeration
	require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error {
		key, mid := ingest.MailKeys(mail.Data)
		res, err := ingest.PutTx(ctx, tx, ingest.Item{Source: flow.SourceMail, SourceRef: "test/" + mail.Name, DedupKey: key, MessageID: mid, Raw: mail.Data}, clock.Now())
		if err != nil {
			return err
		}
		return proc.RunInline(ctx, tx, res.ID)
	}))
	tk, err := store.TicketByExternal(ctx, st.Pool, "PU", "WO0000001203417")
	require.NoError(t, err)
	t.Logf("ticket %s: %s, store %s, state %s", tk.Number, tk.Problem, tk.Object, tk.State)

	full, err := st.LifecycleOf(ctx, tk.ID)
	require.NoError(t, err)
	if len(full.Tasks) == 0 { // nobody eligible around the store: a dispatcher picks one
		var eng string
		for _, e := range rt.Directory.Engineers() {
			if slices.Contains(e.Competences, "refrigeration") && e.Status == routing.EngineerActive {
				eng = e.Code
				break
			}
		}
		require.NoError(t, lc.Dispatch(ctx, tk.ID, "dispatcher:test", eng))
		full, err = st.LifecycleOf(ctx, tk.ID)
		require.NoError(t, err)
	}
	k := full.Tasks[len(full.Tasks)-1]
	eng := ""
	if k.Engineer != nil {
		eng = *k.Engineer
	} else {
		eng = full.Offers[0].Engineer
	}
	clock.Advance(20 * time.Minute)
	require.NoError(t, lc.Accept(ctx, k.ID, eng, "engineer:"+eng))
	clock.Advance(90 * time.Minute)
	require.NoError(t, lc.Start(ctx, k.ID, eng, "engineer:"+eng))
	_, err = lc.AddAttachment(ctx, k.ID, eng, "витрина-после.jpg", "image/jpeg", []byte("\xff\xd8\xff photo"))
	require.NoError(t, err)
	clock.Advance(75 * time.Minute)
	require.NoError(t, lc.Complete(ctx, k.ID, eng, "engineer:"+eng, lifecycle.Completion{
		ProblemFound: "Не работает вентилятор конденсатора, витрина не держит температуру",
		WorkDone:     "Заменён вентилятор конденсатора, очищен конденсатор, температура +2 °C достигнута за 40 минут",
	}))
	tk, err = store.TicketByID(ctx, st.Pool, tk.ID)
	require.NoError(t, err)
	require.Equal(t, "done", tk.State)

	act, err := lc.LoadAct(ctx, tk.ID)
	require.NoError(t, err)
	var html bytes.Buffer
	require.NoError(t, lifecycle.RenderAct(&html, act))
	dir := t.TempDir()
	path := filepath.Join(dir, "act.html")
	require.NoError(t, os.WriteFile(path, html.Bytes(), 0o644))
	if out := os.Getenv("INTAKE_ACT_OUT"); out != "" { // keep a copy to look at
		require.NoError(t, os.WriteFile(out, html.Bytes(), 0o644))
	}

	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--dump-dom", "file://"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	text := string(dom)
	engName := rt.Directory.Engineer(eng).Name
	for _, want := range []string{
		"АКТ ВЫПОЛНЕННЫХ РАБОТ № " + tk.Number,
		"ООО «Пятый угол Ритейл»", // objects.legal_entity of store 0135
		"Торговая сеть «Пятый угол»",
		"Пятый угол Казань №135",
		"WO0000001203417",
		"Заменён вентилятор конденсатора",
		"Не работает вентилятор конденсатора",
		engName,
		"витрина-после.jpg",
		act.Tasks[0].DoneAt.In(msk).Format("02.01.2006 15:04"),
	} {
		assert.Contains(t, text, want)
	}
	t.Logf("act of %s rendered by Chromium: %d bytes of DOM; engineer %s (%s)", tk.Number, len(dom), engName, eng)

	// The chain was told through its connector in the same transaction.
	var payload string
	require.NoError(t, st.Pool.QueryRow(ctx, `SELECT payload::text FROM outbox WHERE kind = 'connector' AND target = 'pu' AND ticket_id = $1`, tk.ID).Scan(&payload))
	assert.Contains(t, payload, `"status": "done"`)
	assert.Contains(t, payload, `"external_id": "WO0000001203417"`)
}

// findChromium finds a headless browser; the act test needs one.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no Chromium for the act rendering test: apt-get install chromium (looked for chromium, chromium-browser, google-chrome in PATH)")
	return ""
}
