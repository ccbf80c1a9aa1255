package parsers

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizePriority(t *testing.T) {
	pl := map[string]string{"Критический": "critical", "Высокий": "high", "Средний": "normal", "Низкий": "low"}
	jira := map[string]string{"Highest": "critical", "High": "high", "Medium": "normal", "Low": "low"}
	cases := []struct {
		name, in string
		m        map[string]string
		want     string
	}{
		{"plain", "Высокий", pl, "high"},
		{"case", "высокий", pl, "high"},
		{"numbered", "1 - Критический", pl, "critical"},
		{"numbered no spaces", "3-Средний", pl, "normal"},
		{"change", "Высокий (был: Средний)", pl, "high"},
		{"numbered change", "2 - Высокий (было: 3 - Средний)", pl, "high"},
		{"english", "Highest  (было: High)", jira, "critical"},
		{"our value", "low", nil, "low"},
		{"unknown", "Когда-нибудь", pl, ""},
		{"empty", "", pl, ""},
		{"extra spaces", "  Низкий  ", pl, "low"},
		{"first word", "Высокий, влияет на продажи", pl, "high"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, NormalizePriority(tc.in, tc.m))
		})
	}
}

func TestFoldLookalikes(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ГМ-106", "ГM-106"},
		{"ГM-106", "ГM-106"},
		{"ок-054", "OK-054"},
		{"OK-054", "OK-054"},
		{"ТТ №123", "TT №123"},
		{"АВЕКМНОРСТХУ", "ABEKMHOPCTXY"},
		{"mg-04-844", "MG-04-844"},
		{"MG 30/454", "MG 30/454"}, // separators are kept: stripping them is routing.CodeKey's job
		{"МG 30/454", "MG 30/454"}, // Cyrillic М
		{"мг 30/454", "MГ 30/454"}, // Г has no Latin twin
		{"Ѕ-І-Ј", "S-I-J"},
		{"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, FoldLookalikes(tc.in))
		})
	}
}

func TestLookalikeRegexp(t *testing.T) {
	re, err := compileLookalikeRegexp(`ГМ-\d{3}`)
	require.NoError(t, err)
	assert.Equal(t, "ГM-227", re.FindString("Магазин: ГM-227 Полоса")) // Latin M
	assert.Equal(t, "ГМ-106", re.FindString("ГМ-106"))
	re, err = compileLookalikeRegexp(`OK-\d{3}`)
	require.NoError(t, err)
	assert.Equal(t, "ОК-054", re.FindString("магазин ОК-054 (кириллица)"))
	_, err = compileLookalikeRegexp(`(`)
	assert.Error(t, err)
}

func TestNormalizePhone(t *testing.T) {
	cases := []struct{ in, want string }{
		{"+7 966 449-31-17", "+79664493117"},
		{"8 (912) 345-67-89", "+79123456789"},
		{"+7(495)123-45-67", "+74951234567"},
		{"89123456789", "+79123456789"},
		{"9123456789", "+79123456789"},
		{"+375 29 123-45-67", "+375291234567"},
		// Codes that libphonenumber does not list as assigned are still
		// numbers: any ten digits from 3 to 9 after +7 or 8.
		{"+7 (399) 123-45-67", "+73991234567"},
		{"8 (399) 123-45-67", "+73991234567"},
		{"8-399-123-45-67", "+73991234567"},
		{"+7 399 1234567", "+73991234567"},
		{"8 800 555-35-35", "+78005553535"},
		{"+7 (099) 123-45-67", ""},
		// An extension is a line behind the number, not part of it; a field
		// holding one is not a phone (FindPhones still finds the number in text).
		{"+7 (399) 123-45-67 доб. 123", ""},
		{"+7 399 123-45-67 ext 12", ""},
		{"123-45-67", ""},
		{"89991234567890", ""},
		{"00000045097", ""},
		{"WO0000000948256", ""},
		{"12345", ""},
		{"", ""},
		{"тел. 123", ""},
		{"garbage", ""},
		{"+7 (9ХХ) 123-45-67", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, NormalizePhone(tc.in))
		})
	}
}

func TestFindPhones(t *testing.T) {
	text := "Заявитель: Иванова Светлана, +7 966 449-31-17\nОбращение N 00000045097 от 05.11.2026 10:38:52\n" +
		"Дата: 02.11.2026 10:05:26\nтел. 8 (912) 345-67-89, ещё раз +7 966 449-31-17\nИндекс 634547"
	assert.Equal(t, []string{"+79664493117", "+79123456789"}, FindPhones(text))
	assert.Empty(t, FindPhones("Номер рабочего заказа: WO0000000948256"))
	assert.Equal(t, []string{"+73991234567"}, FindPhones("тел. +7 (399) 123-45-67 доб. 123"))
}

func TestCategoryMatcher(t *testing.T) {
	m, err := CompileCategories(testCategories)
	require.NoError(t, err)
	cases := []struct {
		name          string
		subject, body string
		want          string
	}{
		{"fridge", "Не холодит витрина", "", "refrigeration"},
		{"yo folded", "", "течет фреон из витрины", "refrigeration"},
		{"longer keyword wins a tie", "", "не работают камеры наблюдения", "security"},
		{"subject weighs more", "Не горит свет в зале", "после замены проводки", "lighting"},
		{"nothing", "Вопрос", "по договору", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, m.Match(2, tc.subject, 1, tc.body))
		})
	}
	_, err = CompileCategories([]CategoryKeywords{{Code: "x", Keywords: "("}})
	assert.Error(t, err)
	var nilMatcher *CategoryMatcher
	assert.Equal(t, "", nilMatcher.Match(1, "холодильник"))
}

// testCategories mirrors the shape of categories.csv.
var testCategories = []CategoryKeywords{
	{Code: "refrigeration", Name: "Холодильное оборудование", Keywords: "холодил|витрин|камер|морозил|ларь|температур|компрессор|не холодит|течёт фреон|лар[ья]"},
	{Code: "electrical", Name: "Электрика", Keywords: "электр|розетк|щит|автомат выбило|нет света|проводк|искрит"},
	{Code: "lighting", Name: "Освещение", Keywords: "ламп|светильник|освещен|не горит|моргает"},
	{Code: "plumbing", Name: "Сантехника", Keywords: "сантех|кран|протеч|засор|канализац|унитаз|раковин|вод[аы]"},
	{Code: "hvac", Name: "Вентиляция и кондиционирование", Keywords: "кондиц|вентиляц|сплит|жарко|тепловая завеса"},
	{Code: "pos_it", Name: "Кассовое оборудование и ИТ", Keywords: "касс|терминал|сканер|принтер чеков|фискал|эквайринг|pos"},
	{Code: "doors", Name: "Входная группа и двери", Keywords: "двер|входн.. групп|доводчик|автоматическ.. двер|ролл?ет|ворот"},
	{Code: "construction", Name: "Ремонт помещений", Keywords: "плитк|потол|покраск|штукатур|пол |стен[аы]|ремонт помещ"},
	{Code: "security", Name: "Охранные системы", Keywords: "видеонаблюд|камер[аы] наблюд|сигнализац|охран|домофон"},
}
