package demo

// equipment is a row of equipment.csv: an instrument at one of the demo
// stores, by the store's position in its chain's list.
type equipment struct {
	Client        string
	Store         int // index into objectsOf(Client)
	Serial, Model string
	Kind          string
	Installed     string
	WarrantyUntil string
}

// demoSerial is the serial the demo's two equipment letters name: the first
// with the store's director as sender, the second with only the serial.
const demoSerial = "KB-4471-02918"

var equipmentList = []equipment{
	{"PU", 1, demoSerial, "Ариада ВС-1.2 (витрина холодильная)", "refrigeration", "2023-04-12", "2026-04-12"},
	{"PU", 1, "KB-4471-02919", "Ариада ВС-1.2 (витрина холодильная)", "refrigeration", "2023-04-12", "2026-04-12"},
	{"PU", 4, "SEC-7730-118", "Болид С2000-М (пульт охранной сигнализации)", "security", "2024-02-01", ""},
	{"MG", 0, "LH-49055-1187", "Liebherr GTL 4905 (морозильный ларь)", "refrigeration", "2025-09-01", "2027-09-01"},
	{"PL", 0, "VX520-330-217-884", "Verifone VX520 (платёжный терминал)", "pos_it", "2024-06-15", "2026-06-15"},
	{"OK", 3, "ЩР12-00451", "ЩРн-12 (щит распределительный)", "electrical", "2022-11-20", ""},
}

func (g *gen) equipmentRows() [][]string {
	rows := [][]string{{"client", "object", "serial", "model", "kind", "installed", "warranty_until"}}
	for _, e := range equipmentList {
		o := g.dir.objectsOf(e.Client)[e.Store]
		rows = append(rows, []string{e.Client, o.Code, e.Serial, e.Model, e.Kind, e.Installed, e.WarrantyUntil})
	}
	return rows
}

// equipmentLetters are two letters about the same refrigerated showcase:
// its store's director names it by serial number, then, the next day, a
// technician writes from a private address naming nothing but the serial
// (typed in Cyrillic letters and with spaces), which finds the equipment and,
// through it, the store.
func (g *gen) equipmentLetters() {
	o := g.dir.objectsOf("PU")[1]
	t := at(5, 10, 12, 40)
	first := &order{Client: "PU", Obj: o, Problem: problemByName("showcase")}
	g.freeTicket(t, first, letter{
		Client: "outlook", FromName: o.Director.Full(), From: o.CorpEmail,
		Subject: "Снова витрина",
		Body: "Добрый день!\n\nСнова не холодит витрина молочного отдела, S/N " + demoSerial + ".\n\n" +
			signature(o, "Директор магазина") + "\n",
	}, "free text from store director; equipment named by serial number (S/N)")

	t = at(6, 8, 47, 3)
	second := &order{Client: "PU", Obj: o, Problem: problemByName("showcase")}
	g.freeTicket(t, second, letter{
		Client: "android", FromName: "Сергей Лапин", From: "s.lapin.tech@mail.example",
		Subject: "Витрина не держит температуру",
		Body:    "Здравствуйте.\n\nВитрина опять не держит температуру, заводской номер КВ 4471 02918.\nПриезжайте сегодня.\n\nСергей, техник\n",
	}, "free text from an unknown private address; only the equipment's serial number (Cyrillic look-alikes, spaces) names the store")
}
