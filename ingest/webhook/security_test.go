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
