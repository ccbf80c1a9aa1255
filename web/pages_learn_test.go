package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web/webtest"
)

const newchainDir = "../testdata/newchain"

// An operations user uploads five samples of the worked example's chain
// (ZT), reads the proposal and its evidence, tries it on the samples,
// backtests it on the chain's mail received before and applies it in front
// of the rule set in force.
func TestLearnPageProposesTriesApplies(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	f.srv.Rules = pipeline.StoredRules{Store: f.st}
	f.srv.RuleLab = &replay.Lab{Store: f.st, AdminURL: pgtest.ServerURL(t), Fallback: defaults.Files(), Location: time.UTC, Now: clocktest.Clock(t)}
	pgtest.ImportDemo(t, f.st) // the chains the shipped formats name
	f.h = f.srv.Handler()
	for _, kind := range reference.Kinds() {
		fh, err := os.Open(filepath.Join(newchainDir, "reference", kind+".csv"))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		_, err = f.st.Import(context.Background(), kind, kind+".csv", fh, nil)
		fh.Close()
		require.NoError(t, err, kind)
	}
	// The chain's mail received before its format: unmatched under the
	// shipped rules.
	rt, err := pipeline.LoadRuntime(ctx, f.st, defaults.Files())
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
	in := ingest.NewInbox(f.st, nil, clocktest.Clock(t))
	for _, n := range []string{"0004.eml", "0007.eml", "0008.eml", "0010.eml"} {
		raw, err := os.ReadFile(filepath.Join(newchainDir, "mail", n))
		require.NoError(t, err)
		key, mid := ingest.MailKeys(raw)
		res, err := in.Put(ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "zt/" + n, DedupKey: key, MessageID: mid, Raw: raw}}, nil)
		require.NoError(t, err)
		require.NoError(t, f.st.InTx(ctx, func(tx pgx.Tx) error { return proc.RunInline(ctx, tx, res[0].ID) }))
	}
	f.addUser(t, "olga", auth.Operations, "correct horse battery")
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)

	c := webtest.NewChrome(t, 1280, 900)
	c.SignIn(srv.URL, "olga", "correct horse battery")
	c.Open(srv.URL + "/ui/rules/learn")
	c.WaitVisible(`input[type="file"]`)
	c.Screenshot("learn-empty.png")
	c.SetValue(`select[name="client"]`, "ZT")
	c.Fill(`input[name="name"]`, "zt-helpdeskpro")
	var paths []string
	for _, n := range []string{"0001.eml", "0002.eml", "0003.eml", "0005.eml", "0006.eml"} {
		p, err := filepath.Abs(filepath.Join(newchainDir, "mail", n))
		require.NoError(t, err)
		paths = append(paths, p)
	}
	c.Upload(`input[type="file"]`, paths...)
	c.Click(`form[action="/ui/rules/learn"] button[type="submit"]`)
	if err := c.Try(10*time.Second, chromedp.WaitVisible(chromedp.CSS(`textarea[name="yaml"]`))); err != nil {
		c.Screenshot("learn-debug.png")
		t.Fatalf("no proposal: %s", c.Text("body"))
	}
	y := c.Value(`textarea[name="yaml"]`)
	assert.Contains(t, y, "name: zt-helpdeskpro")
	assert.Contains(t, y, "# order number ZT-")
	assert.Contains(t, y, "Важность")
	assert.Equal(t, 5, c.Count(`#readings tbody tr`))
	assert.Contains(t, c.Text(`#readings`), "ZT-2026-000118")
	c.Screenshot("learn-proposal.png")

	// An edit that breaks the file is shown with its line, nothing applied.
	c.SetValue(`textarea[name="yaml"]`, strings.Replace(y, "labels: [Важность", "labls: [Важность", 1))
	c.Click(`form[action="/ui/rules/learn/try"] button[type="submit"]:not([formaction])`)
	c.WaitVisible(`.flash.bad`)
	assert.Contains(t, c.Text(`.flash.bad`), "labls")

	// Fixed again: tried on the samples, then applied.
	c.SetValue(`textarea[name="yaml"]`, y)
	c.Click(`form[action="/ui/rules/learn/try"] button[type="submit"]:not([formaction])`)
	c.Do(chromedp.WaitNotPresent(chromedp.CSS(`.flash.bad`)))
	c.WaitVisible(`#readings`)
	assert.False(t, c.Has(`.flash.bad`))
	// Backtested on the week's mail: the chain's orders get their number,
	// store and client from the learned format.
	c.ClickNav(`button[formaction="/ui/rules/learn/backtest#backtest"]`)
	require.True(t, c.Has(`#backtest`), "the backtest: %s", c.Text("main"))
	bt := c.Text("table.backtest")
	assert.GreaterOrEqual(t, c.Count("table.backtest tbody tr"), 3, "the chain's stored messages change")
	assert.Contains(t, bt, "— → ZT-2026-", "the order number was not read before")
	assert.Contains(t, bt, "→ высокий", "nor the priority")
	c.Screenshot("learn-backtest.png")

	c.ClickNav(`button[formaction="/ui/rules/learn/apply"]`)
	require.False(t, c.Has(`.flash.bad`), "applying: %s", c.Text("main"))
	assert.Contains(t, c.Text(`.flash:not(.bad)`), "Версия правил 1")
	c.Screenshot("learn-applied.png")

	set, err := f.st.RuleSetAt(context.Background(), 1)
	require.NoError(t, err)
	assert.Equal(t, "olga", set.AppliedBy)
	assert.Contains(t, set.Comment, "zt-helpdeskpro")
	var names []string
	for _, src := range set.Sources {
		names = append(names, src.Name)
	}
	require.Contains(t, names, "00-learned/zt-helpdeskpro.yaml")
	assert.Contains(t, names, "rules/defaults/rules.yaml", "the set in force is kept behind the new format")
}
