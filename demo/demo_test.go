package demo

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/htmlindex"
)

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate(), Generate()
	require.Equal(t, len(a), len(b))
	for name, data := range a {
		assert.True(t, bytes.Equal(data, b[name]), "%s differs between two runs", name)
	}
}

// The committed files are what the generator makes now; rerun
// `go run ./demo/gen` after changing it.
func TestEmbeddedFilesAreCurrent(t *testing.T) {
	want := Generate()
	got := map[string][]byte{"mail/labels.jsonl": Labels()}
	for _, f := range Reference() {
		got[f.Name] = f.Data
	}
	for _, f := range Mail() {
		got["mail/"+f.Name] = f.Data
	}
	require.Equal(t, len(want), len(got))
	for name, data := range want {
		assert.True(t, bytes.Equal(data, got[name]), "%s is stale", name)
	}
}

func readCSV(t *testing.T, name string) []map[string]string {
	t.Helper()
	for _, f := range Reference() {
		if f.Name != name {
			continue
		}
		rows, err := csv.NewReader(bytes.NewReader(f.Data)).ReadAll()
		require.NoError(t, err, name)
		var out []map[string]string
		for _, row := range rows[1:] {
			m := map[string]string{}
			for i, col := range rows[0] {
				m[col] = row[i]
			}
			out = append(out, m)
		}
		return out
	}
	t.Fatalf("no %s", name)
	return nil
}

// walk reads every MIME part, so a broken boundary or header fails here.
func walk(t *testing.T, name, ctype string, body io.Reader) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	require.NoError(t, err, "%s: Content-Type %q", name, ctype)
	if !strings.HasPrefix(mt, "multipart/") {
		_, err := io.ReadAll(body)
		require.NoError(t, err, name)
		return
	}
	r := multipart.NewReader(body, params["boundary"])
	n := 0
	for {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, name)
		walk(t, name, p.Header.Get("Content-Type"), p)
		n++
	}
	require.NotZero(t, n, "%s: empty multipart", name)
}

// addresses decodes the legacy charsets the service desks use.
var addresses = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		e, err := htmlindex.Get(charset)
		if err != nil {
			return nil, err
		}
		return e.NewDecoder().Reader(input), nil
	},
}}

func TestMailParses(t *testing.T) {
	msgs := Mail()
	require.GreaterOrEqual(t, len(msgs), 40)
	for _, f := range msgs {
		t.Run(f.Name, func(t *testing.T) {
			assert.NotContains(t, strings.ReplaceAll(string(f.Data), "\r\n", ""), "\n", "bare LF")
			m, err := mail.ReadMessage(bytes.NewReader(f.Data))
			require.NoError(t, err)
			assert.NotEmpty(t, m.Header.Get("Message-Id"))
			_, err = m.Header.Date()
			require.NoError(t, err)
			_, err = addresses.ParseList(m.Header.Get("From"))
			require.NoError(t, err)
			_, err = addresses.WordDecoder.DecodeHeader(m.Header.Get("Subject"))
			require.NoError(t, err)
			date, _ := m.Header.Date()
			assert.Equal(t, 2026, date.Year())
			assert.Equal(t, 11, int(date.Month()))
			walk(t, f.Name, m.Header.Get("Content-Type"), m.Body)
		})
	}
}

func TestLabels(t *testing.T) {
	objects := map[string]bool{}
	for _, o := range readCSV(t, "objects.csv") {
		objects[o["client"]+"/"+o["code"]] = true
	}
	msgs := Mail()
	labels := SampleLabels()
	require.Len(t, labels, len(msgs))
	index := map[string]int{}
	for i, l := range labels {
		require.Equal(t, msgs[i].Name, l.File, "labels are in file order")
		index[l.File] = i
		switch l.Kind {
		case "ticket", "follow_up", "duplicate":
			require.NotNil(t, l.Client, l.File)
			require.NotNil(t, l.Object, l.File)
			require.NotNil(t, l.Category, l.File)
		case "unmatched":
			assert.Nil(t, l.Object, l.File)
		case "ignored":
			assert.Nil(t, l.Client, l.File)
			assert.Nil(t, l.Object, l.File)
		default:
			t.Errorf("%s: kind %q", l.File, l.Kind)
		}
		if l.Object != nil {
			assert.True(t, objects[*l.Client+"/"+*l.Object], "%s: object %s/%s not in objects.csv", l.File, *l.Client, *l.Object)
		}
		if l.Due != nil {
			assert.True(t, strings.HasSuffix(*l.Due, "+03:00"), "%s: due %s", l.File, *l.Due)
		}
		if l.Kind == "follow_up" || l.Kind == "duplicate" {
			require.NotNil(t, l.Follows, l.File)
			j, ok := index[*l.Follows]
			require.True(t, ok, "%s follows %s, which is not earlier", l.File, *l.Follows)
			assert.Less(t, j, i)
			assert.Equal(t, "ticket", labels[j].Kind, "%s follows a ticket", l.File)
		} else {
			assert.Nil(t, l.Follows, l.File)
		}
		if l.Kind == "duplicate" {
			a, err := mail.ReadMessage(bytes.NewReader(msgs[i].Data))
			require.NoError(t, err)
			b, err := mail.ReadMessage(bytes.NewReader(msgs[index[*l.Follows]].Data))
			require.NoError(t, err)
			assert.Equal(t, b.Header.Get("Message-Id"), a.Header.Get("Message-Id"))
		}
	}
}

func TestReferenceIntegrity(t *testing.T) {
	clients := map[string]bool{}
	for _, c := range readCSV(t, "clients.csv") {
		clients[c["code"]] = true
	}
	engineers := map[string]bool{}
	for _, e := range readCSV(t, "engineers.csv") {
		engineers[e["code"]] = true
		assert.Contains(t, []string{"active", "pending", "blacklisted"}, e["status"])
	}
	objects := map[string]bool{}
	for _, o := range readCSV(t, "objects.csv") {
		assert.True(t, clients[o["client"]], "object %s: client %s", o["code"], o["client"])
		if o["engineer"] != "" {
			assert.True(t, engineers[o["engineer"]], "object %s: engineer %s", o["code"], o["engineer"])
		}
		objects[o["client"]+"/"+o["code"]] = true
	}
	directors := map[string]int{}
	for _, c := range readCSV(t, "contacts.csv") {
		if c["object"] == "" {
			assert.True(t, strings.HasPrefix(c["role"], "regional_director:"), c["email"])
			continue
		}
		assert.True(t, objects[c["client"]+"/"+c["object"]], "contact %s: object %s/%s", c["email"], c["client"], c["object"])
		directors[c["client"]+"/"+c["object"]]++
	}
	for o := range objects {
		assert.NotZero(t, directors[o], "store %s has no director", o)
	}
	assert.Len(t, readCSV(t, "categories.csv"), 9)
}

func TestParseLabels(t *testing.T) {
	ls, err := ParseLabels("l.jsonl", strings.NewReader(`{"file":"0001.eml","kind":"ticket","object":"0057","note":"n"}`+"\n\n"+`{"file":"0002.eml","kind":"ignored","object":null}`+"\n"))
	require.NoError(t, err)
	require.Len(t, ls, 2, "blank lines are skipped")
	assert.Equal(t, "0057", *ls[0].Object)
	assert.Equal(t, "n", ls[0].Note)
	assert.Nil(t, ls[1].Object)

	_, err = ParseLabels("l.jsonl", strings.NewReader(`{"file":"0001.eml"}`+"\n"+`{"file":`+"\n"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "l.jsonl:2: "), err.Error())
}
