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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web/webtest"
)

const newchainDir = "../testdata/newchain"

// An operations user uploads five samples of the worked example's chain
// (ZT), reads the proposal and its evidence, tries it on the samples and
// applies it in front of the rule set in force.
func TestLearnPageProposesTriesApplies(t *testing.T) {
	f := newAuthFixture(t)
	f.srv.Rules = pipeline.StoredRules{Store: f.st}
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
