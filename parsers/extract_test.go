package parsers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func mustFormat(t testing.TB, src string) *Format {
	t.Helper()
	var spec FormatSpec
	require.NoError(t, yaml.Unmarshal([]byte(src), &spec))
	f, err := CompileFormat(spec)
	require.NoError(t, err)
	return f
}

func TestExtractorKinds(t *testing.T) {
	doc := &Document{
		Subject: "Заявка WO0000000123456 назначена: течёт кран",
		Text: "Уважаемые коллеги!\n\n" +
			"Номер заказа:   WO0000000123456\n" +
			"ПРИОРИТЕТ ......: Высокий\n" +
			"Магазин - 0042 Пример №42\n" +
			"Адрес:\n  123456, г. Город, ул. Улица, д. 1\n" +
			"> Срок:  21.11.2026 14:00\n" +
			"Описание:\n-----\n",
		NewText: "Уважаемые коллеги!",
		Tables:  [][][]string{{{"Номер", "Тип"}, {"1", "2"}}, {{"Статус:", "", "В работе (был: Новый)"}, {"Услуга"}, {"Сантехника"}}},
		Attachments: []Attachment{
			{Name: "order.xml", Text: `<?xml version="1.0" encoding="windows-1251"?>` +
				"<Заявка><Номер>ЗНО-1</Номер><Магазин><Код>DM/0001</Код></Магазин><Категория Код=\"СТ\">Сантехника</Категория>" +
				"<Пусто></Пусто><Пусто>второй</Пусто></Заявка>"},
			{Name: "order.json", Text: `{"order": {"id": 77, "shop": {"code": "X-1"}, "items": [{"sku": "a"}, {"sku": "b"}], "urgent": true}}`},
		},
	}
	cases := []struct {
		name string
		spec string
		want string
	}{
		{"label", `labels: [Номер заказа]`, "WO0000000123456"},
		{"label any case and dotted leader", `labels: [Приоритет]`, "Высокий"},
		{"label with dash", `labels: [Магазин]`, "0042 Пример №42"},
		{"label value on next line", `labels: [Адрес]`, "123456, г. Город, ул. Улица, д. 1"},
		{"label in a quote", `labels: [Срок]`, "21.11.2026 14:00"},
		{"label followed by a rule is empty", `labels: [Описание]`, ""},
		{"synonyms in order", `labels: [Нет такого, Номер заказа]`, "WO0000000123456"},
		{"label with pattern", "labels: [Магазин]\npattern: '^(?P<value>\\d{4})'", "0042"},
		{"label not a prefix of a longer label", `labels: [Номер]`, ""},
		{"table next non-empty cell", "table: [Статус]\nnormalize: [strip_parens]", "В работе"},
		{"table cell below", `table: [Услуга]`, "Сантехника"},
		{"regex named group", "regex: '(?P<value>WO\\d+)'\nin: subject", "WO0000000123456"},
		{"regex whole match", "regex: 'кран'\nin: subject", "кран"},
		{"regex new_text", "regex: 'WO\\d+'\nin: new_text", ""},
		{"regex attachment", "regex: 'ЗНО-\\d+'\nin: attachment\nattachment: '*.xml'", "ЗНО-1"},
		{"xpath absolute", `xpath: /Заявка/Номер`, "ЗНО-1"},
		{"xpath descendant", `xpath: //Код`, "DM/0001"},
		{"xpath attribute", `xpath: //Категория/@Код`, "СТ"},
		{"xpath text()", `xpath: /Заявка/Магазин/Код/text()`, "DM/0001"},
		{"xpath skips empty", `xpath: //Пусто`, "второй"},
		{"xpath glob excludes", "xpath: //Номер\nattachment: '*.json'", ""},
		{"json", `json: order.shop.code`, "X-1"},
		{"json number", `json: order.id`, "77"},
		{"json index", `json: order.items.1.sku`, "b"},
		{"json bool", `json: order.urgent`, "true"},
		{"json missing", `json: order.nothing`, ""},
		{"normalize", "labels: [Магазин]\nnormalize: [upper, fold_lookalikes, digits]", "004242"},
		{"first_line and collapse", "regex: '(?s)Номер заказа:(?P<value>.*)'\nnormalize: [first_line, collapse_spaces]", "WO0000000123456"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFormat(t, "name: t\nfields:\n  x:\n"+indent(tc.spec, "    "))
			got := f.Extract(doc, ExtractContext{})
			assert.Equal(t, tc.want, got.Extra["x"])
		})
	}
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestExtractorListFirstNonEmptyWins(t *testing.T) {
	f := mustFormat(t, `
name: t
fields:
  external_id:
    - labels: [Номер]
    - regex: '№\s*(?P<value>\d+)'
      in: subject
    - regex: '\d+'
`)
	got := f.Extract(&Document{Subject: "Запрос №310536: засор", Text: "нет номера 42"}, ExtractContext{})
	assert.Equal(t, "310536", got.ExternalID)
	assert.Equal(t, []string{"310536"}, got.Refs)
}

func TestExtractMapsFields(t *testing.T) {
	cats, err := CompileCategories(testCategories)
	require.NoError(t, err)
	f := mustFormat(t, `
name: t
client: XX
code_pattern: 'ГМ-\d{3}'
fields:
  object_code: {labels: [Магазин]}
  category: {labels: [Подкатегория, Категория]}
  priority: {labels: [Приоритет]}
  due: {labels: [Срок]}
  phone: {labels: [Заявитель]}
  problem: {labels: [Тема]}
priorities: {Высокий: high}
categories:
  Холодильное оборудование: refrigeration
  ККТ и POS: pos_it
events:
  'отмен': cancelled
  'назначен': new
`)
	x := ExtractContext{Categories: cats}
	got := f.Extract(&Document{
		Subject: "Инцидент назначен",
		Text: "Магазин: ГM-227 Полоса №227\nКатегория: Инженерные системы\nПодкатегория: ккт  и pos\n" +
			"Приоритет: 2 - Высокий\nСрок: 2026-11-07 08:00:00 MSK\nЗаявитель: Иванов, +7 966 449-31-17\nТема: не работает касса",
	}, x)
	assert.Equal(t, "XX", got.Client)
	assert.Equal(t, "t", got.Format)
	assert.Equal(t, "ГM-227", got.ObjectCode)
	assert.Equal(t, "pos_it", got.Category)
	assert.Equal(t, "ккт  и pos", got.CategoryRaw)
	assert.Equal(t, "high", got.Priority)
	require.NotNil(t, got.Due)
	assert.Equal(t, "2026-11-07T08:00:00+03:00", got.Due.Format(time.RFC3339))
	assert.Equal(t, []string{"+79664493117"}, got.Phones)
	assert.Equal(t, "new", got.Event)

	// Unmapped client category: our category names, then keywords over the
	// problem.
	got = f.Extract(&Document{Subject: "Инцидент отменён", Text: "Категория: Инженерные системы\nТема: течёт кран на мойке"}, x)
	assert.Equal(t, "plumbing", got.Category)
	assert.Equal(t, "cancelled", got.Event)
	got = f.Extract(&Document{Text: "Категория: Освещение"}, x)
	assert.Equal(t, "lighting", got.Category)

	// The code is found in the subject when there is no field.
	got = f.Extract(&Document{Subject: "Заявка ГМ-106: свет"}, x)
	assert.Equal(t, "ГМ-106", got.ObjectCode)
}

func TestExtractForwarded(t *testing.T) {
	f := mustFormat(t, `
name: t
fields:
  external_id:
    - labels: [Номер]
    - regex: 'ЗНО-\d+'
      in: subject
  priority: {labels: [Приоритет]}
  address: {labels: [Адрес]}
priorities: {Срочная: high}
`)
	inner := &Document{Subject: "Заявка ЗНО-1", Text: "Номер: ЗНО-1\nПриоритет: Срочная"}
	outer := &Document{Subject: "FW: Заявка ЗНО-1", Text: "Вам пришло?\nАдрес: где-то", Forwarded: inner}
	got := f.Extract(outer, ExtractContext{})
	assert.Equal(t, "ЗНО-1", got.ExternalID)
	assert.Equal(t, "high", got.Priority)
	assert.Equal(t, "где-то", got.Address, "the outer message fills what the inner lacks")

	// A different number outside: the outer message is what was sent.
	outer.Subject = "FW: Заявка ЗНО-2"
	got = f.Extract(outer, ExtractContext{})
	assert.Equal(t, "ЗНО-2", got.ExternalID)
	assert.Equal(t, "", got.Priority)

	assert.Equal(t, "t", f.Extract(nil, ExtractContext{}).Format)
}

func TestEventsKeepOrder(t *testing.T) {
	f := mustFormat(t, `
name: t
events_in: all
events:
  'создал': new
  'Статус:\s*Отмен': cancelled
  'обновил': update
`)
	assert.Equal(t, "cancelled", f.Extract(&Document{Text: "Иван обновил(а) X-1\nСтатус: Отменена"}, ExtractContext{}).Event)
	assert.Equal(t, "update", f.Extract(&Document{Text: "Иван обновил(а) X-1\nСрок: завтра"}, ExtractContext{}).Event)
	assert.Equal(t, "", f.Extract(&Document{Text: "ничего"}, ExtractContext{}).Event)
	out, err := yaml.Marshal(f.Spec().Events)
	require.NoError(t, err)
	assert.Equal(t, "создал: new\nСтатус:\\s*Отмен: cancelled\nобновил: update\n", string(out))
}

func TestCompileFormatErrors(t *testing.T) {
	cases := []struct {
		name, src  string
		field, key string
	}{
		{"no name", "fields: {}", "name", ""},
		{"bad regex", "name: t\nfields:\n  x: {regex: '('}", "x", "regex"},
		{"bad pattern", "name: t\nfields:\n  x: {labels: [a], pattern: '[z-a]'}", "x", "pattern"},
		{"two kinds", "name: t\nfields:\n  x: {labels: [a], regex: b}", "x", ""},
		{"no kind", "name: t\nfields:\n  x: {normalize: [trim]}", "x", ""},
		{"bad in", "name: t\nfields:\n  x: {regex: a, in: body}", "x", "in"},
		{"in on labels", "name: t\nfields:\n  x: {labels: [a], in: subject}", "x", "in"},
		{"bad normalize", "name: t\nfields:\n  x: {labels: [a], normalize: [shout]}", "x", "normalize"},
		{"bad xpath", "name: t\nfields:\n  x: {xpath: '/a[1]'}", "x", "xpath"},
		{"attr not last", "name: t\nfields:\n  x: {xpath: '/a/@b/c'}", "x", "xpath"},
		{"bad json", "name: t\nfields:\n  x: {json: 'a..b'}", "x", "json"},
		{"bad glob", "name: t\nfields:\n  x: {xpath: /a, attachment: '[x'}", "x", "attachment"},
		{"bad priority", "name: t\npriorities: {Высокий: urgent}", "priorities", "Высокий"},
		{"bad event", "name: t\nevents: {'x': opened}", "events", "x"},
		{"bad event regex", "name: t\nevents: {'(': new}", "events", "("},
		{"bad timezone", "name: t\ntimezone: Mars/Olympus", "timezone", ""},
		{"bad code pattern", "name: t\ncode_pattern: '('", "code_pattern", ""},
		{"bad events_in", "name: t\nevents_in: body", "events_in", ""},
		{"empty category code", "name: t\ncategories: {Свет: ''}", "categories", "Свет"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var spec FormatSpec
			require.NoError(t, yaml.Unmarshal([]byte(tc.src), &spec))
			_, err := CompileFormat(spec)
			require.Error(t, err)
			var se *SpecError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.field, se.Field)
			assert.Equal(t, tc.key, se.Key)
			assert.NotEmpty(t, se.Msg)
		})
	}
}

// TestDefaultFormats runs the shipped formats over hand-written
// notifications in each client's layout.
func TestDefaultFormats(t *testing.T) {
	cats, err := CompileCategories(testCategories)
	require.NoError(t, err)
	formats := map[string]*Format{}
	files, err := filepath.Glob("../rules/defaults/formats/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 6)
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		var doc struct {
			Formats []FormatSpec `yaml:"formats"`
		}
		require.NoError(t, yaml.Unmarshal(b, &doc), file)
		for _, spec := range doc.Formats {
			f, err := CompileFormat(spec)
			require.NoError(t, err, file)
			assert.NotEmpty(t, spec.Match, file)
			formats[spec.Client] = f
		}
	}
	for _, tc := range formatFixtures {
		t.Run(tc.name, func(t *testing.T) {
			f := formats[tc.client]
			require.NotNil(t, f)
			got := f.Extract(tc.doc, ExtractContext{Categories: cats, Now: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)})
			due := ""
			if got.Due != nil {
				due = got.Due.Format(time.RFC3339)
			}
			assert.Equal(t, tc.want, expected{got.ExternalID, got.ObjectCode, got.Category, got.Priority, due, got.Event})
		})
	}
}

func TestFindRefsWithYear(t *testing.T) {
	text := "По обращению ZT-2026-000118 инженер был, см. также INC0529724; магазин ZT-MSK-0042"
	refs := FindRefs(text)
	assert.Equal(t, []string{"ZT-2026-000118", "INC0529724"}, refs)
	assert.NotContains(t, FindCodes(text, refs), "ZT-2026")
}
