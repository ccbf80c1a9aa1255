package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/replay"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web"
	"github.com/intakehq/intake/web/webtest"
)

// rulesFixture is a server with the sample mailbox processed by the shipped
// rules, stored as version 1, the rule editor's lab, and two users: olga of
// operations and anna, a dispatcher.
type rulesFixture struct {
	st  *store.Store
	url string
}

const rulesFile = "rules/defaults/rules.yaml"

func newRulesFixture(t *testing.T) *rulesFixture {
	t.Helper()
	ctx := context.Background()
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	_, _, err := pipeline.SaveRulesWithComment(ctx, st, defaults.Files(), "olga", "Правила из поставки")
	require.NoError(t, err)
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
	webtest.Seed(t, st, proc.RunInline)
	s := &web.Server{
		Store: st, Log: discard(), Gatherer: prometheus.NewRegistry(), Rules: pipeline.StoredRules{Store: st}, Location: time.UTC,
		RuleLab: &replay.Lab{Store: st, AdminURL: pgtest.ServerURL(t), Fallback: defaults.Files(), Location: time.UTC, Now: clocktest.Clock(t)},
	}
	for _, u := range []struct {
		name string
		role auth.Role
	}{{"olga", auth.Operations}, {"anna", auth.Dispatcher}} {
		hash, err := auth.HashPassword("correct horse battery")
		require.NoError(t, err)
		_, err = st.AddUser(ctx, u.name, string(u.role), hash, "test")
		require.NoError(t, err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &rulesFixture{st: st, url: srv.URL}
}

// waitText waits until the text of sel contains want.
func waitText(t *testing.T, c *webtest.Chrome, sel, want string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := ""
		if c.Has(sel) {
			got = c.Text(sel)
		}
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not show %q; it shows:\n%s", sel, want, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// typeText replaces the editor's text as a paste does, then types a
// character at its end, so that the page sees typing.
func typeText(t *testing.T, c *webtest.Chrome, text string) {
	t.Helper()
	c.Eval(fmt.Sprintf(`(function () { var ta = document.getElementById("rule-text");
		ta.value = %q; ta.setSelectionRange(ta.value.length, ta.value.length);
		ta.dispatchEvent(new Event("input")); return true; })()`, text))
	c.Do(chromedp.SendKeys(chromedp.CSS("#rule-text"), "#"+kb.Backspace))
}

// lineOf is the 1-based line of text that holds substr, and the column
// where it starts.
func lineOf(t *testing.T, text, substr string) (int, int) {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if k := strings.Index(l, substr); k >= 0 {
			return i + 1, len([]rune(l[:k])) + 1
		}
	}
	t.Fatalf("no line holds %q", substr)
	return 0, 0
}

// TestChromeRuleEditor walks through the editor as operations staff do:
// break a rule and see the error at its line and column as it is typed,
// fix it, try it on a stored message, compare it over a week of mail with
// every field, apply it with a comment, and restore the earlier version.
func TestChromeRuleEditor(t *testing.T) {
	f := newRulesFixture(t)
	ctx := context.Background()
	var order int64
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT id FROM inbound_items WHERE client = 'PU' AND outcome = 'ticket' ORDER BY id LIMIT 1`).Scan(&order))

	c := webtest.NewChrome(t, 1280, 900)
	c.SignIn(f.url, "olga", "correct horse battery")
	c.Open(f.url + "/ui/rules")
	assert.Contains(t, c.Text("header nav"), "Правила", "the menu shows the editor to operations")
	assert.Contains(t, c.Text("#version-1"), "Правила из поставки")
	c.Screenshot("rules-1-list.png")

	c.ClickNav(`a[href$="%2frules.yaml"]`)
	c.WaitVisible("#rule-text")
	original := c.Value("#rule-text")
	require.Contains(t, original, "  - name: route-default\n")

	rule := func(when, category string) string {
		return strings.Replace(original, "  - name: route-default\n", "  - name: pu-critical\n"+
			"    description: Пятый угол просит всё срочно\n"+
			"    when: "+when+"\n"+
			"    then:\n"+
			"      priority: critical\n"+
			"      category: "+category+"\n"+
			"      continue: true\n\n"+
			"  - name: route-default\n", 1)
	}

	// A misspelt field: the error appears beside the text as it is typed,
	// at its line and column, and its line is marked.
	broken := rule(`client.cod == "PU"`, "security")
	typeText(t, c, broken)
	line, _ := lineOf(t, broken, `when: client.cod`)
	got := waitText(t, c, "#problems", fmt.Sprintf("строка %d, столбец", line))
	assert.Contains(t, got, "cod")
	assert.Contains(t, got, "pu-critical")
	assert.Equal(t, 1, c.Count("#gutter span.bad"))
	assert.Equal(t, fmt.Sprint(line), c.Text("#gutter span.bad"))
	c.Screenshot("rules-2-error-as-typed.png")

	// A category the reference data does not have.
	typo := rule(`client.code == "PU"`, "securty")
	typeText(t, c, typo)
	line, col := lineOf(t, typo, "securty")
	got = waitText(t, c, "#problems", fmt.Sprintf("строка %d, столбец %d", line, col))
	assert.Contains(t, got, `unknown category "securty"`)
	assert.Contains(t, got, `did you mean "security"`)
	c.Screenshot("rules-3-unknown-category.png")

	// Fixed.
	fixed := rule(`client.code == "PU"`, "security")
	typeText(t, c, fixed)
	waitText(t, c, "#check-status", "Ошибок нет")
	assert.Zero(t, c.Count("#problems li"))
	assert.Zero(t, c.Count("#gutter span.bad"))

	// Tried on a stored order: the whole trace, the order said to be
	// stored, nothing written.
	var itemsBefore int
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items`).Scan(&itemsBefore))
	c.Fill("#item", fmt.Sprint(order))
	c.ClickNav(`button[value="try"]`)
	c.WaitVisible("#tried")
	tried := c.Text(".tried")
	assert.Contains(t, tried, "critical")
	assert.Contains(t, tried, "security")
	assert.Contains(t, tried, fmt.Sprintf("уже сохранено: сообщение %d", order))
	assert.Contains(t, tried, "pu-critical")
	assert.Contains(t, c.Value("#rule-text"), "name: pu-critical", "the edit stays in the editor")
	var itemsAfter int
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items`).Scan(&itemsAfter))
	assert.Equal(t, itemsBefore, itemsAfter, "a try writes nothing")
	c.Screenshot("rules-4-tried.png")

	// Tried on an uploaded .eml: the same order as a file, recognised as
	// the stored message and tried as it first arrived, as a new ticket
	// with the number it would get.
	eml := filepath.Join(t.TempDir(), "order.eml")
	require.NoError(t, os.WriteFile(eml, demo.Mail()[0].Data, 0o644))
	c.Fill("#item", "")
	c.Upload("#eml", eml)
	c.ClickNav(`button[value="try"]`)
	c.WaitVisible("#tried")
	tried = c.Text(".tried")
	assert.Contains(t, tried, "order.eml")
	assert.Contains(t, tried, "critical")
	assert.Contains(t, tried, "уже сохранено: сообщение 1")
	assert.Contains(t, tried, "номер, который она получит")
	c.Screenshot("rules-4b-tried-upload.png")

	// A week of mail, every field compared.
	c.SetValue("#days", "7")
	c.ClickNav(`button[value="backtest"]`)
	c.WaitVisible("#backtest")
	summary := c.Text("#backtest + .card")
	for _, name := range []string{"Итог", "Клиент", "Номер клиента", "Магазин", "Категория", "Приоритет", "Срок", "Инженер"} {
		assert.Contains(t, summary, name)
	}
	var pu int
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items i JOIN tickets t ON t.id = i.ticket_id
		WHERE i.client = 'PU' AND i.outcome = 'ticket' AND t.priority <> 'critical'`).Scan(&pu))
	require.Positive(t, pu)
	assert.GreaterOrEqual(t, c.Count("table.backtest tbody tr"), pu, "every PU order that was not critical changes")
	assert.Contains(t, c.Text("table.backtest"), "→ критический")
	c.Screenshot("rules-5-backtest.png")

	// Applied with a comment, by the signed-in user.
	c.Eval(`window.confirm = function () { return true; }; true`)
	c.Fill("#comment", "Пятый угол: всё критично, категория охраны")
	c.ClickNav(`button[value="apply"]`)
	waitText(t, c, ".flash", "Применена версия 2")
	assert.Contains(t, c.Text("#version-2"), "olga")
	assert.Contains(t, c.Text("#version-2"), "Пятый угол: всё критично")
	rs, err := f.st.LatestRuleSet(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), rs.Version)
	assert.Equal(t, "olga", rs.AppliedBy)
	c.Screenshot("rules-6-applied.png")

	// The difference between the versions, line by line.
	c.Open(f.url + "/ui/rules/diff?a=1&b=2")
	d := c.Text("table.diff")
	assert.Contains(t, d, "+  - name: pu-critical")
	assert.Contains(t, d, "+      category: security")
	assert.Equal(t, 8, c.Count("table.diff tr.ins"), "the rule's seven lines and a blank line added, nothing else")
	assert.Zero(t, c.Count("table.diff tr.del"))
	c.Screenshot("rules-7-diff.png")

	// Version 1 restored as version 3.
	c.Open(f.url + "/ui/rules")
	c.Eval(`window.confirm = function () { return true; }; true`)
	c.Fill(`#version-1 input[name="comment"]`, "все заявки критичны — слишком много")
	c.ClickNav(`#version-1 button`)
	waitText(t, c, ".flash", "Применена версия 3")
	assert.Contains(t, c.Text("#version-3"), "Возврат к версии 1: все заявки критичны")
	v1, err := f.st.RuleSetAt(ctx, 1)
	require.NoError(t, err)
	v3, err := f.st.RuleSetAt(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, v1.Hash, v3.Hash, "version 3 holds version 1's files")
	c.Screenshot("rules-8-rolled-back.png")
}

// TestChromeRuleEditorForbidden: a dispatcher can neither open the rule
// editor nor apply rules, even with a form posted by hand; the menu does
// not offer it. Operations staff can.
func TestChromeRuleEditorForbidden(t *testing.T) {
	f := newRulesFixture(t)
	ctx := context.Background()

	anna := webtest.NewChrome(t, 1280, 900)
	anna.SignIn(f.url, "anna", "correct horse battery")
	assert.NotContains(t, anna.Text("header nav"), "Правила")
	for _, path := range []string{"/ui/rules", "/ui/rules/edit?file=" + rulesFile, "/ui/rules/diff?a=1&b=1"} {
		anna.Open(f.url + path)
		assert.Contains(t, anna.Text("h1"), "Доступ запрещён", path)
		assert.Contains(t, anna.Text("body"), "anna (диспетчер): настройка правил, форматов и справочников — для этого нужна роль операции.", path)
		assert.False(t, anna.Has("#rule-text"), path)
	}
	anna.Screenshot("rules-forbidden-dispatcher.png")

	// A form posted by hand, with her valid CSRF token, to apply rules and
	// to restore a version: both refused.
	for _, post := range []struct{ action, fields string }{
		{"/ui/rules/edit", `{file: "` + rulesFile + `", text: "rules: []\n", base: "1", do: "apply", comment: "x"}`},
		{"/ui/rules/rollback", `{version: "1", comment: "x"}`},
	} {
		anna.Open(f.url + "/ui/")
		anna.Eval(`(function () {
			var csrf = document.querySelector('input[name="csrf"]').value;
			var form = document.createElement("form");
			form.method = "post"; form.action = "` + post.action + `";
			var fields = ` + post.fields + `; fields.csrf = csrf;
			for (var k in fields) { var i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = fields[k]; form.appendChild(i); }
			document.body.appendChild(form); form.submit(); return true; })()`)
		waitText(t, anna, "h1", "Доступ запрещён")
	}
	anna.Screenshot("rules-forbidden-apply.png")
	v, err := f.st.RuleSetVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), v, "nothing was applied")

	olga := webtest.NewChrome(t, 1280, 900)
	olga.SignIn(f.url, "olga", "correct horse battery")
	olga.Open(f.url + "/ui/rules/edit?file=" + rulesFile)
	assert.True(t, olga.Has("#rule-text"))
	assert.Contains(t, olga.Text("header nav"), "Правила")
}

// Without script, the editor's buttons do it all: "Проверить" shows the
// problems at their line and column beside the text (422), and a set that
// names an unknown category cannot be applied.
func TestRuleEditorWithoutScript(t *testing.T) {
	f := newRulesFixture(t)
	c := webtest.Browser(t)
	_, doc := webtest.GetPage(t, c, f.url+"/ui/login")
	resp, err := c.PostForm(f.url+"/ui/login", url.Values{"csrf": {webtest.CSRF(t, doc)}, "user": {"olga"}, "password": {"correct horse battery"}})
	require.NoError(t, err)
	resp.Body.Close()
	_, doc = webtest.GetPage(t, c, f.url+"/ui/rules/edit?file="+url.QueryEscape(rulesFile))
	text := doc.Find("#rule-text").Text()
	require.Contains(t, text, "  - name: route-default\n")
	csrf := webtest.CSRF(t, doc)
	broken := strings.Replace(text, "  - name: route-default\n", "  - name: alarms\n    when: subject contains \"сигнализация\"\n    then:\n      category: securty\n\n  - name: route-default\n", 1)
	line, col := lineOf(t, broken, "securty")

	post := func(do string, extra url.Values) (*http.Response, *goquery.Document) {
		t.Helper()
		form := url.Values{"csrf": {csrf}, "file": {rulesFile}, "base": {"1"}, "text": {broken}, "do": {do}}
		for k, v := range extra {
			form[k] = v
		}
		resp, err := c.PostForm(f.url+"/ui/rules/edit", form)
		require.NoError(t, err)
		defer resp.Body.Close()
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		require.NoError(t, err)
		return resp, doc
	}
	resp, doc = post("check", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, doc.Find("#problems li").Text(), fmt.Sprintf("строка %d, столбец %d", line, col))
	assert.Contains(t, doc.Find("#problems li").Text(), `unknown category "securty"`)
	assert.Equal(t, fmt.Sprint(line), doc.Find("#gutter span.bad").Text())
	assert.Equal(t, broken, doc.Find("#rule-text").Text(), "the text stays as typed")

	resp, _ = post("apply", url.Values{"comment": {"охрана"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	v, err := f.st.RuleSetVersion(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(1), v, "nothing applied")

	// Fixed, but without a comment: not applied either.
	broken = strings.Replace(broken, "securty", "security", 1)
	resp, doc = post("apply", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, doc.Find(".flash").Text(), "комментарий")

	// Someone applied version 2 meanwhile: an edit begun at version 1 is
	// not applied over it.
	_, _, err = pipeline.SaveRulesWithComment(context.Background(), f.st, defaults.Files()[:len(defaults.Files())-1], "ivan", "без одного формата")
	require.NoError(t, err)
	resp, doc = post("apply", url.Values{"comment": {"охрана"}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Contains(t, doc.Find(".flash").Text(), "применена версия 2")
	v, err = f.st.RuleSetVersion(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)

	// Begun at version 2, it is applied as version 3 with its comment.
	resp, _ = post("apply", url.Values{"comment": {"охрана"}, "base": {"2"}})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "/ui/rules", resp.Request.URL.Path)
	rs, err := f.st.LatestRuleSet(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(3), rs.Version)
	assert.Equal(t, "olga", rs.AppliedBy)
	assert.Equal(t, "охрана", rs.Comment)
}
