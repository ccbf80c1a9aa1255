package webhook_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/ingest/webhook"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Secrets of the test PBXs; made up here, never the corpus's.
const (
	mangoKey, mangoSalt = "test-vpbx-key-0001", "test-salt-0001"
	zdSecret            = "test-zadarma-secret"
	genericSecret       = "test-generic-secret"
	storePhone          = "+7 916 000-00-01" // director of VR-001
	engineerPhone       = "+7 965 609-73-39"
)

var reference = map[string]string{
	"clients":    "code,name,legal_entities,domains\nVR,Верный,,vr.example\n",
	"engineers":  "code,name,email,phone,competences,areas,lat,lon,radius_km,max_open,status,rating\nENG-1,Петров Алексей,e1@x.example," + engineerPhone + ",refrigeration,,55.7,37.6,100,8,active,4.5\n",
	"objects":    "client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer\nVR,VR-001,Верный 1,\"г. Москва, ул. Ленина, д. 1\",Москва,Москва,,55.7,37.6,,\n",
	"contacts":   "client,object,name,role,email,phone\nVR,VR-001,Иванова Анна,store_director,vr001@vr.example," + storePhone + "\n",
	"categories": "code,name,competence,sla_hours,keywords\nrefrigeration,Холодильное оборудование,refrigeration,3,холодил\n",
}

// --- request generator ----------------------------------------------------

type request struct {
	path   string
	header http.Header
	body   string
}

func mangoReq(kind string, payload map[string]any, key, salt string) request {
	js, _ := json.Marshal(payload)
	sum := sha256.Sum256([]byte(key + string(js) + salt))
	f := url.Values{"vpbx_api_key": {key}, "sign": {hex.EncodeToString(sum[:])}, "json": {string(js)}}
	return request{path: "/telephony/mango/events/" + kind, header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body: f.Encode()}
}

func zadarmaReq(secret string, f url.Values) request {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if secret != "" {
		h.Set("Signature", webhook.ZadarmaSignature(secret, f))
	}
	return request{path: "/telephony/zadarma/events", header: h, body: f.Encode()}
}

func genericReq(secret string, ev map[string]any) request {
	b, _ := json.Marshal(ev)
	return request{path: "/telephony/generic/events", header: http.Header{"Content-Type": {"application/json"},
		"X-Intake-Signature": {webhook.GenericSignature(secret, b)}}, body: string(b)}
}

// A missed Mango call from the store: Appeared, Disconnected, summary. Seq
// and timestamps come as strings in one event and numbers in another.
func missedMango(entry string) []request {
	from := map[string]any{"number": "79160000001"}
	return []request{
		mangoReq("call", map[string]any{"entry_id": entry, "call_id": "leg1", "timestamp": "1793596402", "seq": "1", "call_state": "Appeared",
			"from": from, "to": map[string]any{"number": "74957250722", "line_number": "74957250722"}}, mangoKey, mangoSalt),
		mangoReq("call", map[string]any{"entry_id": entry, "call_id": "leg1", "timestamp": 1793596420, "seq": 2, "call_state": "Disconnected",
			"from": from, "to": map[string]any{"number": "74957250722"}, "disconnect_reason": 1100}, mangoKey, mangoSalt),
		mangoReq("summary", map[string]any{"entry_id": entry, "call_direction": 1, "from": from, "to": map[string]any{"number": "74957250722"},
			"line_number": "74957250722", "create_time": 1793596402, "talk_time": 0, "end_time": 1793596420, "entry_result": 0}, mangoKey, mangoSalt),
	}
}

func answeredZadarma(id, phone string) []request {
	base := url.Values{"event": {"NOTIFY_START"}, "call_start": {"2026-11-14 20:51:12"}, "pbx_call_id": {id}, "caller_id": {phone}, "called_did": {"78122294881"}}
	end := url.Values{"event": {"NOTIFY_END"}, "call_start": {"2026-11-14 20:51:12"}, "pbx_call_id": {id}, "caller_id": {phone},
		"called_did": {"78122294881"}, "internal": {"101"}, "duration": {"271"}, "disposition": {"answered"}}
	return []request{zadarmaReq(zdSecret, base), zadarmaReq(zdSecret, end)}
}

// --- harness ----------------------------------------------------------------

// clock is the receivers' now: shortly after the test calls' call_start
// (2026-11-14 20:51:12 in Moscow).
var clock = time.Date(2026, 11, 14, 18, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	st    *store.Store
	proc  *pipeline.Processor
	srv   *httptest.Server
	inbox *ingest.Inbox
	rc    *webhook.Receiver
}

func newEnv(t *testing.T) *env {
	ctx := context.Background()
	st := pgtest.Store(t)
	for _, kind := range []string{"clients", "engineers", "objects", "contacts", "categories"} {
		_, err := st.Import(ctx, kind, kind+".csv", strings.NewReader(reference[kind]), nil)
		require.NoError(t, err)
	}
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	proc := pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
	msk, _ := time.LoadLocation("Europe/Moscow")
	inbox := ingest.NewInbox(st, nil, func() time.Time { return clock })
	rc := webhook.New(webhook.Config{MangoAPIKey: mangoKey, MangoSalt: mangoSalt, ZadarmaSecret: zdSecret, ZadarmaLocation: msk,
		GenericSecret: genericSecret, CallbackCategory: "refrigeration", CallbackPriority: "high", Location: msk,
		Now: func() time.Time { return clock }},
		inbox, slog.New(slog.NewTextHandler(io.Discard, nil)))
	proc.HandleSource(flow.SourceCall, rc.Parse)
	proc.OnTicket(rc.TicketHook)
	mux := http.NewServeMux()
	rc.Routes(mux, "/telephony")
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, proc: proc, srv: srv, inbox: inbox, rc: rc}
}

func (e *env) send(r request) (int, string) {
	req, err := http.NewRequest("POST", e.srv.URL+r.path, strings.NewReader(r.body))
	require.NoError(e.t, err)
	req.Header = r.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) sendAll(rs []request) {
	for _, r := range rs {
		code, body := e.send(r)
		require.Equal(e.t, 200, code, body)
	}
}

func (e *env) process() {
	ctx := context.Background()
	ids, err := e.st.PendingItems(ctx, -time.Hour, 1000)
	require.NoError(e.t, err)
	for _, id := range ids {
		require.NoError(e.t, e.st.InTx(ctx, func(tx pgx.Tx) error { return e.proc.RunInline(ctx, tx, id) }))
	}
}

func (e *env) count(table string) int {
	var n int
	require.NoError(e.t, e.st.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

// --- tests -------------------------------------------------------------------

func TestMissedCallOneCallbackTicketReplayChangesNothing(t *testing.T) {
	e := newEnv(t)
	reqs := missedMango("ENTRY-1")
	e.sendAll(reqs)
	e.process()

	calls, err := e.st.ListCalls(context.Background(), store.CallFilter{})
	require.NoError(t, err)
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, store.CallMissed, c.Status)
	assert.Equal(t, "VR-001", c.Object)
	assert.Equal(t, "+79160000001", c.Phone)
	assert.Equal(t, store.DispositionCallback, c.Disposition)
	require.NotNil(t, c.TicketID)
	tk, err := store.TicketByID(context.Background(), e.st.Pool, *c.TicketID)
	require.NoError(t, err)
	assert.Equal(t, "VR-001", tk.Object)
	assert.Equal(t, "refrigeration", *tk.Category)
	assert.Equal(t, "high", *tk.Priority)
	assert.Contains(t, tk.Problem, "Пропущенный звонок от Иванова Анна")
	assert.Equal(t, 1, e.count("tickets"), "Disconnected and summary both end the call: one ticket")

	before := [3]int{e.count("inbound_items"), e.count("call_events"), e.count("tickets")}
	for _, r := range reqs {
		code, body := e.send(r)
		assert.Equal(t, 200, code)
		assert.Contains(t, body, `"known"`)
	}
	e.process()
	assert.Equal(t, before, [3]int{e.count("inbound_items"), e.count("call_events"), e.count("tickets")})
}

func TestBadSignaturesRefusedKeptNeverProcessed(t *testing.T) {
	e := newEnv(t)
	good := missedMango("ENTRY-2")
	forged := good[2]
	forged.body = strings.Replace(forged.body, "entry_result%22%3A0", "entry_result%22%3A1", 1)
	noSig := answeredZadarma("in_x", "79160000001")[0]
	noSig.header.Del("Signature")
	cases := []struct {
		name string
		req  request
	}{
		{"mango body changed", forged},
		{"mango foreign key", mangoReq("summary", map[string]any{"entry_id": "ENTRY-2"}, "someone-else", mangoSalt)},
		{"mango wrong salt", mangoReq("summary", map[string]any{"entry_id": "ENTRY-2"}, mangoKey, "wrong")},
		{"zadarma wrong secret", answeredZadarma("in_y", "79160000001")[0]},
		{"zadarma missing header", noSig},
		{"generic wrong secret", genericReq("nope", map[string]any{"call_id": "g1", "event_id": "1", "event": "end"})},
	}
	cases[3].req = zadarmaReq("wrong", url.Values{"event": {"NOTIFY_START"}, "pbx_call_id": {"in_y"}, "caller_id": {"79160000001"}, "called_did": {"1"}, "call_start": {"2026-11-14 20:51:12"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := e.send(tc.req)
			assert.Equal(t, http.StatusUnauthorized, code)
		})
	}
	items, err := e.st.ListItems(context.Background(), store.ItemFilter{})
	require.NoError(t, err)
	require.Len(t, items, len(cases))
	for _, it := range items {
		require.NotNil(t, it.Outcome)
		assert.Equal(t, store.OutcomeIgnored, *it.Outcome)
		assert.Equal(t, "bad signature", it.Reason)
	}
	// A refused request claiming a real call's id does not stand in for it.
	e.sendAll(good)
	e.process()
	assert.Equal(t, 1, e.count("tickets"))
	assert.Equal(t, 0, e.count("call_events WHERE item_id IN (SELECT id FROM inbound_items WHERE reason = 'bad signature')"))
}

func TestAnsweredCallFollowsUpOpenTicketOrIsKept(t *testing.T) {
	e := newEnv(t)
	// No open ticket yet: kept as a record.
	e.sendAll(answeredZadarma("in_a1", "79160000001"))
	e.process()
	calls, err := e.st.ListCalls(context.Background(), store.CallFilter{Disposition: store.DispositionRecord})
	require.NoError(t, err)
	require.Len(t, calls, 1)
	assert.Equal(t, store.CallAnswered, calls[0].Status)

	// A missed call opens a call-back ticket; the next answered call is
	// attached to it.
	e.sendAll(missedMango("ENTRY-3"))
	e.sendAll(answeredZadarma("in_a2", "89160000001"))
	e.process()
	followed, err := e.st.ListCalls(context.Background(), store.CallFilter{Disposition: store.DispositionFollowUp})
	require.NoError(t, err)
	require.Len(t, followed, 1)
	require.NotNil(t, followed[0].TicketID)
	evs, err := e.st.TicketEvents(context.Background(), *followed[0].TicketID)
	require.NoError(t, err)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind)
	}
	assert.Equal(t, []string{"created", "call"}, kinds)
	assert.Equal(t, 1, e.count("tickets"))
}

func TestUnknownNumbersListedEngineersKnown(t *testing.T) {
	e := newEnv(t)
	e.sendAll([]request{
		genericReq(genericSecret, map[string]any{"call_id": 77, "event_id": 1, "event": "start", "direction": "in", "from": "+7 999 123-45-67", "at": "2026-11-03T10:00:00+03:00"}),
		genericReq(genericSecret, map[string]any{"call_id": "77", "event_id": "2", "event": "end", "direction": "in", "from": "+7 999 123-45-67", "answered": false}),
	})
	e.sendAll(answeredZadarma("in_eng", strings.NewReplacer(" ", "", "-", "", "+", "").Replace(engineerPhone)))
	e.process()
	unknown, err := e.st.ListCalls(context.Background(), store.CallFilter{Unknown: true})
	require.NoError(t, err)
	require.Len(t, unknown, 1)
	assert.Equal(t, "+79991234567", unknown[0].Phone)
	assert.Equal(t, store.CallMissed, unknown[0].Status)
	items, err := e.st.ListItems(context.Background(), store.ItemFilter{Outcome: store.OutcomeUnmatched})
	require.NoError(t, err)
	assert.Len(t, items, 1, "the end of an unknown caller's call is in the dispatchers' queue once")
	all, err := e.st.ListCalls(context.Background(), store.CallFilter{})
	require.NoError(t, err)
	for _, c := range all {
		if c.CallID == "in_eng" {
			assert.True(t, c.Known)
			assert.Contains(t, c.Contact, "ENG-1")
		}
	}
	assert.Equal(t, 0, e.count("tickets"))
}

func TestZadarmaEcho(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/telephony/zadarma/events?zd_echo=ZX81")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "ZX81", string(b))
}

func TestSignaturesOfKnownVectors(t *testing.T) {
	// Zadarma documents base64(hex(HMAC-SHA1)); the vector was computed
	// independently with Python's hmac module.
	f := url.Values{"event": {"NOTIFY_OUT_END"}, "internal": {"100"}, "destination": {"79001234567"}, "call_start": {"2026-11-01 10:00:00"}}
	sig := webhook.ZadarmaSignature("secret", f)
	assert.Equal(t, "YzdlY2M0ZDYwMDFiNzFmZjJmNGE3YjNmMzE2NGQxM2M2YTMzZjMyNg==", sig)
	// RFC 4231-style public vector for HMAC-SHA256.
	assert.Equal(t, "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", webhook.GenericSignature("key", []byte("The quick brown fox jumps over the lazy dog")))
}
