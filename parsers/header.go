package parsers

import (
	"bytes"
	"encoding/base64"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
)

// field is one header field as read: canonical key and the unfolded raw value.
type field struct {
	key string
	raw []byte
}

type header []field

func (h header) get(key string) []byte {
	for _, f := range h {
		if f.key == key {
			return f.raw
		}
	}
	return nil
}

func (h header) has(key string) bool {
	for _, f := range h {
		if f.key == key {
			return true
		}
	}
	return false
}

// readHeader splits b into header fields and body. It never fails: lines that
// are not fields are skipped with a warning, and a block with no blank line
// after it is all header.
func readHeader(b []byte, warn func(string)) (header, []byte) {
	var h header
	// An mbox "From " line in front of the message.
	if bytes.HasPrefix(b, []byte("From ")) {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	bad := 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i], b[i+1:]
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return h, b
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(h) > 0 {
				last := &h[len(h)-1]
				last.raw = append(last.raw, ' ')
				last.raw = append(last.raw, bytes.TrimLeft(line, " \t")...)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validKey(bytes.TrimRight(line[:colon], " \t")) {
			if len(h) == 0 && bad == 0 && !looksLikeHeader(line) {
				// Not a header at all: treat everything as body.
				warn("header: message does not start with a header")
				return h, append(line, append([]byte("\n"), b...)...)
			}
			bad++
			continue
		}
		key := textproto.CanonicalMIMEHeaderKey(string(bytes.TrimRight(line[:colon], " \t")))
		val := bytes.TrimLeft(line[colon+1:], " \t")
		h = append(h, field{key: key, raw: append([]byte(nil), val...)})
	}
	if bad > 0 {
		warn("header: malformed lines skipped")
	}
	return h, nil
}

func looksLikeHeader(line []byte) bool {
	return bytes.HasPrefix(line, []byte(">From "))
}

func validKey(k []byte) bool {
	if len(k) == 0 || len(k) > 76 {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

var encodedWord = regexp.MustCompile(`=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=`)

// decodeHeader decodes RFC 2047 encoded words (in any charset, with adjacent
// words of one charset joined before decoding so characters split between
// words survive) and raw 8-bit text. guessed reports a charset guess.
func decodeHeader(raw []byte) (s string, guessed bool) {
	if !bytes.Contains(raw, []byte("=?")) {
		t, g := decodeHeaderBytes(raw)
		return strings.TrimSpace(t), g
	}
	var out strings.Builder
	var pendCharset string
	var pend []byte
	flush := func() {
		if pend == nil {
			return
		}
		t, w := decodeBytes(pend, pendCharset)
		if w != "" {
			guessed = true
		}
		out.WriteString(t)
		pend, pendCharset = nil, ""
	}
	rest := raw
	for len(rest) > 0 {
		loc := encodedWord.FindSubmatchIndex(rest)
		if loc == nil {
			flush()
			t, g := decodeHeaderBytes(rest)
			guessed = guessed || g
			out.WriteString(t)
			break
		}
		between := rest[:loc[0]]
		if pend != nil && len(bytes.TrimSpace(between)) == 0 {
			between = nil // whitespace between encoded words is not text
		}
		if len(between) > 0 {
			flush()
			t, g := decodeHeaderBytes(between)
			guessed = guessed || g
			out.WriteString(t)
		}
		cs := strings.ToLower(string(rest[loc[2]:loc[3]]))
		if i := strings.IndexByte(cs, '*'); i >= 0 {
			cs = cs[:i]
		}
		enc := rest[loc[4]]
		data := rest[loc[6]:loc[7]]
		var dec []byte
		if enc == 'b' || enc == 'B' {
			dec = decodeBase64Lenient(data)
		} else {
			dec = decodeQWord(data)
		}
		if pend != nil && cs != pendCharset {
			flush()
		}
		if pend == nil {
			pend = []byte{}
		}
		pendCharset = cs
		pend = append(pend, dec...)
		rest = rest[loc[1]:]
	}
	flush()
	return strings.TrimSpace(collapseSpace(out.String())), guessed
}

func collapseSpace(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func decodeQWord(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '_':
			out = append(out, ' ')
		case c == '=' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func decodeBase64Lenient(b []byte) []byte {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		if isB64(c) {
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	out, _ := base64.RawStdEncoding.DecodeString(string(clean))
	return out
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

var addrScanRe = regexp.MustCompile(`[A-Za-z0-9._%+\-'!#$&*=?^{|}~]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*`)

// parseAddressList reads an address header leniently: the RFC 5322 parser
// first, then a scan for anything that looks like an address.
func parseAddressList(raw []byte) []Address {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	s := string(raw)
	if !isASCII(raw) {
		s, _ = decodeHeaderBytes(raw)
	}
	if list, err := gomail.ParseAddressList(s); err == nil && len(list) > 0 {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			name := strings.TrimSpace(a.Name)
			if strings.Contains(name, "=?") {
				name, _ = decodeHeader([]byte(name))
			}
			out = append(out, Address{Name: name, Email: strings.ToLower(a.Address)})
		}
		return out
	}
	decoded, _ := decodeHeader(raw)
	var out []Address
	for _, part := range splitAddresses(decoded) {
		loc := addrScanRe.FindStringIndex(part)
		if loc == nil {
			continue
		}
		email := strings.ToLower(part[loc[0]:loc[1]])
		name := part[:loc[0]] + part[loc[1]:]
		name = strings.NewReplacer("<", "", ">", "", `"`, "", "[mailto:]", "", "mailto:", "").Replace(name)
		name = strings.Trim(strings.TrimSpace(name), `'()[],;`)
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, email) {
			name = ""
		}
		out = append(out, Address{Name: name, Email: email})
	}
	return out
}

// splitAddresses splits on commas and semicolons outside quotes and brackets.
func splitAddresses(s string) []string {
	var parts []string
	depth, quoted, start := 0, false, 0
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '<' || r == '(' || r == '[':
			depth++
		case (r == '>' || r == ')' || r == ']') && depth > 0:
			depth--
		case (r == ',' || r == ';') && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	// A comma inside an unquoted display name ("Иванов, Иван <a@b>") makes a
	// part with no address: glue it to the next one.
	var out []string
	carry := ""
	for _, p := range parts {
		if !strings.Contains(p, "@") {
			carry += p + ","
			continue
		}
		out = append(out, carry+p)
		carry = ""
	}
	return out
}

// parseMsgIDs returns message ids without angle brackets.
func parseMsgIDs(raw []byte) []string {
	s := string(raw)
	ids := scanMsgIDs(s)
	if len(ids) == 0 {
		for _, f := range strings.Fields(s) {
			f = strings.Trim(f, "<>,;")
			if strings.Contains(f, "@") {
				ids = append(ids, f)
			}
		}
	}
	return ids
}

// scanMsgIDs returns what `<([^<>\s]+)>` captures in s, every match: the
// ids written between angle brackets, which hold no angle bracket and no
// white space.
func scanMsgIDs(s string) []string {
	var ids []string
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		start := i + j + 1
		k := start
		for k < len(s) && !msgIDStop(s[k]) {
			k++
		}
		if k > start && k < len(s) && s[k] == '>' {
			ids = append(ids, s[start:k])
			i = k + 1
		} else {
			i = start
		}
	}
	return ids
}

func msgIDStop(c byte) bool {
	switch c {
	case '<', '>', '\t', '\n', '\f', '\r', ' ': // \s is these and the space
		return true
	}
	return false
}

// parseDate reads a Date header, trying the RFC 5322 layout and a few common
// deviations. A date that no clock can show (a zone offset of a day or
// more, a year past 9999) counts as unreadable.
func parseDate(s string) (time.Time, bool) {
	t, ok := parseDateLayouts(s)
	return t, ok && sensibleTime(t)
}

// sensibleTime reports whether t is a time that can be stored and shown:
// a zone offset within ±14 hours and a four-digit year.
func sensibleTime(t time.Time) bool {
	_, off := t.Zone()
	return off > -15*3600 && off < 15*3600 && t.Year() >= 0 && t.Year() <= 9999
}

func parseDateLayouts(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	// Drop a trailing comment "(MSK)" and retry, then try more layouts.
	if i := strings.IndexByte(s, '('); i > 0 {
		if t, err := mail.ParseDate(strings.TrimSpace(s[:i])); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{
		time.RFC3339, "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05",
		"Mon, 2 Jan 2006 15:04:05 -0700 MST", "Mon, 2 Jan 2006 15:04 -0700",
		"2 Jan 2006 15:04:05 -0700", "Mon Jan 2 15:04:05 2006", "Mon, 2 Jan 2006 15:04:05",
		"02.01.2006 15:04:05", "02.01.2006 15:04",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseParams parses "type; a=b; c*=utf-8'ru'x; d*0=..." leniently, including
// RFC 2231 continuations and charsets, returning the lower-cased value before
// the first semicolon and the parameters with lower-cased keys.
func parseParams(raw []byte) (string, map[string]string) {
	s := string(raw)
	value, rest, _ := strings.Cut(s, ";")
	value = strings.ToLower(strings.TrimSpace(value))
	params := map[string]string{}
	type piece struct {
		n       int
		encoded bool
		v       string
	}
	pieces := map[string][]piece{}
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t;")
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var v string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				c := rest[i]
				if c == '\\' && i+1 < len(rest) {
					i++
					b.WriteByte(rest[i])
					continue
				}
				if c == '"' {
					break
				}
				b.WriteByte(c)
			}
			v = b.String()
			if i < len(rest) {
				rest = rest[i+1:]
			} else {
				rest = ""
			}
			if j := strings.IndexByte(rest, ';'); j >= 0 {
				rest = rest[j:]
			} else {
				rest = ""
			}
		} else {
			j := strings.IndexByte(rest, ';')
			if j < 0 {
				v, rest = strings.TrimSpace(rest), ""
			} else {
				v, rest = strings.TrimSpace(rest[:j]), rest[j:]
			}
		}
		if key == "" {
			continue
		}
		name, n, encoded := key, 0, false
		if strings.HasSuffix(name, "*") {
			encoded = true
			name = strings.TrimSuffix(name, "*")
		}
		if i := strings.IndexByte(name, '*'); i >= 0 {
			num := 0
			for _, c := range name[i+1:] {
				if c < '0' || c > '9' {
					num = -1
					break
				}
				num = num*10 + int(c-'0')
			}
			if num >= 0 && num < 1000 {
				n = num
				name = name[:i]
			}
		}
		if !encoded && n == 0 && !strings.Contains(key, "*") {
			if _, dup := params[name]; !dup {
				params[name] = v
			}
			continue
		}
		pieces[name] = append(pieces[name], piece{n, encoded, v})
	}
	for name, ps := range pieces {
		// Order continuations by number; insertion sort, lists are short.
		for i := 1; i < len(ps); i++ {
			for j := i; j > 0 && ps[j].n < ps[j-1].n; j-- {
				ps[j], ps[j-1] = ps[j-1], ps[j]
			}
		}
		var buf []byte
		charset := ""
		for i, p := range ps {
			v := p.v
			if p.encoded {
				if i == 0 {
					if parts := strings.SplitN(v, "'", 3); len(parts) == 3 {
						charset, v = parts[0], parts[2]
					}
				}
				buf = append(buf, pctDecode(v)...)
			} else {
				buf = append(buf, v...)
			}
		}
		t, _ := decodeBytes(buf, charset)
		params[name] = t // the RFC 2231 form wins over a plain one
	}
	return value, params
}

func pctDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}
