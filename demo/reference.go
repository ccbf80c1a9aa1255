package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// city is a real city with its real OKTMO code and centre; stores and
// engineers are scattered around the centre.
type city struct {
	Name     string
	Region   string // as written in addresses; "" for the federal cities
	RegionID string // region part of MG store codes
	OKTMO    string
	Lat, Lon float64
	PostLo   int // postcodes are drawn from [PostLo, PostLo+PostN)
	PostN    int
	Moscow   bool // +03:00: free-text due times are only written for these stores
}

var cities = []city{
	{"Москва", "", "77", "45000000", 55.7558, 37.6173, 109000, 20000, true},
	{"Санкт-Петербург", "", "78", "40000000", 59.9391, 30.3159, 190000, 9000, true},
	{"Казань", "Республика Татарстан", "16", "92701000", 55.7963, 49.1088, 420000, 140, true},
	{"Нижний Новгород", "Нижегородская обл.", "52", "22701000", 56.3269, 44.0059, 603000, 160, true},
	{"Самара", "Самарская обл.", "63", "36701000", 53.1959, 50.1002, 443000, 120, false},
	{"Екатеринбург", "Свердловская обл.", "66", "65701000", 56.8389, 60.6057, 620000, 140, false},
	{"Ярославль", "Ярославская обл.", "76", "78701000", 57.6261, 39.8845, 150000, 60, true},
	{"Тула", "Тульская обл.", "71", "70701000", 54.1931, 37.6177, 300000, 60, true},
	{"Подольск", "Московская обл.", "50", "46760000", 55.4312, 37.5447, 142100, 19, true},
	{"Воронеж", "Воронежская обл.", "36", "20701000", 51.6606, 39.2006, 394000, 90, true},
	{"Ростов-на-Дону", "Ростовская обл.", "61", "60701000", 47.2357, 39.7015, 344000, 110, true},
	{"Пермь", "Пермский край", "59", "57701000", 58.0105, 56.2502, 614000, 110, false},
}

func cityByName(name string) city {
	for _, c := range cities {
		if c.Name == name {
			return c
		}
	}
	panic("unknown city " + name)
}

// client is a row of clients.csv. The codes and domains are the ones the
// shipped chain formats key on.
type client struct {
	Code, Name    string
	LegalEntities []string
	Domains       []string
}

var clients = []client{
	{"PU", "Торговая сеть «Пятый угол»", []string{"ООО «Пятый угол Ритейл»", "ООО «Пятый угол Север»"}, []string{"sd.pyatugol.ru", "pyatugol.ru"}},
	{"PL", "Гипермаркеты «Полоса»", []string{"ООО «Полоса»"}, []string{"polosa-market.ru", "servicedesk.polosa-market.ru"}},
	{"VR", "Магазины «Верный выбор»", []string{"ООО «Верный выбор»"}, []string{"vernyvybor.ru"}},
	{"MG", "Сеть «Магистраль»", []string{"АО «Магистраль Торг»", "ООО «Магистраль-Юг»"}, []string{"magistral.ru", "jira.magistral.ru"}},
	{"OK", "Супермаркеты «Океан»", []string{"ООО «Океан Трейд»"}, []string{"okean-shop.ru"}},
	{"DM", "Дискаунтеры «Дом Маркет»", []string{"ООО «ДМ Розница»"}, []string{"dommarket.ru"}},
	{"SB", "Аптечная сеть «Здоровье Плюс»", []string{"ООО «Здоровье Плюс»"}, []string{"zdorovie-plus.ru"}},
}

// chain says how a client names and numbers its stores and where they are.
type chain struct {
	Client string
	Brand  string // store names are "<Brand> <city> №<n>"
	Cities []string
	Lo, Hi int // store numbers are drawn from [Lo, Hi]
}

var chains = []chain{
	{"PU", "Пятый угол", []string{"Москва", "Казань", "Нижний Новгород", "Самара", "Ярославль", "Тула", "Воронеж", "Санкт-Петербург", "Москва", "Казань", "Тула", "Нижний Новгород"}, 101, 989},
	{"PL", "Полоса", []string{"Москва", "Санкт-Петербург", "Екатеринбург", "Казань", "Ростов-на-Дону", "Пермь", "Самара", "Нижний Новгород"}, 1, 140},
	{"VR", "Верный выбор", []string{"Москва", "Подольск", "Тула", "Ярославль", "Воронеж", "Ростов-на-Дону", "Казань", "Нижний Новгород", "Санкт-Петербург"}, 11, 480},
	{"MG", "Магистраль", []string{"Москва", "Подольск", "Санкт-Петербург", "Екатеринбург", "Пермь", "Самара", "Казань", "Ростов-на-Дону", "Воронеж", "Тула"}, 101, 990},
	{"OK", "Океан", []string{"Ярославль", "Москва", "Нижний Новгород", "Казань", "Екатеринбург", "Тула", "Пермь"}, 5, 190},
	{"DM", "Дом Маркет", []string{"Подольск", "Москва", "Тула", "Воронеж", "Ростов-на-Дону", "Ярославль", "Самара", "Нижний Новгород"}, 12, 330},
	{"SB", "Здоровье Плюс", []string{"Москва", "Подольск", "Санкт-Петербург", "Казань", "Нижний Новгород", "Тула", "Ярославль", "Воронеж"}, 7, 260},
}

// street is a street name with its type as written in objects.csv.
type street struct{ Kind, Name string }

var streets = []street{
	{"ул.", "Ленина"}, {"ул.", "Советская"}, {"ул.", "Гагарина"}, {"ул.", "Мира"},
	{"ул.", "Садовая"}, {"ул.", "Молодёжная"}, {"ул.", "Пушкина"}, {"ул.", "Кирова"},
	{"ул.", "Чапаева"}, {"ул.", "Московская"}, {"ул.", "Октябрьская"}, {"ул.", "Комсомольская"},
	{"ул.", "Лесная"}, {"ул.", "Победы"}, {"ул.", "Первомайская"}, {"ул.", "Свердлова"},
	{"ул.", "Горького"}, {"ул.", "Куйбышева"}, {"ул.", "Заречная"}, {"ул.", "Луговая"},
	{"пр-т", "Ленина"}, {"пр-т", "Мира"}, {"пр-т", "Победы"}, {"пр-т", "Космонавтов"},
	{"б-р", "Строителей"}, {"ш.", "Энтузиастов"}, {"наб.", "Речная"},
}

var (
	surnames = []string{
		"Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
		"Новиков", "Морозов", "Волков", "Зайцев", "Павлов", "Семёнов", "Голубев", "Виноградов",
		"Богданов", "Фёдоров", "Михайлов", "Беляев", "Тарасов", "Белов", "Комаров", "Орлов",
		"Макаров", "Андреев", "Ковалёв", "Ильин", "Гусев", "Титов", "Медведев", "Ершов",
	}
	maleNames   = []string{"Алексей", "Андрей", "Дмитрий", "Сергей", "Игорь", "Михаил", "Николай", "Павел", "Роман", "Виктор", "Артём", "Константин", "Олег", "Евгений"}
	femaleNames = []string{"Анна", "Елена", "Ольга", "Наталья", "Ирина", "Светлана", "Татьяна", "Марина", "Юлия", "Ксения", "Екатерина", "Людмила", "Галина", "Вера"}
)

// person is a fictional name; Surname is already in the right gender.
type person struct {
	Surname, First string
	Female         bool
}

func (p person) Full() string    { return p.Surname + " " + p.First } // "Иванова Анна", as in the master data
func (p person) Natural() string { return p.First + " " + p.Surname } // "Анна Иванова", as Jira writes it

func randomPerson(r *rand.Rand) person {
	s := surnames[r.IntN(len(surnames))]
	if r.IntN(2) == 0 {
		return person{s + "а", femaleNames[r.IntN(len(femaleNames))], true}
	}
	return person{s, maleNames[r.IntN(len(maleNames))], false}
}

// object is a store: a row of objects.csv plus what the mail needs.
type object struct {
	Client, Code, Name string
	Number             int
	City               city
	Street             street
	House              int
	Building           string // ", корп. 2" or ""
	Postcode           int
	Lat, Lon           float64
	LegalEntity        string
	Engineer           string
	Director           person
	Phone              string // "+7 9xx xxx-xx-xx"
	CorpEmail          string
	PersonalEmail      string
}

// Address is the address as objects.csv writes it.
func (o *object) Address() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%06d, ", o.Postcode)
	if o.City.Region != "" {
		b.WriteString(o.City.Region + ", ")
	}
	fmt.Fprintf(&b, "г. %s, %s %s, д. %d%s", o.City.Name, o.Street.Kind, o.Street.Name, o.House, o.Building)
	return b.String()
}

// RegionName is the region column of objects.csv.
func (o *object) RegionName() string {
	if o.City.Region == "" {
		return "г. " + o.City.Name
	}
	return o.City.Region
}

// engineer is a row of engineers.csv.
type engineer struct {
	Code        string
	Person      person
	Email       string
	Phone       string
	Competences []string
	Areas       []string
	Lat, Lon    float64
	RadiusKM    int
	MaxOpen     int
	Status      string
	Rating      float64
}

// competenceSets is cycled over the engineers so that every city gets a
// useful spread of trades from its two or three engineers.
var competenceSets = [][]string{
	{"refrigeration", "electrical"},
	{"lighting", "electrical", "doors"},
	{"plumbing", "hvac"},
	{"pos_it", "security"},
	{"construction", "doors"},
	{"refrigeration", "hvac"},
	{"electrical", "lighting"},
	{"pos_it"},
	{"refrigeration"},
	{"security", "doors", "construction"},
	{"plumbing", "construction"},
}

type directory struct {
	Engineers []*engineer
	Objects   []*object
	byCode    map[string]*object // "<client>/<code>"
}

func (d *directory) object(client, code string) *object {
	o, ok := d.byCode[client+"/"+code]
	if !ok {
		panic("no object " + client + " " + code)
	}
	return o
}

// objectsOf returns the stores of a client in objects.csv order.
func (d *directory) objectsOf(client string) []*object {
	var out []*object
	for _, o := range d.Objects {
		if o.Client == client {
			out = append(out, o)
		}
	}
	return out
}

func randomPhone(r *rand.Rand) string {
	return fmt.Sprintf("+7 9%02d %03d-%02d-%02d", r.IntN(100), r.IntN(1000), r.IntN(100), r.IntN(100))
}

func jitter(r *rand.Rand, v, d float64) float64 {
	x := v + (r.Float64()*2-1)*d
	return float64(int(x*100000+0.5)) / 100000
}

func buildDirectory(r *rand.Rand) *directory {
	d := &directory{byCode: map[string]*object{}}

	// Engineers: two per city, three for Moscow and its region.
	homes := make([]string, 0, 25)
	for _, c := range cities {
		homes = append(homes, c.Name, c.Name)
	}
	homes = append(homes, "Москва")
	usedNames := map[string]bool{}
	for i, home := range homes {
		c := cityByName(home)
		p := randomPerson(r)
		for usedNames[p.Full()] {
			p = randomPerson(r)
		}
		usedNames[p.Full()] = true
		areas := []string{c.OKTMO}
		if home == "Москва" || home == "Подольск" {
			areas = []string{"45000000", "46760000"}
		}
		status := "active"
		switch i + 1 {
		case 8, 20:
			status = "pending"
		case 13, 24:
			status = "blacklisted"
		}
		e := &engineer{
			Code:        fmt.Sprintf("ENG-%04d", i+1),
			Person:      p,
			Email:       fmt.Sprintf("eng%04d@contractors.example", i+1),
			Phone:       randomPhone(r),
			Competences: competenceSets[i%len(competenceSets)],
			Areas:       areas,
			Lat:         jitter(r, c.Lat, 0.05),
			Lon:         jitter(r, c.Lon, 0.08),
			RadiusKM:    []int{25, 40, 60}[r.IntN(3)],
			MaxOpen:     []int{4, 6, 8}[r.IntN(3)],
			Status:      status,
			Rating:      float64(360+r.IntN(136)) / 100,
		}
		d.Engineers = append(d.Engineers, e)
	}

	usedEmail := map[string]bool{}
	for _, ch := range chains {
		nums := map[int]bool{}
		var picked []int
		for len(picked) < len(ch.Cities) {
			n := ch.Lo + r.IntN(ch.Hi-ch.Lo+1)
			if !nums[n] {
				nums[n] = true
				picked = append(picked, n)
			}
		}
		slices.Sort(picked)
		for i, n := range picked {
			c := cityByName(ch.Cities[i])
			o := &object{
				Client:   ch.Client,
				Number:   n,
				City:     c,
				Street:   streets[r.IntN(len(streets))],
				House:    1 + r.IntN(180),
				Postcode: c.PostLo + r.IntN(c.PostN),
				Lat:      jitter(r, c.Lat, 0.06),
				Lon:      jitter(r, c.Lon, 0.09),
				Director: randomPerson(r),
				Phone:    randomPhone(r),
			}
			// Naumen renders addresses without building numbers; keep VR plain.
			if ch.Client != "VR" && r.IntN(5) == 0 {
				o.Building = fmt.Sprintf(", корп. %d", 1+r.IntN(4))
			}
			switch ch.Client {
			case "PU":
				o.Code = fmt.Sprintf("%04d", n)
				o.CorpEmail = fmt.Sprintf("store%04d@pyatugol.ru", n)
				o.LegalEntity = "ООО «Пятый угол Ритейл»"
				if slices.Contains([]string{"Санкт-Петербург", "Ярославль", "Нижний Новгород"}, c.Name) {
					o.LegalEntity = "ООО «Пятый угол Север»"
				}
			case "PL":
				o.Code = fmt.Sprintf("ГМ-%03d", n)
				o.CorpEmail = fmt.Sprintf("store%03d@polosa-market.ru", n)
				o.LegalEntity = "ООО «Полоса»"
			case "VR":
				o.Code = fmt.Sprintf("VV%04d", n)
				o.CorpEmail = fmt.Sprintf("storevv%04d@vernyvybor.ru", n)
				o.LegalEntity = "ООО «Верный выбор»"
			case "MG":
				o.Code = fmt.Sprintf("MG-%s-%03d", c.RegionID, n)
				o.CorpEmail = fmt.Sprintf("storemg%s%03d@magistral.ru", c.RegionID, n)
				o.LegalEntity = "АО «Магистраль Торг»"
				if c.Name == "Ростов-на-Дону" || c.Name == "Воронеж" {
					o.LegalEntity = "ООО «Магистраль-Юг»"
				}
			case "OK":
				o.Code = fmt.Sprintf("OK-%03d", n)
				o.CorpEmail = fmt.Sprintf("storeok%03d@okean-shop.ru", n)
				o.LegalEntity = "ООО «Океан Трейд»"
			case "DM":
				o.Code = fmt.Sprintf("DM/%04d", n)
				o.CorpEmail = fmt.Sprintf("storedm%04d@dommarket.ru", n)
				o.LegalEntity = "ООО «ДМ Розница»"
			case "SB":
				o.Code = fmt.Sprintf("APT-%04d", n)
				o.CorpEmail = fmt.Sprintf("storeapt%04d@zdorovie-plus.ru", n)
				o.LegalEntity = "ООО «Здоровье Плюс»"
			}
			o.Name = fmt.Sprintf("%s %s №%d", ch.Brand, c.Name, n)
			o.PersonalEmail = personalEmail(r, o.Director, usedEmail)
			// About a third of the stores have a fixed engineer from their area.
			if r.IntN(3) == 0 {
				var cand []*engineer
				for _, e := range d.Engineers {
					if e.Status == "active" && slices.Contains(e.Areas, c.OKTMO) {
						cand = append(cand, e)
					}
				}
				if len(cand) > 0 {
					o.Engineer = cand[r.IntN(len(cand))].Code
				}
			}
			d.Objects = append(d.Objects, o)
			d.byCode[o.Client+"/"+o.Code] = o
		}
	}
	return d
}

func personalEmail(r *rand.Rand, p person, used map[string]bool) string {
	for {
		e := fmt.Sprintf("%s.%s%d@mail.example", translit(p.Surname), translit(string([]rune(p.First)[:1])), 1+r.IntN(89))
		if !used[e] {
			used[e] = true
			return e
		}
	}
}

var translitTable = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh",
	'з': "z", 'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts",
	'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya",
}

func translit(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if t, ok := translitTable[c]; ok {
			b.WriteString(t)
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// regionalDirectors have no store of their own (empty object in contacts.csv).
type regionalDirector struct {
	Client, Region, Email string
	Person                person
}

// categoriesCSV is configuration shared with the service: the same codes,
// competences, SLA hours and keywords as production.
const categoriesCSV = "code,name,competence,sla_hours,keywords\r\n" +
	"refrigeration,Холодильное оборудование,refrigeration,3,холодил|витрин|камер|морозил|ларь|температур|компрессор|не холодит|течёт фреон|лар[ья]\r\n" +
	"electrical,Электрика,electrical,8,электр|розетк|щит|автомат выбило|нет света|проводк|искрит\r\n" +
	"lighting,Освещение,lighting,48,ламп|светильник|освещен|не горит|моргает\r\n" +
	"plumbing,Сантехника,plumbing,24,сантех|кран|протеч|засор|канализац|унитаз|раковин|вод[аы]\r\n" +
	"hvac,Вентиляция и кондиционирование,hvac,24,кондиц|вентиляц|сплит|жарко|тепловая завеса\r\n" +
	"pos_it,Кассовое оборудование и ИТ,pos_it,4,касс|терминал|сканер|принтер чеков|фискал|эквайринг|pos\r\n" +
	"doors,Входная группа и двери,doors,12,двер|входн.. групп|доводчик|автоматическ.. двер|ролл?ет|ворот\r\n" +
	"construction,Ремонт помещений,construction,72,плитк|потол|покраск|штукатур|пол |стен[аы]|ремонт помещ\r\n" +
	"security,Охранные системы,security,24,видеонаблюд|камер[аы] наблюд|сигнализац|охран|домофон\r\n"
