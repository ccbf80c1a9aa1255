package outbox_test

import (
	"bytes"
	"net/mail"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/connectors/outbox"
)

func TestSecurity_MailHeadersFromInputCannotInjectHeaders(t *testing.T) {
	s := outbox.NewEmailSender(outbox.SMTPConfig{Addr: "127.0.0.1:25", From: "dispetcher@tehservis.example"})
	inject := "\r\nBcc: victim@evil.example\r\nX-Planted: 1"
	e := outbox.Email{
		To:         []string{"support@mg.example" + inject},
		Subject:    "Статус заявки" + inject,
		Text:       "Заявка выполнена.",
		ExternalID: "SRV-1" + inject,
		InReplyTo:  "abc@mg.example>" + inject,
		References: []string{"first@mg.example" + inject, "\nsecond@mg.example"},
	}
	raw := s.Compose(1, "mail1", e.To, e)
	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	require.True(t, ok)
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		assert.NotContains(t, string(line), "\n", "a bare LF inside a header line")
		assert.NotContains(t, string(line), "\r")
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Empty(t, m.Header.Get("Bcc"), "no header planted")
	assert.Empty(t, m.Header.Get("X-Planted"), "no header planted")
	assert.Equal(t, "<abc@mg.exampleBcc:victim@evil.exampleX-Planted:1>", m.Header.Get("In-Reply-To"))
	assert.Equal(t, "<first@mg.exampleBcc:victim@evil.exampleX-Planted:1> <second@mg.example> <abc@mg.exampleBcc:victim@evil.exampleX-Planted:1>", m.Header.Get("References"))
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "In-Reply-To", "References"} {
		assert.Len(t, m.Header[k], 1, k)
	}
}
