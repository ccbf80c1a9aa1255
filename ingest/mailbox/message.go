package mailbox

import (
	"bytes"
	"strings"
)

// messageID returns the Message-ID from raw's header, without angle brackets,
// or "" when there is none. It reads raw bytes (8-bit headers are common in
// the field) and handles folded lines.
func messageID(raw []byte) string {
	rest := raw
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return "" // end of the header
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !strings.EqualFold(string(bytes.TrimSpace(name)), "Message-ID") {
			continue
		}
		v := string(value)
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			cont := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				cont, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			v += string(bytes.TrimRight(cont, "\r"))
		}
		v = strings.TrimSpace(v)
		if i := strings.IndexByte(v, '<'); i >= 0 {
			if j := strings.IndexByte(v[i:], '>'); j > 0 {
				v = v[i+1 : i+j]
			}
		}
		v = strings.TrimSpace(v)
		if len(v) > 998 {
			v = v[:998]
		}
		return v
	}
	return ""
}
