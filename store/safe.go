package store

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// SafeText makes s storable in a text column: PostgreSQL refuses NUL bytes
// and invalid UTF-8 in text, so NULs become U+FFFD and bad sequences are
// replaced too.
func SafeText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// SafeJSON makes encoded JSON storable in a jsonb column: jsonb refuses the
// escape \u0000 (SQLSTATE 22P05), which encoding/json writes for a NUL in a
// string. Each such escape becomes \ufffd; an escaped backslash followed by
// "u0000" is left alone.
func SafeJSON(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			out = append(out, `\ufffd`...)
			i += 5
			continue
		}
		out = append(out, c, b[i+1]) // any other escape, \\ included
		i++
	}
	return out
}
