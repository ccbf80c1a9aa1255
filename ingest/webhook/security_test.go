package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/ingest/webhook"
	"github.com/intakehq/intake/store"
)

// refusals sums intake_webhook_refusals_total by action.
func refusals(t *testing.T, c prometheus.Collector) map[string]float64 {
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "action" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func TestSecurity_RefusedWebhooksCannotFillTheDisk(t *testing.T) {
	big := strings.Repeat("A", 1<<20-200)
	unsigned := func(i int) request {
		f := url.Values{"event": {"NOTIFY_START"}, "pbx_call_id": {fmt.Sprintf("in_%d", i)}, "caller_id": {"79160000001"},
			"called_did": {"1"}, "call_start": {"2026-11-14 20:51:12"}, "pad": {big}}
		return zadarmaReq("not-the-secret", f)
	}
	var refusedBytes = func(e *env) (n, size int) {
		require.NoError(t, e.st.Pool.QueryRow(context.Background(),
			`SELECT count(*), coalesce(sum(size), 0) FROM inbound_items WHERE reason = 'bad signature'`).Scan(&n, &size))
		return n, size
	}

	t.Run("an address is limited and only excerpts are kept", func(t *testing.T) {
		e := newEnv(t)
		rf := e.inbox.Refusals()
		rf.Rate = 1.0 / 3600 // no refill while the test runs
		codes := map[int]int{}
		for i := range 40 {
			code, _ := e.send(unsigned(i))
			codes[code]++
		}
		assert.Equal(t, rf.Burst, codes[http.StatusUnauthorized], "the burst of refusals is answered 401 and kept")
		assert.Equal(t, 40-rf.Burst, codes[http.StatusTooManyRequests], "the rest is answered 429 unread")
		n, size := refusedBytes(e)
		assert.Equal(t, rf.Burst, n)
		assert.LessOrEqual(t, size, n*(ingest.RefusedExcerpt+100), "each kept refusal is an excerpt, not 1 MiB")
		got := refusals(t, rf)
		assert.Equal(t, float64(rf.Burst), got[ingest.RefusalKept])
		assert.Equal(t, float64(40-rf.Burst), got[ingest.RefusalLimited])
	})

	t.Run("the excerpts kept stay under the cap", func(t *testing.T) {
		e := newEnv(t)
		rf := e.inbox.Refusals()
		rf.Burst, rf.Rate, rf.Cap = 1000, 1000, 5*ingest.RefusedExcerpt
		for i := range 20 {
			code, _ := e.send(unsigned(i))
			assert.Equal(t, http.StatusUnauthorized, code)
		}
		n, size := refusedBytes(e)
		assert.LessOrEqual(t, int64(size), rf.Cap)
		assert.Less(t, n, 20)
		got := refusals(t, rf)
		assert.Equal(t, float64(n), got[ingest.RefusalKept])
		assert.Equal(t, float64(20-n), got[ingest.RefusalOverCap])

		// Signed events still pass once refusals are over their cap.
		e.sendAll(answeredZadarma("in_real", "79160000001"))
	})
}

func TestSecurity_ZadarmaReplaysMakeNoFakeTickets(t *testing.T) {
	start := func(id, callStart string) url.Values {
		return url.Values{"event": {"NOTIFY_START"}, "call_start": {callStart}, "pbx_call_id": {id},
			"caller_id": {"79160000001"}, "called_did": {"78122294881"}}
	}
	// A captured NOTIFY_START of a real call; its Signature covers
	// caller_id + called_did + call_start only, as NOTIFY_END's does.
	captured := start("in_real", "2026-11-14 20:51:12")
	sig := webhook.ZadarmaSignature(zdSecret, captured)
	replay := func(f url.Values) request {
		return request{path: "/telephony/zadarma/events", body: f.Encode(),
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Signature": {sig}}}
	}

	t.Run("the captured signature under new call ids and a missed disposition", func(t *testing.T) {
		e := newEnv(t)
		code, _ := e.send(zadarmaReq(zdSecret, captured))
		require.Equal(t, http.StatusOK, code)
		for i := range 3 {
			id := fmt.Sprintf("in_fake_%d", i)
			code, body := e.send(replay(start(id, "2026-11-14 20:51:12")))
			assert.Equal(t, http.StatusOK, code)
			assert.Contains(t, body, `"duplicate"`, "the same signed start under another call id is a replay")
			end := start(id, "2026-11-14 20:51:12")
			end.Set("event", "NOTIFY_END")
			end.Set("disposition", "no answer")
			end.Set("duration", "0")
			code, body = e.send(replay(end))
			assert.Equal(t, http.StatusOK, code, body)
		}
		e.process()
		assert.Equal(t, 0, e.count("tickets"), "no missed-call ticket from unsigned fields")
		calls, err := e.st.ListCalls(context.Background(), store.CallFilter{Disposition: store.DispositionCallback})
		require.NoError(t, err)
		assert.Empty(t, calls)
	})

	t.Run("a signed request outside the freshness window", func(t *testing.T) {
		e := newEnv(t)
		for _, when := range []string{"2026-11-12 20:51:12", "2026-11-15 20:51:12"} {
			code, _ := e.send(zadarmaReq(zdSecret, start("in_old", when)))
			assert.Equal(t, http.StatusUnauthorized, code, when)
		}
		e.process()
		assert.Equal(t, 0, e.count("calls"))
	})

	t.Run("a real missed call still makes one ticket", func(t *testing.T) {
		e := newEnv(t)
		end := start("in_missed", "2026-11-14 20:51:12")
		end.Set("event", "NOTIFY_END")
		end.Set("disposition", "no answer")
		e.sendAll([]request{zadarmaReq(zdSecret, start("in_missed", "2026-11-14 20:51:12")), zadarmaReq(zdSecret, end)})
		e.process()
		assert.Equal(t, 1, e.count("tickets"))
	})
}
