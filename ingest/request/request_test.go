package request_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest/request"
)

func TestValidate(t *testing.T) {
	known := func(c string) bool { return c == "PU" }
	store := func(c, code string) bool { return c == "PU" && code == "0135" }

	ok := request.Request{Client: " PU ", Serial: "KB-4471-02918", Problem: "Не холодит"}
	require.NoError(t, ok.Validate(known, store))
	assert.Equal(t, "PU", ok.Client, "fields are trimmed")

	bad := request.Request{Client: "PU", Store: "9999", Problem: strings.Repeat("x", request.MaxProblem+1), Priority: "asap",
		Contact: request.Contact{Phone: "12", Email: "nobody"},
		Attach:  []request.Attachment{{Name: "a.jpg", URL: "ftp://x"}, {Name: "../b", Data: []byte("x")}, {Name: "c"}}}
	err := bad.Validate(known, store)
	var fe request.FieldErrors
	require.ErrorAs(t, err, &fe)
	got := map[string]string{}
	for _, e := range fe {
		got[e.Field] = e.Message
	}
	assert.Equal(t, map[string]string{
		"store":               `unknown store "9999" of client "PU"`,
		"problem":             "longer than 8192 bytes",
		"priority":            `"asap" is not one of critical, high, normal, low`,
		"contact.phone":       `"12" is not a phone number`,
		"contact.email":       `"nobody" is not an email address`,
		"attachments[0].url":  `"ftp://x" is not an http(s) address`,
		"attachments[1].name": "not a file name",
		"attachments[2]":      "give url or data",
	}, got)

	none := request.Request{Client: "PU", Problem: "x"}
	require.ErrorAs(t, none.Validate(known, store), &fe)
	assert.Equal(t, "store", fe[0].Field, "a store, an address or a serial is needed")
}

func TestLinks(t *testing.T) {
	l, err := request.NewLinks([]byte(strings.Repeat("k", 32)))
	require.NoError(t, err)
	_, err = request.NewLinks([]byte("short"))
	require.Error(t, err)

	tok := l.Store("PU", "0135")
	c, code, err := l.VerifyStore(tok)
	require.NoError(t, err)
	assert.Equal(t, []string{"PU", "0135"}, []string{c, code})

	other, _ := request.NewLinks([]byte(strings.Repeat("z", 32)))
	_, _, err = other.VerifyStore(tok)
	assert.ErrorIs(t, err, request.ErrBadLink, "another key")
	payload, sig, _ := strings.Cut(tok, ".")
	forged := l.Store("PU", "0136")
	fp, _, _ := strings.Cut(forged, ".")
	_, _, err = l.VerifyStore(fp + "." + sig)
	assert.ErrorIs(t, err, request.ErrBadLink, "another store with this store's signature")
	_, err = l.VerifyReceipt(payload + "." + sig)
	assert.ErrorIs(t, err, request.ErrBadLink, "a store link is not a receipt")

	id, err := l.VerifyReceipt(l.Receipt(42))
	require.NoError(t, err)
	assert.Equal(t, int64(42), id)
}
