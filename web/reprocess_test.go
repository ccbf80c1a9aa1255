package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/drift"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/pipeline/reprocesstest"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web/webtest"
)

// reprocessFixture is the chain onboarded after its mail arrived
// (reprocesstest.Onboard), served with reprocessing and drift tracking.
type reprocessFixture struct {
	*authFixture
	proc *pipeline.Processor
	mon  *pipeline.DriftMonitor
	ids  map[string]int64
}

func newReprocessFixture(t *testing.T) reprocessFixture {
	t.Helper()
	f := newAuthFixture(t)
	pgtest.ImportDemo(t, f.st)
	now := func() time.Time { return f.now }
	proc, ids := reprocesstest.Onboard(t, f.st, now)
	mon := pipeline.NewDriftMonitor(f.st, proc, drift.Config{MinMessages: 3}, now)
	f.srv.Reprocess = func(ctx context.Context, fl store.ReprocessFilter, by string, dryRun bool) (*pipeline.ReprocessReport, error) {
		return proc.Reprocess(ctx, f.st, fl, by, dryRun)
	}
	f.srv.Drift = mon
	f.srv.Location = time.UTC
	return reprocessFixture{f, proc, mon, ids}
}

func (f reprocessFixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, f.st.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// The walk-through: the chain changed its template, the drift alarm shows
// on every page; operations fix the format (the fixture's processor has the
// fixed one), preview the reprocessing of the unmatched mail, apply it, and
// the alarm is gone. Then the chain's older mail: the order's ticket gets
// the chain's number and the update's ticket is merged into it.
func TestReprocessWalkThrough(t *testing.T) {
	ctx := context.Background()
	f := newReprocessFixture(t)
	f.addUser(t, "olga", auth.Operations, "correct horse battery")
	f.addUser(t, "anna", auth.Dispatcher, "correct horse battery")
	_, err := f.mon.Refresh(ctx)
	require.NoError(t, err)
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)

	c := webtest.NewChrome(t, 1280, 900)
	c.SignIn(srv.URL, "olga", "correct horse battery")
	c.Open(srv.URL + "/ui/")
	require.True(t, c.Has(".drift-banner"), "the alarm shows on the home page")
	assert.Contains(t, c.Text(".drift-banner"), "формат "+reprocesstest.FormatName+" — 67%")
	c.Screenshot("reprocess-1-banner.png")

	c.Click(".drift-banner a")
	c.WaitVisible("table.drift")
	assert.True(t, c.Has(`a[href^="/ui/reprocess"]`))
	row := "#drift-format-" + reprocesstest.FormatName
	require.True(t, c.Has(row+".alarm"))
	assert.Contains(t, c.Text(row), "тревога")
	assert.Equal(t, 2, c.Count(row+` a[href^="/ui/items/"]`), "the two messages missing fields are the examples")
	c.Screenshot("reprocess-2-drift-alarm.png")

	// Preview the unmatched: nothing written.
	tickets := f.count(t, `SELECT count(*) FROM tickets`)
	c.Open(srv.URL + "/ui/reprocess")
	c.Click(`input[name="unmatched"]`)
	c.Click(`.rp-form button[type="submit"]`)
	c.WaitVisible("table.rp")
	body := c.Text("main")
	assert.Contains(t, body, "Предпросмотр: писем 2, изменится 2")
	assert.Contains(t, body, "новая заявка: 2")
	assert.Contains(t, c.Text(".rp-fields"), "Магазин — 2, Номер клиента — 2")
	assert.Contains(t, body, "APT-0051")
	assert.Contains(t, body, "SD-5003")
	assert.Contains(t, body, "новая (номер при применении)")
	assert.Equal(t, tickets, f.count(t, `SELECT count(*) FROM tickets`))
	assert.True(t, c.Has(".drift-banner"), "a preview changes nothing")
	c.Screenshot("reprocess-3-preview.png")

	c.Click("#apply")
	c.WaitVisible(".flash")
	assert.Contains(t, c.Text(".flash"), "Применено: обработано писем 2, изменилось 2")
	assert.False(t, c.Has(".drift-banner"), "the alarm cleared")
	assert.Equal(t, tickets+2, f.count(t, `SELECT count(*) FROM tickets`))
	assert.Equal(t, 2, f.count(t, `SELECT count(*) FROM ticket_events WHERE kind = 'reprocessed' AND actor = 'olga'`))
	c.Screenshot("reprocess-4-applied.png")

	c.Open(srv.URL + "/ui/drift")
	assert.False(t, c.Has(row+".alarm"))
	assert.Contains(t, c.Text(row), "норма")
	c.Screenshot("reprocess-5-drift-cleared.png")

	// The chain's older mail: all of SB.
	c.Open(srv.URL + "/ui/reprocess?client=SB&preview=1")
	c.WaitVisible("table.rp")
	body = c.Text("main")
	assert.Contains(t, body, "заявка исправлена: 1")
	assert.Contains(t, body, "заявки объединены: 1")
	assert.Contains(t, body, "SD-5001")
	c.Screenshot("reprocess-6-client-preview.png")
	c.Click("#apply")
	c.WaitVisible(".flash")
	assert.Equal(t, tickets+2, f.count(t, `SELECT count(*) FROM tickets`), "no ticket duplicated")
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM tickets WHERE state = 'cancelled'`))
	assert.Equal(t, 1, f.count(t, `SELECT count(*) FROM ticket_events WHERE kind = 'merged' AND actor = 'olga' AND to_state = 'cancelled'`))
	c.Screenshot("reprocess-7-client-applied.png")
	var wrong int64
	require.NoError(t, f.st.Pool.QueryRow(ctx, `SELECT id FROM tickets WHERE state = 'cancelled'`).Scan(&wrong))
	c.Open(fmt.Sprintf("%s/ui/tickets/%d", srv.URL, wrong))
	assert.Contains(t, c.Text("main"), "объединена с заявкой INT-1")
	c.Screenshot("reprocess-8-merged-ticket.png")

	// Twice changes nothing.
	events := f.count(t, `SELECT count(*) FROM ticket_events`)
	c.Open(srv.URL + "/ui/reprocess?client=SB&preview=1")
	c.WaitVisible(".rp-counts")
	assert.Contains(t, c.Text("main"), "изменится 0")
	assert.False(t, c.Has("#apply"), "nothing to apply")
	assert.Equal(t, events, f.count(t, `SELECT count(*) FROM ticket_events`))

	// Dispatchers see the alarm's page but may not reprocess.
	d := webtest.NewChrome(t, 390, 844)
	d.SignIn(srv.URL, "anna", "correct horse battery")
	d.Open(srv.URL + "/ui/drift")
	assert.True(t, d.Has("table.drift"))
	assert.False(t, d.Has(`a[href^="/ui/reprocess"]`), "no link to a page they may not open")
	d.Screenshot("reprocess-9-drift-phone.png")
	d.Open(srv.URL + "/ui/reprocess")
	assert.True(t, strings.Contains(d.Text("main"), "Доступ запрещён") || strings.Contains(d.Text("body"), "запрещ"), d.Text("body"))
}

// A page without a filter asks for one instead of reprocessing everything.
func TestReprocessNeedsAFilter(t *testing.T) {
	f := newReprocessFixture(t)
	f.addUser(t, "olga", auth.Operations, "correct horse battery")
	tok := f.token(t, "olga")
	rec := f.do(t, "POST", "/api/v1/reprocess", "", tok, map[string]any{"dry_run": true})
	assert.Equal(t, 400, rec.Code, rec.Body.String())
	rec = f.do(t, "POST", "/api/v1/reprocess", "", tok, map[string]any{"unmatched": true, "dry_run": true})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"created": 2`)
	rec = f.do(t, "POST", "/api/v1/reprocess", "", tok, map[string]any{"from": "2026-13-01", "dry_run": true})
	assert.Equal(t, 400, rec.Code)
	rec = f.do(t, "GET", "/api/v1/drift", "", tok, nil)
	assert.Equal(t, 200, rec.Code)
}
