// Command gen writes the mail fixtures of testdata/mail: one .eml per case,
// byte for byte the same on every run. All chains, people and addresses are
// invented. Run from the module root:
//
//	go run ./testdata/mail/gen
//
// then refresh the golden files with go test ./parsers -run Golden -update.
package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

const us = "intake@tehnoservis.example"

func main() {
	dir := flag.String("dir", "testdata/mail", "output directory")
	flag.Parse()
	for _, f := range fixtures() {
		data := strings.ReplaceAll(strings.ReplaceAll(f.body, "\r\n", "\n"), "\n", "\r\n")
		if f.raw != nil {
			data = string(f.raw)
		}
		if err := os.WriteFile(filepath.Join(*dir, f.name+".eml"), []byte(data), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

type fixture struct {
	name string
	body string // LF line ends, converted to CRLF
	raw  []byte // written as is when set
}

func enc(cs string) encoding.Encoding {
	switch cs {
	case "windows-1251":
		return charmap.Windows1251
	case "koi8-r":
		return charmap.KOI8R
	case "cp866", "ibm866":
		return charmap.CodePage866
	case "iso-8859-5":
		return charmap.ISO8859_5
	}
	return nil
}

func conv(cs, s string) string {
	e := enc(cs)
	if e == nil {
		return s
	}
	out, err := e.NewEncoder().String(s)
	if err != nil {
		log.Fatalf("%s: %v", cs, err)
	}
	return out
}

// word encodes s as RFC 2047 B words in charset cs.
func word(cs, s string) string { return mime.BEncoding.Encode(cs, conv(cs, s)) }

// qword encodes s as RFC 2047 Q words in charset cs.
func qword(cs, s string) string { return mime.QEncoding.Encode(cs, conv(cs, s)) }

func qp(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	w.Close()
	return strings.ReplaceAll(b.String(), "\r\n", "\n")
}

func b64(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func head(from, subject, date, id string, extra ...string) string {
	h := "Return-Path: <bounce@example.invalid>\nDelivered-To: " + us + "\n" +
		"From: " + from + "\nTo: " + us + "\nSubject: " + subject + "\nDate: " + date +
		"\nMessage-ID: <" + id + ">\nMIME-Version: 1.0\n"
	for _, e := range extra {
		h += e + "\n"
	}
	return h
}

const problem = "Добрый день!\n\nМагазин РМ-042: не работает холодильная витрина в молочном отделе,\nтемпература +12. Товар портится.\n"

const storeSig = "С уважением,\nПетрова Анна\nДиректор магазина «Ромашка» №42\nтел. +7 (912) 555-01-42\n"

func fixtures() []fixture {
	var fs []fixture
	add := func(name, body string) { fs = append(fs, fixture{name: name, body: body}) }

	// Charsets, one per body and header encoding.
	add("charset-utf8-qp", head(qword("utf-8", "Петрова Анна")+" <Director.RM042@romashka-market.example>",
		qword("utf-8", "Не работает витрина, РМ-042"), "Mon, 2 Nov 2026 09:15:00 +0300", "utf8qp-1@romashka-market.example",
		`Content-Type: text/plain; charset="utf-8"`, "Content-Transfer-Encoding: quoted-printable")+
		"\n"+qp(problem+"\n"+storeSig))
	add("charset-utf8-base64", head(word("utf-8", "Сервис-деск Лукоморье")+" <jira@sd.lukomorye.example>",
		"[JIRA] (SD-10421) "+word("utf-8", "[ЛК-07-118] Не работает касса №3"), "Mon, 2 Nov 2026 10:00:00 +0300", "jira-10421@sd.lukomorye.example",
		"Auto-Submitted: auto-generated", "Precedence: bulk",
		`Content-Type: text/plain; charset=UTF-8`, "Content-Transfer-Encoding: base64")+
		"\n"+b64(crlf("Заявка SD-10421 создана.\n\n    Тема: [ЛК-07-118] Не работает касса №3\n    Приоритет: High\n    Срок: 03/ноя/26 18:00\n\n--\nЭто сообщение создано автоматически.\n")))
	add("charset-cp1251-qp", head(word("windows-1251", "Служба поддержки «Северный ветер»")+" <remedy@sd.sever-veter.example>",
		word("windows-1251", "Рабочий заказ WO0000000123456 назначен вашей группе"), "Tue, 3 Nov 2026 11:20:00 +0300", "wo123456@sd.sever-veter.example",
		"Auto-Submitted: auto-generated",
		`Content-Type: text/plain; charset="windows-1251"`, "Content-Transfer-Encoding: quoted-printable")+
		"\n"+qp(conv("windows-1251", "Уважаемые коллеги!\n\nНомер рабочего заказа: WO0000000123456\nПлощадка: 0815 Северный ветер Пермь №815\nПриоритет: Высокий\n")))
	add("charset-koi8r-8bit", head(word("koi8-r", "Итилиум Лукоморье")+" <itilium@lukomorye.example>",
		word("koi8-r", "Обращение N 00000012345 зарегистрировано"), "Tue, 3 Nov 2026 12:00:00 +0300", "itil-12345@lukomorye.example",
		`Content-Type: text/plain; charset=koi8-r`, "Content-Transfer-Encoding: 8bit")+
		"\n"+conv("koi8-r", "Обращение N 00000012345\nОбъект обслуживания .: ЛК-015 Лукоморье Пермь N15\nПриоритет ...........: Средний\n"))
	add("charset-cp866-base64", head(qword("ibm866", "Кассир Иванова")+" <kassa15@lukomorye.example>",
		qword("ibm866", "Касса не печатает чеки"), "Wed, 4 Nov 2026 08:00:00 +0300", "cp866-1@lukomorye.example",
		`Content-Type: text/plain; charset=cp866`, "Content-Transfer-Encoding: base64")+
		"\n"+b64(crlf(conv("cp866", "Касса №2 не печатает чеки, лента заправлена.\nМагазин ЛК-015.\n"))))
	add("charset-iso88595-qp", head(word("iso-8859-5", "Смирнов Олег")+" <smirnov.o@sever-veter.example>",
		word("iso-8859-5", "Протечка кровли"), "Wed, 4 Nov 2026 09:30:00 +0300", "iso5-1@sever-veter.example",
		`Content-Type: text/plain; charset="ISO-8859-5"`, "Content-Transfer-Encoding: quoted-printable")+
		"\n"+qp(conv("iso-8859-5", "Здравствуйте.\n\nВ магазине 0815 течёт крыша над складом, после дождя лужа.\n\nСмирнов Олег\n")))
	add("charset-mislabelled", head("=?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("Кузнецова Ольга"))+"?= <kuznetsova@romashka-market.example>",
		"=?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte(conv("windows-1251", "Заявка")))+"?=", "Wed, 4 Nov 2026 10:00:00 +0300", "mislabel-1@romashka-market.example",
		`Content-Type: text/plain; charset="utf-8"`, "Content-Transfer-Encoding: 8bit")+
		"\n"+conv("windows-1251", "Магазин РМ-017: пропало электричество на складе.\nКузнецова Ольга\n"))
	add("charset-unknown", head("Orlov <orlov@sever-veter.example>", "Lighting", "Wed, 4 Nov 2026 11:00:00 +0300", "unknown-cs-1@sever-veter.example",
		`Content-Type: text/plain; charset="x-cyr-legacy"`, "Content-Transfer-Encoding: 8bit")+
		"\n"+conv("koi8-r", "В торговом зале не горят светильники, магазин 0815.\n"))

	// Transfer encodings.
	broken := b64(crlf("Не работает кондиционер в торговом зале магазина РМ-042, жарко.\n"))
	broken = broken[:40] + "!!" + broken[40:len(broken)-7] + "\n" // bad characters, tail cut mid-quantum
	add("base64-broken", head("Petrova <director.rm042@romashka-market.example>", "=?utf-8?B?0JrQvtC90LTQuNGG0LjQvtC90LXRgA==?=",
		"Thu, 5 Nov 2026 09:00:00 +0300", "b64-broken-1@romashka-market.example",
		`Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: base64")+"\n"+broken)
	add("qp-broken", head("Petrova <director.rm042@romashka-market.example>", "QP", "Thu, 5 Nov 2026 09:05:00 +0300", "qp-broken-1@romashka-market.example",
		`Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: quoted-printable")+
		"\n=D0=9F=D1=80=D0=BE=D1=82=D0=B5=D1=87=D0=BA=D0=B0 =ZZ 100% =\n=D0=B2 =D1=82=D1=83=D0=B0=D0=BB=D0=B5=\n")

	// HTML.
	naumen := `<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><style>td{font-family:Arial}</style></head>
<body><p>Уважаемые коллеги!</p><p>На вашу команду назначен запрос.</p>
<table border="1"><tr><td><b>Номер запроса</b></td><td>410233</td></tr>
<tr><td><b>Адрес</b></td><td>г. Тверь, ул. Советская, д. 5</td></tr>
<tr><td><b>Описание:</b></td><td>Не закрывается&nbsp;входная дверь,<br>доводчик сломан.</td></tr>
<tr><td>Позиция</td><td>Кол-во</td><td>Цена</td></tr></table>
<p><a href="https://sd.lukomorye.example/sd/operator/#uuid:serviceCall$5521">Перейти к запросу №410233</a></p>
<p style="color:#888">Письмо сформировано автоматически.&nbsp;Не отвечайте на него.</p></body></html>`
	add("html-only-tables", head("Naumen Service Desk <sd-noreply@lukomorye.example>", word("utf-8", "Запрос №410233: Не закрывается дверь"),
		"Thu, 5 Nov 2026 10:00:00 +0300", "naumen-410233@sd.lukomorye.example", "Auto-Submitted: auto-generated",
		`Content-Type: text/html; charset="UTF-8"`, "Content-Transfer-Encoding: base64")+"\n"+b64(crlf(naumen)))
	plainAlt := "Номер рабочего заказа: WO0000000123999\nПлощадка: 0815 Северный ветер Пермь №815\n"
	htmlAlt := "<html><body><table><tr><th>Номер рабочего заказа</th><td>WO0000000123999</td></tr><tr><th>Площадка</th><td>0815 Северный ветер Пермь №815</td></tr></table></body></html>"
	add("alternative", head(word("windows-1251", "Служба поддержки «Северный ветер»")+" <remedy@sd.sever-veter.example>",
		"WO0000000123999", "Thu, 5 Nov 2026 11:00:00 +0300", "alt-1@sd.sever-veter.example",
		`Content-Type: multipart/alternative; boundary="alt-b1"`)+
		"\n--alt-b1\nContent-Type: text/plain; charset=windows-1251\nContent-Transfer-Encoding: quoted-printable\n\n"+qp(conv("windows-1251", plainAlt))+
		"\n--alt-b1\nContent-Type: text/html; charset=windows-1251\nContent-Transfer-Encoding: quoted-printable\n\n"+qp(conv("windows-1251", htmlAlt))+
		"\n--alt-b1--\n")

	// Attachments.
	xml := `<?xml version="1.0" encoding="windows-1251"?>
<Заявка><Номер>ЗНО-0001234</Номер><Объект>DM/0042</Объект><Адрес>г. Тула, пр. Ленина, 12</Адрес><Описание>Течёт кран</Описание></Заявка>
`
	add("xml-attachment-cp1251", head("СЭД <sed-robot@dom-lukomorye.example>", word("utf-8", "Заявка на обслуживание ЗНО-0001234"),
		"Fri, 6 Nov 2026 08:00:00 +0300", "sed-1234@dom-lukomorye.example",
		`Content-Type: multipart/mixed; boundary="mix-b2"`)+
		"\nThis is a multi-part message in MIME format.\n--mix-b2\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nВо вложении заявка на обслуживание.\n"+
		"\n--mix-b2\nContent-Type: application/xml; name*=windows-1251''%C7%E0%FF%E2%EA%E0.xml\nContent-Transfer-Encoding: base64\n"+
		"Content-Disposition: attachment; filename*=windows-1251''%C7%E0%FF%E2%EA%E0_%C7%CD%CE-0001234.xml\n\n"+
		b64(crlf(conv("windows-1251", xml)))+"--mix-b2--\n")
	rng := rand.New(rand.NewPCG(42, 7))
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0}
	for len(jpeg) < 6000 {
		jpeg = append(jpeg, byte(rng.UintN(256)))
	}
	jpeg = append(jpeg, 0xFF, 0xD9)
	add("jpeg-attachment", head(qword("utf-8", "Петрова Анна")+" <director.rm042@romashka-market.example>", word("utf-8", "Фото витрины"),
		"Fri, 6 Nov 2026 09:00:00 +0300", "jpeg-1@romashka-market.example",
		`Content-Type: multipart/mixed; boundary="mix-b3"`)+
		"\n--mix-b3\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nФото во вложении, РМ-042.\n"+
		"\n--mix-b3\nContent-Type: image/jpeg; name=\""+word("utf-8", "витрина.jpg")+"\"\nContent-Transfer-Encoding: base64\n"+
		"Content-Disposition: attachment; filename=\""+word("utf-8", "витрина.jpg")+"\"\n\n"+b64(jpeg)+"--mix-b3--\n")

	// Forwards.
	inner := head(word("utf-8", "Сервис-деск Лукоморье")+" <servicedesk@sd.lukomorye.example>", word("utf-8", "Инцидент INC0041234 назначен вашей группе"),
		"Fri, 6 Nov 2026 10:00:00 +0300", "inc0041234@sd.lukomorye.example", "Auto-Submitted: auto-generated",
		`Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: 8bit") +
		"\nИнцидент INC0041234.\nМагазин: ЛК-015 Лукоморье Пермь №15\nОписание: не работает освещение парковки.\n"
	add("forward-rfc822", head(word("utf-8", "Зайцева Мария")+" <zaytseva.m@mail.example>", "Fwd: "+word("utf-8", "Инцидент INC0041234 назначен вашей группе"),
		"Fri, 6 Nov 2026 11:00:00 +0500", "fwd-rfc822-1@mail.example",
		`Content-Type: multipart/mixed; boundary="mix-b4"`)+
		"\n--mix-b4\nContent-Type: text/plain; charset=utf-8\n\nПосмотрите, это к вам.\n\nС уважением\n\n--mix-b4\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=\"forwarded.eml\"\n\n"+
		inner+"\n--mix-b4--\n")
	fwdBody := "Инцидент INC0041300.\nМагазин: ЛК-016 Лукоморье Пермь №16\nОписание: не закрывается роллета.\n"
	add("forward-gmail", head(word("utf-8", "Зайцева Мария")+" <zaytseva.m@mail.example>", "Fwd: "+word("utf-8", "Инцидент INC0041300"),
		"Fri, 6 Nov 2026 12:00:00 +0300", "fwd-gmail-1@mail.example", `Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: base64")+
		"\n"+b64(crlf("Пересылаю, разберитесь.\n\n---------- Forwarded message ---------\nFrom: Сервис-деск Лукоморье <servicedesk@sd.lukomorye.example>\nDate: Fri, Nov 6, 2026 at 11:45 AM\nSubject: Инцидент INC0041300\nTo: <zaytseva.m@mail.example>\n\n"+fwdBody)))
	add("forward-thunderbird", head("Orlov Ivan <i.orlov@sever-veter.example>", "Fwd: WO0000000124000",
		"Fri, 6 Nov 2026 12:30:00 +0300", "fwd-tb-1@sever-veter.example", `Content-Type: text/plain; charset=UTF-8; format=flowed`, "Content-Transfer-Encoding: 8bit")+
		"\nСм. ниже.\n\n\n-------- Forwarded Message --------\nSubject: \tWO0000000124000\nDate: \tFri, 6 Nov 2026 12:10:00 +0300\nFrom: \tRemedy <remedy@sd.sever-veter.example>\nTo: \ti.orlov@sever-veter.example\n\n\nНомер рабочего заказа: WO0000000124000\nПлощадка: 0816 Северный ветер Пермь №816\n")
	add("forward-outlook-ru", head(word("windows-1251", "Кузнецова Ольга")+" <kuznetsova@romashka-market.example>", "FW: "+word("windows-1251", "Обращение № 00000012400 зарегистрировано"),
		"Fri, 6 Nov 2026 13:00:00 +0300", "fwd-ol-1@romashka-market.example", `Content-Type: text/plain; charset="windows-1251"`, "Content-Transfer-Encoding: quoted-printable")+
		"\n"+qp(conv("windows-1251", "Посмотрите, это к вам.\n\nС уважением,\n\n________________________________\nОт: Итилиум Ромашка <itilium@romashka-market.example>\nОтправлено: пятница, 6 ноября 2026 г. 12:45\nКому: kuznetsova@romashka-market.example\nТема: Обращение № 00000012400 зарегистрировано\n\nОбращение N 00000012400\nОбъект обслуживания .: РМ-017 Ромашка Тула\n")))
	add("forward-iphone", head(word("utf-8", "Лебедева Елена")+" <lebedeva.e@mail.example>", "Fwd: "+word("utf-8", "Рабочий заказ WO0000000124100"),
		"Sat, 7 Nov 2026 09:00:00 +0300", "fwd-iphone-1@mail.example", `Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: quoted-printable")+
		"\n"+qp("Пересылаю заявку.\n\nОтправлено с iPhone\n\nНачало переадресованного сообщения:\n\nОт: Служба поддержки «Северный ветер» <remedy@sd.sever-veter.example>\nДата: 7 ноября 2026 г. в 8:05:29 GMT+3\nКому: lebedeva.e@mail.example\nТема: Рабочий заказ WO0000000124100\n\nНомер рабочего заказа: WO0000000124100\nПлощадка: 0817 Северный ветер Пермь №817\n"))
	add("forward-mailru", head(word("utf-8", "Соколов Сергей")+" <sokolov.s@mail.example>", "Fwd: "+word("utf-8", "Инцидент INC0041400"),
		"Sat, 7 Nov 2026 10:00:00 +0700", "fwd-mailru-1@mail.example", `Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: base64")+
		"\n"+b64(crlf("Коллеги, дублирую.\n\n\n-------- Пересылаемое сообщение --------\nОт кого: Сервис-деск Лукоморье <servicedesk@sd.lukomorye.example>\nКому: sokolov.s@mail.example\nДата: Суббота, 7 ноября 2026, 8:00 +03:00\nТема: Инцидент INC0041400\n\nИнцидент INC0041400.\nМагазин: ЛК-017\n\n\n----------------------------------------------------------------------\n\n\n--\nСергей Соколов\nОтправлено из мобильной Почты Mail.ru\n")))

	// Replies and signatures.
	add("reply-outlook-ru", head(word("utf-8", "Смирнов Сергей")+" <store0815@sever-veter.example>", "RE: "+word("utf-8", "Рабочий заказ WO0000000124000"),
		"Sat, 7 Nov 2026 11:00:00 +0300", "reply-ol-1@sever-veter.example", "In-Reply-To: <wo124000@sd.sever-veter.example>",
		"References: <wo124000-0@sd.sever-veter.example>\n <wo124000@sd.sever-veter.example>",
		`Content-Type: text/plain; charset="utf-8"`, "Content-Transfer-Encoding: quoted-printable")+
		"\n"+qp("Здравствуйте.\n\nДо сих пор никого нет. Когда будет мастер?\n\nС уважением\nСмирнов Сергей\nДиректор магазина 0815\nтел. +79991234567\n\n-----Исходное сообщение-----\nОт: Служба поддержки <remedy@sd.sever-veter.example>\nОтправлено: пятница, 6 ноября 2026 г. 12:10\nКому: store0815@sever-veter.example\nТема: Рабочий заказ WO0000000124000\n\nНомер рабочего заказа: WO0000000124000\n"))
	add("reply-gmail", head(word("utf-8", "Морозова Ирина")+" <morozova.i@mail.example>", "Re: "+word("utf-8", "Касса выдаёт ошибку"),
		"Sat, 7 Nov 2026 12:00:00 +0300", "CAF=reply-gmail-1@mail.gmail.example", "In-Reply-To: <kassa-1@mail.example>",
		`Content-Type: text/plain; charset="UTF-8"`, "Content-Transfer-Encoding: base64")+
		"\n"+b64(crlf("Мастер так и не приехал, когда ждать?\n\nМорозова Ирина\nтел. 8-931-241-29-60\n\nпт, 6 нояб. 2026 г. в 15:04, Морозова Ирина <morozova.i@mail.example> пишет:\n\n> Касса самообслуживания выдаёт ошибку.\n>\n> Морозова Ирина\n")))
	add("reply-quoted-thunderbird", head("Novikova Svetlana <store0070@zdravitsa.example>", "Re: "+word("utf-8", "Не горит вывеска"),
		"Sat, 7 Nov 2026 13:00:00 +0300", "reply-tb-1@zdravitsa.example", "In-Reply-To: <vyveska-1@zdravitsa.example>", "References: <vyveska-1@zdravitsa.example>",
		`Content-Type: text/plain; charset=UTF-8; format=flowed`, "Content-Transfer-Encoding: 8bit")+
		"\nСРОЧНО! Второй день ждём.\n\n06.11.2026 19:16, Новикова Светлана пишет:\n> Добрый вечер.\n>\n> Не горит вывеска над входом.\n\n-- \nНовикова Светлана\nЗдравица, аптека №70\n")
	add("signature-mobile", head(word("utf-8", "Белов Сергей")+" <belov.s@mail.example>", word("utf-8", "Щёлкает щиток"),
		"Sat, 7 Nov 2026 14:00:00 +0500", "sig-mobile-1@mail.example", `Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: 8bit")+
		"\nВ электрощитовой что-то щёлкает и сильно греется. Магазин ЛК-015.\n\nОтправлено из мобильной Почты Mail.ru\n")

	// Messages to ignore.
	add("autoreply-exchange", head(word("utf-8", "Козлов Игорь")+" <store0003@dom-lukomorye.example>", word("utf-8", "Автоматический ответ: Заявка TSR-1001"),
		"Sun, 8 Nov 2026 09:00:00 +0300", "ooo-1@EXCH01.dom-lukomorye.example", "In-Reply-To: <tsr-1001@tehnoservis.example>",
		"X-Auto-Response-Suppress: All", "Auto-Submitted: auto-replied", `Content-Type: text/plain; charset="utf-8"`, "Content-Transfer-Encoding: quoted-printable")+
		"\n"+qp("Спасибо за письмо. Меня нет на месте до 15.11.2026.\n"))
	add("autoreply-zimbra", head(word("utf-8", "Смирнова Наталья")+" <store015@lukomorye.example>", "Re: "+word("utf-8", "Заявка TSR-1002")+" (vacation)",
		"Sun, 8 Nov 2026 10:00:00 +0300", "zimbra-1@lukomorye.example", "Auto-Submitted: auto-replied (vacation)", "Precedence: bulk",
		`Content-Type: text/plain; charset="utf-8"`, "Content-Transfer-Encoding: 8bit")+
		"\nЯ на больничном до 22.11.\n")
	add("bounce-report", head("Mail Delivery System <MAILER-DAEMON@mx1.tehnoservis.example>", "Undelivered Mail Returned to Sender",
		"Sun, 8 Nov 2026 11:00:00 +0300", "bounce-1@mx1.tehnoservis.example",
		`Content-Type: multipart/report; report-type=delivery-status; boundary="rep-b5"`)+
		"\n--rep-b5\nContent-Type: text/plain; charset=us-ascii\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<store0999@sever-veter.example>: host mx.sever-veter.example said: 550 5.1.1 User unknown\n"+
		"\n--rep-b5\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx1.tehnoservis.example\n\nFinal-Recipient: rfc822; store0999@sever-veter.example\nAction: failed\nStatus: 5.1.1\n"+
		"\n--rep-b5\nContent-Type: message/rfc822\n\nFrom: "+us+"\nTo: store0999@sever-veter.example\nSubject: =?utf-8?B?"+base64.StdEncoding.EncodeToString([]byte("Заявка TSR-1003 зарегистрирована"))+"?=\nDate: Sun, 8 Nov 2026 10:59:00 +0300\nMessage-ID: <tsr-1003@tehnoservis.example>\nX-Intake-Origin: notice\nContent-Type: text/plain; charset=utf-8\n\nЗаявка TSR-1003 по магазину 0999 зарегистрирована.\n"+
		"\n--rep-b5--\n")
	add("newsletter", head(word("utf-8", "Светотехника Опт")+" <news@svet-opt.example>", word("utf-8", "Скидки на светильники до 30%"),
		"Sun, 8 Nov 2026 12:00:00 +0300", "news-1@svet-opt.example", "List-Unsubscribe: <mailto:unsub-1@svet-opt.example>, <https://svet-opt.example/unsub?u=1>",
		"List-Id: <news.svet-opt.example>", "Precedence: bulk", `Content-Type: text/html; charset=utf-8`, "Content-Transfer-Encoding: 8bit")+
		"\n<html><body><h1>Скидки недели</h1><p>Светильники LED со скидкой до 30%.</p><ul><li>Панели 600x600</li><li>Прожекторы</li></ul></body></html>\n")
	add("spam-flag", head("Billing <billing@inv-notice.example>", "Invoice #INV-46057 is overdue", "Sun, 8 Nov 2026 13:00:00 -0500", "spam-1@inv-notice.example",
		"X-Spam-Flag: YES", "X-Spam-Status: Yes, score=9.1 required=5.0 tests=BAYES_99", `Content-Type: text/plain; charset=utf-8`)+
		"\nPlease pay the attached invoice.\n")
	add("loop-own", head("Intake <"+us+">", word("utf-8", "Заявка TSR-1004 зарегистрирована"), "Sun, 8 Nov 2026 14:00:00 +0300", "tsr-1004@tehnoservis.example",
		"X-Intake-Origin: notice", `Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: 8bit")+
		"\nЗаявка TSR-1004 зарегистрирована.\n")

	// Raw 8-bit headers and structural damage.
	fs = append(fs, fixture{name: "headers-8bit", raw: crlf(head(conv("windows-1251", "Волкова Ирина")+" <Volkova.I@Lukomorye.example>",
		conv("windows-1251", "Не работает вытяжка"), "Mon, 9 Nov 2026 09:00:00 +0300", "raw8bit-1@lukomorye.example",
		"Cc: "+conv("koi8-r", "Орлов Иван")+" <orlov@lukomorye.example>, \"Петров, Пётр\" <petrov@lukomorye.example>",
		`Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: 8bit") +
		"\nВытяжка на кухне не работает, магазин ЛК-016.\n")})
	add("truncated-multipart", head(word("utf-8", "Петрова Анна")+" <director.rm042@romashka-market.example>", word("utf-8", "Витрина опять"),
		"Mon, 9 Nov 2026 10:00:00 +0300", "trunc-1@romashka-market.example",
		`Content-Type: multipart/mixed; boundary="mix-b6"`)+
		"\n--mix-b6\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"+b64(crlf("Витрина опять не холодит, РМ-042.\n"))+
		"\n--mix-b6\nContent-Type: application/pdf; name=\"act.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5n")
	add("itsm-auto-generated", head(word("utf-8", "Сервис-деск Лукоморье")+" <servicedesk@sd.lukomorye.example>", word("utf-8", "Инцидент INC0041500 назначен вашей группе"),
		"Mon, 9 Nov 2026 11:00:00 +0300", "inc0041500@sd.lukomorye.example", "Auto-Submitted: auto-generated", "Precedence: bulk",
		"X-Auto-Response-Suppress: All", `Content-Type: text/plain; charset=utf-8`, "Content-Transfer-Encoding: 8bit")+
		"\nИнцидент INC0041500.\nМагазин: ЛК-018\nОписание: нет на месте ценников в отделе молочной продукции.\n")
	fmt.Fprintf(os.Stderr, "%d fixtures\n", len(fs))
	return fs
}
