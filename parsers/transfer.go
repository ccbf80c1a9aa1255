package parsers

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
)

// transferReader returns a reader of the decoded content of body. Decoding is
// lenient and streaming (attachments are hashed without being held decoded);
// problems are reported through the returned reader's problems method once it
// has been read to the end.
func transferReader(encoding string, body []byte) problemReader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		if data, ok := decodeBase64(body); ok {
			return &plainReader{r: bytes.NewReader(data)}
		}
		return &base64Reader{src: body}
	case "quoted-printable":
		return &qpReader{src: body}
	default:
		return &plainReader{r: bytes.NewReader(body)}
	}
}

type problemReader interface {
	io.Reader
	problems() []string
}

type plainReader struct{ r *bytes.Reader }

func (p *plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }
func (p *plainReader) problems() []string         { return nil }

// maxBase64Whole is the largest body decoded in one piece by decodeBase64
// (the fast path for the text parts of ordinary mail); larger ones are
// streamed, so that a big attachment is never held decoded.
const maxBase64Whole = 1 << 20

// decodeBase64 decodes a well-formed body (standard alphabet, padded, line
// breaks and blanks anywhere) in one call; ok is false for anything else,
// which is left to base64Reader. For the bodies it accepts base64Reader
// gives the same bytes and no problems, only slower: it decodes a quantum
// at a time.
func decodeBase64(body []byte) ([]byte, bool) {
	if len(body) > maxBase64Whole {
		return nil, false
	}
	src := body
	if bytes.ContainsAny(body, " \t") {
		src = make([]byte, 0, len(body))
		for _, c := range body {
			if c != ' ' && c != '\t' {
				src = append(src, c)
			}
		}
	}
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(dst, src)
	if err != nil {
		return nil, false
	}
	return dst[:n], true
}

// base64Reader decodes base64, skipping characters outside the alphabet and
// decoding a truncated last quantum as far as its bits go.
type base64Reader struct {
	src     []byte
	pos     int
	quant   [4]byte
	nq      int
	out     []byte
	buf     []byte // backing of out, reused: streaming makes no garbage
	invalid int
	tail    int // chars left over in a quantum cut short
	done    bool
}

func (r *base64Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.done {
			return 0, io.EOF
		}
		r.fill()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *base64Reader) fill() {
	if r.buf == nil {
		r.buf = make([]byte, 0, 3*1024+8)
	}
	buf := r.buf[:0]
	for r.pos < len(r.src) && len(buf) < 3*1024-3 {
		c := r.src[r.pos]
		r.pos++
		switch {
		case isB64(c) || c == '-' || c == '_':
			if c == '-' {
				c = '+'
			} else if c == '_' {
				c = '/'
			}
			r.quant[r.nq] = c
			r.nq++
			if r.nq == 4 {
				q := r.quant
				v := uint32(b64Value[q[0]])<<18 | uint32(b64Value[q[1]])<<12 | uint32(b64Value[q[2]])<<6 | uint32(b64Value[q[3]])
				buf = append(buf, byte(v>>16), byte(v>>8), byte(v))
				r.nq = 0
			}
		case c == '=':
			// Padding ends a quantum; another block may follow.
			buf = r.flushPartial(buf, true)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		default:
			r.invalid++
		}
	}
	if r.pos >= len(r.src) {
		buf = r.flushPartial(buf, false)
		r.done = true
	}
	r.out = buf
}

// b64Value maps a character of the standard alphabet to its 6 bits.
var b64Value = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

func (r *base64Reader) flushPartial(buf []byte, padded bool) []byte {
	if r.nq == 0 {
		return buf
	}
	if !padded {
		r.tail = r.nq
	}
	if r.nq >= 2 {
		var d [3]byte
		n, _ := base64.RawStdEncoding.Decode(d[:], r.quant[:r.nq])
		buf = append(buf, d[:n]...)
	} else if padded {
		r.invalid++
	}
	r.nq = 0
	return buf
}

func (r *base64Reader) problems() []string {
	var p []string
	if r.invalid > 0 {
		p = append(p, "base64: invalid characters skipped")
	}
	if r.tail > 0 {
		p = append(p, "base64: body truncated, last quantum incomplete")
	}
	return p
}

// qpReader decodes quoted-printable, keeping malformed escapes as literal
// text.
type qpReader struct {
	src     []byte
	pos     int
	out     []byte
	buf     []byte // backing of out, reused
	invalid int
}

func (r *qpReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.pos >= len(r.src) {
			return 0, io.EOF
		}
		r.line()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *qpReader) line() {
	rest := r.src[r.pos:]
	i := bytes.IndexByte(rest, '\n')
	var line []byte
	hardBreak := true
	if i < 0 {
		line, r.pos = rest, len(r.src)
		hardBreak = false
	} else {
		line, r.pos = rest[:i], r.pos+i+1
	}
	line = bytes.TrimRight(line, " \t\r")
	if bytes.HasSuffix(line, []byte("=")) {
		line = line[:len(line)-1]
		hardBreak = false
	}
	out := r.buf[:0]
	for j := 0; j < len(line); j++ {
		c := line[j]
		if c == '=' {
			if j+2 < len(line) && isHex(line[j+1]) && isHex(line[j+2]) {
				out = append(out, unhex(line[j+1])<<4|unhex(line[j+2]))
				j += 2
				continue
			}
			r.invalid++
		}
		out = append(out, c)
	}
	if hardBreak {
		out = append(out, '\r', '\n')
	}
	r.buf, r.out = out, out
}

func (r *qpReader) problems() []string {
	if r.invalid > 0 {
		return []string{"quoted-printable: malformed escapes kept as text"}
	}
	return nil
}
