package newchain

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/intakehq/intake/demo"
)

// msk is Moscow time: the chain's service desk and all its stores write it.
var msk = time.FixedZone("MSK", 3*3600)

const (
	clientCode = "ZT"
	desk       = "noreply@sd.zt-retail.example"
	deskName   = "HelpDeskPro · Зелёный Твист"
	intake     = "zayavki@tehservis.example"
	dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"
)

type store struct {
	code, name, address, city, region, oktmo string
	lat, lon                                 float64
	legal, engineer                          string
	director, phone, corp, personal          string
}

var legalMain, legalRegion = "ООО «Зелёный Твист»", "ООО «Зелёный Твист Регион»"

// stores are the chain's fifteen shops; each director writes from the
// store's mailbox and some also from a personal one.
var stores = []store{
	{"ZT-MSK-0007", "Зелёный Твист Москва, Бутырская", "127015, г. Москва, ул. Бутырская, д. 46, стр. 2", "Москва", "г. Москва", "45000000", 55.80112, 37.58291, legalMain, "ENG-0301", "Соловьёва Марина Игоревна", "+7 916 402-17-35", "msk0007@zt-retail.example", ""},
	{"ZT-MSK-0042", "Зелёный Твист Москва, Профсоюзная", "117393, г. Москва, ул. Профсоюзная, д. 56", "Москва", "г. Москва", "45000000", 55.66987, 37.55346, legalMain, "", "Гусев Артём Павлович", "+7 925 318-44-02", "msk0042@zt-retail.example", "gusev.artem77@mail.example"},
	{"ZT-MSK-0115", "Зелёный Твист Москва, Первомайская", "105203, г. Москва, ул. Первомайская, д. 126", "Москва", "г. Москва", "45000000", 55.79641, 37.80327, legalMain, "", "Киселёва Дарья Андреевна", "+7 903 771-90-26", "msk0115@zt-retail.example", ""},
	{"ZT-MSK-0230", "Зелёный Твист Москва, Люблинская", "109382, г. Москва, ул. Люблинская, д. 169, корп. 2", "Москва", "г. Москва", "45000000", 55.65071, 37.74420, legalMain, "", "Тимофеев Олег Викторович", "+7 977 245-63-18", "msk0230@zt-retail.example", ""},
	{"ZT-SPB-0011", "Зелёный Твист Санкт-Петербург, Савушкина", "197374, г. Санкт-Петербург, ул. Савушкина, д. 119, лит. А", "Санкт-Петербург", "г. Санкт-Петербург", "40000000", 59.98823, 30.21109, legalRegion, "", "Лаптева Ксения Олеговна", "+7 921 904-35-71", "spb0011@zt-retail.example", "k.lapteva@mail.example"},
	{"ZT-SPB-0064", "Зелёный Твист Санкт-Петербург, Ленинский", "198207, г. Санкт-Петербург, Ленинский пр-т, д. 140", "Санкт-Петербург", "г. Санкт-Петербург", "40000000", 59.85190, 30.26540, legalRegion, "", "Фомин Игорь Сергеевич", "+7 911 238-06-49", "spb0064@zt-retail.example", ""},
	{"ZT-KZN-0003", "Зелёный Твист Казань, Фатыха Амирхана", "420124, Республика Татарстан, г. Казань, ул. Фатыха Амирхана, д. 15", "Казань", "Республика Татарстан", "92701000", 55.82321, 49.13422, legalRegion, "", "Хабибуллина Алсу Ринатовна", "+7 917 286-51-03", "kzn0003@zt-retail.example", ""},
	{"ZT-KZN-0019", "Зелёный Твист Казань, Проспект Победы", "420138, Республика Татарстан, г. Казань, пр-т Победы, д. 91", "Казань", "Республика Татарстан", "92701000", 55.75203, 49.21138, legalRegion, "", "Шакиров Марат Ильдарович", "+7 987 410-22-67", "kzn0019@zt-retail.example", ""},
	{"ZT-NNV-0008", "Зелёный Твист Нижний Новгород, Родионова", "603093, Нижегородская обл., г. Нижний Новгород, ул. Родионова, д. 187", "Нижний Новгород", "Нижегородская обл.", "22701000", 56.31633, 44.06218, legalRegion, "", "Зуева Татьяна Николаевна", "+7 930 715-08-94", "nnv0008@zt-retail.example", ""},
	{"ZT-SMR-0005", "Зелёный Твист Самара, Ново-Садовая", "443068, Самарская обл., г. Самара, ул. Ново-Садовая, д. 106", "Самара", "Самарская обл.", "36701000", 53.21412, 50.15870, legalRegion, "", "Ершов Денис Александрович", "+7 927 603-41-88", "smr0005@zt-retail.example", ""},
	{"ZT-EKB-0012", "Зелёный Твист Екатеринбург, Малышева", "620014, Свердловская обл., г. Екатеринбург, ул. Малышева, д. 5", "Екатеринбург", "Свердловская обл.", "65701000", 56.83517, 60.58844, legalRegion, "", "Козлова Евгения Юрьевна", "+7 912 266-70-13", "ekb0012@zt-retail.example", ""},
	{"ZT-EKB-0027", "Зелёный Твист Екатеринбург, Бебеля", "620050, Свердловская обл., г. Екатеринбург, ул. Бебеля, д. 130", "Екатеринбург", "Свердловская обл.", "65701000", 56.86094, 60.55218, legalRegion, "", "Панов Руслан Геннадьевич", "+7 922 148-39-50", "ekb0027@zt-retail.example", "panov.ruslan@mail.example"},
	{"ZT-TUL-0004", "Зелёный Твист Тула, Красноармейский", "300041, Тульская обл., г. Тула, Красноармейский пр-т, д. 25", "Тула", "Тульская обл.", "70701000", 54.18962, 37.59984, legalRegion, "", "Белоусова Наталья Петровна", "+7 953 187-64-21", "tul0004@zt-retail.example", ""},
	{"ZT-VRN-0009", "Зелёный Твист Воронеж, Московский проспект", "394016, Воронежская обл., г. Воронеж, Московский пр-т, д. 90", "Воронеж", "Воронежская обл.", "20701000", 51.70283, 39.18320, legalRegion, "", "Лукин Степан Валерьевич", "+7 952 540-18-76", "vrn0009@zt-retail.example", "lukin.sv@mail.example"},
	{"ZT-RND-0016", "Зелёный Твист Ростов-на-Дону, Ворошиловский", "344010, Ростовская обл., г. Ростов-на-Дону, Ворошиловский пр-т, д. 62", "Ростов-на-Дону", "Ростовская обл.", "60701000", 47.22874, 39.71520, legalRegion, "", "Мельникова Ольга Борисовна", "+7 961 302-95-44", "rnd0016@zt-retail.example", "melnikova.ob@mail.example"},
}

func storeByCode(code string) store {
	for _, s := range stores {
		if s.code == code {
			return s
		}
	}
	panic("no store " + code)
}

// engineers cover the chain's cities with every competence, so that each
// order can be assigned within the rules of assignment.
const engineersCSV = `code,name,email,phone,competences,areas,lat,lon,radius_km,max_open,status,rating
ENG-0301,Кудрявцев Илья,eng0301@contractors.example,+7 915 480-22-19,refrigeration;electrical;lighting;plumbing;hvac;pos_it;doors;construction;security,45000000;46000000,55.75580,37.61730,60,20,active,4.61
ENG-0302,Носкова Вера,eng0302@contractors.example,+7 911 602-71-35,refrigeration;electrical;lighting;plumbing;hvac;pos_it;doors;construction;security,40000000,59.93910,30.31590,50,20,active,4.48
ENG-0303,Галиев Тимур,eng0303@contractors.example,+7 917 264-03-58,refrigeration;electrical;lighting;plumbing;hvac;pos_it;doors;construction;security,92701000;22701000;36701000,55.79610,49.10880,60,20,active,4.72
ENG-0304,Шестаков Андрей,eng0304@contractors.example,+7 912 730-45-81,refrigeration;electrical;lighting;plumbing;hvac;pos_it;doors;construction;security,65701000,56.83890,60.60570,50,20,active,4.35
ENG-0305,Осипова Юлия,eng0305@contractors.example,+7 952 119-86-07,refrigeration;electrical;lighting;plumbing;hvac;pos_it;doors;construction;security,70701000;20701000;60701000,51.66150,39.20030,60,20,active,4.57
`

// Priority words of HelpDeskPro and ours.
var priorityWord = map[string]string{
	"critical": "P1 Авария", "high": "P2 Высокий", "normal": "P3 Обычный", "low": "P4 Низкий",
}

// directions are the desk's "Направление работ" values and our categories.
var directions = map[string]string{
	"Холод / Витрины и горки":           "refrigeration",
	"Холод / Морозильные лари":          "refrigeration",
	"Энергоснабжение":                   "electrical",
	"Освещение зала и фасада":           "lighting",
	"Водоснабжение и канализация":       "plumbing",
	"Климат (вентиляция, кондиционеры)": "hvac",
	"Кассы и ИТ":                        "pos_it",
	"Двери, ворота, рольставни":         "doors",
	"Ремонт помещений":                  "construction",
	"Безопасность и видеонаблюдение":    "security",
}

var months = []string{"", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
	"сентября", "октября", "ноября", "декабря"}

// deskDate is how HelpDeskPro writes a deadline: "до 21 ноября 2026 г., 14:00".
func deskDate(t time.Time) string {
	t = t.In(msk)
	return fmt.Sprintf("до %d %s %d г., %02d:%02d", t.Day(), months[t.Month()], t.Year(), t.Hour(), t.Minute())
}

// order is one HelpDeskPro request as its card shows it.
type order struct {
	id, store, topic, details, direction, priority string
	due                                            time.Time
	status                                         string
	applicant                                      string
	file                                           string // the file that created it
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type gen struct {
	files  map[string][]byte
	labels []demo.Label
	n      int
	seq    int
}

// Generate builds every file: reference/*.csv, mail/NNNN.eml in delivery
// order and mail/labels.jsonl. The same call always returns the same bytes.
func Generate() map[string][]byte {
	g := &gen{files: map[string][]byte{}}
	g.reference()
	g.scenario()
	var buf bytes.Buffer
	for _, l := range g.labels {
		b, err := json.Marshal(l)
		if err != nil {
			panic(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	g.files["mail/labels.jsonl"] = buf.Bytes()
	return g.files
}

func (g *gen) reference() {
	g.csv("clients.csv", [][]string{
		{"code", "name", "legal_entities", "domains"},
		{clientCode, "Сеть «Зелёный Твист»", legalMain + ";" + legalRegion, "zt-retail.example;sd.zt-retail.example"},
	})
	objects := [][]string{{"client", "code", "name", "address", "city", "region", "oktmo", "lat", "lon", "legal_entity", "engineer"}}
	contacts := [][]string{{"client", "object", "name", "role", "email", "phone"}}
	for _, s := range stores {
		objects = append(objects, []string{clientCode, s.code, s.name, s.address, s.city, s.region, s.oktmo,
			fmt.Sprintf("%.5f", s.lat), fmt.Sprintf("%.5f", s.lon), s.legal, s.engineer})
		contacts = append(contacts, []string{clientCode, s.code, s.director, "store_director", s.corp, s.phone})
		if s.personal != "" {
			contacts = append(contacts, []string{clientCode, s.code, s.director, "store_director", s.personal, s.phone})
		}
	}
	contacts = append(contacts, []string{clientCode, "", "Воробьёв Кирилл Андреевич", "regional_director:г. Москва", "rd.msk@zt-retail.example", "+7 926 555-10-42"})
	g.csv("objects.csv", objects)
	g.csv("contacts.csv", contacts)
	g.files["reference/engineers.csv"] = []byte(engineersCSV)
	for _, f := range demo.Reference() {
		if f.Name == "categories.csv" {
			g.files["reference/categories.csv"] = f.Data // the same categories as every chain
		}
	}
}

func (g *gen) csv(name string, rows [][]string) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		panic(err)
	}
	g.files["reference/"+name] = buf.Bytes()
}

func at(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, msk) }

// scenario is the mailbox in delivery order.
func (g *gen) scenario() {
	o118 := &order{id: "ZT-2026-000118", store: "ZT-MSK-0042", topic: "Не охлаждает холодильная витрина в молочном отделе",
		details:   "Витрина «Молочная продукция» №2 держит +11 °C при норме +2…+6, компрессор работает без остановки. Товар перенесли в камеру.",
		direction: "Холод / Витрины и горки", priority: "high", due: at(10, 14, 0), status: "Зарегистрировано", applicant: "Гусев Артём Павлович, +7 925 318-44-02"}
	o121 := &order{id: "ZT-2026-000121", store: "ZT-SPB-0011", topic: "Выбило вводной автомат, нет электричества в торговом зале",
		details:   "После грозы выбило вводной автомат в щитовой, повторно не включается, пахнет гарью. Работают только кассы на ИБП.",
		direction: "Энергоснабжение", priority: "critical", due: at(9, 18, 0), status: "Зарегистрировано", applicant: "Лаптева Ксения Олеговна, +7 921 904-35-71"}
	o124 := &order{id: "ZT-2026-000124", store: "ZT-EKB-0012", topic: "Засор канализации в подсобном помещении",
		details:   "Не уходит вода в трапе у моечной, по полу стоит вода, запах.",
		direction: "Водоснабжение и канализация", priority: "normal", due: at(12, 12, 0), status: "Зарегистрировано", applicant: "Козлова Евгения Юрьевна, +7 912 266-70-13"}
	o127 := &order{id: "ZT-2026-000127", store: "ZT-TUL-0004", topic: "Не печатает чеки касса №3",
		details:   "Фискальный регистратор на кассе №3 выдаёт ошибку бумаги, бумага заправлена. Касса выведена из работы.",
		direction: "Кассы и ИТ", priority: "high", due: at(10, 20, 0), status: "Зарегистрировано", applicant: "Белоусова Наталья Петровна, +7 953 187-64-21"}
	o130 := &order{id: "ZT-2026-000130", store: "ZT-VRN-0009", topic: "Не работает кондиционер в торговом зале",
		details:   "Сплит-система у овощного отдела не включается, пульт не реагирует. В зале +27 °C.",
		direction: "Климат (вентиляция, кондиционеры)", priority: "normal", due: at(13, 18, 0), status: "Зарегистрировано", applicant: "Лукин Степан Валерьевич, +7 952 540-18-76"}
	o133 := &order{id: "ZT-2026-000133", store: "ZT-MSK-0115", topic: "Заедает рольставня на загрузочной рампе",
		details:   "Рольставня рампы №1 опускается рывками и останавливается на середине.",
		direction: "Двери, ворота, рольставни", priority: "low", due: at(16, 18, 0), status: "Зарегистрировано", applicant: "Киселёва Дарья Андреевна, +7 903 771-90-26"}
	o136 := &order{id: "ZT-2026-000136", store: "ZT-SMR-0005", topic: "Не пишет видеорегистратор, нет архива за двое суток",
		details:   "На видеорегистраторе ошибка диска, записи с камер торгового зала нет с 10.11.",
		direction: "Безопасность и видеонаблюдение", priority: "normal", due: at(14, 12, 0), status: "Зарегистрировано", applicant: "Ершов Денис Александрович, +7 927 603-41-88"}
	o139 := &order{id: "ZT-2026-000139", store: "ZT-KZN-0019", topic: "Отслоилась плитка на полу у входа",
		details:   "У входной группы отошли и треснули шесть плиток, покупатели спотыкаются. Участок огорожен.",
		direction: "Ремонт помещений", priority: "low", due: at(20, 17, 0), status: "Зарегистрировано", applicant: "Шакиров Марат Ильдарович, +7 987 410-22-67"}
	o142 := &order{id: "ZT-2026-000142", store: "ZT-NNV-0008", topic: "Морозильный ларь не держит температуру",
		details:   "Ларь с пельменями −8 °C вместо −18 °C, на испарителе шуба. Товар переложен.",
		direction: "Холод / Морозильные лари", priority: "critical", due: at(12, 15, 0), status: "Зарегистрировано", applicant: "Зуева Татьяна Николаевна, +7 930 715-08-94"}

	g.notify(at(9, 9, 12), o118, "new", "", "HelpDeskPro: new request, card as a definition list")
	g.notify(at(9, 9, 47), o121, "new", "", "HelpDeskPro: new request, P1")
	o118.status = "В работе"
	g.notify(at(9, 10, 30), o118, "status", "Статус обращения изменён: «Зарегистрировано» → «В работе». Исполнитель назначен.", "HelpDeskPro: status changed")
	g.director(at(9, 11, 5), "ZT-KZN-0003", "corp", "Не горят светильники над кассами",
		"Добрый день!\n\nВ магазине над кассовой зоной не горят четыре светильника, ещё два моргают. Покупателям темно, кассиры жалуются.\nПросим заменить лампы до выходных.\n",
		"", "ticket", "lighting", "", "", "director's own mail from the store mailbox")
	g.notify(at(9, 12, 20), o124, "new", "", "HelpDeskPro: new request")
	o124.priority, o124.due = "high", at(11, 10, 0)
	g.notify(at(9, 14, 2), o124, "update", "В обращении изменены параметры: важность P3 Обычный → P2 Высокий; срок выполнения перенесён на более ранний.", "HelpDeskPro: priority and due changed; the label follows the change")
	o121.status = "Закрыто"
	g.notify(at(9, 16, 40), o121, "closed", "Обращение закрыто. Решение: заменён вводной автомат, проверена изоляция кабеля, питание восстановлено.", "HelpDeskPro: closed")
	g.notify(at(10, 8, 55), o127, "new", "", "HelpDeskPro: new request")
	g.forward(at(10, 9, 30), o130, "personal", "Коллеги, добрый день!\n\nПересылаю обращение из нашего сервис-деска, вам оно, похоже, не пришло. Просим взять в работу, в зале очень жарко.\n",
		"ticket", "", "director forwards a notification we never received: new order")
	o127.status = "В работе"
	g.notify(at(10, 11, 15), o127, "comment", "Добавлен комментарий: «Касса №3 по-прежнему не работает, просим ускорить приезд инженера». Автор: Белоусова Н. П.", "HelpDeskPro: comment")
	g.notify(at(10, 12, 0), o133, "new", "", "HelpDeskPro: new request, P4")
	g.director(at(10, 13, 20), "ZT-RND-0016", "personal", "СРОЧНО! Течёт кран в туалете для персонала",
		"Здравствуйте!\n\nСорвало кран на раковине в туалете для персонала, вода течёт, перекрыли общий вентиль на этаж. Без воды не работает пекарня.\nСрочно нужен сантехник.\n",
		"", "ticket", "plumbing", "high", "", "director's urgent mail from a personal address")
	o133.status = "Отменено"
	g.notify(at(10, 14, 45), o133, "cancelled", "Обращение отменено заявителем. Причина: рольставню починили своими силами.", "HelpDeskPro: cancelled")
	g.notify(at(10, 15, 30), o136, "new", "", "HelpDeskPro: new request")
	g.director(at(10, 16, 10), "ZT-MSK-0042", "personal", "Витрина так и не починена",
		"Добрый день!\n\nПо обращению ZT-2026-000118 инженер вчера был, но витрина снова держит +10. Просим прислать его повторно.\n",
		o118.file, "follow_up", "refrigeration", "high", rfc(o118.due), "director quotes the chain's order number")
	g.forward(at(10, 17, 5), o127, "corp", "Добрый вечер!\n\nНапоминаю про кассу №3, обращение ниже.\n",
		"follow_up", o127.file, "director forwards a notification already received")
	g.notify(at(11, 9, 0), o139, "new", "", "HelpDeskPro: new request")
	o124.status = "Выполнено"
	g.notify(at(11, 10, 25), o124, "closed", "Обращение выполнено и закрыто. Решение: прочищен трап и участок канализации до стояка.", "HelpDeskPro: closed as done")
	g.notify(at(11, 11, 40), o142, "new", "", "HelpDeskPro: new request, P1")
	o142.status = "Ожидание запчастей"
	g.notify(at(11, 13, 5), o142, "status", "Статус обращения изменён: «В работе» → «Ожидание запчастей». Требуется замена вентилятора испарителя.", "HelpDeskPro: status changed")
	g.director(at(11, 14, 30), "ZT-EKB-0027", "personal", "Не закрывается входная дверь",
		"Добрый день.\n\nАвтоматическая входная дверь не закрывается до конца, створки останавливаются на полпути. Сделайте, пожалуйста, до 14.11.2026 16:00, в выходные большой поток.\n",
		"", "ticket", "doors", "", rfc(at(14, 16, 0)), "director's mail with an explicit deadline")
	g.redeliver(at(11, 14, 50), 19, "the same notification delivered again")
}

func rfc(t time.Time) string { return t.Format(time.RFC3339) }

func (g *gen) next() string {
	g.n++
	return fmt.Sprintf("%04d.eml", g.n)
}

// subject is the desk's subject line for an event.
func subject(o *order, event string) string {
	switch event {
	case "new":
		return fmt.Sprintf("[ZT-SD] Обращение №%s зарегистрировано: %s", o.id, o.topic)
	case "status":
		return fmt.Sprintf("[ZT-SD] Обращение №%s: статус изменён на «%s»", o.id, o.status)
	case "update":
		return fmt.Sprintf("[ZT-SD] Обращение №%s: изменены параметры", o.id)
	case "closed":
		return fmt.Sprintf("[ZT-SD] Обращение №%s закрыто", o.id)
	case "cancelled":
		return fmt.Sprintf("[ZT-SD] Обращение №%s отменено", o.id)
	case "comment":
		return fmt.Sprintf("[ZT-SD] Обращение №%s: новый комментарий", o.id)
	}
	panic(event)
}

// card is the definition list every HelpDeskPro notification carries.
func card(o *order) string {
	s := storeByCode(o.store)
	var b strings.Builder
	b.WriteString(`<dl class="hdp-card" style="margin:0 0 16px 0">` + "\n")
	for _, kv := range [][2]string{
		{"Номер обращения", o.id},
		{"Подразделение", s.code + " · " + s.name},
		{"Адрес подразделения", s.address},
		{"Суть обращения", o.topic},
		{"Подробности", o.details},
		{"Направление работ", o.direction},
		{"Важность", priorityWord[o.priority]},
		{"Выполнить", deskDate(o.due)},
		{"Текущий статус", o.status},
		{"Заявитель", o.applicant},
	} {
		fmt.Fprintf(&b, "  <dt style=\"font-weight:bold;color:#2e7d32\">%s</dt>\n  <dd style=\"margin:0 0 6px 0\">%s</dd>\n", html.EscapeString(kv[0]), html.EscapeString(kv[1]))
	}
	b.WriteString("</dl>\n")
	return b.String()
}

func notificationHTML(o *order, event, change string) string {
	intro := "Зарегистрировано новое обращение. Просим принять его в работу и соблюсти срок выполнения."
	if event != "new" {
		intro = change
	}
	return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>HelpDeskPro</title>
<style>body{font-family:Arial,sans-serif;font-size:14px} dt{margin-top:4px}</style></head>
<body>
<div class="hdp-header" style="background:#2e7d32;color:#fff;padding:8px 12px">HelpDeskPro · Сервисный центр сети «Зелёный Твист»</div>
<div style="padding:12px">
<p>Здравствуйте!</p>
<p>` + html.EscapeString(intro) + `</p>
` + card(o) + `<p><a href="https://sd.zt-retail.example/hdp/requests/` + o.id + `">Открыть обращение в HelpDeskPro</a></p>
<p style="color:#888;font-size:11px">Письмо сформировано автоматически системой HelpDeskPro, отвечать на него не нужно.</p>
</div>
</body></html>
`
}

type message struct {
	headers [][2]string
	body    string
}

func (m *message) h(k, v string) { m.headers = append(m.headers, [2]string{k, v}) }

func (m *message) bytes() []byte {
	var b strings.Builder
	for _, h := range m.headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(m.body)
	return []byte(b.String())
}

func enc(s string) string { return mime.QEncoding.Encode("utf-8", s) }

func addr(name, email string) string {
	if name == "" {
		return email
	}
	return enc(name) + " <" + email + ">"
}

func qp(text string) string {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	if _, err := w.Write([]byte(strings.ReplaceAll(text, "\r\n", "\n"))); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	s := strings.ReplaceAll(strings.ReplaceAll(buf.String(), "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

func received(m *message, t time.Time, from string) {
	m.h("Received", fmt.Sprintf("from %s (%s [203.0.113.%d])\r\n\tby mx.tehservis.example with ESMTPS id %X\r\n\tfor <%s>; %s",
		from, from, 10+t.Minute(), t.Unix(), intake, t.Add(4*time.Second).Format(dateLayout+" (MST)")))
}

func (g *gen) add(file string, m *message, l demo.Label) {
	g.files["mail/"+file] = m.bytes()
	l.File = file
	g.labels = append(g.labels, l)
}

func orderLabel(o *order, kind, follows, note string) demo.Label {
	return demo.Label{Kind: kind, Client: ptr(clientCode), ExternalID: ptr(o.id), Object: ptr(o.store),
		Category: ptr(directions[o.direction]), Priority: ptr(o.priority), Due: ptr(rfc(o.due)),
		Follows: ptr(follows), Note: note}
}

// notify is a HelpDeskPro notification: HTML only, quoted-printable.
func (g *gen) notify(t time.Time, o *order, event, change, note string) {
	file := g.next()
	g.seq++
	m := &message{}
	received(m, t, "out.sd.zt-retail.example")
	m.h("Date", t.Format(dateLayout))
	m.h("From", addr(deskName, desk))
	m.h("To", intake)
	m.h("Subject", enc(subject(o, event)))
	m.h("Message-ID", fmt.Sprintf("<hdp.%s.%d.%d@sd.zt-retail.example>", o.id, g.seq, t.Unix()))
	m.h("X-Mailer", "HelpDeskPro Notifier 4.2")
	m.h("Auto-Submitted", "auto-generated")
	m.h("MIME-Version", "1.0")
	m.h("Content-Type", "text/html; charset=utf-8")
	m.h("Content-Transfer-Encoding", "quoted-printable")
	m.body = qp(notificationHTML(o, event, change))
	kind, follows := "follow_up", o.file
	if event == "new" {
		kind, follows = "ticket", ""
		o.file = file
	}
	g.add(file, m, orderLabel(o, kind, follows, note))
}

func (g *gen) sender(s store, which string) string {
	if which == "personal" && s.personal != "" {
		return s.personal
	}
	return s.corp
}

func signature(s store) string {
	return fmt.Sprintf("\n--\nС уважением,\n%s\nдиректор магазина %s\n%s\nтел. %s\n", s.director, s.code, s.name, s.phone)
}

// director is a store director's own letter, plain text.
func (g *gen) director(t time.Time, code, which, subj, text, follows, kind, category, priority, due, note string) {
	s := storeByCode(code)
	file := g.next()
	from := g.sender(s, which)
	m := &message{}
	received(m, t, "mail.example")
	m.h("Date", t.Format(dateLayout))
	m.h("From", addr(s.director, from))
	m.h("To", intake)
	m.h("Subject", enc(subj))
	m.h("Message-ID", fmt.Sprintf("<%d.%s@%s>", t.Unix(), strings.ReplaceAll(s.code, "-", ""), domainOf(from)))
	m.h("X-Mailer", "Microsoft Outlook 16.0")
	m.h("MIME-Version", "1.0")
	m.h("Content-Type", "text/plain; charset=utf-8")
	m.h("Content-Transfer-Encoding", "quoted-printable")
	m.body = qp(text + signature(s))
	var ext *string
	if follows != "" {
		ext = ptr("ZT-2026-000118")
	}
	g.add(file, m, demo.Label{Kind: kind, Client: ptr(clientCode), ExternalID: ext, Object: ptr(s.code),
		Category: ptr(category), Priority: ptr(priority), Due: ptr(due), Follows: ptr(follows), Note: note})
}

// forward is a director forwarding a notification inline from Outlook:
// the original HTML under a header block.
func (g *gen) forward(t time.Time, o *order, which, text, kind, follows, note string) {
	s := storeByCode(o.store)
	file := g.next()
	from := g.sender(s, which)
	sent := t.Add(-25 * time.Minute)
	orig := notificationHTML(o, "new", "")
	if i := strings.Index(orig, "<body>"); i >= 0 {
		orig = orig[i+len("<body>"):]
	}
	orig = strings.TrimSuffix(strings.TrimSpace(orig), "</body></html>")
	body := `<html><head><meta charset="utf-8"></head><body>
<div>` + strings.ReplaceAll(html.EscapeString(strings.TrimSpace(text)), "\n", "<br>\n") + `</div>
<div>` + strings.ReplaceAll(html.EscapeString(strings.TrimSpace(signature(s))), "\n", "<br>\n") + `</div>
<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">
<p><b>От:</b> ` + html.EscapeString(deskName+" <"+desk+">") + `<br>
<b>Отправлено:</b> ` + fmt.Sprintf("%d %s %d г. %02d:%02d", sent.Day(), months[sent.Month()], sent.Year(), sent.Hour(), sent.Minute()) + `<br>
<b>Кому:</b> ` + html.EscapeString(s.corp) + `<br>
<b>Тема:</b> ` + html.EscapeString(subject(o, "new")) + `</p>
</div>
` + orig + `
</body></html>
`
	m := &message{}
	received(m, t, "mail.example")
	m.h("Date", t.Format(dateLayout))
	m.h("From", addr(s.director, from))
	m.h("To", intake)
	m.h("Subject", enc("FW: "+subject(o, "new")))
	m.h("Message-ID", fmt.Sprintf("<fw%d.%s@%s>", t.Unix(), strings.ReplaceAll(s.code, "-", ""), domainOf(from)))
	m.h("X-Mailer", "Microsoft Outlook 16.0")
	m.h("MIME-Version", "1.0")
	m.h("Content-Type", "text/html; charset=utf-8")
	m.h("Content-Transfer-Encoding", "quoted-printable")
	m.body = qp(body)
	if kind == "ticket" {
		o.file = file
	}
	g.add(file, m, orderLabel(o, kind, follows, note))
}

// redeliver delivers message n again, byte for byte: a duplicate.
func (g *gen) redeliver(t time.Time, n int, note string) {
	orig := fmt.Sprintf("%04d.eml", n)
	file := g.next()
	var l demo.Label
	for _, x := range g.labels {
		if x.File == orig {
			l = x
		}
	}
	l.Kind, l.Note = "duplicate", note
	if l.Follows == nil {
		l.Follows = ptr(orig)
	}
	m := &message{}
	received(m, t, "out.sd.zt-retail.example")
	g.files["mail/"+file] = append(m.bytes()[:len(m.bytes())-2], g.files["mail/"+orig]...)
	l.File = file
	g.labels = append(g.labels, l)
}

func domainOf(email string) string { return email[strings.LastIndexByte(email, '@')+1:] }
