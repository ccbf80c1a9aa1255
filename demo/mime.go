package demo

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// msk is Moscow time, the zone of every client's service desk.
var msk = time.FixedZone("MSK", 3*3600)

const (
	dateLayout     = "Mon, 02 Jan 2006 15:04:05 -0700"
	receivedLayout = "Mon, _2 Jan 2006 15:04:05 -0700 (MST)"
)

// encode converts UTF-8 text to a single-byte charset; it panics on a
// character the charset lacks, so a template mistake cannot pass silently.
func encode(charset, s string) []byte {
	var cm *charmap.Charmap
	switch charset {
	case "utf-8", "UTF-8":
		return []byte(s)
	case "windows-1251":
		cm = charmap.Windows1251
	case "koi8-r":
		cm = charmap.KOI8R
	default:
		panic("charset " + charset)
	}
	b, err := cm.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(fmt.Sprintf("encoding %q to %s: %v", s, charset, err))
	}
	return b
}

// crlf turns the "\n" line ends of a template into CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// word encodes a header value as RFC 2047 encoded words (b: base64, else Q),
// folded onto continuation lines; ASCII values are returned unchanged.
func word(charset string, b bool, s string) string {
	if isASCII(s) {
		return s
	}
	enc := "Q"
	if b {
		enc = "B"
	}
	prefix := "=?" + charset + "?" + enc + "?"
	const max = 75
	var words []string
	var chunk []byte
	encoded := func(raw []byte) string {
		if b {
			return base64.StdEncoding.EncodeToString(raw)
		}
		var q strings.Builder
		for _, c := range raw {
			switch {
			case c == ' ':
				q.WriteByte('_')
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == ',', c == '!', c == '/':
				q.WriteByte(c)
			default:
				fmt.Fprintf(&q, "=%02X", c)
			}
		}
		return q.String()
	}
	for len(s) > 0 {
		_, n := utf8.DecodeRuneInString(s)
		rb := encode(charset, s[:n])
		next := append(append([]byte{}, chunk...), rb...)
		if len(prefix)+len(encoded(next))+2 > max && len(chunk) > 0 {
			words = append(words, prefix+encoded(chunk)+"?=")
			chunk = append([]byte{}, rb...)
		} else {
			chunk = next
		}
		s = s[n:]
	}
	if len(chunk) > 0 {
		words = append(words, prefix+encoded(chunk)+"?=")
	}
	return strings.Join(words, "\r\n ")
}

// addr is a mailbox with an optional display name.
func addr(charset string, b bool, name, email string) string {
	if name == "" {
		return email
	}
	if isASCII(name) {
		if strings.ContainsAny(name, "()<>@,;:\\\".[]") {
			return fmt.Sprintf("%q <%s>", name, email)
		}
		return name + " <" + email + ">"
	}
	return word(charset, b, name) + " <" + email + ">"
}

// qp is text in a charset, quoted-printable, CRLF line ends.
func qp(charset, text string) []byte {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	if _, err := w.Write(encode(charset, strings.ReplaceAll(text, "\r\n", "\n"))); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	out := buf.Bytes()
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

// b64 is base64 in lines of 76 characters.
func b64(data []byte) []byte {
	s := base64.StdEncoding.EncodeToString(data)
	var buf bytes.Buffer
	for len(s) > 76 {
		buf.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	buf.WriteString(s + "\r\n")
	return buf.Bytes()
}

// eight is text in a charset, sent as 8bit with CRLF line ends.
func eight(charset, text string) []byte {
	out := encode(charset, crlf(text))
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

// part is one MIME entity: header lines (without CRLF) and an encoded body.
type part struct {
	Header []string
	Body   []byte
}

func (p part) bytes() []byte {
	var buf bytes.Buffer
	for _, h := range p.Header {
		buf.WriteString(h + "\r\n")
	}
	buf.WriteString("\r\n")
	buf.Write(p.Body)
	return buf.Bytes()
}

// joinParts joins parts under a boundary; preamble may be empty.
func joinParts(boundary, preamble string, parts ...part) []byte {
	var buf bytes.Buffer
	if preamble != "" {
		buf.WriteString(preamble + "\r\n")
	}
	for _, p := range parts {
		buf.WriteString("\r\n--" + boundary + "\r\n")
		b := p.bytes()
		buf.Write(bytes.TrimSuffix(b, []byte("\r\n")))
	}
	buf.WriteString("\r\n--" + boundary + "--\r\n")
	return bytes.TrimPrefix(buf.Bytes(), []byte("\r\n"))
}

// textPart is a single text part.
func textPart(ctype, charset, cte string, body []byte) part {
	return part{
		Header: []string{
			fmt.Sprintf("Content-Type: %s; charset=\"%s\"", ctype, charset),
			"Content-Transfer-Encoding: " + cte,
		},
		Body: body,
	}
}

// message is a whole mail: header lines in order and the body.
type message struct {
	Header []string
	Body   []byte
}

func (m *message) h(name, value string) { m.Header = append(m.Header, name+": "+value) }

// content sets the top-level part's headers and body.
func (m *message) content(p part) {
	m.Header = append(m.Header, p.Header...)
	m.Body = p.Body
}

func (m *message) bytes() []byte {
	var buf bytes.Buffer
	for _, h := range m.Header {
		buf.WriteString(h + "\r\n")
	}
	buf.WriteString("\r\n")
	buf.Write(m.Body)
	return buf.Bytes()
}

// htmlEscape is enough for the text this generator puts into HTML.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
