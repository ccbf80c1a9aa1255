package demo

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Notifications of the clients' service desks, each in the structure its
// system produces: the labels, subjects, number formats and encodings the
// chain formats of the parsers key on.

const (
	ourGroup = "ТехСервис Регион (подрядчик)"
	zayavki  = "zayavki@tehservis.example"
)

// update is a change an ITSM reports about an existing order.
type update struct {
	Kind     string // status, comment, priority, due, closed
	Priority string // new priority for Kind == "priority"
	Due      time.Time
	Text     string // comment, reason or resolution
	By       person
}

var prioNames = map[string]map[string]string{
	"PU": {"critical": "Критический", "high": "Высокий", "normal": "Средний", "low": "Низкий"},
	"PL": {"critical": "1 - Критический", "high": "2 - Высокий", "normal": "3 - Средний", "low": "4 - Низкий"},
	"VR": {"critical": "Критичный", "high": "Высокий", "normal": "Средний", "low": "Низкий"},
	"MG": {"critical": "Highest", "high": "High", "normal": "Medium", "low": "Low"},
	"OK": {"critical": "Критический", "high": "Высокий", "normal": "Средний", "low": "Низкий"},
	"DM": {"critical": "Аварийная", "high": "Срочная", "normal": "Обычная", "low": "Плановая"},
}

// Client category names for our categories.
var (
	puCategory = map[string][2]string{
		"refrigeration": {"Холодильное оборудование", "Витрина холодильная"},
		"electrical":    {"Электроснабжение", "Электрощит"},
		"lighting":      {"Освещение", "Освещение торгового зала"},
		"plumbing":      {"Водоснабжение и канализация", "Сантехприборы"},
		"hvac":          {"Климатическое оборудование", "Кондиционирование"},
		"pos_it":        {"Кассовое оборудование", "ККТ"},
		"doors":         {"Входные группы", "Автоматические двери"},
		"construction":  {"Общестроительные работы", "Стены"},
		"security":      {"Системы безопасности", "Видеонаблюдение"},
	}
	plCategory = map[string][2]string{
		"refrigeration": {"Инженерные системы", "Холодильное оборудование"},
		"electrical":    {"Инженерные системы", "Электроснабжение"},
		"lighting":      {"Инженерные системы", "Освещение"},
		"plumbing":      {"Инженерные системы", "Сантехника"},
		"hvac":          {"Инженерные системы", "Вентиляция / кондиционирование"},
		"pos_it":        {"ИТ-оборудование", "ККТ и POS"},
		"doors":         {"Инженерные системы", "Двери и ворота"},
		"construction":  {"Инженерные системы", "Ремонт помещений"},
		"security":      {"Инженерные системы", "Охранные системы"},
	}
	vrService = map[string]string{
		"refrigeration": "Ремонт холодильного оборудования",
		"electrical":    "Электромонтажные работы",
		"lighting":      "Ремонт освещения",
		"plumbing":      "Сантехнические работы",
		"hvac":          "Обслуживание систем вентиляции и кондиционирования",
		"pos_it":        "Ремонт кассового оборудования",
		"doors":         "Ремонт дверей и ворот",
		"construction":  "Общестроительные работы",
		"security":      "Обслуживание охранных систем",
	}
	mgComponent = map[string]string{
		"refrigeration": "Холод", "electrical": "Электрика", "lighting": "Свет", "plumbing": "Сантехника",
		"hvac": "Климат", "pos_it": "Кассы/ИТ", "doors": "Двери/ворота", "construction": "Стройка", "security": "Безопасность",
	}
	okService = map[string]string{
		"refrigeration": "Техническое обслуживание / Холодильное оборудование",
		"electrical":    "Техническое обслуживание / Электрооборудование",
		"lighting":      "Техническое обслуживание / Освещение",
		"plumbing":      "Техническое обслуживание / Сантехника",
		"hvac":          "Техническое обслуживание / Вентиляция и кондиционирование",
		"pos_it":        "ИТ / Кассовое оборудование",
		"doors":         "Ремонт / Двери и ворота",
		"construction":  "Ремонт / Общестроительные работы",
		"security":      "Безопасность / Технические средства охраны",
	}
	dmCategory = map[string][2]string{
		"refrigeration": {"ХО", "Холодильное оборудование"},
		"electrical":    {"ЭЛ", "Электрооборудование"},
		"lighting":      {"ОС", "Освещение"},
		"plumbing":      {"СТ", "Сантехника"},
		"hvac":          {"ВК", "Вентиляция и кондиционирование"},
		"pos_it":        {"КО", "Кассовое оборудование"},
		"doors":         {"ДВ", "Двери и ворота"},
		"construction":  {"РС", "Ремонт помещений"},
		"security":      {"ОХ", "Охранные системы"},
	}
)

func ru(t time.Time) string  { return t.In(msk).Format("02.01.2006 15:04:05") }
func ruM(t time.Time) string { return t.In(msk).Format("02.01.2006 15:04") }
func iso(t time.Time) string { return t.In(msk).Format("2006-01-02 15:04:05") }

type field struct{ Label, Value string }

// ---- PU: BMC Remedy ----------------------------------------------------

var puRelay = relay{ReturnPath: "remedy-noreply@sd.pyatugol.ru", Host: "mail.sd.pyatugol.ru", IP: "203.0.113.31",
	Inner: "remedy-ems01.sd.pyatugol.ru", InIP: "10.9.12.40", Domain: "sd.pyatugol.ru"}

func puKind(o *order) (noun, numLabel, link string, wo bool) {
	if strings.HasPrefix(o.Ext, "WO") {
		return "Рабочий заказ", "Номер рабочего заказа", "https://sd.pyatugol.ru/arsys/forms/remedy-app/WOI%3AWorkOrder/?eid=" + o.Ext, true
	}
	return "Инцидент", "Номер инцидента", "https://sd.pyatugol.ru/arsys/forms/remedy-app/HPD%3AHelp+Desk/?eid=" + o.Ext, false
}

func (g *gen) puMessage(at time.Time, o *order, subject, intro string, fields []field, detail string, cc string) ([]byte, string) {
	_, _, link, wo := puKind(o)
	open := "Открыть инцидент"
	if wo {
		open = "Открыть рабочий заказ"
	}
	var plain, html strings.Builder
	plain.WriteString("Уважаемые коллеги!\n\n" + intro + "\n\n")
	html.WriteString("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head>\n<body style=\"font-family:Tahoma,Arial;font-size:10pt\">\n<p>Уважаемые коллеги!</p>\n<p>" + intro + "</p>\n<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">\n")
	for _, f := range fields {
		plain.WriteString(f.Label + ": " + f.Value + "\n")
		html.WriteString("<tr><td bgcolor=\"#E8E8E8\"><b>" + f.Label + "</b></td><td>" + htmlEscape(f.Value) + "</td></tr>\n")
	}
	html.WriteString("</table>\n")
	if detail != "" {
		plain.WriteString("\nПодробное описание:\n" + detail + "\n")
		html.WriteString("<p><b>Подробное описание:</b><br>" + htmlEscape(detail) + "</p>\n")
	}
	footer := "Это автоматическое уведомление системы BMC Remedy ITSM. Не отвечайте на это письмо."
	plain.WriteString("\n---\n" + footer + "\n" + open + ": " + link + "\n")
	html.WriteString("<hr><p style=\"font-size:8pt;color:#808080\">" + footer + "<br><a href=\"" + link + "\">" + open + "</a></p>\n</body></html>\n")

	sent := at.Add(-time.Duration(15+g.r.IntN(30)) * time.Second)
	id := fmt.Sprintf("<%d.%d.%d000.JavaMail.arsystem@remedy-ems01.sd.pyatugol.ru>", 100000000+g.r.IntN(1900000000), g.r.IntN(100000), sent.Unix())
	boundary := fmt.Sprintf("----=_Part_%d_%d.%d000", g.r.IntN(100000), 100000000+g.r.IntN(1900000000), sent.Unix())
	var m message
	g.envelope(&m, puRelay, zayavki, at)
	m.h("Date", sent.In(msk).Format(dateLayout))
	m.h("From", addr("windows-1251", true, "Служба поддержки «Пятый угол»", "remedy-noreply@sd.pyatugol.ru"))
	m.h("To", zayavki)
	if cc != "" {
		m.h("Cc", cc)
	}
	m.h("Message-ID", id)
	m.h("Subject", word("windows-1251", false, subject))
	m.h("MIME-Version", "1.0")
	m.h("Auto-Submitted", "auto-generated")
	m.h("X-Mailer", "BMC Remedy Email Engine 20.02.00")
	m.h("Content-Type", "multipart/alternative;\r\n\tboundary=\""+boundary+"\"")
	m.Body = joinParts(boundary, "",
		textPart("text/plain", "windows-1251", "quoted-printable", qp("windows-1251", plain.String())),
		textPart("text/html", "windows-1251", "quoted-printable", qp("windows-1251", html.String())))
	return m.bytes(), id
}

func (g *gen) puNew(at time.Time, o *order, ccDirector bool, note string) {
	noun, numLabel, _, wo := puKind(o)
	intro := "Вашей группе поддержки назначен инцидент."
	if wo {
		intro = "Вашей группе поддержки назначен рабочий заказ."
	}
	cat := puCategory[o.Problem.Category]
	fields := []field{{numLabel, o.Ext}, {"Краткое описание", o.Problem.Summary}, {"Статус", "Назначен"}}
	if o.Priority != "" {
		fields = append(fields, field{"Приоритет", prioNames["PU"][o.Priority]})
	}
	fields = append(fields,
		field{"Операционная категория 1", "Обслуживание ТТ"},
		field{"Операционная категория 2", cat[0]},
		field{"Операционная категория 3", cat[1]},
		field{"Площадка", o.Obj.Code + " " + o.Obj.Name},
		field{"Адрес", o.Obj.Address()},
		field{"Юр. лицо", o.Obj.LegalEntity},
		field{"Заявитель", o.Obj.Director.Full() + ", " + o.Obj.Phone},
		field{"Группа поддержки", "ТехСервис Регион (подрядчик)"},
		field{"Дата создания", ru(o.Created)},
	)
	if !o.Due.IsZero() {
		fields = append(fields, field{"Плановая дата завершения", ru(o.Due)})
	}
	cc := ""
	if ccDirector {
		cc = o.Obj.CorpEmail
	}
	o.Subject = fmt.Sprintf("%s %s назначен вашей группе: %s", noun, o.Ext, o.Problem.Summary)
	raw, id := g.puMessage(at, o, o.Subject, intro, fields, o.Problem.Detail, cc)
	o.MsgID = id
	o.File = g.emit(at, raw, o.label("", "ticket", note, ""))
}

func (g *gen) puUpdate(at time.Time, o *order, u update, note string) {
	noun, numLabel, _, wo := puKind(o)
	head := []field{{numLabel, o.Ext}, {"Краткое описание", o.Problem.Summary}, {"Площадка", o.Obj.Code + " " + o.Obj.Name}}
	tail := []field{{"Изменил", u.By.Full()}, {"Дата изменения", ru(at.Add(-20 * time.Second))}}
	gen := "рабочего заказа"
	if !wo {
		gen = "инцидента"
	}
	var subject, intro string
	var mid []field
	switch u.Kind {
	case "status":
		subject = fmt.Sprintf("%s %s: статус изменен на «В работе»", noun, o.Ext)
		intro = "Статус " + gen + " изменен."
		mid = []field{{"Предыдущий статус", "Назначен"}, {"Новый статус", "В работе"}}
	case "priority":
		subject = fmt.Sprintf("%s %s: изменен приоритет", noun, o.Ext)
		intro = "Приоритет " + gen + " изменен."
		mid = []field{{"Приоритет", prioNames["PU"][u.Priority] + " (был: " + prioNames["PU"][o.Priority] + ")"}}
		o.Priority = u.Priority
	case "due":
		subject = fmt.Sprintf("%s %s: перенесена плановая дата завершения", noun, o.Ext)
		intro = "Плановая дата завершения изменена."
		mid = []field{{"Плановая дата завершения", ru(u.Due) + " (была: " + ru(o.Due) + ")"}, {"Причина", u.Text}}
		o.Due = u.Due
	case "closed":
		if wo {
			subject = fmt.Sprintf("Рабочий заказ %s выполнен", o.Ext)
			intro = "Рабочий заказ выполнен."
			mid = []field{{"Статус", "Выполнен"}, {"Решение", u.Text}}
		} else {
			subject = fmt.Sprintf("Инцидент %s решен", o.Ext)
			intro = "Инцидент решен."
			mid = []field{{"Статус", "Решен"}, {"Решение", u.Text}}
		}
	default:
		panic("PU update " + u.Kind)
	}
	fields := append(append(head, mid...), tail...)
	raw, _ := g.puMessage(at, o, subject, intro, fields, "", "")
	g.emit(at, raw, o.label("", "follow_up", note, o.File))
}

// ---- PL: ServiceNow ----------------------------------------------------

var plRelay = relay{ReturnPath: "servicedesk@servicedesk.polosa-market.ru", Host: "outbound1.fra2.service-now.com", IP: "203.0.113.132",
	Domain: "servicedesk.polosa-market.ru"}

func (g *gen) plMessage(at time.Time, o *order, subject string, lines []string) ([]byte, string) {
	footer := []string{
		"Как отслеживать и обновлять инцидент?",
		fmt.Sprintf("Чтобы ответить, ответьте на это письмо. Можно также создать новое письмо и указать номер инцидента (%s) в теме.", o.Ext),
		"",
		"Спасибо,",
		"Сервис-деск «Полоса»",
		"",
		"Открыть запись: https://polosa.service-now.com/nav_to.do?uri=incident.do?sys_id=" + o.SysID,
	}
	ref := fmt.Sprintf("Ref:MSG%07d_%s", g.r.IntN(10000000), g.alnum(20))
	all := append(append([]string{"Здравствуйте!", ""}, lines...), "")
	all = append(all, footer...)
	plain := strings.Join(all, "\n") + "\n\n" + ref + "\n"
	var html strings.Builder
	html.WriteString("<html><body><div style=\"font-family:Arial,Helvetica;font-size:10pt\">\n")
	for _, l := range all {
		if l != "" {
			html.WriteString("<p>" + htmlEscape(l) + "</p>\n")
		}
	}
	html.WriteString("<div style=\"display:inline\">" + ref + "</div></div></body></html>\n")

	sent := at.Add(-time.Duration(10+g.r.IntN(20)) * time.Second)
	id := fmt.Sprintf("<%d.%d.%d000@app%d.fra2.service-now.com>", 1000000+g.r.IntN(9000000), g.r.IntN(100000), sent.Unix(), 130000+g.r.IntN(20000))
	n := g.r.IntN(90000)
	b := 10000000 + g.r.IntN(90000000)
	outer := fmt.Sprintf("----=_Part_%d_%d.%d000", n, b, sent.Unix())
	inner := fmt.Sprintf("----=_Part_%d_%d.%d001", n+1, b+1, sent.Unix())
	var m message
	g.envelope(&m, plRelay, zayavki, at)
	m.h("Date", sent.In(msk).Format(dateLayout))
	m.h("From", addr("UTF-8", true, "Сервис-деск Полоса", "servicedesk@servicedesk.polosa-market.ru"))
	m.h("Reply-To", "servicedesk@servicedesk.polosa-market.ru")
	m.h("To", zayavki)
	m.h("Message-ID", id)
	m.h("Subject", word("UTF-8", false, subject))
	m.h("MIME-Version", "1.0")
	m.h("X-ServiceNow-Source", "Notification-"+g.hex(32))
	m.h("X-ServiceNow-SysEmail-Version", "2")
	m.h("Precedence", "bulk")
	m.h("Auto-Submitted", "auto-generated")
	m.h("X-ServiceNow-Generated", "true")
	m.h("Content-Type", "multipart/mixed;\r\n\tboundary=\""+outer+"\"")
	alt := part{
		Header: []string{"Content-Type: multipart/alternative;\r\n\tboundary=\"" + inner + "\""},
		Body: joinParts(inner, "",
			textPart("text/plain", "UTF-8", "quoted-printable", qp("UTF-8", plain)),
			textPart("text/html", "UTF-8", "quoted-printable", qp("UTF-8", html.String()))),
	}
	m.Body = joinParts(outer, "", alt)
	return m.bytes(), id
}

func (g *gen) plNew(at time.Time, o *order, withCategory bool, note string) {
	o.SysID = g.hex(32)
	lines := []string{
		fmt.Sprintf("Инцидент %s назначен вашей группе «%s».", o.Ext, ourGroup),
		"",
		"Краткое описание: " + o.Problem.Summary,
		"Магазин: " + o.Obj.Code + " " + o.Obj.Name,
		"Адрес:",
		o.Obj.Address(),
	}
	if withCategory {
		c := plCategory[o.Problem.Category]
		lines = append(lines, "Категория: "+c[0], "Подкатегория: "+c[1])
	}
	if o.Priority != "" {
		lines = append(lines, "Приоритет: "+prioNames["PL"][o.Priority])
	}
	if !o.Due.IsZero() {
		lines = append(lines, "Срок исполнения: "+iso(o.Due)+" MSK")
	}
	lines = append(lines, "Открыт: "+iso(o.Created)+" MSK", "Открыт для: "+o.Obj.Director.Full(), "", "Описание:", o.Problem.Detail)
	o.Subject = fmt.Sprintf("Инцидент %s назначен группе «%s» -- %s", o.Ext, ourGroup, o.Problem.Summary)
	raw, id := g.plMessage(at, o, o.Subject, lines)
	o.MsgID = id
	o.File = g.emit(at, raw, o.label("", "ticket", note, ""))
}

func (g *gen) plUpdate(at time.Time, o *order, u update, note string) {
	head := []string{
		fmt.Sprintf("Инцидент %s (%s) обновлён.", o.Ext, o.Problem.Summary),
		"Магазин: " + o.Obj.Code + " " + o.Obj.Name,
		"",
	}
	var subject string
	var mid []string
	switch u.Kind {
	case "comment":
		subject = fmt.Sprintf("Инцидент %s -- добавлены комментарии", o.Ext)
		mid = []string{u.By.Full() + " добавил(а) комментарий:", u.Text}
	case "status":
		subject = fmt.Sprintf("Инцидент %s -- статус изменён на «В работе»", o.Ext)
		mid = []string{"Состояние: В работе (было: Новый)"}
	case "closed":
		subject = fmt.Sprintf("Инцидент %s решён", o.Ext)
		head[0] = fmt.Sprintf("Инцидент %s (%s) решён.", o.Ext, o.Problem.Summary)
		mid = []string{"Код закрытия: Решено (постоянное решение)", "Примечания к закрытию: " + u.Text}
	default:
		panic("PL update " + u.Kind)
	}
	raw, _ := g.plMessage(at, o, subject, append(head, mid...))
	g.emit(at, raw, o.label("", "follow_up", note, o.File))
}

// ---- VR: Naumen Service Desk -------------------------------------------

var vrRelay = relay{ReturnPath: "sd-noreply@vernyvybor.ru", Host: "mail.vernyvybor.ru", IP: "203.0.113.77",
	Inner: "sd.vernyvybor.ru", InIP: "10.22.8.15", Domain: "vernyvybor.ru"}

var vrStreetKinds = map[string][3]string{ // kladr, gar, full
	"ул.":  {"ул", "ул", "улица"},
	"пр-т": {"пр-кт", "пр-кт", "проспект"},
	"б-р":  {"б-р", "б-р", "бульвар"},
	"ш.":   {"ш", "ш", "шоссе"},
	"наб.": {"наб", "наб", "набережная"},
}

// vrAddress writes a store address the way Naumen users type it: the
// notification gives no store code, only this.
func vrAddress(o *object, style string) string {
	k := vrStreetKinds[o.Street.Kind]
	region := o.City.Region
	region = strings.TrimSuffix(region, ".")
	switch style {
	case "kladr":
		return fmt.Sprintf("%s г, %s %s, дом %d", o.City.Name, o.Street.Name, k[0], o.House)
	case "postcode":
		return fmt.Sprintf("%06d, г. %s, %s %s, д.%d", o.Postcode, o.City.Name, k[2], o.Street.Name, o.House)
	case "gar":
		if region == "" {
			return fmt.Sprintf("г %s, %s %s, д %d", o.City.Name, k[1], o.Street.Name, o.House)
		}
		return fmt.Sprintf("%s, г %s, %s %s, д %d", region, o.City.Name, k[1], o.Street.Name, o.House)
	case "full":
		return fmt.Sprintf("г. %s, %s %s, д. %d", o.City.Name, k[2], o.Street.Name, o.House)
	}
	panic("address style " + style)
}

func (g *gen) vrMessage(at time.Time, o *order, subject, intro string, rows []field) []byte {
	const td = `<td style="background:#f0f0f0;width:180px">`
	var h strings.Builder
	h.WriteString("<html>\n<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"><style>td{font-family:Arial;font-size:10pt;}</style></head>\n<body>\n<p>Уважаемые коллеги!</p>\n<p>" + intro + "</p>\n")
	h.WriteString("<table border=\"1\" cellspacing=\"0\" cellpadding=\"4\" style=\"border-collapse:collapse\">\n")
	for _, r := range rows {
		h.WriteString("<tr>" + td + "<b>" + r.Label + "</b></td><td>" + htmlEscape(r.Value) + "</td></tr>\n")
	}
	h.WriteString("</table>\n")
	fmt.Fprintf(&h, "<p><a href=\"https://sd.vernyvybor.ru/sd/operator/#uuid:serviceCall$%d\">Перейти к запросу №%s</a></p>\n", o.Seq, o.Ext)
	h.WriteString("<p style=\"color:#888888;font-size:8pt\">Письмо сформировано автоматически системой Naumen Service Desk.&nbsp;Не отвечайте на него.</p>\n</body>\n</html>\n")

	sent := at.Add(-time.Duration(20+g.r.IntN(40)) * time.Second)
	var m message
	g.envelope(&m, vrRelay, zayavki, at)
	m.h("From", "Naumen Service Desk <sd-noreply@vernyvybor.ru>")
	m.h("To", zayavki)
	m.h("Message-ID", fmt.Sprintf("<%d.%d.%d000.JavaMail.naumen@sd.vernyvybor.ru>", 100000000+g.r.IntN(1900000000), g.r.IntN(100000), sent.Unix()))
	m.h("Subject", word("UTF-8", true, subject))
	m.h("MIME-Version", "1.0")
	m.h("Date", sent.In(msk).Format(dateLayout))
	m.h("Auto-Submitted", "auto-generated")
	m.h("X-Mailer", "Naumen SMP 4.17")
	m.content(textPart("text/html", "UTF-8", "base64", b64([]byte(crlf(h.String())))))
	return m.bytes()
}

func (g *gen) vrNew(at time.Time, o *order, style, note string) {
	o.Seq = 10000000 + g.r.IntN(90000000)
	rows := []field{
		{"Номер запроса", o.Ext},
		{"Краткое описание", o.Problem.Summary},
		{"Контрагент", o.Obj.LegalEntity},
		{"Адрес", vrAddress(o.Obj, style)},
		{"Услуга", vrService[o.Problem.Category]},
		{"Описание", o.Problem.Detail},
	}
	if !o.Due.IsZero() {
		rows = append(rows, field{"Срок решения", ruM(o.Due)})
	}
	if o.Priority != "" {
		rows = append(rows, field{"Приоритет", prioNames["VR"][o.Priority]})
	}
	rows = append(rows, field{"Дата регистрации", ruM(o.Created)})
	o.Subject = fmt.Sprintf("Запрос №%s: %s", o.Ext, o.Problem.Summary)
	raw := g.vrMessage(at, o, o.Subject, "На вашу команду «ТехСервис Регион» назначен запрос.", rows)
	o.File = g.emit(at, raw, o.label("", "ticket", note, ""))
}

func (g *gen) vrUpdate(at time.Time, o *order, u update, style, note string) {
	rows := []field{{"Номер запроса", o.Ext}, {"Краткое описание", o.Problem.Summary}, {"Адрес", vrAddress(o.Obj, style)}}
	var subject, intro string
	switch u.Kind {
	case "status":
		subject = fmt.Sprintf("Изменен статус запроса №%s: %s", o.Ext, o.Problem.Summary)
		intro = "Изменен статус запроса."
		rows = append(rows, field{"Статус", "В работе (был: Зарегистрирован)"})
	case "comment":
		subject = fmt.Sprintf("Новый комментарий к запросу №%s: %s", o.Ext, o.Problem.Summary)
		intro = "К запросу добавлен комментарий."
		rows = append(rows, field{"Комментарий", u.Text})
	case "closed":
		subject = fmt.Sprintf("Запрос №%s решен: %s", o.Ext, o.Problem.Summary)
		intro = "Запрос решен."
		rows = append(rows, field{"Статус", "Решен"}, field{"Решение", u.Text})
	default:
		panic("VR update " + u.Kind)
	}
	g.emit(at, g.vrMessage(at, o, subject, intro, rows), o.label("", "follow_up", note, o.File))
}

// ---- MG: Jira Service Management ---------------------------------------

var mgRelay = relay{ReturnPath: "jira@jira.magistral.ru", Host: "mail.magistral.ru", IP: "203.0.113.150",
	Inner: "jira.magistral.ru", InIP: "10.39.7.21", Domain: "jira.magistral.ru"}

const jiraFingerprint = "5be1d0c2a94e7f3386c0a1e2d4b7f915"

func jiraDate(t time.Time) string {
	t = t.In(msk)
	months := []string{"янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"}
	return fmt.Sprintf("%02d/%s/%02d %s", t.Day(), months[t.Month()-1], t.Year()%100, t.Format("15:04"))
}

func padLeft(s string, w int) string {
	n := utf8.RuneCountInString(s)
	if n >= w {
		return s
	}
	return strings.Repeat(" ", w-n) + s
}

// mgSummary is the issue summary: "[MG-77-123] Problem" when the store has
// its own field, "MG-77-123 City: problem" when the summary is all there is.
func mgSummary(o *order, field bool) string {
	if field {
		return "[" + o.Obj.Code + "] " + o.Problem.Summary
	}
	s := []rune(o.Problem.Summary)
	return o.Obj.Code + " " + o.Obj.City.Name + ": " + strings.ToLower(string(s[:1])) + string(s[1:])
}

// mgFields is the issue block; storeField says whether the Магазин field is filled.
func mgFields(o *order, summary string, storeField bool) []string {
	f := [][2]string{
		{"Тема", summary},
		{"Ключ", o.Ext},
		{"URL", "https://jira.magistral.ru/browse/" + o.Ext},
		{"Проект", "Магистраль Сервис"},
		{"Тип запроса", "Заявка на обслуживание"},
	}
	if o.Priority != "" {
		f = append(f, [2]string{"Приоритет", prioNames["MG"][o.Priority]})
	}
	f = append(f, [2]string{"Компонент", mgComponent[o.Problem.Category]})
	if storeField {
		f = append(f, [2]string{"Магазин", o.Obj.Code + " — " + o.Obj.Name})
	}
	if !o.Due.IsZero() {
		f = append(f, [2]string{"Срок исполнения", jiraDate(o.Due)})
	}
	f = append(f, [2]string{"Автор", o.Obj.Director.Full()}, [2]string{"Исполнитель", "ТехСервис Регион"})
	var out []string
	for _, kv := range f {
		out = append(out, padLeft(kv[0], 20)+": "+kv[1])
	}
	return append(out, "", o.Problem.Detail)
}

func (g *gen) mgMessage(at time.Time, o *order, actor person, body string, reply bool) ([]byte, string) {
	sent := at.Add(-time.Duration(2+g.r.IntN(8)) * time.Second)
	id := fmt.Sprintf("<JIRA.%d.%d000.%d.%d000@Atlassian.JIRA>", o.Seq, o.Created.Unix(), g.r.IntN(100000), sent.Unix())
	var m message
	g.envelope(&m, mgRelay, zayavki, at)
	m.h("Date", sent.In(msk).Format(dateLayout))
	m.h("From", addr("UTF-8", true, actor.Natural()+" (Jira)", "jira@jira.magistral.ru"))
	m.h("Reply-To", "jira@jira.magistral.ru")
	m.h("To", zayavki)
	m.h("Message-ID", id)
	if reply {
		root := fmt.Sprintf("<JIRA.%d.%d000@Atlassian.JIRA>", o.Seq, o.Created.Unix())
		m.h("In-Reply-To", root)
		m.h("References", root)
	}
	// Jira leaves the ASCII head of the subject unencoded.
	cut := strings.IndexFunc(o.Subject, func(r rune) bool { return r >= 0x80 })
	if cut > 0 {
		cut = strings.LastIndex(o.Subject[:cut], " ") + 1
	}
	if cut < 0 {
		cut = len(o.Subject)
	}
	m.h("Subject", o.Subject[:cut]+word("UTF-8", true, o.Subject[cut:]))
	m.h("MIME-Version", "1.0")
	m.h("Content-Type", "text/plain; charset=UTF-8")
	m.h("Content-Transfer-Encoding", "base64")
	m.h("Precedence", "bulk")
	m.h("Auto-Submitted", "auto-generated")
	m.h("X-JIRA-FingerPrint", jiraFingerprint)
	m.Body = b64([]byte(crlf(body)))
	return m.bytes(), id
}

func jiraHead(o *order, line string) string {
	return "    [ https://jira.magistral.ru/browse/" + o.Ext + "?page=com.atlassian.jira.plugin.system.issuetabpanels:all-tabpanel ]\n\n" +
		line + "\n" + strings.Repeat("-", utf8.RuneCountInString(line)) + "\n"
}

const jiraFooter = "\n\n\n\n--\nThis message was sent by Atlassian Jira\n(v9.12.4#9120004-sha1:2a7a2c5)\n"

func (g *gen) mgNew(at time.Time, o *order, storeField bool, note string) {
	o.Seq = 400000 + g.r.IntN(90000)
	o.Subject = "[JIRA] (" + o.Ext + ") " + mgSummary(o, storeField)
	summary := mgSummary(o, storeField)
	body := jiraHead(o, o.Author.Natural()+" создал(а) "+o.Ext+":") + "\n" + strings.Join(mgFields(o, summary, storeField), "\n") + jiraFooter
	raw, id := g.mgMessage(at, o, o.Author, body, false)
	o.MsgID = id
	o.File = g.emit(at, raw, o.label("", "ticket", note, ""))
	g.mgStoreField[o.Ext] = storeField
}

func (g *gen) mgUpdate(at time.Time, o *order, u update, note string) {
	storeField := g.mgStoreField[o.Ext]
	summary := mgSummary(o, storeField)
	quoted := mgFields(o, summary, storeField)
	verb := "обновил(а)"
	var changes []string
	switch u.Kind {
	case "priority":
		changes = []string{padLeft("Приоритет", 12) + ": " + prioNames["MG"][u.Priority] + "  (было: " + prioNames["MG"][o.Priority] + ")"}
		o.Priority = u.Priority
	case "due":
		changes = []string{padLeft("Срок исполнения", 16) + ": " + jiraDate(u.Due) + "  (было: " + jiraDate(o.Due) + ")"}
		o.Due = u.Due
	case "status":
		changes = []string{padLeft("Статус", 12) + ": В работе  (было: Открыта)"}
	case "closed":
		verb = "решил(а)"
		changes = []string{padLeft("Статус", 12) + ": Решена  (было: В работе)", padLeft("Решение", 12) + ": Выполнено"}
	default:
		panic("MG update " + u.Kind)
	}
	var q strings.Builder
	q.WriteString("> " + summary + "\n> " + strings.Repeat("-", utf8.RuneCountInString(summary)) + "\n>\n")
	for _, l := range quoted {
		if l == "" {
			q.WriteString(">\n")
		} else {
			q.WriteString("> " + l + "\n")
		}
	}
	body := jiraHead(o, u.By.Natural()+" "+verb+" "+o.Ext+":") + strings.Join(changes, "\n") + "\n\n" + strings.TrimSuffix(q.String(), "\n") + jiraFooter
	raw, _ := g.mgMessage(at, o, u.By, body, true)
	g.emit(at, raw, o.label("", "follow_up", note, o.File))
}

// ---- OK: 1С:Итилиум ----------------------------------------------------

var okRelay = relay{ReturnPath: "itilium@okean-shop.ru", Host: "mail.okean-shop.ru", IP: "203.0.113.96",
	Inner: "itilium.okean-shop.ru", InIP: "10.9.41.12", Domain: "okean-shop.ru"}

func dotted(label string) string {
	n := utf8.RuneCountInString(label)
	if n >= 20 {
		return label + ":"
	}
	return label + " " + strings.Repeat(".", 20-n) + ":"
}

// koi is text as the 1C mailer writes it to KOI8-R, which has no №.
func koi(s string) string { return strings.ReplaceAll(s, "№", "N") }

func itiliumStamp(t time.Time) string {
	t = t.In(msk)
	return fmt.Sprintf("%s %d:%s", t.Format("02.01.2006"), t.Hour(), t.Format("04:05"))
}

func (g *gen) okMessage(at time.Time, o *order, subject string, fields []field, detail bool) []byte {
	sep := strings.Repeat("-", 62)
	var b strings.Builder
	fmt.Fprintf(&b, "Обращение N %s от %s\n%s\n", o.Ext, itiliumStamp(o.Created), sep)
	for _, f := range fields {
		b.WriteString(dotted(f.Label) + " " + f.Value + "\n")
	}
	if detail {
		b.WriteString(sep + "\nОписание:\n  " + o.Problem.Detail + "\n\nОтветственный: " + ourGroup + "\n")
	}
	b.WriteString("--\nСообщение сформировано автоматически: 1С:Итилиум, база \"ITSM Океан\".\nНе отвечайте на это письмо.\n")

	sent := at.Add(-time.Duration(30+g.r.IntN(40)) * time.Second)
	var m message
	g.envelope(&m, okRelay, zayavki, at)
	m.h("Date", sent.In(msk).Format(dateLayout))
	m.h("From", addr("koi8-r", true, "Итилиум Океан", "itilium@okean-shop.ru"))
	m.h("To", zayavki)
	m.h("Subject", word("UTF-8", true, subject))
	m.h("Message-ID", "<"+g.uuid()+"@okean-shop.ru>")
	m.h("MIME-Version", "1.0")
	m.h("X-Mailer", "1C:Enterprise 8.3")
	m.content(part{Header: []string{"Content-Type: text/plain; charset=koi8-r", "Content-Transfer-Encoding: 8bit"}, Body: eight("koi8-r", koi(b.String()))})
	return m.bytes()
}

func (g *gen) okNew(at time.Time, o *order, note string) {
	fields := []field{
		{"Состояние", "Зарегистрировано"},
		{"Объект обслуживания", o.Obj.Code + " " + o.Obj.Name},
		{"Адрес", o.Obj.Address()},
		{"Услуга", okService[o.Problem.Category]},
	}
	if o.Priority != "" {
		fields = append(fields, field{"Приоритет", prioNames["OK"][o.Priority]})
	}
	if !o.Due.IsZero() {
		fields = append(fields, field{"Крайний срок", ru(o.Due)})
	}
	fields = append(fields, field{"Инициатор", o.Obj.Director.Full() + ", " + o.Obj.Phone}, field{"Тема", o.Problem.Summary})
	subject := fmt.Sprintf("Обращение № %s от %s зарегистрировано", o.Ext, o.Created.In(msk).Format("02.01.2006"))
	o.File = g.emit(at, g.okMessage(at, o, subject, fields, true), o.label("", "ticket", note, ""))
}

func (g *gen) okUpdate(at time.Time, o *order, u update, note string) {
	fields := []field{{"Объект обслуживания", o.Obj.Code + " " + o.Obj.Name}, {"Тема", o.Problem.Summary}}
	day := o.Created.In(msk).Format("02.01.2006")
	var subject string
	switch u.Kind {
	case "status":
		subject = fmt.Sprintf("Обращение № %s от %s: изменено состояние", o.Ext, day)
		fields = append(fields, field{"Состояние", "В работе (было: Зарегистрировано)"})
	case "closed":
		subject = fmt.Sprintf("Обращение № %s от %s закрыто", o.Ext, day)
		fields = append(fields, field{"Состояние", "Закрыто"}, field{"Решение", u.Text})
	default:
		panic("OK update " + u.Kind)
	}
	fields = append(fields, field{"Дата изменения", ru(at.Add(-40 * time.Second))})
	g.emit(at, g.okMessage(at, o, subject, fields, false), o.label("", "follow_up", note, o.File))
}

// ---- DM: XML attachment from the document system -----------------------

var dmRelay = relay{ReturnPath: "sed-robot@dommarket.ru", Host: "mail.dommarket.ru", IP: "203.0.113.58",
	Inner: "sed.dommarket.ru", InIP: "10.12.3.9", Domain: "dommarket.ru"}

func (g *gen) dmMessage(at time.Time, o *order, subject, text string, xml []string, filename string) ([]byte, string) {
	doc := "<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<ЗаявкаНаОбслуживание ВерсияФормата=\"2.1\">\n"
	for _, l := range xml {
		doc += "\t" + l + "\n"
	}
	doc += "</ЗаявкаНаОбслуживание>\n"
	sent := at.Add(-time.Duration(20+g.r.IntN(30)) * time.Second)
	id := fmt.Sprintf("<%s.%d@sed.dommarket.ru>", g.hex(16), sent.Unix())
	boundary := fmt.Sprintf("----=_NextPart_%s_%s", strings.ToUpper(g.hex(8)), strings.ToUpper(g.hex(4)))
	var m message
	g.envelope(&m, dmRelay, zayavki, at)
	m.h("Date", sent.In(msk).Format(dateLayout))
	m.h("From", addr("windows-1251", true, "СЭД Дом Маркет", "sed-robot@dommarket.ru"))
	m.h("To", zayavki)
	m.h("Message-ID", id)
	m.h("Subject", word("windows-1251", true, subject))
	m.h("MIME-Version", "1.0")
	m.h("X-Mailer", "1C:Enterprise 8.3")
	m.h("Content-Type", "multipart/mixed;\r\n\tboundary=\""+boundary+"\"")
	fn := word("windows-1251", true, filename)
	body := text + "\n\n--\nЭто письмо сформировано автоматически системой электронного документооборота.\nДом Маркет, служба эксплуатации.\n"
	m.Body = joinParts(boundary, "",
		textPart("text/plain", "windows-1251", "quoted-printable", qp("windows-1251", body)),
		part{
			Header: []string{
				"Content-Type: application/xml; name=\"" + fn + "\"",
				"Content-Transfer-Encoding: base64",
				"Content-Disposition: attachment; filename=\"" + fn + "\"",
			},
			Body: b64(encode("windows-1251", crlf(doc))),
		})
	return m.bytes(), id
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (g *gen) dmNew(at time.Time, o *order, note string) {
	c := dmCategory[o.Problem.Category]
	x := []string{
		"<Действие>Создание</Действие>",
		"<Номер>" + o.Ext + "</Номер>",
		"<ДатаСоздания>" + o.Created.In(msk).Format("2006-01-02T15:04:05") + "</ДатаСоздания>",
		"<Магазин>",
		"\t<Код>" + o.Obj.Code + "</Код>",
		"\t<Наименование>" + o.Obj.Name + "</Наименование>",
		"\t<Адрес>" + o.Obj.Address() + "</Адрес>",
		"</Магазин>",
		"<Категория Код=\"" + c[0] + "\">" + c[1] + "</Категория>",
	}
	if o.Priority != "" {
		x = append(x, "<Приоритет>"+prioNames["DM"][o.Priority]+"</Приоритет>")
	}
	if !o.Due.IsZero() {
		x = append(x, "<СрокВыполнения>"+o.Due.In(msk).Format("2006-01-02T15:04:05")+"</СрокВыполнения>")
	}
	x = append(x,
		"<Тема>"+xmlEscape(o.Problem.Summary)+"</Тема>",
		"<Описание>"+xmlEscape(o.Problem.Detail)+"</Описание>",
		"<КонтактноеЛицо>",
		"\t<ФИО>"+o.Obj.Director.Full()+"</ФИО>",
		"\t<Телефон>"+o.Obj.Phone+"</Телефон>",
		"</КонтактноеЛицо>",
		"<Исполнитель>ООО «ТехСервис Регион»</Исполнитель>",
	)
	o.Subject = "Заявка на обслуживание " + o.Ext
	raw, id := g.dmMessage(at, o, o.Subject, "Во вложении заявка на обслуживание.", x, "Заявка_"+o.Ext+".xml")
	o.MsgID = id
	o.File = g.emit(at, raw, o.label("", "ticket", note, ""))
}

func (g *gen) dmUpdate(at time.Time, o *order, u update, note string) {
	x := []string{
		"<Действие>Изменение</Действие>",
		"<Номер>" + o.Ext + "</Номер>",
		"<ДатаИзменения>" + at.Add(-30*time.Second).In(msk).Format("2006-01-02T15:04:05") + "</ДатаИзменения>",
		"<Магазин>",
		"\t<Код>" + o.Obj.Code + "</Код>",
		"</Магазин>",
	}
	switch u.Kind {
	case "priority":
		x = append(x, "<Приоритет>"+prioNames["DM"][u.Priority]+"</Приоритет>")
		o.Priority = u.Priority
	case "status":
		x = append(x, "<Статус>В работе</Статус>")
	case "closed":
		x = append(x, "<Статус>Выполнена</Статус>", "<Комментарий>"+xmlEscape(u.Text)+"</Комментарий>")
	default:
		panic("DM update " + u.Kind)
	}
	num := strings.TrimPrefix(o.Ext, "ЗНО-")
	raw, _ := g.dmMessage(at, o, "Изменение заявки "+o.Ext, "Во вложении изменения по заявке на обслуживание.", x, "zayavka_"+num+".xml")
	g.emit(at, raw, o.label("", "follow_up", note, o.File))
}
