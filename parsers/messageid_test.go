package parsers

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMessageID(t *testing.T) {
	cases := []struct {
		name, raw, want string
	}{
		{"plain", "Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody", "a@b"},
		{"case and spaces", "message-id:   <A.1@b.example>  \r\n\r\n", "A.1@b.example"},
		{"space before the colon", "Message-ID : <sp@x>\r\n\r\n", "sp@x"},
		{"folded", "Message-Id:\r\n <folded@x>\r\nSubject: y\r\n\r\n", "folded@x"},
		{"folded over two lines", "Message-ID: <long.part\r\n\t.more@x>\r\n\r\n", "long.part\t.more@x"},
		{"comment after", "Message-ID: <c@x> (added by the relay)\r\n\r\n", "c@x"},
		{"8-bit neighbours", "Subject: \xd0\x97\xd0\xb0\xd1\x8f\xd0\xb2\xd0\xba\xd0\xb0 \xf3\xd2\r\nMessage-ID: <k@x>\n\n", "k@x"},
		{"bare LF", "Subject: x\nMessage-ID: <lf@x>\n\nbody", "lf@x"},
		{"no brackets", "Message-ID: bare@x\r\n\r\n", "bare@x"},
		{"only a header", "Message-ID: <h@x>", "h@x"},
		{"only in the body", "Subject: x\r\n\r\nMessage-ID: <no@x>\r\n", ""},
		{"a longer name", "X-Original-Message-ID: <orig@x>\r\n\r\n", ""},
		{"empty", "Message-ID:\r\nSubject: x\r\n\r\n", ""},
		{"none", "Subject: x\r\n\r\n", ""},
		{"nothing", "", ""},
		{"too long", "Message-ID: <" + strings.Repeat("a", 1200) + "@x>\r\n\r\n", strings.Repeat("a", maxMessageID)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, MessageID([]byte(tc.raw)))
		})
	}
}
