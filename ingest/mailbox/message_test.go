package mailbox_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/intakehq/intake/ingest/mailbox"
)

func TestMessageID(t *testing.T) {
	cases := []struct {
		name, raw, want string
	}{
		{"plain", "Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody", "a@b"},
		{"case and spaces", "message-id:   <A.1@b.example>  \r\n\r\n", "A.1@b.example"},
		{"folded", "Message-Id:\r\n <folded@x>\r\nSubject: y\r\n\r\n", "folded@x"},
		{"8-bit neighbours", "Subject: \xd0\x97\xd0\xb0\xd1\x8f\xd0\xb2\xd0\xba\xd0\xb0 \xf3\xd2\r\nMessage-ID: <k@x>\n\n", "k@x"},
		{"no brackets", "Message-ID: bare@x\r\n\r\n", "bare@x"},
		{"only in the body", "Subject: x\r\n\r\nMessage-ID: <no@x>\r\n", ""},
		{"none", "Subject: x\r\n\r\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, mailbox.MessageID([]byte(tc.raw)))
		})
	}
}
