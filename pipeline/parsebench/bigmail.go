package parsebench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// BigMail kinds: what the large part of the message is.
const (
	BigPDF  = "pdf"  // a binary attachment (application/pdf), base64
	BigXML  = "xml"  // an XML attachment, base64
	BigJSON = "json" // a JSON attachment, base64
	BigCSV  = "csv"  // a CSV attachment in windows-1251, base64
	BigHTML = "html" // an HTML-only body with one long table, base64
)

// BigKinds lists the BigMail kinds.
var BigKinds = []string{BigPDF, BigXML, BigJSON, BigCSV, BigHTML}

// BigMail makes a free-text store request whose attachment (or, for BigHTML,
// whose HTML body) holds size bytes of content before transfer encoding. The
// message is written into one buffer grown once, so that making it costs
// about its own size in memory and nothing more: a measurement of the parse
// then sees only what the parse holds.
func BigMail(kind string, size int) []byte {
	var b bytes.Buffer
	b.Grow(size*4/3 + size/28 + 64<<10) // base64 and its line breaks
	head := "From: =?utf-8?B?0JDQvdC90LAg0J/QtdGC0YDQvtCy0LA=?= <store7@romashka-market.example>\r\n" +
		"To: zayavki@tehservis.example\r\n" +
		"Subject: =?utf-8?B?0JfQsNGP0LLQutCwOiDQvNCw0LPQsNC30LjQvSDQoNCcLTAwNw==?=\r\n" +
		"Date: Mon, 02 Nov 2026 09:15:00 +0300\r\n" +
		"Message-ID: <big-" + kind + "@romashka-market.example>\r\n" +
		"MIME-Version: 1.0\r\n"
	b.WriteString(head)
	text := "Добрый день!\r\n\r\nМагазин РМ-007 «Ромашка», г. Пенза, ул. Ленина, д. 12.\r\n" +
		"Не работает холодильная витрина в молочном отделе, температура +12.\r\n" +
		"Опись оборудования во вложении.\r\n\r\n--\r\nС уважением,\r\nАнна Петрова\r\nтел. +7 (912) 345-67-89\r\n"
	if kind == BigHTML {
		b.WriteString("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		head := "<html><body><p>" + strings.ReplaceAll(text, "\r\n", "<br>\r\n") + "</p>\r\n<table border=\"1\">\r\n" +
			"<tr><th>N</th><th>Оборудование</th><th>Инв. номер</th><th>Состояние</th></tr>\r\n"
		writeBase64(&b, size, rows(size, head, "</table></body></html>\r\n", func(i int) string {
			return fmt.Sprintf("<tr><td>%d</td><td>Витрина холодильная ВХ-%d</td><td>INV-%07d</td><td>исправна</td></tr>\r\n", i, i%97, i)
		}))
		return b.Bytes()
	}
	const boundary = "=_big_0001"
	b.WriteString("Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n")
	b.WriteString("--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(text)
	b.WriteString("\r\n--" + boundary + "\r\n")
	switch kind {
	case BigPDF:
		b.WriteString("Content-Type: application/pdf; name=\"opis.pdf\"\r\nContent-Disposition: attachment; filename=\"opis.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		r := rand.New(rand.NewPCG(7, 7))
		writeBase64(&b, size, func(p []byte) {
			for i := range p {
				p[i] = byte(r.Uint32())
			}
		})
	case BigXML:
		b.WriteString("Content-Type: application/xml; name=\"opis.xml\"\r\nContent-Disposition: attachment; filename=\"opis.xml\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		writeBase64(&b, size, rows(size, `<?xml version="1.0" encoding="utf-8"?>`+"\n<Опись>\n", "</Опись>\n", func(i int) string {
			return fmt.Sprintf("<Позиция N=\"%d\"><Название>Витрина холодильная ВХ-%d</Название><Инв>INV-%07d</Инв></Позиция>\n", i, i%97, i)
		}))
	case BigJSON:
		b.WriteString("Content-Type: application/json; name=\"opis.json\"\r\nContent-Disposition: attachment; filename=\"opis.json\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		writeBase64(&b, size, rows(size, "{\"items\":[\n", "{}]}\n", func(i int) string {
			return fmt.Sprintf("{\"n\":%d,\"name\":\"Витрина холодильная ВХ-%d\",\"inv\":\"INV-%07d\"},\n", i, i%97, i)
		}))
	case BigCSV:
		// windows-1251 is what spreadsheet exports send.
		b.WriteString("Content-Type: text/csv; charset=windows-1251; name=\"opis.csv\"\r\nContent-Disposition: attachment; filename=\"opis.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		cp := func(s string) string { return string(encodeCharset("windows-1251", s)) }
		writeBase64(&b, size, rows(size, cp("N;Оборудование;Инв. номер\r\n"), "", func(i int) string {
			return cp(fmt.Sprintf("%d;Витрина холодильная ВХ-%d;INV-%07d\r\n", i, i%97, i))
		}))
	default:
		panic("parsebench: unknown big mail kind " + kind)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// rows returns a fill function for writeBase64 that writes head, then row(1),
// row(2), ... and ends with tail at exactly size bytes (the last row may be
// replaced by blanks to make room for tail).
func rows(size int, head, tail string, row func(i int) string) func(p []byte) {
	var pending []byte
	written, i := 0, 0
	return func(p []byte) {
		for j := range p {
			if len(pending) == 0 {
				switch {
				case written == 0:
					pending = []byte(head)
				case written >= size-len(tail):
					pending = []byte(tail)
				default:
					i++
					pending = []byte(row(i))
					if rest := size - len(tail) - written; len(pending) > rest {
						// Blanks, not a row cut inside a character.
						pending = bytes.Repeat([]byte(" "), rest)
					}
				}
			}
			p[j] = pending[0]
			pending = pending[1:]
			written++
		}
	}
}

// writeBase64 writes size bytes made by fill, base64 in 76-character lines.
func writeBase64(b *bytes.Buffer, size int, fill func(p []byte)) {
	const chunk = 57 * 1024 // 57 bytes make one 76-character line
	src := make([]byte, chunk)
	enc := make([]byte, base64.StdEncoding.EncodedLen(chunk))
	for size > 0 {
		n := min(size, chunk)
		fill(src[:n])
		m := base64.StdEncoding.EncodedLen(n)
		base64.StdEncoding.Encode(enc, src[:n])
		for line := enc[:m]; len(line) > 0; {
			k := min(len(line), 76)
			b.Write(line[:k])
			b.WriteString("\r\n")
			line = line[k:]
		}
		size -= n
	}
}
