// Package parsers turns raw input into a normalized Document and extracts
// fields from it. Everything here is a pure function of its arguments: no
// I/O, no clock, no globals that change after init.
//
// Normalize reads a MIME message as delivered and never gives up early: a
// broken base64 body, a wrong charset label, a truncated multipart or raw
// 8-bit headers are repaired or guessed, and each repair is recorded in
// Document.Warnings. Only input with nothing readable in it (no header at
// all) is rejected, with an error wrapping ErrMalformed, which is permanent:
// retrying the same bytes cannot succeed.
//
// Classify decides, before extraction, whether a message is to be ignored
// (auto-reply, bounce, bulk, own mail, spam); see its documentation.
package parsers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrMalformed marks input that is not a readable message at all. It is a
// permanent error.
var ErrMalformed = errors.New("parsers: malformed message")

const (
	maxPartDepth    = 40 // nested multiparts followed before giving up
	maxForwardDepth = 8  // nested forwarded messages unwrapped
)

// What extraction reads of a message is capped, so that the memory a parse
// takes is bounded whatever the input: a text body, an HTML body and an
// attachment's Text each get at most the first bytes of their decoded
// content below, and the whole message (forwarded messages included) at most
// maxMessageText. Ordinary mail is far inside the caps: a work order's HTML
// is a few kilobytes, an Outlook one some hundreds, and an XML or JSON order
// is smaller still. What is cut is said in a Warning; sizes and hashes are
// of the whole content, which is read as a stream, and the raw message is
// never cut.
const (
	maxPlainText   = 1 << 20   // decoded bytes of one text/plain body
	maxHTMLText    = 512 << 10 // decoded bytes of one text/html body parsed
	maxTextAttach  = 1 << 20   // decoded bytes of one attachment read into Attachment.Text
	maxMessageText = 4 << 20   // all of the above in one message
)

// Normalize parses a raw RFC 5322 message into a Document. It returns an
// error (wrapping ErrMalformed) only when nothing is readable; any repair or
// guess made on the way is listed in Document.Warnings.
func Normalize(raw []byte) (*Document, error) {
	budget := maxMessageText
	return normalize(raw, 0, &budget)
}

type walker struct {
	d      *Document
	level  int
	plain  []string
	html   []string
	warned map[string]bool
	budget *int // decoded bytes extraction may still read, shared with forwarded messages
}

func (w *walker) warn(msg string) {
	if w.warned[msg] {
		return
	}
	w.warned[msg] = true
	w.d.Warnings = append(w.d.Warnings, msg)
}

func normalize(raw []byte, level int, budget *int) (*Document, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrMalformed)
	}
	d := &Document{Size: len(raw), Header: map[string][]string{}}
	w := &walker{d: d, level: level, warned: map[string]bool{}, budget: budget}
	h, body := readHeader(raw, w.warn)
	if len(h) == 0 {
		return nil, fmt.Errorf("%w: no header fields", ErrMalformed)
	}
	w.headers(h)
	w.part(h, body, 0)
	w.finish()
	return d, nil
}

func (w *walker) headers(h header) {
	d := w.d
	for _, f := range h {
		v, guessed := decodeHeader(f.raw)
		if !isASCII(f.raw) {
			if guessed {
				w.warn("header " + f.key + ": raw 8-bit text, charset guessed")
			} else {
				w.warn("header " + f.key + ": raw 8-bit text")
			}
		} else if guessed {
			w.warn("header " + f.key + ": encoded word charset repaired")
		}
		d.Header[f.key] = append(d.Header[f.key], v)
	}
	d.Subject = first(d.Header["Subject"])
	if from := parseAddressList(h.get("From")); len(from) > 0 {
		d.From = from[0]
	} else if sender := parseAddressList(h.get("Sender")); len(sender) > 0 {
		d.From = sender[0]
		w.warn("header From: missing or unreadable, Sender used")
	} else {
		w.warn("header From: missing or unreadable")
	}
	d.To = parseAddressList(h.get("To"))
	d.Cc = parseAddressList(h.get("Cc"))
	d.ReplyTo = parseAddressList(h.get("Reply-To"))
	if ids := parseMsgIDs(h.get("Message-Id")); len(ids) > 0 {
		d.MessageID = ids[0]
	}
	d.InReplyTo = parseMsgIDs(h.get("In-Reply-To"))
	d.References = parseMsgIDs(h.get("References"))
	if ds := first(d.Header["Date"]); ds != "" {
		if t, ok := parseDate(ds); ok {
			d.Date = t
		} else {
			w.warn("header Date: unparseable")
		}
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// part handles one MIME entity and, for multiparts, its children.
func (w *walker) part(h header, body []byte, depth int) {
	ct, params := parseParams(h.get("Content-Type"))
	if !strings.Contains(ct, "/") {
		if ct != "" {
			w.warn("content-type " + truncate(ct, 40) + ": not a media type, text/plain assumed")
		}
		ct = "text/plain"
	}
	cte := strings.ToLower(strings.TrimSpace(string(h.get("Content-Transfer-Encoding"))))
	disp, dparams := parseParams(h.get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if name != "" {
		name, _ = decodeHeader([]byte(name))
	}

	switch {
	case strings.HasPrefix(ct, "multipart/"):
		if depth >= maxPartDepth {
			w.warn("multipart: nested too deep, inner parts skipped")
			return
		}
		parts, ok := w.splitMultipart(body, params["boundary"])
		if !ok {
			// No boundary line at all: read the body as plain text.
			w.text(header{{key: "Content-Transfer-Encoding", raw: []byte(cte)}}, body, "text/plain", nil)
			return
		}
		for _, p := range parts {
			ph, pb := readHeader(p, w.warn)
			w.part(ph, pb, depth+1)
		}
	case ct == "message/rfc822" || ct == "message/global":
		if w.d.Forwarded == nil && w.level < maxForwardDepth {
			if fwd, err := normalize(w.decodeAll(cte, body), w.level+1, w.budget); err == nil {
				w.d.Forwarded = fwd
				return
			}
			w.warn("message/rfc822: unreadable, kept as attachment")
		}
		w.attachment(ct, name, "", body, cte)
	case (ct == "text/plain" || ct == "text/html") && disp != "attachment" && name == "":
		w.text(h, body, ct, params)
	default:
		w.attachment(ct, name, params["charset"], body, cte)
	}
}

// decodeAll undoes the transfer encoding of a part, recording problems. A
// part in 7bit, 8bit or binary is its own content and is not copied.
func (w *walker) decodeAll(cte string, body []byte) []byte {
	switch cte {
	case "base64", "quoted-printable":
	default:
		return body
	}
	r := transferReader(cte, body)
	data, _ := io.ReadAll(r)
	for _, p := range r.problems() {
		w.warn(p)
	}
	return data
}

// readPrefix reads at most limit bytes of r (fewer when the message's budget
// is smaller), charges them to the budget and reads the rest of r to its end
// without keeping it, so that size counts the whole content. encoded is
// the size of the part as it is in the message; no transfer encoding makes
// it more than twice as long decoded (quoted-printable turns a bare LF into
// CRLF).
func (w *walker) readPrefix(r io.Reader, limit, encoded int) (data []byte, size int64) {
	n := max(min(limit, *w.budget, 2*encoded+4), 0)
	data = make([]byte, n)
	k, _ := io.ReadFull(r, data)
	data = data[:k]
	*w.budget -= k
	m, _ := io.Copy(io.Discard, r)
	return data, int64(k) + m
}

// cutWarning is the Warning for content of which only a prefix was read.
func cutWarning(what string, read int, size int64) string {
	return fmt.Sprintf("%s: %s, only the first %s read", what, kib(size), kib(int64(read)))
}

func kib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", (n+1023)>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func (w *walker) text(h header, body []byte, ct string, params map[string]string) {
	cte := strings.ToLower(strings.TrimSpace(string(h.get("Content-Transfer-Encoding"))))
	switch cte {
	case "", "7bit", "8bit", "binary", "base64", "quoted-printable":
	default:
		w.warn("content-transfer-encoding " + truncate(cte, 40) + ": unknown, read as 8bit")
	}
	limit := maxPlainText
	if ct == "text/html" {
		// Only the text of the HTML is wanted, and its DOM is some twenty
		// times its size: parse no more than a normal message's worth.
		limit = maxHTMLText
	}
	r := transferReader(cte, body)
	data, size := w.readPrefix(r, limit, len(body))
	for _, p := range r.problems() {
		w.warn(p)
	}
	if size > int64(len(data)) {
		w.warn(cutWarning(ct, len(data), size))
		if ct == "text/html" {
			// Cut after a tag: a piece of one left at the end of a table
			// would be moved before it by the HTML parser.
			if i := bytes.LastIndexByte(data, '>'); i >= 0 {
				data = data[:i+1]
			}
		}
	}
	label := params["charset"]
	if ct == "text/html" && label == "" {
		label = htmlMetaCharset(data)
	}
	t, warn := decodeBytes(data, label)
	if warn != "" {
		w.warn(ct + ": " + warn)
	}
	if ct == "text/html" {
		w.html = append(w.html, t)
	} else {
		w.plain = append(w.plain, t)
	}
}

// textual reports whether an attachment's content is decoded into Text.
func textual(ct, name string) bool {
	switch ct {
	case "application/xml", "application/json", "text/xml", "text/csv", "application/csv",
		"text/plain", "text/tab-separated-values", "message/delivery-status", "text/rfc822-headers":
		return true
	}
	if strings.HasSuffix(ct, "+xml") || strings.HasSuffix(ct, "+json") {
		return true
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".xml", ".json", ".csv", ".txt", ".tsv":
		return true
	}
	return false
}

func (w *walker) attachment(ct, name, charset string, body []byte, cte string) {
	r := transferReader(cte, body)
	sum := sha256.New()
	a := Attachment{Name: name, ContentType: ct}
	if textual(ct, name) {
		data, size := w.readPrefix(io.TeeReader(r, sum), maxTextAttach, len(body))
		a.Size = size
		if size > int64(len(data)) {
			w.warn(cutWarning("attachment "+truncate(name, 60), len(data), size) + " as text")
		}
		label := charset
		if x := xmlEncoding(data); x != "" && (strings.Contains(ct, "xml") || strings.EqualFold(path.Ext(name), ".xml")) {
			label = x
		}
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		t, warn := decodeBytes(data, label)
		if warn != "" {
			w.warn("attachment " + truncate(name, 60) + ": " + warn)
		}
		a.Text = cleanText(t)
	} else {
		n, _ := io.Copy(sum, r)
		a.Size = n
	}
	for _, p := range r.problems() {
		w.warn("attachment " + truncate(name, 60) + ": " + p)
	}
	a.SHA256 = hex.EncodeToString(sum.Sum(nil))
	w.d.Attachments = append(w.d.Attachments, a)
}

// splitMultipart cuts a multipart body at its boundary lines. ok is false
// when no boundary line is found at all.
func (w *walker) splitMultipart(body []byte, boundary string) (parts [][]byte, ok bool) {
	if boundary == "" {
		boundary = guessBoundary(body)
		if boundary == "" {
			w.warn("multipart: no boundary")
			return nil, false
		}
		w.warn("multipart: boundary parameter missing, guessed from the body")
	}
	delim := []byte("--" + boundary)
	start := -1 // start of the current part's content
	closed := false
	pos := 0
	for pos < len(body) {
		lineStart := pos
		i := bytes.IndexByte(body[pos:], '\n')
		var line []byte
		if i < 0 {
			line, pos = body[pos:], len(body)
		} else {
			line, pos = body[pos:pos+i], pos+i+1
		}
		if !bytes.HasPrefix(line, delim) {
			continue
		}
		rest := bytes.TrimRight(line[len(delim):], " \t\r")
		isClose := bytes.Equal(rest, []byte("--"))
		if len(rest) != 0 && !isClose {
			continue
		}
		if start >= 0 {
			end := lineStart
			// The line break before a delimiter belongs to the delimiter.
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end])
		}
		if isClose {
			closed = true
			break
		}
		start = pos
	}
	if start < 0 && !closed {
		w.warn("multipart: no boundary line found")
		return nil, false
	}
	if !closed {
		if start >= 0 && start <= len(body) {
			parts = append(parts, body[start:])
		}
		w.warn("multipart: closing boundary missing, message truncated")
	}
	return parts, true
}

func guessBoundary(body []byte) string {
	for _, line := range bytes.SplitN(body, []byte("\n"), 200) {
		line = bytes.TrimRight(line, " \t\r")
		if len(line) > 3 && bytes.HasPrefix(line, []byte("--")) && !bytes.ContainsAny(line, " \t") {
			b := string(bytes.TrimSuffix(line[2:], []byte("--")))
			if b != "" && bytes.Count(body, []byte("--"+b)) >= 2 {
				return b
			}
		}
	}
	return ""
}

func (w *walker) finish() {
	d := w.d
	plain := cleanText(strings.Join(w.plain, "\n\n"))
	for _, h := range w.html {
		r := renderHTML(h)
		d.Tables = append(d.Tables, r.tables...)
		if plain == "" {
			plain = cleanText(r.text)
		}
	}
	if len(w.html) > 0 {
		d.HTML = w.html[0]
	}
	d.Text = plain
	s := splitText(d.Text, d.Subject)
	d.NewText, d.Quoted, d.Signature = s.newText, s.quoted, s.signature
	if d.Forwarded == nil && s.forward != nil && w.level < maxForwardDepth {
		d.Forwarded = s.forward.document(d, w.level+1)
	}
	if d.Header == nil {
		d.Header = map[string][]string{}
	}
}

// cleanText normalizes line ends, drops control characters, NBSPs and
// trailing spaces, and squeezes runs of blank lines.
func cleanText(s string) string {
	if s == "" {
		return ""
	}
	s = strings.TrimPrefix(s, "\uFEFF")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue
			}
			b.WriteByte('\n')
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\u00a0' || r == '\u2007' || r == '\u202f':
			b.WriteByte(' ')
		case r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff' || r == '\u00ad':
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	lines := strings.Split(b.String(), "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// HeaderGet returns the first decoded value of a header field; the key is
// canonicalized as in Header ("message-id" finds "Message-Id").
func (d *Document) HeaderGet(key string) string {
	return first(d.Header[textproto.CanonicalMIMEHeaderKey(key)])
}

// HeaderValues returns all decoded values of a header field.
func (d *Document) HeaderValues(key string) []string {
	return slices.Clone(d.Header[textproto.CanonicalMIMEHeaderKey(key)])
}
