package demo

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Mail written by people (store directors) and the automatic mail that is
// not a request: auto-replies, bounces, newsletters.

// letter is a mail a person writes from a desktop or phone client.
type letter struct {
	Client    string // outlook, thunderbird, iphone, android
	FromName  string
	From      string
	To        string
	Subject   string
	Body      string // text with "\n" line ends
	InReplyTo string
	Urgent    bool          // Importance: High / X-Priority: 1
	Zone      time.Duration // sender's UTC offset; Moscow when zero
}

func domainOf(email string) string { return email[strings.LastIndex(email, "@")+1:] }

var senderIPs = map[string]string{
	"pyatugol.ru": "203.0.113.32", "polosa-market.ru": "203.0.113.133", "vernyvybor.ru": "203.0.113.78",
	"magistral.ru": "203.0.113.151", "okean-shop.ru": "203.0.113.97", "dommarket.ru": "203.0.113.59",
	"zdorovie-plus.ru": "203.0.113.201", "mail.example": "203.0.113.57",
}

func (g *gen) senderRelay(from string) relay {
	d := domainOf(from)
	ip, ok := senderIPs[d]
	if !ok {
		panic("no relay for " + d)
	}
	host := "mail." + d
	if d == "mail.example" {
		host = "smtp.mail.example"
	}
	return relay{ReturnPath: from, Host: host, IP: ip, Domain: d}
}

// html renders plain text as the paragraphs a mail client writes.
func htmlParagraphs(text, class string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if l == "" {
			l = "&nbsp;"
		} else {
			l = htmlEscape(l)
		}
		if class != "" {
			b.WriteString("<p class=\"" + class + "\">" + l + "</p>\n")
		} else {
			b.WriteString("<div>" + l + "</div>\n")
		}
	}
	return b.String()
}

// write renders a letter; it returns the raw message and its Message-ID.
func (g *gen) write(at time.Time, l letter) ([]byte, string) {
	zone := msk
	if l.Zone != 0 {
		zone = time.FixedZone("", int(l.Zone/time.Second))
	}
	sent := at.Add(-time.Duration(20+g.r.IntN(90)) * time.Second).In(zone)
	d := domainOf(l.From)
	to := l.To
	if to == "" {
		to = zayavki
	}
	var m message
	g.envelope(&m, g.senderRelay(l.From), to, at)
	var id string
	refs := func() {
		if l.InReplyTo != "" {
			m.h("In-Reply-To", l.InReplyTo)
			m.h("References", l.InReplyTo)
		}
	}
	switch l.Client {
	case "outlook":
		id = fmt.Sprintf("<%s$%s$%s$@%s>", g.hex(12), g.hex(8), g.hex(8), d)
		m.h("From", addr("windows-1251", true, l.FromName, l.From))
		m.h("To", to)
		m.h("Subject", word("windows-1251", true, l.Subject))
		m.h("Date", sent.Format(dateLayout))
		m.h("Message-ID", id)
		refs()
		m.h("MIME-Version", "1.0")
		m.h("X-Mailer", "Microsoft Outlook 16.0")
		ti := make([]byte, 16)
		for i := range ti {
			ti[i] = byte(g.r.IntN(256))
		}
		m.h("Thread-Index", base64.StdEncoding.EncodeToString(ti))
		m.h("Content-Language", "ru")
		if l.Urgent {
			m.h("X-Priority", "1")
			m.h("Importance", "High")
		}
		boundary := fmt.Sprintf("----=_NextPart_001_%s_%s.%s", strings.ToUpper(g.hex(4)), strings.ToUpper(g.hex(8)), strings.ToUpper(g.hex(8)))
		m.h("Content-Type", "multipart/alternative;\r\n\tboundary=\""+boundary+"\"")
		html := "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head><meta name=\"Generator\" content=\"Microsoft Word 15 (filtered medium)\"></head><body lang=\"RU\" link=\"#0563C1\"><div class=\"WordSection1\">\n" +
			htmlParagraphs(l.Body, "MsoNormal") + "</div></body></html>\n"
		m.Body = joinParts(boundary, "",
			textPart("text/plain", "windows-1251", "quoted-printable", qp("windows-1251", l.Body)),
			textPart("text/html", "windows-1251", "quoted-printable", qp("windows-1251", html)))
	case "thunderbird":
		id = "<" + g.uuid() + "@" + d + ">"
		m.h("Message-ID", id)
		m.h("Date", sent.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
		m.h("MIME-Version", "1.0")
		m.h("User-Agent", "Mozilla Thunderbird")
		m.h("Content-Language", "ru")
		refs()
		m.h("To", to)
		m.h("From", addr("UTF-8", true, l.FromName, l.From))
		m.h("Subject", word("UTF-8", false, l.Subject))
		m.content(part{Header: []string{"Content-Type: text/plain; charset=UTF-8; format=flowed", "Content-Transfer-Encoding: 8bit"}, Body: eight("UTF-8", l.Body)})
	case "iphone":
		id = "<" + strings.ToUpper(g.uuid()) + "@" + d + ">"
		m.h("Content-Type", "text/plain;\r\n\tcharset=utf-8")
		m.h("Content-Transfer-Encoding", "quoted-printable")
		m.h("From", addr("utf-8", true, l.FromName, l.From))
		m.h("Mime-Version", "1.0 (1.0)")
		m.h("Subject", word("utf-8", false, l.Subject))
		m.h("Date", sent.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
		m.h("Message-Id", id)
		refs()
		m.h("To", to)
		m.h("X-Mailer", "iPhone Mail (22B91)")
		m.Body = qp("utf-8", l.Body+"\nОтправлено с iPhone\n")
	case "android":
		id = "<" + fmt.Sprintf("%d", sent.UnixMilli()) + "." + g.hex(10) + "@" + d + ">"
		m.h("From", addr("UTF-8", true, l.FromName, l.From))
		m.h("To", to)
		m.h("Subject", word("UTF-8", true, l.Subject))
		m.h("Date", sent.Format(dateLayout))
		m.h("Message-ID", id)
		refs()
		m.h("MIME-Version", "1.0")
		m.h("X-Mailer", "Mail.example for Android 15.4")
		boundary := "--ALT--" + strings.ToUpper(g.hex(16))
		m.h("Content-Type", "multipart/alternative;\r\n\tboundary=\""+boundary+"\"")
		body := l.Body + "\n--\nОтправлено из мобильной Почты\n"
		m.Body = joinParts(boundary, "",
			textPart("text/plain", "utf-8", "base64", b64([]byte(crlf(body)))),
			textPart("text/html", "utf-8", "base64", b64([]byte(crlf("<html><body>\n"+htmlParagraphs(body, "")+"</body></html>\n")))))
	default:
		panic("mail client " + l.Client)
	}
	return m.bytes(), id
}

// freeTicket is a store's request in its own words; its body must point at
// exactly the labelled category.
func (g *gen) freeTicket(at time.Time, o *order, l letter, note string) {
	mustMatch(o.Problem.Category, l.Body)
	raw, id := g.write(at, l)
	o.MsgID = id
	o.Subject = l.Subject
	o.File = g.emit(at, raw, o.label("", "ticket", note, ""))
}

// signature is how a store director signs.
func signature(o *object, title string) string {
	return fmt.Sprintf("%s\n%s\nтел. %s", o.Director.Full(), title, o.Phone)
}

func pharmacyHead(o *object) string {
	if o.Director.Female {
		return "Заведующая аптекой"
	}
	return "Заведующий аптекой"
}

// outlookQuote is the quoted original under an Outlook reply.
func outlookQuote(fromLine string, sent time.Time, to, subject, body string) string {
	days := []string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}
	months := []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
	t := sent.In(msk)
	return fmt.Sprintf("\n-----Исходное сообщение-----\nОт: %s\nОтправлено: %s, %d %s %d г. %s\nКому: %s\nТема: %s\n\n%s",
		fromLine, days[t.Weekday()], t.Day(), months[t.Month()-1], t.Year(), t.Format("15:04"), to, subject, body)
}

// outOfOffice is an Exchange auto-reply to one of our notices.
func (g *gen) outOfOffice(at time.Time, o *object, ourSubject, until string) {
	sent := at.Add(-25 * time.Second)
	our := fmt.Sprintf("<%d.%s@tehservis.example>", at.Add(-2*time.Minute).Unix(), g.hex(12))
	rl := g.senderRelay(o.CorpEmail)
	var m message
	g.envelope(&m, rl, zayavki, at)
	m.h("From", addr("utf-8", true, o.Director.Natural(), o.CorpEmail))
	m.h("To", addr("utf-8", true, "Заявки ТехСервис Регион", zayavki))
	m.h("Subject", word("utf-8", true, "Автоматический ответ: "+ourSubject))
	m.h("Thread-Topic", word("utf-8", true, ourSubject))
	m.h("Date", sent.In(msk).Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	m.h("Message-ID", fmt.Sprintf("<%s@EXCH02.%s>", g.hex(32), domainOf(o.CorpEmail)))
	m.h("References", our)
	m.h("In-Reply-To", our)
	m.h("Content-Language", "ru-RU")
	m.h("X-Auto-Response-Suppress", "All")
	m.h("X-MS-Exchange-Inbox-Rules-Loop", o.CorpEmail)
	m.h("Auto-Submitted", "auto-replied")
	m.h("MIME-Version", "1.0")
	m.h("X-MS-Has-Attach", "no")
	boundary := "_000_" + g.hex(32) + "_"
	m.h("Content-Type", "multipart/alternative;\r\n\tboundary=\""+boundary+"\"")
	text := fmt.Sprintf("Здравствуйте! Я в отпуске до %s, почту не читаю. По срочным вопросам обращайтесь к заместителю по телефону магазина.\n\n%s\n", until, o.Director.Full())
	html := "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body lang=\"RU\"><div class=\"WordSection1\">\n" + htmlParagraphs(text, "MsoNormal") + "</div></body></html>\n"
	m.Body = joinParts(boundary, "",
		textPart("text/plain", "utf-8", "quoted-printable", qp("utf-8", text)),
		textPart("text/html", "utf-8", "quoted-printable", qp("utf-8", html)))
	g.emit(at, m.bytes(), Label{Kind: "ignored", Note: "out-of-office auto-reply (Exchange) to our notice; mentions no new problem"})
}

// bounce is an exim delivery-status report for one of our notices.
func (g *gen) bounce(at time.Time, rcpt, ourSubject, reason string) {
	sent := at.Add(-4 * time.Second)
	host := "mail." + domainOf(rcpt)
	boundary := fmt.Sprintf("%d-eximdsn-%d", sent.Unix(), 1000000000+g.r.IntN(1000000000))
	var m message
	m.h("Return-Path", "<>")
	m.h("Delivered-To", zayavki)
	m.h("Received", fmt.Sprintf("from %s (%s [%s])\r\n\tby mx1.tehservis.example (Postfix) with ESMTPS id %s\r\n\tfor <%s>; %s",
		host, host, senderIPs[domainOf(rcpt)], g.alnum(12), zayavki, at.In(msk).Format(receivedLayout)))
	m.h("Date", sent.In(msk).Format(dateLayout))
	m.h("From", "Mail Delivery System <Mailer-Daemon@"+host+">")
	m.h("Subject", "Mail delivery failed: returning message to sender")
	m.h("To", zayavki)
	m.h("Auto-Submitted", "auto-replied")
	m.h("MIME-Version", "1.0")
	m.h("Message-ID", fmt.Sprintf("<%s.%d@%s>", g.hex(16), sent.Unix(), host))
	m.h("Content-Type", "multipart/report; report-type=delivery-status;\r\n\tboundary=\""+boundary+"\"")
	ourSent := at.Add(-3 * time.Minute)
	m.Body = joinParts(boundary, "This is a MIME-encapsulated message.",
		part{
			Header: []string{"Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii"},
			Body: []byte(crlf("This message was created automatically by mail delivery software.\n\n" +
				"A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  " +
				rcpt + "\n    " + reason + "\n")),
		},
		part{
			Header: []string{"Content-Description: Delivery report", "Content-Type: message/delivery-status"},
			Body:   []byte(crlf("Reporting-MTA: dns; " + host + "\n\nAction: failed\nFinal-Recipient: rfc822;" + rcpt + "\nStatus: 5.0.0\n")),
		},
		part{
			Header: []string{"Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers"},
			Body: []byte(crlf("Date: " + ourSent.In(msk).Format(dateLayout) + "\n" +
				"From: " + addr("UTF-8", true, "Заявки ТехСервис Регион", zayavki) + "\n" +
				"To: " + rcpt + "\n" +
				"Subject: " + word("UTF-8", true, ourSubject) + "\n" +
				fmt.Sprintf("Message-ID: <%d.%s@tehservis.example>\n", ourSent.Unix(), g.hex(12)) +
				"MIME-Version: 1.0\nContent-Type: text/plain; charset=\"UTF-8\"\nContent-Transfer-Encoding: quoted-printable\n")),
		})
	g.emit(at, m.bytes(), Label{Kind: "ignored", Note: "delivery-status bounce (exim) of our notice to a store"})
}

// newsletter is a supplier's mailing with List-Unsubscribe.
func (g *gen) newsletter(at time.Time) {
	const domain = "klimatsnab.example"
	u := g.hex(16)
	sent := at.Add(-18 * time.Second)
	var m message
	g.envelope(&m, relay{ReturnPath: "bounce-" + u + "@" + domain, Host: "out3.sendpulse.example", IP: "203.0.113.240", Domain: domain}, zayavki, at)
	m.h("Date", sent.In(msk).Format(dateLayout))
	m.h("From", addr("UTF-8", true, "КлиматСнаб", "news@"+domain))
	m.h("To", zayavki)
	m.h("Subject", word("UTF-8", true, "Сплит-системы и тепловые завесы к зиме: скидки до 20%"))
	m.h("Message-ID", fmt.Sprintf("<%s.%d@mail.%s>", g.hex(16), sent.Unix(), domain))
	m.h("MIME-Version", "1.0")
	m.h("List-Unsubscribe", fmt.Sprintf("<mailto:unsubscribe-%s@%s>, <https://%s/unsubscribe?u=%s>", u, domain, domain, u))
	m.h("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	m.h("List-Id", "<news."+domain+">")
	m.h("Precedence", "bulk")
	m.h("X-Mailer", "SendPulse")
	boundary := "b1_" + g.hex(32)
	m.h("Content-Type", "multipart/alternative;\r\n\tboundary=\""+boundary+"\"")
	text := "Готовим магазины к зиме: тепловые завесы, сплит-системы и вентиляция со склада в Подольске.\n" +
		"Жарко летом и холодно у входа зимой? Скидка 20% на монтаж до конца ноября.\n\n--\n" +
		"Вы получили это письмо, потому что подписаны на рассылку КлиматСнаб.\n" +
		"Отписаться: https://" + domain + "/unsubscribe?u=" + u + "\n"
	html := "<html><body>" + strings.ReplaceAll(htmlParagraphs(text, ""), "\n", "") + "<img src=\"https://" + domain + "/open.gif?u=" + u + "\" width=\"1\" height=\"1\"></body></html>\n"
	m.Body = joinParts(boundary, "",
		textPart("text/plain", "utf-8", "quoted-printable", qp("utf-8", text)),
		textPart("text/html", "utf-8", "base64", b64([]byte(crlf(html)))))
	g.emit(at, m.bytes(), Label{Kind: "ignored", Note: "newsletter with List-Unsubscribe (КлиматСнаб)"})
}
