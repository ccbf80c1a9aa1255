package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/auth"
	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
	"github.com/intakehq/intake/web/webtest"
)

// equipFixture is serve's HTTP side on the demo data, with the pipeline's
// watcher running (so an import is picked up without a restart), a user to
// sign in as and a token of role client.
type equipFixture struct {
	t           *testing.T
	ctx         context.Context
	dbURL       string
	eng         *engine
	st          *store.Store
	srv         *httptest.Server
	clientToken string
	now         time.Time
}

func newEquipFixture(t *testing.T) *equipFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dbURL := pgtest.URL(t)
	cfg, err := loadConfig("", func(k string) string {
		switch k {
		case "DATABASE_URL":
			return dbURL
		case "INTAKE_LINK_KEY":
			return testLinkKey
		}
		return ""
	})
	require.NoError(t, err)
	cfg.HTTP.APITokens = []string{testAPIToken}
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	pgtest.ImportDemo(t, st)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := newEngine(ctx, cfg, st, log)
	require.NoError(t, err)
	eng.setClock(clocktest.Clock(t))
	mux, _, err := setupComponents(eng, log, prometheus.NewRegistry())
	require.NoError(t, err)
	webtest.Seed(t, st, eng.proc.RunInline)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipeline.Watch(ctx, st, eng.proc, eng.ruleFiles, 100*time.Millisecond, log) //nolint:errcheck
	}()
	t.Cleanup(func() { cancel(); <-done })
	srv := httptest.NewServer(newWebServer(eng, &sourceSet{}, mux, log, prometheus.NewRegistry()).Handler())
	t.Cleanup(srv.Close)

	_, err = st.AddUser(ctx, "anna", "dispatcher", mustHash(t, "correct horse battery"), "test")
	require.NoError(t, err)
	_, err = st.AddUser(ctx, "vr-desk", string(auth.Client), nil, "test")
	require.NoError(t, err)
	tok, err := auth.NewToken()
	require.NoError(t, err)
	_, err = st.CreateAPIToken(ctx, "vr-desk", auth.TokenID(tok), auth.HashToken(tok), "vr service desk", "test")
	require.NoError(t, err)
	return &equipFixture{t: t, ctx: ctx, dbURL: dbURL, eng: eng, st: st, srv: srv, clientToken: tok, now: eng.now()}
}

func mustHash(t *testing.T, pw string) []byte {
	h, err := auth.HashPassword(pw)
	require.NoError(t, err)
	return h
}

// process runs the items of a source that have no outcome yet through the
// stages, as the pipeline's router would.
func (f *equipFixture) process(source string) []int64 {
	f.t.Helper()
	rows, err := f.st.Pool.Query(f.ctx, `SELECT id FROM inbound_items WHERE source = $1 AND stage <> 'done' ORDER BY id`, source)
	require.NoError(f.t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(f.t, err)
	for _, id := range ids {
		require.NoError(f.t, f.st.InTx(f.ctx, func(tx pgx.Tx) error { return f.eng.proc.RunInline(f.ctx, tx, id) }))
	}
	return ids
}

// ticketOf returns the ticket an item became.
func (f *equipFixture) ticketOf(item int64) *store.Ticket {
	f.t.Helper()
	it, err := f.st.GetItem(f.ctx, item)
	require.NoError(f.t, err)
	require.NotNil(f.t, it.Outcome, "item %d has no outcome", item)
	require.Equal(f.t, flow.OutcomeTicket, *it.Outcome, "item %d: %s %s", item, it.Reason, it.Error)
	tk, err := store.TicketByID(f.ctx, f.st.Pool, *it.TicketID)
	require.NoError(f.t, err)
	return tk
}

func (f *equipFixture) equipmentOf(ticket int64) *store.EquipmentCard {
	f.t.Helper()
	c, err := store.TicketEquipmentCard(f.ctx, f.st.Pool, ticket)
	require.NoError(f.t, err, "ticket %d has no equipment", ticket)
	return c
}

// request calls the request API.
func (f *equipFixture) request(token, key string, body any) (int, http.Header, []byte) {
	f.t.Helper()
	b, ok := body.([]byte)
	if !ok {
		var err error
		b, err = json.Marshal(body)
		require.NoError(f.t, err)
	}
	req, err := http.NewRequest("POST", f.srv.URL+"/api/v1/requests", bytes.NewReader(b))
	require.NoError(f.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// serialMail is a letter from an address nobody knows that names only an
// equipment's serial number.
func serialMail(id, text string) []byte {
	return []byte("From: =?utf-8?b?" + b64("Техник Олег") + "?= <oleg.tech@mail.example>\r\n" +
		"To: zayavki@tehservis.example\r\n" +
		"Subject: =?utf-8?b?" + b64("Неисправность") + "?=\r\n" +
		"Message-ID: <" + id + "@mail.example>\r\n" +
		"Date: Wed, 04 Nov 2026 10:00:00 +0300\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		text + "\r\n")
}

func (f *equipFixture) mail(id, text string) int64 {
	f.t.Helper()
	raw := serialMail(id, text)
	key, mid := ingest.MailKeys(raw)
	res, err := f.eng.inbox.Put(f.ctx, []ingest.Item{{Source: flow.SourceMail, SourceRef: "test/" + id, DedupKey: key, MessageID: mid, Raw: raw}}, nil)
	require.NoError(f.t, err)
	require.NoError(f.t, f.st.InTx(f.ctx, func(tx pgx.Tx) error { return f.eng.proc.RunInline(f.ctx, tx, res[0].ID) }))
	return res[0].ID
}

// An import of equipment is picked up by the running server; then a
// letter, a form submission (in a phone-sized Chromium, with a photo) and
// an API request each name only the equipment's serial number, and each
// becomes a ticket for the equipment's store, with the equipment and its
// history on the ticket page.
func TestEquipmentBySerialOnly(t *testing.T) {
	f := newEquipFixture(t)
	dir := f.eng.proc.Runtime().Directory
	var vr []routing.Object
	for _, o := range dir.Objects() {
		if o.Client == "VR" {
			vr = append(vr, o)
		}
	}
	require.GreaterOrEqual(t, len(vr), 2)
	store1, store2 := vr[0], vr[1]
	const serial = "ZX-5512-0087"
	warranty := f.now.AddDate(1, 0, 0).Format(time.DateOnly)

	csvPath := filepath.Join(t.TempDir(), "equipment.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte("client,object,serial,model,kind,installed,warranty_until\n"+
		fmt.Sprintf("VR,%s,%s,Ариада ВС-1.2,refrigeration,2025-03-01,%s\n", store1.Code, serial, warranty)+
		fmt.Sprintf("VR,%s,XY-0001-777,Frigoglass,refrigeration,2024-01-01,\n", store2.Code)), 0o644))
	out, stderr, err := runCLI(t, f.dbURL, "import", "equipment", csvPath)
	require.NoError(t, err, stderr)
	assert.Contains(t, out+stderr, "equipment")
	require.Eventually(t, func() bool {
		return f.eng.proc.Runtime().Directory.EquipmentBySerial("VR", serial) != nil
	}, 10*time.Second, 50*time.Millisecond, "the running server picks the import up without a restart")

	// A letter with only the serial (Cyrillic look-alikes, spaces).
	mailItem := f.mail("serial-1", "Добрый день! Перестала работать, зав. № ZХ 5512 0087. Олег")
	mt := f.ticketOf(mailItem)
	assert.Equal(t, "VR", mt.Client)
	assert.Equal(t, store1.Code, mt.Object)
	assert.Equal(t, "refrigeration", *mt.Category, "the equipment's kind sets the category when the message names none")
	assert.Equal(t, serial, f.equipmentOf(mt.ID).Serial)
	assert.Equal(t, "text", f.equipmentOf(mt.ID).Source)

	// The form, on a phone, with a photo, naming only the serial.
	photo := filepath.Join(t.TempDir(), "vitrina.png")
	writePNG(t, photo)
	t.Setenv("INTAKE_UI_SCREENSHOTS", cmp.Or(os.Getenv("INTAKE_UI_SCREENSHOTS"), t.TempDir()))
	c := webtest.NewChrome(t, 390, 844)
	c.Open(f.srv.URL + "/form/")
	c.Do(chromedp.SendKeys(chromedp.CSS(`textarea[name="problem"]`), "Не включается витрина с молочкой"))
	c.Fill(`input[name="serial"]`, "zx-5512-0087")
	c.Fill(`input[name="name"]`, "Мария Соколова")
	c.Fill(`input[name="phone"]`, "+7 916 555-12-34")
	c.Upload(`input[name="photos"]`, photo)
	c.Screenshot("equipment-form-phone.png")
	assert.Equal(t, "390", c.Eval(`document.documentElement.clientWidth`))
	assert.Equal(t, "true", c.Eval(`document.documentElement.scrollWidth <= 390`), "nothing overflows a phone's width")
	c.Click(`form[method="post"] button[type="submit"]`)
	c.WaitVisible(`.ok`)
	assert.Contains(t, c.Text(".ok"), "обрабатывается", "the page answers at once; processing runs meanwhile")
	ids := f.process(flow.SourceForm)
	require.Len(t, ids, 1)
	ft := f.ticketOf(ids[0])
	assert.Equal(t, store1.Code, ft.Object)
	assert.Equal(t, "field", f.equipmentOf(ft.ID).Source)
	c.Open(c.Location())
	c.WaitVisible(`.ok .num`)
	assert.Contains(t, c.Text(".ok"), ft.Number, "the receipt shows the ticket number once there is one")
	c.Screenshot("equipment-form-receipt.png")
	it, err := f.st.GetItem(f.ctx, ids[0])
	require.NoError(t, err)
	assert.Contains(t, string(it.Parsed), `"vitrina.png"`, "the photo is kept with the request")
	assert.Contains(t, string(it.Raw), `"content_type":"image/png"`)

	// The API, naming only the client and the serial.
	status, _, body := f.request(f.clientToken, "vr-1", map[string]any{
		"client": "VR", "external_id": "VR-REQ-1", "serial": "ZX 5512 0087", "problem": "Витрина: ошибка E3",
		"contact":     map[string]string{"name": "Дежурный", "phone": "+7 495 100-00-01"},
		"attachments": []map[string]any{{"name": "error.jpg", "url": "https://desk.vr.example/files/1.jpg"}},
	})
	require.Equal(t, http.StatusAccepted, status, "%s", body)
	var ans struct {
		ID     int64
		Status string
	}
	require.NoError(t, json.Unmarshal(body, &ans))
	assert.Equal(t, "received", ans.Status)
	f.process(flow.SourceAPI)
	at := f.ticketOf(ans.ID)
	assert.Equal(t, store1.Code, at.Object)
	assert.Equal(t, "VR-REQ-1", *at.ExternalID)

	// The ticket page: the equipment, its warranty, and the earlier tickets
	// of the same equipment with who was on them.
	c = webtest.NewChrome(t, 1280, 900)
	c.SignIn(f.srv.URL, "anna", "correct horse battery")
	c.Open(fmt.Sprintf("%s/ui/tickets/%d", f.srv.URL, at.ID))
	c.WaitVisible(`section.equipment`)
	card := c.Text("section.equipment")
	assert.Contains(t, card, serial)
	assert.Contains(t, card, "Ариада ВС-1.2")
	assert.Contains(t, card, "на гарантии до "+warranty)
	assert.Contains(t, card, mt.Number)
	assert.Contains(t, card, ft.Number)
	assert.Equal(t, 2, c.Count(`section.equipment tbody tr`), "the two earlier tickets of the equipment")
	if mt.Engineer != nil {
		e := dir.Engineer(*mt.Engineer)
		require.NotNil(t, e)
		assert.Contains(t, card, e.Name, "who was on the earlier ticket")
	}
	c.Screenshot("equipment-ticket.png")

	var tj struct {
		Equipment struct {
			Serial, Warranty string
			History          []struct{ Number string }
		}
	}
	require.Equal(t, http.StatusOK, webtest.API{Srv: f.srv, Token: testAPIToken}.Call(t, "GET", fmt.Sprintf("/api/v1/tickets/%d", at.ID), nil, &tj))
	assert.Equal(t, serial, tj.Equipment.Serial)
	assert.Equal(t, "under", tj.Equipment.Warranty)
	assert.Len(t, tj.Equipment.History, 2, "the ticket's API has the equipment and its history too")

	// The engineer's task carries the equipment too.
	tasks, err := f.st.Pool.Query(f.ctx, `SELECT engineer FROM engineer_tasks WHERE ticket_id = $1 AND engineer IS NOT NULL`, at.ID)
	require.NoError(t, err)
	engs, err := pgx.CollectRows(tasks, pgx.RowTo[string])
	require.NoError(t, err)
	if len(engs) > 0 {
		views, err := f.st.MyTasks(f.ctx, engs[0])
		require.NoError(t, err)
		found := false
		for _, v := range views {
			if v.Ticket == at.Number {
				require.NotNil(t, v.Equipment)
				assert.Equal(t, serial, v.Equipment.Serial)
				found = true
			}
		}
		assert.True(t, found)
	}
}

// A serial registered at one store in a request naming another: the ticket
// is for the store named, and the dispatcher is given the reason on the
// ticket (an event and the equipment card) and in the item's decision.
func TestEquipmentStoreDisagrees(t *testing.T) {
	f := newEquipFixture(t)
	var vr []routing.Object
	for _, o := range f.eng.proc.Runtime().Directory.Objects() {
		if o.Client == "VR" {
			vr = append(vr, o)
		}
	}
	csvPath := filepath.Join(t.TempDir(), "equipment.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte("client,object,serial,model,kind,installed,warranty_until\n"+
		fmt.Sprintf("VR,%s,QQ-3001-55,Liebherr,refrigeration,2025-03-01,\n", vr[0].Code)), 0o644))
	_, stderr, err := runCLI(t, f.dbURL, "import", "equipment", csvPath)
	require.NoError(t, err, stderr)
	require.Eventually(t, func() bool {
		return f.eng.proc.Runtime().Directory.EquipmentBySerial("VR", "QQ-3001-55") != nil
	}, 10*time.Second, 50*time.Millisecond)

	status, _, body := f.request(f.clientToken, "conflict-1", map[string]any{
		"client": "VR", "store": vr[1].Code, "serial": "QQ-3001-55", "problem": "Течёт витрина",
		"contact": map[string]string{"name": "Дежурный", "phone": "+7 495 100-00-01"},
	})
	require.Equal(t, http.StatusAccepted, status, "%s", body)
	var ans struct{ ID int64 }
	require.NoError(t, json.Unmarshal(body, &ans))
	f.process(flow.SourceAPI)
	tk := f.ticketOf(ans.ID)
	assert.Equal(t, vr[1].Code, tk.Object, "the store the request names")
	card := f.equipmentOf(tk.ID)
	assert.Contains(t, card.Conflict, "QQ-3001-55")
	assert.Contains(t, card.Conflict, vr[0].Code)
	assert.Contains(t, card.Conflict, vr[1].Code)
	events, err := f.st.TicketEvents(f.ctx, tk.ID)
	require.NoError(t, err)
	var reasons []string
	for _, e := range events {
		if e.Kind == "equipment_conflict" {
			reasons = append(reasons, e.Reason)
		}
	}
	assert.Equal(t, []string{card.Conflict}, reasons)
	it, err := f.st.GetItem(f.ctx, ans.ID)
	require.NoError(t, err)
	assert.Contains(t, string(it.Decision), `"equipment_conflict"`)

	// The same through the trace of a letter naming a store code and another
	// store's serial.
	item := f.mail("conflict-2", fmt.Sprintf("Магазин %s. Течёт витрина, S/N QQ-3001-55.", vr[1].Code))
	it, err = f.st.GetItem(f.ctx, item)
	require.NoError(t, err)
	var dec flow.Decision
	require.NoError(t, json.Unmarshal(it.Decision, &dec))
	var applied []string
	for _, e := range dec.Trace {
		if e.Rule == "equipment" && e.Matched {
			applied = e.Applied
		}
	}
	assert.Contains(t, applied, "source=text", "the match and its source are in the trace")
	assert.Contains(t, applied, "serial=QQ-3001-55")
	mt := f.ticketOf(item)
	assert.NotEmpty(t, f.equipmentOf(mt.ID).Conflict)

	// The dispatcher sees it on the ticket page.
	c := webtest.NewChrome(t, 1280, 900)
	c.SignIn(f.srv.URL, "anna", "correct horse battery")
	c.Open(fmt.Sprintf("%s/ui/tickets/%d", f.srv.URL, tk.ID))
	c.WaitVisible(`section.equipment .reason`)
	assert.Contains(t, c.Text(`section.equipment .reason`), "числится на объекте VR/"+vr[0].Code)
	assert.Contains(t, c.Text(`tr.event-equipment_conflict`), "QQ-3001-55")
	c.Screenshot("equipment-conflict.png")

	// A serial nobody registered is named in the reason of an unmatched item.
	item = f.mail("unknown-serial", "Не работает ларь, S/N NO-0000-999, адреса не знаю")
	it, err = f.st.GetItem(f.ctx, item)
	require.NoError(t, err)
	require.NotNil(t, it.Outcome)
	assert.Equal(t, flow.OutcomeUnmatched, *it.Outcome)
	assert.Contains(t, it.Reason, "serial NO-0000-999 is not registered")
}

// The request API: a token is needed (a client's token may only submit),
// errors are field by field, and a retry with the same Idempotency-Key gets
// the first answer and stores nothing.
func TestRequestAPI(t *testing.T) {
	f := newEquipFixture(t)
	good := map[string]any{"client": "PU", "serial": "KB-4471-02918", "problem": "Не холодит", "priority": "high",
		"contact": map[string]string{"name": "Дежурный"}}

	status, _, _ := f.request("", "k1", good)
	assert.Equal(t, http.StatusUnauthorized, status, "no token")
	status, _, _ = f.request("not-a-token-but-long-enough-0123456789", "k1", good)
	assert.Equal(t, http.StatusUnauthorized, status, "a wrong token")

	status, _, body := f.request(f.clientToken, "", good)
	assert.Equal(t, http.StatusBadRequest, status, "no Idempotency-Key: %s", body)

	status, _, body = f.request(f.clientToken, "bad-1", map[string]any{"client": "XX", "priority": "urgent",
		"contact": map[string]string{"phone": "12"}, "attachments": []map[string]any{{"name": "a.jpg"}}})
	require.Equal(t, http.StatusUnprocessableEntity, status)
	var fe struct {
		Fields []struct{ Field, Message string }
	}
	require.NoError(t, json.Unmarshal(body, &fe), "%s", body)
	fields := map[string]string{}
	for _, e := range fe.Fields {
		fields[e.Field] = e.Message
	}
	assert.Equal(t, `unknown client "XX"`, fields["client"])
	assert.Contains(t, fields["problem"], "required")
	assert.Contains(t, fields["store"], "serial")
	assert.Contains(t, fields["priority"], "urgent")
	assert.Contains(t, fields["contact.phone"], "12")
	assert.Contains(t, fields["attachments[0]"], "url or data")
	status, _, _ = f.request(f.clientToken, "bad-2", []byte(`{"client":"VR","problme":"x"}`))
	assert.Equal(t, http.StatusBadRequest, status, "an unknown field is a mistake, not ignored")

	status, h1, first := f.request(f.clientToken, "retry-1", good)
	require.Equal(t, http.StatusAccepted, status, "%s", first)
	assert.Empty(t, h1.Get("Idempotent-Replayed"))
	status, h2, again := f.request(f.clientToken, "retry-1", good)
	assert.Equal(t, http.StatusAccepted, status)
	assert.JSONEq(t, string(first), string(again), "a retry gets the first answer")
	assert.Equal(t, "true", h2.Get("Idempotent-Replayed"))
	var n int
	require.NoError(t, f.st.Pool.QueryRow(f.ctx, `SELECT count(*) FROM inbound_items WHERE source = 'api'`).Scan(&n))
	assert.Equal(t, 1, n, "stored once")

	changed := map[string]any{"client": "PU", "serial": "KB-4471-02918", "problem": "Другая проблема", "contact": map[string]string{"name": "x"}}
	status, _, body = f.request(f.clientToken, "retry-1", changed)
	assert.Equal(t, http.StatusUnprocessableEntity, status, "the same key for another request: %s", body)

	// The status of a request; a client may not read the rest of the API.
	var ans struct{ ID int64 }
	require.NoError(t, json.Unmarshal(first, &ans))
	api := webtest.API{Srv: f.srv, Token: f.clientToken}
	var st struct{ Status, Ticket string }
	assert.Equal(t, http.StatusOK, api.Call(t, "GET", fmt.Sprintf("/api/v1/requests/%d", ans.ID), nil, &st))
	assert.Equal(t, "received", st.Status)
	f.process(flow.SourceAPI)
	assert.Equal(t, http.StatusOK, api.Call(t, "GET", fmt.Sprintf("/api/v1/requests/%d", ans.ID), nil, &st))
	assert.Equal(t, "ticket", st.Status)
	assert.NotEmpty(t, st.Ticket)
	assert.Equal(t, http.StatusForbidden, api.Call(t, "GET", "/api/v1/items", nil, nil), "a client's token only submits")
}

func writePNG(t *testing.T, path string) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 200, 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// The form: a store's own link is signed (a forged one is refused), the
// general form finds stores by search, a submission needs the form's CSRF
// token, photos are checked (images only, a size limit) and an address is
// limited in how often it submits.
func TestRequestForm(t *testing.T) {
	f := newEquipFixture(t)
	var pu routing.Object
	for _, o := range f.eng.proc.Runtime().Directory.Objects() {
		if o.Client == "PU" && o.Code == "0135" {
			pu = o
		}
	}
	require.NotEmpty(t, pu.Code)
	// form-link signs with the key of the server's configuration, read
	// from the environment.
	t.Setenv("INTAKE_LINK_KEY", testLinkKey)
	out, stderr, err := runCLI(t, f.dbURL, "form-link", "PU", "0135")
	require.NoError(t, err, stderr)
	link := strings.TrimSpace(out)
	require.Contains(t, link, "/form/s/")
	path := link[strings.Index(link, "/form/s/"):]

	br := webtest.Browser(t)
	resp, doc := webtest.GetPage(t, br, f.srv.URL+path)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, doc.Find(".store").Text(), pu.Name, "the store's own form names the store")
	csrf := webtest.CSRF(t, doc)
	token, _ := doc.Find(`input[name=token]`).Attr("value")

	forged := path[:len(path)-2] + "xx"
	resp, _ = webtest.GetPage(t, br, f.srv.URL+forged)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a forged link")

	resp, doc = webtest.GetPage(t, br, f.srv.URL+"/form/?q="+url.QueryEscape(pu.Code))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, doc.Find("ul.found").Text(), pu.Name, "the general form finds the store by code")

	post := func(fields map[string]string, photos map[string][]byte) *http.Response {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			require.NoError(t, w.WriteField(k, v))
		}
		for name, data := range photos {
			fw, err := w.CreateFormFile("photos", name)
			require.NoError(t, err)
			fw.Write(data) //nolint:errcheck
		}
		require.NoError(t, w.Close())
		req, err := http.NewRequest("POST", f.srv.URL+"/form/", &buf)
		require.NoError(t, err)
		req.Header.Set("Content-Type", w.FormDataContentType())
		br.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := br.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	good := map[string]string{"csrf": csrf, "token": token, "problem": "Течёт кран в подсобке", "name": "Ольга", "phone": "+7 916 000-11-22"}
	var png bytes.Buffer
	pngPath := filepath.Join(t.TempDir(), "p.png")
	writePNG(t, pngPath)
	b, _ := os.ReadFile(pngPath)
	png.Write(b)

	noCSRF := maps.Clone(good)
	delete(noCSRF, "csrf")
	assert.Equal(t, http.StatusForbidden, post(noCSRF, nil).StatusCode, "no CSRF token")
	assert.Equal(t, http.StatusUnprocessableEntity, post(good, map[string][]byte{"virus.exe": []byte("MZ\x90\x00 not an image")}).StatusCode, "not a photo")
	assert.Equal(t, http.StatusRequestEntityTooLarge, post(good, map[string][]byte{"huge.png": bytes.Repeat([]byte{0x89}, 27<<20)}).StatusCode, "over the size limit")
	resp = post(good, map[string][]byte{"p.png": png.Bytes()})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Location"), "/form/r/")
	ids := f.process(flow.SourceForm)
	require.Len(t, ids, 1, "only the good submission was stored")
	tk := f.ticketOf(ids[0])
	assert.Equal(t, "0135", tk.Object)
	assert.Equal(t, "plumbing", *tk.Category)
	it, err := f.st.GetItem(f.ctx, ids[0])
	require.NoError(t, err)
	assert.Contains(t, string(it.Meta), `"store_signed": true`)

	assert.Equal(t, http.StatusSeeOther, post(good, nil).StatusCode)
	assert.Equal(t, http.StatusTooManyRequests, post(good, nil).StatusCode, "the address has used its burst")
}
