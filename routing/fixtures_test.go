package routing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

// Small hand-written master data in the shapes of the real import: codes of
// several chains, addresses in the canonical style, a regional director
// without a store, engineers of every status.
func fixtureClients() []Client {
	return []Client{
		{Code: "PU", Name: "Торговая сеть «Пятый угол»", Domains: []string{"sd.pyatugol.ru", "pyatugol.ru"}},
		{Code: "PL", Name: "Гипермаркеты «Полоса»", Domains: []string{"polosa-market.ru"}},
		{Code: "VR", Name: "Магазины «Верный выбор»", Domains: []string{"vernyvybor.ru"}},
		{Code: "MG", Name: "Сеть «Магистраль»", Domains: []string{"magistral.ru", "jira.magistral.ru"}},
		{Code: "DM", Name: "Дискаунтеры «Дом Маркет»", Domains: []string{"dommarket.ru"}},
	}
}

func fixtureObjects() []Object {
	return []Object{
		{Client: "PU", Code: "0001", Name: "Пятый угол Пенза №1", Address: "440579, Пензенская обл., г. Пенза, ул. Заводская, д. 67", City: "Пенза", OKTMO: "56701000", Lat: 53.12872, Lon: 45.09142, Engineer: "ENG-0001"},
		{Client: "PU", Code: "0057", Name: "Пятый угол Казань №57", Address: "420285, Республика Татарстан, г. Казань, пер. Свердлова, д. 68", City: "Казань", OKTMO: "92701000", Lat: 55.79, Lon: 49.12},
		{Client: "PU", Code: "0058", Name: "Пятый угол Казань №58", Address: "420100, Республика Татарстан, г. Казань, ул. Гагарина, д. 12, корп. 2", City: "Казань", OKTMO: "92701000", Lat: 55.80, Lon: 49.10},
		{Client: "PU", Code: "0059", Name: "Пятый угол Казань №59", Address: "420101, Республика Татарстан, г. Казань, ул. Гагарина, д. 12", City: "Казань", OKTMO: "92701000", Lat: 55.81, Lon: 49.11},
		{Client: "PU", Code: "0060", Name: "Пятый угол Самара №60", Address: "443001, Самарская обл., г. Самара, ул. Гагарина, д. 12", City: "Самара", OKTMO: "36701000", Lat: 53.2, Lon: 50.15},
		{Client: "PL", Code: "ГМ-106", Name: "Полоса Тула №106", Address: "300281, Тульская обл., г. Тула, ул. Дзержинского, д. 32", City: "Тула", OKTMO: "70701000", Lat: 54.26, Lon: 37.76},
		{Client: "VR", Code: "VV0358", Name: "Верный выбор Пенза №358", Address: "440001, Пензенская обл., г. Пенза, ул. Горького, д. 27", City: "Пенза", OKTMO: "56701000", Lat: 53.2, Lon: 45.0},
		{Client: "VR", Code: "VV0193", Name: "Верный выбор Пенза №193", Address: "440002, Пензенская обл., г. Пенза, пер. Горького, д. 51", City: "Пенза", OKTMO: "56701000", Lat: 53.21, Lon: 45.01},
		{Client: "VR", Code: "VV0347", Name: "Верный выбор Тольятти №347", Address: "445001, Самарская обл., г. Тольятти, пр-т Полевая, д. 112", City: "Тольятти", OKTMO: "36740000", Lat: 53.5, Lon: 49.4},
		{Client: "VR", Code: "VV0136", Name: "Верный выбор Тюмень №136", Address: "625001, Тюменская обл., г. Тюмень, ул. Российская, д. 164, стр. 2", City: "Тюмень", OKTMO: "71701000", Lat: 57.15, Lon: 65.53},
		{Client: "VR", Code: "VV0137", Name: "Верный выбор Тюмень №137", Address: "625002, Тюменская обл., г. Тюмень, ул. Российская, д. 164", City: "Тюмень", OKTMO: "71701000", Lat: 57.16, Lon: 65.54},
		{Client: "VR", Code: "VV0151", Name: "Верный выбор Краснодар №151", Address: "350001, Краснодарский край, г. Краснодар, пр-т Рабочая, д. 31", City: "Краснодар", OKTMO: "03701000", Lat: 45.03, Lon: 38.97},
		{Client: "MG", Code: "MG-30-454", Name: "Магистраль Курск №454", Address: "305001, Курская обл., г. Курск, ул. Кирова, д. 148", City: "Курск", OKTMO: "38701000", Lat: 51.73, Lon: 36.19},
		{Client: "MG", Code: "MG-19-1093", Name: "Магистраль Тольятти №1093", Address: "445002, Самарская обл., г. Тольятти, ул. Садовая, д. 84", City: "Тольятти", OKTMO: "36740000", Lat: 53.51, Lon: 49.41},
		{Client: "MG", Code: "MG-26-884", Name: "Магистраль Москва №884", Address: "101000, г. Москва, ул. Первомайская, д. 120, стр. 2", City: "Москва", OKTMO: "45000000", Lat: 55.75, Lon: 37.62},
		{Client: "DM", Code: "DM/0211", Name: "Дом Маркет Томск №211", Address: "634001, Томская обл., г. Томск, ул. Весенняя, д. 39, корп. 4", City: "Томск", OKTMO: "69701000", Lat: 56.48, Lon: 84.95},
	}
}

func fixtureContacts() []Contact {
	return []Contact{
		{Client: "PU", Object: "0001", Name: "Кузнецова Ольга", Role: "store_director", Email: "kuznetsova.o22@mail.example", Phone: "+7 959 612-15-26"},
		{Client: "PU", Object: "0057", Name: "Попова Ирина", Role: "store_director", Email: "store0057@pyatugol.ru", Phone: "+7 964 655-83-85"},
		{Client: "PU", Object: "", Name: "Козлова Елена", Role: "regional_director:Республика Татарстан", Email: "rd.000@pyatugol.ru"},
		{Client: "MG", Object: "MG-26-884", Name: "Новикова Анна", Role: "store_director", Email: "storemg26884@magistral.ru", Phone: "+7 931 241-29-60"},
		{Client: "VR", Object: "VV0358", Name: "Белова Наталья", Role: "store_director", Email: "belova.n41@mail.example", Phone: "+7 972 561-52-53"},
		{Client: "MG", Object: "MG-19-1093", Name: "Белова Наталья", Role: "store_director", Email: "belova.n41@mail.example", Phone: "+7 987 887-93-51"},
	}
}

func fixtureEngineers() []Engineer {
	return []Engineer{
		{Code: "ENG-0001", Competences: []string{"refrigeration", "electrical"}, Areas: []string{"56701000"}, Lat: 53.13, Lon: 45.09, RadiusKm: 25, MaxOpen: 5, Status: EngineerActive, Rating: 4.1},
		{Code: "ENG-0002", Competences: []string{"refrigeration"}, Areas: []string{"56000000"}, Lat: 53.20, Lon: 45.00, RadiusKm: 15, MaxOpen: 5, Status: EngineerActive, Rating: 4.9},
		{Code: "ENG-0003", Competences: []string{"refrigeration"}, Areas: []string{"92701000"}, Lat: 53.14, Lon: 45.10, RadiusKm: 40, MaxOpen: 5, Status: EngineerActive, Rating: 4.5},
		{Code: "ENG-0004", Competences: []string{"refrigeration"}, Areas: []string{"56701000"}, Lat: 53.13, Lon: 45.09, RadiusKm: 25, MaxOpen: 5, Status: EngineerPending, Rating: 5},
		{Code: "ENG-0005", Competences: []string{"refrigeration"}, Areas: []string{"56701000"}, Lat: 53.13, Lon: 45.09, RadiusKm: 25, MaxOpen: 5, Status: EngineerBlacklisted, Rating: 5},
		{Code: "ENG-0006", Competences: []string{"plumbing"}, Areas: []string{"56701000"}, Lat: 53.13, Lon: 45.09, RadiusKm: 25, MaxOpen: 5, Status: EngineerActive, Rating: 5},
		{Code: "ENG-0007", Competences: []string{"refrigeration"}, Areas: []string{"45000000"}, Lat: 55.7, Lon: 37.6, RadiusKm: 60, MaxOpen: 2, Status: EngineerActive, Rating: 3},
	}
}

func fixtureCategories() []Category {
	return []Category{
		{Code: "refrigeration", Name: "Холодильное оборудование", Competence: "refrigeration", SLAHours: 3, Keywords: "холодил|витрин"},
		{Code: "plumbing", Name: "Сантехника", Competence: "plumbing", SLAHours: 24, Keywords: "кран|засор"},
		{Code: "lighting", Name: "Освещение", Competence: "lighting", SLAHours: 48, Keywords: "ламп"},
	}
}

func fixtureDirectory(t testing.TB) *Directory {
	t.Helper()
	d, err := NewDirectory(fixtureClients(), fixtureObjects(), fixtureEngineers(), fixtureContacts(), fixtureCategories())
	require.NoError(t, err)
	return d
}

// Generated master data at scale, for benchmarks.
var (
	genCities = []struct {
		name, region, oktmo string
		lat, lon            float64
	}{
		{"Пенза", "Пензенская обл.", "56701000", 53.2, 45.0}, {"Казань", "Республика Татарстан", "92701000", 55.79, 49.12},
		{"Самара", "Самарская обл.", "36701000", 53.2, 50.15}, {"Тольятти", "Самарская обл.", "36740000", 53.5, 49.4},
		{"Тула", "Тульская обл.", "70701000", 54.2, 37.6}, {"Курск", "Курская обл.", "38701000", 51.73, 36.19},
		{"Тюмень", "Тюменская обл.", "71701000", 57.15, 65.53}, {"Томск", "Томская обл.", "69701000", 56.48, 84.95},
		{"Нижний Новгород", "Нижегородская обл.", "22701000", 56.3, 44.0}, {"Ростов-на-Дону", "Ростовская обл.", "60701000", 47.23, 39.7},
		{"Краснодар", "Краснодарский край", "03701000", 45.03, 38.97}, {"Оренбург", "Оренбургская обл.", "53701000", 51.77, 55.1},
		{"Уфа", "Республика Башкортостан", "80701000", 54.73, 55.95}, {"Пермь", "Пермский край", "57701000", 58.0, 56.25},
		{"Воронеж", "Воронежская обл.", "20701000", 51.67, 39.2}, {"Саратов", "Саратовская обл.", "63701000", 51.53, 46.03},
		{"Ижевск", "Удмуртская Республика", "94701000", 56.85, 53.2}, {"Челябинск", "Челябинская обл.", "75701000", 55.16, 61.4},
		{"Ярославль", "Ярославская обл.", "78701000", 57.63, 39.87}, {"Иркутск", "Иркутская обл.", "25701000", 52.29, 104.28},
	}
	genStreets = []string{"Ленина", "Гагарина", "Мира", "Советская", "Садовая", "Заводская", "Полевая", "Кирова",
		"Пушкина", "Горького", "Чкалова", "Победы", "Карла Маркса", "Первомайская", "Комсомольская", "Октябрьская",
		"Строителей", "Космонавтов", "Толстого", "Энгельса", "Московская", "Рабочая", "Весенняя", "Юбилейная",
		"Свердлова", "Дзержинского", "Суворова", "Лермонтова", "Некрасова", "Куйбышева", "Чапаева", "Северная"}
	genTypes = []string{"ул.", "ул.", "ул.", "ул.", "пр-т", "пер.", "ш.", "б-р", "наб.", "пл."}
	genComps = []string{"refrigeration", "electrical", "lighting", "plumbing", "hvac", "pos_it", "doors"}
)

// genCityNames makes n distinct pronounceable city names ("Каровинск").
func genCityNames(n int) []string {
	syl := []string{"ка", "ро", "ми", "ла", "то", "не", "су", "ви", "да", "зе", "бо", "лу"}
	names := make([]string, 0, n)
	seen := map[string]bool{}
	for i := 0; len(names) < n; i++ {
		a, b, c := syl[i%len(syl)], syl[i/len(syl)%len(syl)], syl[i/len(syl)/len(syl)%len(syl)]
		name := a + b + c + "нск"
		r := []rune(name)
		r[0] = unicode.ToUpper(r[0])
		name = string(r)
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// generateDirectory makes nStores stores of 20 chains with unique addresses
// in 200 cities (the real cities first), and nEng engineers spread over the
// same cities: about 50 engineers and 500 stores per city.
func generateDirectory(t testing.TB, nStores, nEng int) (*Directory, []Object, []Contact) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	type city struct {
		name, region, oktmo string
		lat, lon            float64
	}
	cities := make([]city, 0, 200)
	for _, c := range genCities {
		cities = append(cities, city{c.name, c.region, c.oktmo, c.lat, c.lon})
	}
	for k, name := range genCityNames(200 - len(cities)) {
		cities = append(cities, city{name, "Синтетическая обл.", fmt.Sprintf("%02d%03d000", 10+k%80, 700+k), 45 + rng.Float64()*15, 30 + rng.Float64()*60})
	}
	var clients []Client
	for c := range 20 {
		code := fmt.Sprintf("C%02d", c)
		clients = append(clients, Client{Code: code, Name: fmt.Sprintf("Сеть «Сеть %02d»", c), Domains: []string{fmt.Sprintf("chain%02d.example", c)}})
	}
	used := map[string]bool{}
	objects := make([]Object, 0, nStores)
	contacts := make([]Contact, 0, nStores)
	for i := range nStores {
		client := clients[i%len(clients)].Code
		var c city
		var street, typ string
		var house int
		for {
			c = cities[rng.IntN(len(cities))]
			street, typ = genStreets[rng.IntN(len(genStreets))], genTypes[rng.IntN(len(genTypes))]
			house = 1 + rng.IntN(300)
			key := fmt.Sprintf("%s|%s|%d", c.name, street, house)
			if !used[key] {
				used[key] = true
				break
			}
		}
		addr := fmt.Sprintf("%06d, %s, г. %s, %s %s, д. %d", 100000+rng.IntN(800000), c.region, c.name, typ, street, house)
		if rng.IntN(5) == 0 {
			addr += fmt.Sprintf(", корп. %d", 1+rng.IntN(4))
		}
		n := i/len(clients) + 1
		code := fmt.Sprintf("%s-%05d", client, n)
		objects = append(objects, Object{
			Client: client, Code: code, Name: fmt.Sprintf("Сеть %s %s №%d", client, c.name, n), Address: addr, City: c.name,
			Region: c.region, OKTMO: c.oktmo, Lat: c.lat + rng.Float64()*0.2 - 0.1, Lon: c.lon + rng.Float64()*0.2 - 0.1, HasGeo: true,
			Engineer: fmt.Sprintf("ENG-%05d", rng.IntN(nEng)),
		})
		contacts = append(contacts, Contact{Client: client, Object: code, Role: "store_director",
			Email: fmt.Sprintf("store%d@chain.example", i), Phone: fmt.Sprintf("+7 9%02d %03d-%02d-%02d", 10+i/1000000%89, i/10000%1000, i/100%100, i%100)})
	}
	engs := make([]Engineer, nEng)
	for i := range engs {
		c := cities[rng.IntN(len(cities))]
		st := EngineerActive
		if rng.IntN(15) == 0 {
			st = EngineerBlacklisted
		}
		engs[i] = Engineer{
			Code: fmt.Sprintf("ENG-%05d", i), Competences: []string{genComps[rng.IntN(len(genComps))], genComps[rng.IntN(len(genComps))]},
			Areas: []string{c.oktmo}, Lat: c.lat, Lon: c.lon, RadiusKm: float64(15 + rng.IntN(4)*15), MaxOpen: 3 + rng.IntN(5),
			Status: st, Rating: 3 + rng.Float64()*2,
		}
	}
	cats := []Category{}
	for _, c := range genComps {
		cats = append(cats, Category{Code: c, Competence: c, SLAHours: 8})
	}
	d, err := NewDirectory(clients, objects, engs, contacts, cats)
	require.NoError(t, err)
	return d, objects, contacts
}
