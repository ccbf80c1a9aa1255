// Package parsebench measures the parse stage of the pipeline, normalize plus
// extract, on a generated mail corpus. It is the code behind
// `intake bench parse` and BenchmarkParse: both build the same corpus and run
// the same steps as the pipeline's parse stage (Normalize, Classify, the
// message-stage rules, format selection through the rule set, Format.Extract
// or ExtractFreeText), without the database.
//
// The corpus mixes what a real mailbox gets: the demo's chain notifications
// (the six chains' formats, directors' letters, replies, auto-replies,
// bounces, newsletters) and generated letters in every charset we support
// (UTF-8, windows-1251, KOI8-R, CP866, ISO-8859-5; base64, quoted-printable
// and 8bit), HTML-only mails with tables, text+HTML alternatives, XML and
// JPEG attachments, inline and message/rfc822 forwards of chain
// notifications, and replies with quoted history. It is deterministic for a
// seed.
package parsebench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/intakehq/intake/demo"
)

// Corpus makes n messages from seed. Every fourth message is one of the
// demo's messages as delivered (they carry the chains' formats); the others
// are generated.
func Corpus(n int, seed uint64) [][]byte {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x1a7e))}
	var chain [][]byte
	for _, f := range demo.Mail() {
		chain = append(chain, f.Data)
	}
	kinds := []func(i int) []byte{
		g.letter, g.htmlTable, g.alternative, g.xmlAttachment,
		g.photo, g.forwardInline, g.forwardRFC822(chain), g.reply,
	}
	out := make([][]byte, 0, n)
	for i := range n {
		if i%4 == 3 {
			out = append(out, chain[(i/4)%len(chain)])
			continue
		}
		k := kinds[g.r.IntN(len(kinds))]
		out = append(out, k(i))
	}
	return out
}

// Size is the total size of a corpus in bytes.
func Size(c [][]byte) int64 {
	var n int64
	for _, m := range c {
		n += int64(len(m))
	}
	return n
}

type gen struct{ r *rand.Rand }

// charsets are the body encodings a letter is written in, with the transfer
// encodings mail clients use for them.
var charsets = []struct{ name, cte string }{
	{"utf-8", "base64"}, {"utf-8", "quoted-printable"}, {"utf-8", "8bit"},
	{"windows-1251", "quoted-printable"}, {"windows-1251", "base64"},
	{"koi8-r", "8bit"}, {"ibm866", "base64"}, {"iso-8859-5", "quoted-printable"},
}

func encodeCharset(cs, s string) []byte {
	var e *charmap.Charmap
	switch cs {
	case "windows-1251":
		e = charmap.Windows1251
	case "koi8-r":
		e = charmap.KOI8R
	case "ibm866":
		e = charmap.CodePage866
	case "iso-8859-5":
		e = charmap.ISO8859_5
	default:
		return []byte(s)
	}
	if e != charmap.Windows1251 {
		s = plainQuotes.Replace(s) // not in KOI8-R, CP866 or ISO-8859-5
	}
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(fmt.Sprintf("%s: %v", cs, err)) // the texts below are all encodable
	}
	return b
}

var plainQuotes = strings.NewReplacer("№", "N", "«", `"`, "»", `"`)

func transfer(cte string, b []byte) []byte {
	switch cte {
	case "base64":
		return wrap64(b)
	case "quoted-printable":
		var buf bytes.Buffer
		w := quotedprintable.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	return b
}

func wrap64(b []byte) []byte {
	s := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(s) > 76 {
		out.WriteString(s[:76])
		out.WriteString("\r\n")
		s = s[76:]
	}
	out.WriteString(s)
	out.WriteString("\r\n")
	return out.Bytes()
}

func hword(cs, s string) string {
	if cs == "utf-8" {
		return mime.BEncoding.Encode("utf-8", s)
	}
	return mime.QEncoding.Encode(cs, string(encodeCharset(cs, s)))
}

func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

var (
	firstNames = []string{"Анна", "Ольга", "Ирина", "Елена", "Наталья", "Сергей", "Андрей", "Дмитрий", "Алексей", "Марина"}
	surnames   = []string{"Петрова", "Иванова", "Смирнова", "Кузнецова", "Попова", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозова"}
	cities     = []string{"Пенза", "Казань", "Самара", "Тольятти", "Тула", "Курск", "Тюмень", "Томск", "Воронеж", "Пермь"}
	streets    = []string{"ул. Ленина", "ул. Гагарина", "пр-т Мира", "ул. Советская", "пер. Садовый", "ш. Заводское", "б-р Полевой", "ул. Кирова"}
	chains     = []struct{ name, domain, prefix string }{
		{"Ромашка", "romashka-market.example", "РМ"}, {"Лукоморье", "lukomorye.example", "ЛК"},
		{"Северный ветер", "sever-veter.example", "СВ"}, {"Пятёрочка плюс", "p5plus.example", "ПП"},
	}
	problems = []string{
		"не работает холодильная витрина в молочном отделе, температура +12, товар портится",
		"не горят лампы в торговом зале над кассами, третий ряд",
		"течёт кран в подсобном помещении, вода на полу",
		"выбило автомат, нет света в складском помещении",
		"касса №2 не печатает чеки, ошибка принтера",
		"морозильный ларь гудит и не морозит, внутри -2",
		"не закрываются автоматические двери на входе",
		"СРОЧНО! Авария: протечка кровли над отделом бакалеи",
	}
)

type letterData struct {
	name, email, chain, domain, code, city, street, problem, phone, subject string
	house                                                                   int
	date                                                                    time.Time
}

func (g *gen) person(i int) letterData {
	c := chains[g.r.IntN(len(chains))]
	d := letterData{
		name:    firstNames[g.r.IntN(len(firstNames))] + " " + surnames[g.r.IntN(len(surnames))],
		chain:   c.name,
		domain:  c.domain,
		code:    fmt.Sprintf("%s-%03d", c.prefix, 1+g.r.IntN(400)),
		city:    cities[g.r.IntN(len(cities))],
		street:  streets[g.r.IntN(len(streets))],
		house:   1 + g.r.IntN(200),
		problem: problems[g.r.IntN(len(problems))],
		phone:   fmt.Sprintf("+7 (9%02d) %03d-%02d-%02d", g.r.IntN(100), g.r.IntN(1000), g.r.IntN(100), g.r.IntN(100)),
		date:    time.Date(2026, 11, 2, 8, 0, 0, 0, time.FixedZone("MSK", 3*3600)).Add(time.Duration(i) * 97 * time.Second),
	}
	d.email = fmt.Sprintf("store%d@%s", i, d.domain)
	d.subject = fmt.Sprintf("Заявка: магазин %s, %s", d.code, strings.SplitN(d.problem, ",", 2)[0])
	return d
}

func (d letterData) body() string {
	return fmt.Sprintf("Добрый день!\n\nМагазин %s «%s», г. %s, %s, д. %d.\nУ нас %s.\nПросим прислать мастера сегодня.\n\n",
		d.code, d.chain, d.city, d.street, d.house, d.problem)
}

func (d letterData) signature() string {
	return fmt.Sprintf("--\nС уважением,\n%s\nДиректор магазина «%s» %s\nтел. %s\n", d.name, d.chain, d.code, d.phone)
}

func (d letterData) head(cs, id string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <%s>\nDelivered-To: zayavki@tehservis.example\n", d.email)
	fmt.Fprintf(&b, "Received: from mx.%s (mx.%s [203.0.113.9])\n\tby mx1.tehservis.example (Postfix) with ESMTPS id %s\n\tfor <zayavki@tehservis.example>; %s\n",
		d.domain, d.domain, id, d.date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s <%s>\nTo: zayavki@tehservis.example\nSubject: %s\nDate: %s\nMessage-ID: <%s@%s>\nMIME-Version: 1.0\n",
		hword(cs, d.name), d.email, hword(cs, d.subject), d.date.Format(time.RFC1123Z), id, d.domain)
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func textPart(cs, cte, text string) string {
	return fmt.Sprintf("Content-Type: text/plain; charset=\"%s\"\nContent-Transfer-Encoding: %s\n\n", cs, cte) +
		string(transfer(cte, encodeCharset(cs, crlf(text))))
}

func htmlPart(cs, cte, html string) string {
	return fmt.Sprintf("Content-Type: text/html; charset=\"%s\"\nContent-Transfer-Encoding: %s\n\n", cs, cte) +
		string(transfer(cte, encodeCharset(cs, crlf(html))))
}

func multipart(kind, boundary string, parts ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Content-Type: multipart/%s; boundary=\"%s\"\n\nThis is a multi-part message in MIME format.\n", kind, boundary)
	for _, p := range parts {
		fmt.Fprintf(&b, "\n--%s\n%s", boundary, p)
		if !strings.HasSuffix(p, "\n") {
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\n--%s--\n", boundary)
	return b.String()
}

func (g *gen) cs() (string, string) {
	c := charsets[g.r.IntN(len(charsets))]
	return c.name, c.cte
}

// letter is a director's plain-text letter in one of the charsets.
func (g *gen) letter(i int) []byte {
	d := g.person(i)
	cs, cte := g.cs()
	return []byte(crlf(d.head(cs, fmt.Sprintf("l%d", i)) + textPart(cs, cte, d.body()+d.signature())))
}

func (d letterData) table() string {
	return fmt.Sprintf(`<html><head><meta charset="utf-8"><style>td{padding:4px}</style></head><body>
<p>Добрый день!</p><p>Зарегистрирована заявка. Просим принять в работу.</p>
<table border="1" cellspacing="0">
<tr><td><b>Номер заявки</b></td><td>%s/%d</td></tr>
<tr><td><b>Магазин</b></td><td>%s «%s»</td></tr>
<tr><td><b>Адрес</b></td><td>г. %s, %s, д. %d</td></tr>
<tr><td><b>Описание</b></td><td>%s</td></tr>
<tr><td><b>Приоритет</b></td><td>Высокий</td></tr>
<tr><td><b>Срок</b></td><td>%s</td></tr>
<tr><td><b>Контакт</b></td><td>%s, %s</td></tr>
</table>
<p style="color:#888">Письмо сформировано автоматически, не отвечайте на него.</p>
</body></html>
`, d.code, d.house*37, d.code, d.chain, d.city, d.street, d.house, d.problem, d.date.Add(24*time.Hour).Format("02.01.2006 15:04"), d.name, d.phone)
}

// htmlTable is an HTML-only notification with a label/value table.
func (g *gen) htmlTable(i int) []byte {
	d := g.person(i)
	cs, cte := g.cs()
	return []byte(crlf(d.head(cs, fmt.Sprintf("h%d", i)) + htmlPart(cs, cte, d.table())))
}

// alternative is text plus the same in HTML.
func (g *gen) alternative(i int) []byte {
	d := g.person(i)
	cs, cte := g.cs()
	text := d.body() + d.signature()
	html := "<html><body><div>" + strings.ReplaceAll(text, "\n", "<br>\n") + "</div></body></html>\n"
	return []byte(crlf(d.head(cs, fmt.Sprintf("a%d", i)) +
		multipart("alternative", fmt.Sprintf("alt-%d", i), textPart(cs, cte, text), htmlPart(cs, cte, html))))
}

// xmlAttachment is a document-system mail: a short text and the order as
// XML in windows-1251.
func (g *gen) xmlAttachment(i int) []byte {
	d := g.person(i)
	xml := fmt.Sprintf(`<?xml version="1.0" encoding="windows-1251"?>
<Заявка>
  <Номер>%s-%06d</Номер>
  <Дата>%s</Дата>
  <Объект><Код>%s</Код><Адрес>г. %s, %s, д. %d</Адрес></Объект>
  <Описание>%s</Описание>
  <Приоритет>Средний</Приоритет>
</Заявка>
`, d.code, i, d.date.Format("2006-01-02T15:04:05"), d.code, d.city, d.street, d.house, d.problem)
	att := "Content-Type: application/xml; name=\"order.xml\"\nContent-Disposition: attachment; filename=\"order.xml\"\nContent-Transfer-Encoding: base64\n\n" +
		string(wrap64(encodeCharset("windows-1251", crlf(xml))))
	return []byte(crlf(d.head("utf-8", fmt.Sprintf("x%d", i)) +
		multipart("mixed", fmt.Sprintf("mix-%d", i), textPart("utf-8", "quoted-printable", "Новая заявка во вложении.\n"), att)))
}

// photo is a director's letter with a JPEG of the broken equipment, 20-80 KB.
func (g *gen) photo(i int) []byte {
	d := g.person(i)
	cs, cte := g.cs()
	img := make([]byte, 20<<10+g.r.IntN(60<<10))
	for k := range img {
		img[k] = byte(g.r.Uint32())
	}
	copy(img, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0})
	img[len(img)-2], img[len(img)-1] = 0xFF, 0xD9
	att := "Content-Type: image/jpeg; name=\"IMG_" + fmt.Sprint(1000+i) + ".jpg\"\nContent-Disposition: attachment; filename=\"IMG_" +
		fmt.Sprint(1000+i) + ".jpg\"\nContent-Transfer-Encoding: base64\n\n" + string(wrap64(img))
	return []byte(crlf(d.head(cs, fmt.Sprintf("p%d", i)) +
		multipart("mixed", fmt.Sprintf("ph-%d", i), textPart(cs, cte, d.body()+"Фото во вложении.\n\n"+d.signature()), att)))
}

// forwardInline is a director forwarding a notification in the body, with
// the markers of Gmail, Outlook and Mail.ru.
func (g *gen) forwardInline(i int) []byte {
	d := g.person(i)
	cs, cte := g.cs()
	inner := g.person(i + 1)
	markers := []string{
		"---------- Forwarded message ---------\nFrom: %s <%s>\nDate: %s\nSubject: %s\nTo: <%s>\n",
		"-------- Пересылаемое сообщение --------\nОт: %s <%s>\nДата: %s\nТема: %s\nКому: %s\n",
		"-----Исходное сообщение-----\nОт: %s <%s>\nОтправлено: %s\nТема: %s\nКому: %s\n",
	}
	m := markers[g.r.IntN(len(markers))]
	text := "Пересылаю, примите в работу.\n\n" + d.signature() + "\n" +
		fmt.Sprintf(m, inner.name, "sd-noreply@"+inner.domain, inner.date.Format(time.RFC1123Z), inner.subject, d.email) + "\n" +
		inner.body() + inner.signature()
	d.subject = "Fwd: " + inner.subject
	return []byte(crlf(d.head(cs, fmt.Sprintf("f%d", i)) + textPart(cs, cte, text)))
}

// forwardRFC822 forwards one of the chains' notifications as an attached
// message, the way Thunderbird and Outlook do.
func (g *gen) forwardRFC822(chain [][]byte) func(i int) []byte {
	return func(i int) []byte {
		d := g.person(i)
		inner := chain[g.r.IntN(len(chain))]
		d.subject = "Fwd: заявка сети"
		att := "Content-Type: message/rfc822\nContent-Disposition: attachment; filename=\"forwarded.eml\"\n\n"
		return append([]byte(crlf(d.head("utf-8", fmt.Sprintf("r%d", i))+
			fmt.Sprintf("Content-Type: multipart/mixed; boundary=\"fw-%d\"\n\n--fw-%d\n", i, i)+
			textPart("utf-8", "8bit", "Коллеги, пересылаю заявку сети.\n\n"+d.signature())+
			fmt.Sprintf("\n--fw-%d\n", i)+att)), append(append([]byte{}, inner...), []byte(crlf(fmt.Sprintf("\n--fw-%d--\n", i)))...)...)
	}
}

// reply is a director answering our message, with Outlook's or Gmail's
// quoted history below.
func (g *gen) reply(i int) []byte {
	d := g.person(i)
	cs, cte := g.cs()
	ours := fmt.Sprintf("Заявка INT-%d принята. Инженер приедет до %s.\n", 1000+i, d.date.Add(3*time.Hour).Format("15:04"))
	var quoted string
	if g.r.IntN(2) == 0 {
		quoted = fmt.Sprintf("\n\nОт: Техносервис <zayavki@tehservis.example>\nОтправлено: %s\nКому: %s\nТема: INT-%d\n\n%s",
			d.date.Format("2 January 2006 15:04"), d.email, 1000+i, ours)
	} else {
		var q strings.Builder
		for _, l := range strings.Split(strings.TrimSpace(ours+"\n"+d.body()), "\n") {
			q.WriteString("> " + l + "\n")
		}
		quoted = fmt.Sprintf("\n\n%s, Техносервис <zayavki@tehservis.example> пишет:\n%s", d.date.Format("02.01.2006 15:04"), q.String())
	}
	d.subject = fmt.Sprintf("RE: INT-%d", 1000+i)
	text := "Мастер так и не приехал, витрина по-прежнему не работает. Когда ждать?\n\n" + d.signature() + quoted
	return []byte(crlf(d.head(cs, fmt.Sprintf("re%d", i), fmt.Sprintf("In-Reply-To: <int-%d@tehservis.example>", 1000+i)) + textPart(cs, cte, text)))
}
