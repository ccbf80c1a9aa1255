package parsers

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func wrapBase64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return out.String() + s + "\r\n"
}

func withAttachment(ct, name, cte, body string) []byte {
	return []byte("From: a@b.example\r\nSubject: order\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n" +
		"--X\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nМагазин РМ-007, see attached\r\n" +
		"--X\r\nContent-Type: " + ct + "; name=" + name + "\r\nContent-Transfer-Encoding: " + cte + "\r\n\r\n" + body +
		"--X--\r\n")
}

// TestNormalizeCapsAttachmentText checks that only the first maxTextAttach
// bytes of a textual attachment become its Text, that Size and SHA256 are
// still those of the whole content, and that a Warning says so.
func TestNormalizeCapsAttachmentText(t *testing.T) {
	var content strings.Builder
	content.WriteString("<?xml version=\"1.0\"?>\n<Orders>\n")
	for i := 0; content.Len() < 3*maxTextAttach; i++ {
		fmt.Fprintf(&content, "<Order N=\"%d\"><Store>РМ-%03d</Store></Order>\n", i, i%400)
	}
	content.WriteString("</Orders>\n")
	whole := []byte(content.String())
	sum := sha256.Sum256(whole)
	for _, tc := range []struct{ cte, body string }{
		{"base64", wrapBase64(whole)},
		{"8bit", string(whole) + "\r\n"}, // the line break before the delimiter is the delimiter's
	} {
		t.Run(tc.cte, func(t *testing.T) {
			d, err := Normalize(withAttachment("application/xml", "orders.xml", tc.cte, tc.body))
			require.NoError(t, err)
			require.Len(t, d.Attachments, 1)
			a := d.Attachments[0]
			assert.Equal(t, int64(len(whole)), a.Size)
			assert.Equal(t, hex.EncodeToString(sum[:]), a.SHA256)
			assert.LessOrEqual(t, len(a.Text), maxTextAttach)
			assert.Greater(t, len(a.Text), maxTextAttach-200)
			assert.True(t, strings.HasPrefix(string(whole), a.Text[:1000]))
			assert.Contains(t, d.Warnings, "attachment orders.xml: 3.0 MiB, only the first 1.0 MiB read as text")
			assert.Equal(t, "Магазин РМ-007, see attached", d.Text)
		})
	}
}

// TestNormalizeCapsHTML checks that a huge HTML body is rendered from its
// first maxHTMLText bytes, with a Warning, and that its tables still come out.
func TestNormalizeCapsHTML(t *testing.T) {
	var h strings.Builder
	h.WriteString("<html><body><p>Магазин РМ-007: не работает витрина</p><table>\n")
	for i := 0; h.Len() < 4*maxHTMLText; i++ {
		fmt.Fprintf(&h, "<tr><td>%d</td><td>Витрина ВХ-%d</td><td>исправна</td></tr>\n", i, i%97)
	}
	h.WriteString("</table></body></html>\n")
	raw := "From: a@b.example\r\nSubject: order\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		wrapBase64([]byte(h.String()))
	d, err := Normalize([]byte(raw))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(d.Text, "Магазин РМ-007: не работает витрина\n\n0 | Витрина ВХ-0 | исправна\n"), "%.200s", d.Text)
	assert.LessOrEqual(t, len(d.HTML), maxHTMLText)
	require.Len(t, d.Tables, 1)
	assert.Greater(t, len(d.Tables[0]), 1000)
	assert.Contains(t, d.Warnings, fmt.Sprintf("text/html: %s, only the first 512 KiB read", kib(int64(h.Len()))))
}

// TestNormalizeMessageBudget checks that many capped parts together read no
// more than maxMessageText.
func TestNormalizeMessageBudget(t *testing.T) {
	part := strings.Repeat("строка текста вложения\n", maxTextAttach/len("строка текста вложения\n")+10)
	var b strings.Builder
	b.WriteString("From: a@b.example\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n")
	for i := range 8 {
		fmt.Fprintf(&b, "--X\r\nContent-Type: text/plain; charset=utf-8; name=part%d.txt\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s", i, part)
	}
	b.WriteString("--X--\r\n")
	d, err := Normalize([]byte(b.String()))
	require.NoError(t, err)
	require.Len(t, d.Attachments, 8)
	total := 0
	for _, a := range d.Attachments {
		total += len(a.Text)
		assert.Equal(t, int64(len(part)-1), a.Size, "the line break before a delimiter is the delimiter's")
	}
	assert.LessOrEqual(t, total, maxMessageText)
	assert.Greater(t, total, maxMessageText-8*1024)
	assert.Empty(t, d.Attachments[7].Text)
	assert.Contains(t, d.Warnings, fmt.Sprintf("attachment part7.txt: %s, only the first 0 KiB read as text", kib(int64(len(part)-1))))
}
