package parsers

import (
	"bytes"
	"strings"
)

// maxMessageID caps a Message-ID: RFC 5322 allows no longer line.
const maxMessageID = 998

// MessageID returns the Message-ID of a raw message, without angle
// brackets, or "" when its header has none. It scans the header block
// without parsing the message, which may be malformed or only a header:
// 8-bit header bytes are common in the field, and folded lines are joined.
// Every route that takes in mail (a mailbox, `intake ingest`) keys
// duplicates by it, so a message gets the same key whichever way it came.
func MessageID(raw []byte) string {
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
		if len(v) > maxMessageID {
			v = v[:maxMessageID]
		}
		return v
	}
	return ""
}
