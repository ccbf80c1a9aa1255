// Package webtest helps tests drive Intake's HTTP side over a real server:
// the API as a script calls it, the pages as a dispatcher's browser loads
// them, and the data the pages show (the sample mailbox run through the
// stages, a failed item, a dead notification).
package webtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/store"
)

// AmbiguousMail is a regional manager's letter naming streets and houses
// only: no store is certain, several are candidates.
const AmbiguousMail = "From: =?utf-8?b?0KHQtdGA0LPQtdC5INCf0LXRgtGA0L7Qsg==?= <s.petrov@mail.example.org>\r\n" +
	"To: zayavki@tehservis.example\r\n" +
	"Subject: =?utf-8?b?0J3QtSDRgNCw0LHQvtGC0LDQtdGCINCy0LjRgtGA0LjQvdCw?=\r\n" +
	"Date: Mon, 02 Nov 2026 09:15:00 +0300\r\n" +
	"Message-ID: <ui-test-1@mail.example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n\r\n" +
	"Добрый день!\r\n\r\nНе работает холодильная витрина в магазине на Ленина 12, температура +12.\r\n" +
	"Такая же проблема была на Свердлова 22 и Луговая 7, проверьте заодно.\r\n\r\n--\r\nСергей Петров\r\n"

// FailedReason is the error of the item Seed fails.
const FailedReason = "parse: the database went away"

// Seed stores the sample mailbox and AmbiguousMail, each run through the
// stages by run inside its own transaction, and one item that failed with
// FailedReason. st should hold the sample reference data
// (pgtest.ImportDemo). It returns the failed item's id.
func Seed(t testing.TB, st *store.Store, run func(ctx context.Context, tx pgx.Tx, id int64) error) int64 {
	t.Helper()
	ctx := context.Background()
	in := ingest.NewInbox(st, nil, clocktest.Clock(t))
	put := func(it ingest.Item) int64 {
		res, err := in.Put(ctx, []ingest.Item{it}, nil)
		require.NoError(t, err)
		return res[0].ID
	}
	runOne := func(id int64) {
		require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error { return run(ctx, tx, id) }))
	}
	for _, m := range demo.Mail() {
		key, mid := ingest.MailKeys(m.Data)
		runOne(put(ingest.Item{Source: flow.SourceMail, SourceRef: "demo/" + m.Name, DedupKey: key, MessageID: mid, Raw: m.Data}))
	}
	runOne(put(ingest.Item{Source: flow.SourceMail, SourceRef: "demo/ambiguous.eml", DedupKey: "ambiguous", MessageID: "<ui-test-1@mail.example.org>", Raw: []byte(AmbiguousMail)}))
	failed := put(ingest.Item{Source: flow.SourceMail, SourceRef: "demo/broken.eml", DedupKey: "broken", Raw: []byte("not a message")})
	require.NoError(t, st.FailItem(ctx, failed, FailedReason))
	return failed
}

// API calls a server's API as a script does.
type API struct {
	Srv   *httptest.Server
	Token string // sent as "Authorization: Bearer <token>"; "" when the API is open
}

// Call makes an API request with the token and decodes a JSON answer into
// out (when not nil; a *[]byte takes the body as it is); it returns the
// status. body is JSON-encoded unless it is a *Multipart.
func (a API) Call(t testing.TB, method, path string, body any, out any) int {
	t.Helper()
	return a.CallAs(t, "Bearer "+a.Token, method, path, body, out)
}

// CallAs is Call with the Authorization header given ("" or "Bearer ": none).
func (a API) CallAs(t testing.TB, auth, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case *Multipart:
		rd, ctype = &b.buf, b.ctype
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, a.Srv.URL+path, rd)
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" && auth != "Bearer " {
		req.Header.Set("Authorization", auth)
	}
	resp, err := a.Srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil {
		if p, ok := out.(*[]byte); ok {
			*p = data
		} else if len(data) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			require.NoError(t, json.Unmarshal(data, out), "%s %s: %s", method, path, data)
		}
	}
	return resp.StatusCode
}

// Multipart is a multipart/form-data body for Call.
type Multipart struct {
	buf   bytes.Buffer
	ctype string
}

// NewMultipart makes a form of fields and of files, each sent as "file".
func NewMultipart(t testing.TB, fields map[string]string, files map[string][]byte) *Multipart {
	t.Helper()
	m := &Multipart{}
	w := multipart.NewWriter(&m.buf)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	for name, data := range files {
		fw, err := w.CreateFormFile("file", name)
		require.NoError(t, err)
		_, err = fw.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	m.ctype = w.FormDataContentType()
	return m
}

// Browser is a client with cookies, as a dispatcher's browser.
func Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar}
}

// GetPage GETs a page and parses it.
func GetPage(t testing.TB, c *http.Client, u string) (*http.Response, *goquery.Document) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	require.NoError(t, err)
	return resp, doc
}

// CSRF is the CSRF token of the first form of a page.
func CSRF(t testing.TB, doc *goquery.Document) string {
	t.Helper()
	v, ok := doc.Find(`input[name=csrf]`).First().Attr("value")
	require.True(t, ok, "the page has no CSRF token")
	return v
}

// DeadEmail makes an outbox message die the way one did before channels
// without a sender were skipped: an email queued, no email sender. It
// returns the message's id.
func DeadEmail(t testing.TB, st *store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error {
		return store.EnqueueOutbox(ctx, tx, store.OutboxMessage{Kind: store.OutboxEmail, Target: "eng0006@contractors.example",
			Payload: lifecycle.Email{Subject: "Вам назначена заявка INT-1", Text: "…"}, DedupKey: "test:dead"})
	}))
	n, err := outbox.New(st, outbox.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil))).RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rows, err := st.ListOutbox(ctx, store.OutboxFilter{State: store.OutboxDead})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	return rows[0].ID
}
