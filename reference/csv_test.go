package reference_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/routing"
)

// testFile returns testdata/KIND.csv: a small, consistent directory in the
// layout of the production exports. Object 0002 has a two-line address (so
// it spans lines 3-4) and no coordinates.
func testFile(t testing.TB, kind string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", kind+".csv"))
	require.NoError(t, err)
	return string(b)
}

// withLine returns data with its physical line n (1-based) replaced.
func withLine(data string, n int, line string) string {
	lines := strings.Split(data, "\n")
	lines[n-1] = line
	return strings.Join(lines, "\n")
}

func TestParseEveryKind(t *testing.T) {
	sheets := map[string]*reference.Sheet{}
	for _, kind := range reference.Kinds() {
		sh, err := reference.Parse(kind, kind+".csv", strings.NewReader(testFile(t, kind)))
		require.NoError(t, err, kind)
		assert.Equal(t, kind, sh.Kind)
		assert.Equal(t, kind+".csv", sh.File)
		require.Len(t, sh.Values, len(sh.Lines))
		for _, v := range sh.Values {
			require.Len(t, v, len(sh.Columns))
		}
		sheets[kind] = sh
	}

	assert.Equal(t, []routing.Client{
		{Code: "PU", Name: "Торговая сеть «Пятый угол»", LegalEntities: []string{"ООО «Пятый угол Ритейл»", "ООО «Пятый угол Север»"}, Domains: []string{"sd.pyatugol.ru", "pyatugol.ru"}},
		{Code: "VR", Name: "Магазины «Верный выбор»", LegalEntities: []string{"ООО «Верный выбор»"}, Domains: []string{"vernyvybor.ru"}},
	}, sheets[reference.KindClients].Rows)

	objects := sheets[reference.KindObjects]
	assert.Equal(t, []int{2, 3, 5}, objects.Lines, "a row's line is where it starts")
	assert.Equal(t, []routing.Object{
		{Client: "PU", Code: "0001", Name: "Пятый угол Пенза №1", Address: "440579, Пензенская обл., г. Пенза, ул. Заводская, д. 67", City: "Пенза", Region: "Пензенская обл.", OKTMO: "56701000", Lat: 53.12872, Lon: 45.09142, HasGeo: true, LegalEntity: "ООО «Пятый угол Север»", Engineer: "ENG-0001"},
		{Client: "PU", Code: "0002", Name: "Пятый угол Ростов №2", Address: "344285, г. Ростов-на-Дону,\nул. Первомайская, д. 113", City: "Ростов-на-Дону", Region: "Ростовская обл.", OKTMO: "60701000", LegalEntity: "ООО «Пятый угол Ритейл»"},
		{Client: "VR", Code: "0101", Name: "Верный выбор Саратов №101", Address: "410669, г. Саратов", City: "Саратов", Region: "Саратовская обл.", OKTMO: "63701000", Lat: 51.48105, Lon: 46.14932, HasGeo: true, LegalEntity: "ООО «Верный выбор»", Engineer: "ENG-0002"},
	}, objects.Rows)
	assert.Equal(t, []any{"PU", "0002", "Пятый угол Ростов №2", "344285, г. Ростов-на-Дону,\nул. Первомайская, д. 113", "Ростов-на-Дону", "Ростовская обл.", "60701000", nil, nil, "ООО «Пятый угол Ритейл»", ""},
		objects.Values[1], "a store without coordinates has NULL ones")

	engineers := sheets[reference.KindEngineers].Rows.([]routing.Engineer)
	assert.Equal(t, routing.Engineer{Code: "ENG-0001", Name: "Петров Алексей", Email: "eng0001@contractors.example", Phone: "+7 965 609-73-39", Competences: []string{"doors", "refrigeration"}, Areas: []string{"46760000", "45000000"}, Lat: 55.45575, Lon: 37.47437, RadiusKm: 40, MaxOpen: 8, Status: "active", Rating: 4.47}, engineers[0],
		"an email is trimmed and lower-cased")
	contacts := sheets[reference.KindContacts].Rows.([]routing.Contact)
	assert.Equal(t, routing.Contact{Client: "PU", Name: "Козлова Елена", Role: "regional_director:Пензенская обл.", Email: "rd.000@pyatugol.ru"}, contacts[1])
	categories := sheets[reference.KindCategories].Rows.([]routing.Category)
	assert.Equal(t, routing.Category{Code: "electrical", Name: "Электрика", Competence: "electrical", SLAHours: 8.5, Keywords: "электр|розетк"}, categories[1])

	// The directory accepts what Parse accepts.
	_, err := routing.NewDirectory(sheets[reference.KindClients].Rows.([]routing.Client), objects.Rows.([]routing.Object), engineers, contacts, categories)
	require.NoError(t, err)
}

func TestParseRefusesBrokenFile(t *testing.T) {
	objects := testFile(t, reference.KindObjects)
	tests := []struct {
		name string
		kind string
		data string
		want string
	}{
		{
			name: "bad number",
			kind: reference.KindObjects,
			data: withLine(objects, 5, `VR,0101,Верный выбор Саратов №101,"410669, г. Саратов",Саратов,Саратовская обл.,63701000,"55,7x",46.14932,ООО «Верный выбор»,ENG-0002`),
			want: `objects.csv:5: lat: "55,7x" is not a number`,
		},
		{
			name: "bad number on the second line of a two-line row",
			kind: reference.KindObjects,
			data: withLine(objects, 4, `ул. Первомайская, д. 113",Ростов-на-Дону,Ростовская обл.,60701000,"47,2",39.6,ООО «Пятый угол Ритейл»,`),
			want: `objects.csv:4: lat: "47,2" is not a number`,
		},
		{
			name: "coordinate out of range",
			kind: reference.KindObjects,
			data: withLine(objects, 2, `PU,0001,Пятый угол Пенза №1,"Пенза",Пенза,Пензенская обл.,56701000,53.1,245.09,ООО «Пятый угол Север»,ENG-0001`),
			want: `objects.csv:2: lon: 245.09 is out of range -180..180`,
		},
		{
			name: "only one coordinate",
			kind: reference.KindObjects,
			data: withLine(objects, 2, `PU,0001,Пятый угол Пенза №1,"Пенза",Пенза,Пензенская обл.,56701000,53.1,,ООО «Пятый угол Север»,ENG-0001`),
			want: `objects.csv:2: lon: empty, but lat is set (give both or neither)`,
		},
		{
			name: "missing column",
			kind: reference.KindObjects,
			data: "client,code,name,address,city,region,oktmo,lat,legal_entity,engineer\nPU,0001,a,b,c,d,56701000,53.1,e,\n",
			want: `objects.csv:1: lon: missing column`,
		},
		{
			name: "unknown and repeated column",
			kind: reference.KindClients,
			data: "code,name,legal_entities,domains,inn,name\nPU,x,,\n",
			want: "clients.csv:1: inn: unknown column (clients has code,name,legal_entities,domains)\nclients.csv:1: name: repeated column",
		},
		{
			name: "column without a name",
			kind: reference.KindCategories,
			data: "code,name,,competence,sla_hours,keywords\n",
			want: "categories.csv:1: column 3 has no name",
		},
		{
			name: "empty file",
			kind: reference.KindCategories,
			data: "",
			want: "categories.csv:1: empty file, expected the header code,name,competence,sla_hours,keywords",
		},
		{
			name: "domain of two clients",
			kind: reference.KindClients,
			data: testFile(t, reference.KindClients) + "MG,Сеть «Магистраль»,АО «Магистраль Торг»,magistral.ru;PYATUGOL.ru\n",
			want: `clients.csv:4: domains: "pyatugol.ru" is already a domain of client "PU" (line 2)`,
		},
		{
			name: "not a domain",
			kind: reference.KindClients,
			data: "code,name,legal_entities,domains\nPU,Пятый угол,,https://pyatugol.ru\n",
			want: `clients.csv:2: domains: "https://pyatugol.ru" is not a domain name`,
		},
		{
			name: "not UTF-8",
			kind: reference.KindClients,
			data: "code,name,legal_entities,domains\nPU,\xcf\xff,,pyatugol.ru\n",
			want: `clients.csv:2: name: not valid UTF-8 (save the file as UTF-8)`,
		},
		{
			name: "NUL character",
			kind: reference.KindClients,
			data: "code,name,legal_entities,domains\nPU,Пятый\x00угол,,pyatugol.ru\n",
			want: `clients.csv:2: name: contains a NUL character`,
		},
		{
			name: "cell count",
			kind: reference.KindCategories,
			data: "code,name,competence,sla_hours,keywords\nhvac,Вентиляция,hvac,24\n",
			want: `categories.csv:2: 4 cells, the header has 5`,
		},
		{
			name: "required cell",
			kind: reference.KindCategories,
			data: "code,name,competence,sla_hours,keywords\nhvac,Вентиляция,,24,кондиц\n",
			want: `categories.csv:2: competence: required, but empty`,
		},
		{
			name: "hours not positive",
			kind: reference.KindCategories,
			data: "code,name,competence,sla_hours,keywords\nhvac,Вентиляция,hvac,0,кондиц\n",
			want: `categories.csv:2: sla_hours: 0 is not a positive number of hours`,
		},
		{
			name: "bad keywords",
			kind: reference.KindCategories,
			data: "code,name,competence,sla_hours,keywords\nhvac,Вентиляция,hvac,24,кондиц|вент[\n",
			want: "categories.csv:2: keywords: not a regular expression: missing closing ]: `[`",
		},
		{
			name: "duplicate object",
			kind: reference.KindObjects,
			data: objects + "PU,0001,Пятый угол Пенза №1 (дубль),,,,,,,,\n",
			want: `objects.csv:6: code: duplicate "0001" (client "PU"), first on line 2`,
		},
		{
			name: "duplicate object code written with look-alike letters",
			kind: reference.KindObjects,
			data: "client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer\nPL,ГМ-001,a,,,,,,,,\nPL,гм 001,b,,,,,,,,\n",
			want: `objects.csv:3: code: duplicate "гм 001" (client "PL"), first on line 2`,
		},
		{
			name: "bad OKTMO",
			kind: reference.KindObjects,
			data: "client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer\nPU,0001,a,,,,5670-1000,,,,\n",
			want: `objects.csv:2: oktmo: "5670-1000" is not an OKTMO code (digits only)`,
		},
		{
			name: "bad status",
			kind: reference.KindEngineers,
			data: withLine(testFile(t, reference.KindEngineers), 3, `ENG-0002,Николаев Артём,eng0002@contractors.example,+7 998 546-86-38,pos_it,18701000,48.7734,44.53508,25,6,retired,3.9`),
			want: `engineers.csv:3: status: "retired" is not one of active, pending, blacklisted`,
		},
		{
			name: "bad whole number and email",
			kind: reference.KindEngineers,
			data: withLine(testFile(t, reference.KindEngineers), 3, `ENG-0002,Николаев Артём,eng0002.contractors.example,+7 998 546-86-38,pos_it,18701000,48.7734,44.53508,25,6.5,active,3.9`),
			want: "engineers.csv:3: email: \"eng0002.contractors.example\" is not an email address\nengineers.csv:3: max_open: \"6.5\" is not a whole number",
		},
		{
			name: "whole number too large for the column",
			kind: reference.KindEngineers,
			data: withLine(testFile(t, reference.KindEngineers), 3, `ENG-0002,Николаев Артём,eng0002@contractors.example,+7 998 546-86-38,pos_it,18701000,48.7734,44.53508,25,4294967302,active,3.9`),
			want: `engineers.csv:3: max_open: 4294967302 is too large`,
		},
		{
			name: "engineer without a location",
			kind: reference.KindEngineers,
			data: withLine(testFile(t, reference.KindEngineers), 3, `ENG-0002,Николаев Артём,eng0002@contractors.example,+7 998 546-86-38,pos_it,18701000,,,25,6,active,-3.9`),
			want: "engineers.csv:3: rating: -3.9 is negative\nengineers.csv:3: lat: required, but empty",
		},
		{
			name: "bad phone",
			kind: reference.KindContacts,
			data: withLine(testFile(t, reference.KindContacts), 2, `PU,0001,Кузнецова Ольга,store_director,kuznetsova.o22@mail.example,12-34`),
			want: `contacts.csv:2: phone: "12-34" is not a valid phone number`,
		},
		{
			name: "contact without email or phone",
			kind: reference.KindContacts,
			data: withLine(testFile(t, reference.KindContacts), 2, `PU,0001,Кузнецова Ольга,store_director,,`),
			want: `contacts.csv:2: email: required when there is no phone`,
		},
		{
			name: "unterminated quote",
			kind: reference.KindObjects,
			data: objects + "VR,0102,\"Верный выбор\n",
			want: "objects.csv:6: malformed CSV: extraneous or missing \" in quoted-field (at byte 34 of the line)",
		},
		{
			name: "long value clipped",
			kind: reference.KindEngineers,
			data: withLine(testFile(t, reference.KindEngineers), 2, `ENG-0001,Петров Алексей,eng0001@contractors.example,+7 965 609-73-39,doors,46760000,55.45575,37.47437,`+strings.Repeat("сорок", 20)+`,8,active,4.47`),
			want: `engineers.csv:2: radius_km: "` + strings.Repeat("сорок", 12) + `…" is not a number`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh, err := reference.Parse(tt.kind, tt.kind+".csv", strings.NewReader(tt.data))
			require.ErrorIs(t, err, reference.ErrInvalidFile)
			require.Equal(t, tt.want, err.Error())
			assert.Nil(t, sh)
		})
	}
}

func TestParseStopsAfterTwentyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("code,name,competence,sla_hours,keywords\n")
	for i := range 30 {
		fmt.Fprintf(&b, "c%d,n,comp,soon,\n", i)
	}
	_, err := reference.Parse(reference.KindCategories, "categories.csv", strings.NewReader(b.String()))
	var fe *reference.FileError
	require.True(t, errors.As(err, &fe))
	require.Len(t, fe.Problems, reference.MaxProblems)
	assert.True(t, fe.Truncated)
	assert.Equal(t, reference.LineError{File: "categories.csv", Line: 21, Column: "sla_hours", Msg: `"soon" is not a number`}, fe.Problems[19])
	assert.True(t, strings.HasSuffix(err.Error(), "\ncategories.csv: stopped after 20 problems"))
}

func TestParseHeaderOrderAndBOM(t *testing.T) {
	data := "\ufeffDomains,code, name ,legal_entities\r\nx.ru;Y.ru,AA,Имя,ООО «А»\r\n,,,\r\n , ,,\r\n"
	sh, err := reference.Parse(reference.KindClients, "clients.csv", strings.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, []routing.Client{{Code: "AA", Name: "Имя", LegalEntities: []string{"ООО «А»"}, Domains: []string{"x.ru", "y.ru"}}}, sh.Rows)
	assert.Equal(t, [][]any{{"AA", "Имя", []string{"ООО «А»"}, []string{"x.ru", "y.ru"}}}, sh.Values, "values follow Columns, not the file's order")

	_, err = reference.Parse("stores", "stores.csv", strings.NewReader(data))
	require.EqualError(t, err, `unknown reference kind "stores" (want one of clients, engineers, objects, contacts, categories, equipment)`)
	assert.NotErrorIs(t, err, reference.ErrInvalidFile, "a wrong kind is the caller's mistake, not the file's")
}

// TestSheetOfMatchesParse: rows read back from a database make the same
// table values as the file they came from, so copying reference data from
// one database to another stores what importing the files would.
func TestSheetOfMatchesParse(t *testing.T) {
	for _, kind := range reference.Kinds() {
		parsed, err := reference.Parse(kind, kind+".csv", strings.NewReader(testFile(t, kind)))
		require.NoError(t, err)
		var copied *reference.Sheet
		switch rows := parsed.Rows.(type) {
		case []routing.Client:
			copied = reference.SheetOf("source", rows)
		case []routing.Engineer:
			copied = reference.SheetOf("source", rows)
		case []routing.Object:
			copied = reference.SheetOf("source", rows)
		case []routing.Contact:
			copied = reference.SheetOf("source", rows)
		case []routing.Category:
			copied = reference.SheetOf("source", rows)
		case []routing.Equipment:
			copied = reference.SheetOf("source", rows)
		}
		require.NotNil(t, copied, kind)
		assert.Equal(t, kind, copied.Kind)
		assert.Equal(t, parsed.Columns, copied.Columns)
		assert.Equal(t, parsed.Values, copied.Values, kind)
	}
	empty := reference.SheetOf[routing.Contact]("source", nil)
	assert.Equal(t, reference.KindContacts, empty.Kind, "an empty sheet still has its kind")
	assert.Empty(t, empty.Values)
}

func TestRefuse(t *testing.T) {
	require.NoError(t, reference.Refuse("objects.csv", nil))

	var list []reference.LineError
	for i := range 25 {
		list = append(list, reference.LineError{File: "objects.csv", Line: i + 2, Column: "client", Msg: `unknown client "XX"`})
	}
	err := reference.Refuse("objects.csv", list)
	require.ErrorIs(t, err, reference.ErrInvalidFile)
	var fe *reference.FileError
	require.True(t, errors.As(err, &fe))
	assert.Len(t, fe.Problems, reference.MaxProblems)
	assert.True(t, fe.Truncated)
	assert.True(t, strings.HasPrefix(err.Error(), "objects.csv:2: client: unknown client \"XX\"\nobjects.csv:3: client:"))
}

// Equipment: dates are YYYY-MM-DD, the warranty may be unknown but not end
// before the installation, and a serial must be findable in a message.
func TestParseEquipment(t *testing.T) {
	sh, err := reference.Parse(reference.KindEquipment, "equipment.csv", strings.NewReader(testFile(t, reference.KindEquipment)))
	require.NoError(t, err)
	assert.Equal(t, []routing.Equipment{
		{Client: "PU", Object: "0001", Serial: "KB-4471-02918", Model: "Ариада ВС-1.2", Kind: "refrigeration", Installed: "2023-04-12", WarrantyUntil: "2026-04-12"},
		{Client: "VR", Object: "0101", Serial: "ЩР12-00451", Model: "ЩРн-12", Kind: "electrical", Installed: "2022-11-20"},
	}, sh.Rows)

	bad := "client,object,serial,model,kind,installed,warranty_until\n" +
		"PU,0001,KB-1,m,refrigeration,2023-04-12,\n" +
		"PU,0001,ABCDEF,m,refrigeration,2023-04-12,\n" +
		"PU,0001,X-100200,m,refrigeration,12.04.2023,\n" +
		"PU,0001,X-100201,m,refrigeration,2023-04-12,2022-01-01\n" +
		"PU,0001,X-100300,m,refrigeration,2023-04-12,\n" +
		"PU,0001,х 100 300,m,refrigeration,2023-04-12,\n" +
		"PU,,X-100202,m,,2023-04-12,\n"
	_, err = reference.Parse(reference.KindEquipment, "equipment.csv", strings.NewReader(bad))
	require.ErrorIs(t, err, reference.ErrInvalidFile)
	assert.Equal(t, `equipment.csv:2: serial: "KB-1" is too short to be found in messages (at least 4 letters or digits)
equipment.csv:3: serial: "ABCDEF" has no digit: it could not be told from a word
equipment.csv:4: installed: "12.04.2023" is not a date YYYY-MM-DD
equipment.csv:5: warranty_until: 2022-01-01 is before the installation date 2023-04-12
equipment.csv:7: serial: duplicate "х 100 300" (client "PU"), first on line 6
equipment.csv:8: object: required, but empty
equipment.csv:8: kind: required, but empty`, err.Error())
}
