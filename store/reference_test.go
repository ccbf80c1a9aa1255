package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/reference"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// Reference fixtures: a small, consistent directory in the layout of the
// production CSV exports. Object 0002 has a two-line address (so it spans
// lines 3-4) and no coordinates.
var refFiles = map[string]string{
	reference.KindClients: `code,name,legal_entities,domains
PU,Торговая сеть «Пятый угол»,ООО «Пятый угол Ритейл»;ООО «Пятый угол Север»,sd.pyatugol.ru; PyatUgol.ru
VR,Магазины «Верный выбор»,ООО «Верный выбор»,vernyvybor.ru
`,
	reference.KindEngineers: `code,name,email,phone,competences,areas,lat,lon,radius_km,max_open,status,rating
ENG-0001,Петров Алексей, Eng0001@Contractors.example ,+7 965 609-73-39,doors;refrigeration,46760000;45000000,55.45575,37.47437,40,8,active,4.47
ENG-0002,Николаев Артём,eng0002@contractors.example,+7 998 546-86-38,pos_it,18701000,48.7734,44.53508,25,6,blacklisted,3.9
`,
	reference.KindObjects: `client,code,name,address,city,region,oktmo,lat,lon,legal_entity,engineer
PU,0001,Пятый угол Пенза №1,"440579, Пензенская обл., г. Пенза, ул. Заводская, д. 67",Пенза,Пензенская обл.,56701000,53.12872,45.09142,ООО «Пятый угол Север»,ENG-0001
PU,0002,Пятый угол Ростов №2,"344285, г. Ростов-на-Дону,
ул. Первомайская, д. 113",Ростов-на-Дону,Ростовская обл.,60701000,,,ООО «Пятый угол Ритейл»,
VR,0101,Верный выбор Саратов №101,"410669, г. Саратов",Саратов,Саратовская обл.,63701000,51.48105,46.14932,ООО «Верный выбор»,ENG-0002
`,
	reference.KindContacts: `client,object,name,role,email,phone
PU,0001,Кузнецова Ольга,store_director,Kuznetsova.O22@mail.example,+7 926 612-15-26
PU,,Козлова Елена,regional_director:Пензенская обл.,rd.000@pyatugol.ru,
VR,0101,Соколова Анна,store_director,sokolova.a1@mail.example,+7 926 931-86-89
`,
	reference.KindCategories: `code,name,competence,sla_hours,keywords
refrigeration,Холодильное оборудование,refrigeration,3,холодил|витрин|лар[ья]
electrical,Электрика,electrical,8.5,электр|розетк
`,
	reference.KindEquipment: `client,object,serial,model,kind,installed,warranty_until
PU,0001,KB-4471-02918,Ариада ВС-1.2,refrigeration,2023-04-12,2026-04-12
VR,0101,ЩР12-00451,ЩРн-12,electrical,2022-11-20,
`,
}

// wantDirectory is refFiles as read back.
var wantDirectory = store.DirectoryData{
	Clients: []routing.Client{
		{Code: "PU", Name: "Торговая сеть «Пятый угол»", LegalEntities: []string{"ООО «Пятый угол Ритейл»", "ООО «Пятый угол Север»"}, Domains: []string{"sd.pyatugol.ru", "pyatugol.ru"}},
		{Code: "VR", Name: "Магазины «Верный выбор»", LegalEntities: []string{"ООО «Верный выбор»"}, Domains: []string{"vernyvybor.ru"}},
	},
	Objects: []routing.Object{
		{Client: "PU", Code: "0001", Name: "Пятый угол Пенза №1", Address: "440579, Пензенская обл., г. Пенза, ул. Заводская, д. 67", City: "Пенза", Region: "Пензенская обл.", OKTMO: "56701000", Lat: 53.12872, Lon: 45.09142, HasGeo: true, LegalEntity: "ООО «Пятый угол Север»", Engineer: "ENG-0001"},
		{Client: "PU", Code: "0002", Name: "Пятый угол Ростов №2", Address: "344285, г. Ростов-на-Дону,\nул. Первомайская, д. 113", City: "Ростов-на-Дону", Region: "Ростовская обл.", OKTMO: "60701000", LegalEntity: "ООО «Пятый угол Ритейл»"},
		{Client: "VR", Code: "0101", Name: "Верный выбор Саратов №101", Address: "410669, г. Саратов", City: "Саратов", Region: "Саратовская обл.", OKTMO: "63701000", Lat: 51.48105, Lon: 46.14932, HasGeo: true, LegalEntity: "ООО «Верный выбор»", Engineer: "ENG-0002"},
	},
	Engineers: []routing.Engineer{
		{Code: "ENG-0001", Name: "Петров Алексей", Email: "eng0001@contractors.example", Phone: "+7 965 609-73-39", Competences: []string{"doors", "refrigeration"}, Areas: []string{"46760000", "45000000"}, Lat: 55.45575, Lon: 37.47437, RadiusKm: 40, MaxOpen: 8, Status: "active", Rating: 4.47},
		{Code: "ENG-0002", Name: "Николаев Артём", Email: "eng0002@contractors.example", Phone: "+7 998 546-86-38", Competences: []string{"pos_it"}, Areas: []string{"18701000"}, Lat: 48.7734, Lon: 44.53508, RadiusKm: 25, MaxOpen: 6, Status: "blacklisted", Rating: 3.9},
	},
	Contacts: []routing.Contact{
		{Client: "PU", Object: "", Name: "Козлова Елена", Role: "regional_director:Пензенская обл.", Email: "rd.000@pyatugol.ru"},
		{Client: "PU", Object: "0001", Name: "Кузнецова Ольга", Role: "store_director", Email: "kuznetsova.o22@mail.example", Phone: "+7 926 612-15-26"},
		{Client: "VR", Object: "0101", Name: "Соколова Анна", Role: "store_director", Email: "sokolova.a1@mail.example", Phone: "+7 926 931-86-89"},
	},
	Categories: []routing.Category{
		{Code: "electrical", Name: "Электрика", Competence: "electrical", SLAHours: 8.5, Keywords: "электр|розетк"},
		{Code: "refrigeration", Name: "Холодильное оборудование", Competence: "refrigeration", SLAHours: 3, Keywords: "холодил|витрин|лар[ья]"},
	},
	Equipment: []routing.Equipment{
		{Client: "PU", Object: "0001", Serial: "KB-4471-02918", Model: "Ариада ВС-1.2", Kind: "refrigeration", Installed: "2023-04-12", WarrantyUntil: "2026-04-12"},
		{Client: "VR", Object: "0101", Serial: "ЩР12-00451", Model: "ЩРн-12", Kind: "electrical", Installed: "2022-11-20"},
	},
}

func importKind(t *testing.T, s *store.Store, kind, data string) store.ImportSummary {
	t.Helper()
	sum, err := s.Import(context.Background(), kind, kind+".csv", strings.NewReader(data), nil)
	require.NoError(t, err, kind)
	return sum
}

func importAll(t *testing.T, s *store.Store) []store.ImportSummary {
	t.Helper()
	var out []store.ImportSummary
	for _, kind := range reference.Kinds() {
		out = append(out, importKind(t, s, kind, refFiles[kind]))
	}
	return out
}

// withLine returns data with its physical line n (1-based) replaced.
func withLine(data string, n int, line string) string {
	lines := strings.Split(data, "\n")
	lines[n-1] = line
	return strings.Join(lines, "\n")
}

// updatedAt returns every reference row's updated_at by table and key.
func updatedAt(t *testing.T, s *store.Store) map[string]time.Time {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), `
		SELECT 'clients/' || code, updated_at FROM clients
		UNION ALL SELECT 'engineers/' || code, updated_at FROM engineers
		UNION ALL SELECT 'objects/' || client || '/' || code, updated_at FROM objects
		UNION ALL SELECT 'contacts/' || client || '/' || object || '/' || email, updated_at FROM contacts
		UNION ALL SELECT 'categories/' || code, updated_at FROM categories`)
	require.NoError(t, err)
	defer rows.Close()
	m := map[string]time.Time{}
	for rows.Next() {
		var k string
		var at time.Time
		require.NoError(t, rows.Scan(&k, &at))
		m[k] = at
	}
	require.NoError(t, rows.Err())
	return m
}

func TestImportAllKindsAndLoadDirectory(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	v0, err := s.DirectoryVersion(ctx)
	require.NoError(t, err)

	sums := importAll(t, s)
	want := map[string]int{reference.KindClients: 2, reference.KindEngineers: 2, reference.KindObjects: 3, reference.KindContacts: 3, reference.KindCategories: 2, reference.KindEquipment: 2}
	for i, sum := range sums {
		assert.Equal(t, store.ImportSummary{
			Kind: sum.Kind, File: sum.Kind + ".csv",
			Rows: want[sum.Kind], Inserted: want[sum.Kind],
			Version: v0 + int64(i) + 1,
		}, sum)
	}

	got, err := s.LoadDirectory(ctx)
	require.NoError(t, err)
	w := wantDirectory
	w.Version = v0 + 6
	require.Equal(t, w, got)

	v, err := s.DirectoryVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, v0+6, v)

	// The objects' engineer is NULL, not '', when there is none: it is a
	// foreign key.
	var nulls int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM objects WHERE engineer IS NULL`).Scan(&nulls))
	require.Equal(t, 1, nulls)
}

func TestReimportChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	importAll(t, s)
	before := updatedAt(t, s)
	v0, err := s.DirectoryVersion(ctx)
	require.NoError(t, err)

	for _, sum := range importAll(t, s) {
		assert.Zero(t, sum.Inserted, sum.Kind)
		assert.Zero(t, sum.Updated, sum.Kind)
		assert.Equal(t, sum.Rows, sum.Unchanged, sum.Kind)
		assert.Equal(t, v0, sum.Version, sum.Kind)
	}
	require.Equal(t, before, updatedAt(t, s))
	v, err := s.DirectoryVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, v0, v)
}

func TestImportUpdatesChangedRowAndNotifies(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	importAll(t, s)
	before := updatedAt(t, s)
	v0, err := s.DirectoryVersion(ctx)
	require.NoError(t, err)

	conn, err := s.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `LISTEN `+store.DirectoryChannel)
	require.NoError(t, err)

	// Engineer ENG-0002 moves from blacklisted to active; ENG-0003 is new.
	data := withLine(refFiles[reference.KindEngineers], 3,
		`ENG-0002,Николаев Артём,eng0002@contractors.example,+7 998 546-86-38,pos_it,18701000,48.7734,44.53508,25,6,active,3.9`)
	data += "ENG-0003,Смирнов Иван,,,electrical,,56.1,40.4,15,3,pending,\n"
	sum := importKind(t, s, reference.KindEngineers, data)
	require.Equal(t, store.ImportSummary{Kind: "engineers", File: "engineers.csv", Rows: 3, Inserted: 1, Updated: 1, Unchanged: 1, Version: v0 + 1}, sum)

	after := updatedAt(t, s)
	assert.Equal(t, before["engineers/ENG-0001"], after["engineers/ENG-0001"])
	assert.True(t, after["engineers/ENG-0002"].After(before["engineers/ENG-0002"]))
	assert.Contains(t, after, "engineers/ENG-0003")

	d, err := s.LoadDirectory(ctx)
	require.NoError(t, err)
	require.Len(t, d.Engineers, 3)
	assert.Equal(t, "active", d.Engineers[1].Status)
	assert.Equal(t, routing.Engineer{Code: "ENG-0003", Name: "Смирнов Иван", Competences: []string{"electrical"}, Areas: []string{}, Lat: 56.1, Lon: 40.4, RadiusKm: 15, MaxOpen: 3, Status: "pending"}, d.Engineers[2])

	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(wctx)
	require.NoError(t, err)
	assert.Equal(t, store.DirectoryChannel, n.Channel)
	assert.Equal(t, strconv.FormatInt(v0+1, 10), n.Payload)
}

// TestImportRefusesBrokenFile: a file reference.Parse refuses, or one naming
// rows that do not exist, imports nothing and leaves the version alone.
// (Parse's own checks are tested in package reference.)
func TestImportRefusesBrokenFile(t *testing.T) {
	objects := refFiles[reference.KindObjects]
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
			name: "unknown client code",
			kind: reference.KindObjects,
			data: withLine(objects, 5, `XX,0101,Верный выбор Саратов №101,"410669, г. Саратов",Саратов,Саратовская обл.,63701000,51.48105,46.14932,ООО «Верный выбор»,ENG-0002`),
			want: `objects.csv:5: client: unknown client "XX"`,
		},
		{
			name: "unknown engineer code, line after a two-line cell",
			kind: reference.KindObjects,
			data: withLine(objects, 5, `VR,0101,Верный выбор Саратов №101,"410669, г. Саратов",Саратов,Саратовская обл.,63701000,51.48105,46.14932,ООО «Верный выбор»,ENG-0999`),
			want: `objects.csv:5: engineer: unknown engineer "ENG-0999"`,
		},
		{
			name: "unknown references in line order",
			kind: reference.KindObjects,
			data: withLine(withLine(objects, 5, `XX,0101,x,,,,,,,,`), 2, `PU,0001,x,,,,,,,,ENG-0999`),
			want: "objects.csv:2: engineer: unknown engineer \"ENG-0999\"\nobjects.csv:5: client: unknown client \"XX\"",
		},
		{
			name: "unknown object for a contact",
			kind: reference.KindContacts,
			data: withLine(refFiles[reference.KindContacts], 4, `VR,0199,Соколова Анна,store_director,sokolova.a1@mail.example,+7 926 931-86-89`),
			want: `contacts.csv:4: object: unknown object "0199" of client "VR"`,
		},
		{
			name: "equipment at an unknown store, of an unknown kind",
			kind: reference.KindEquipment,
			data: withLine(withLine(refFiles[reference.KindEquipment], 2, `PU,0199,KB-4471-02918,m,refrigeration,2023-04-12,`), 3, `VR,0101,ЩР12-00451,m,plumbing,2022-11-20,`),
			want: "equipment.csv:2: object: unknown object \"0199\" of client \"PU\"\nequipment.csv:3: kind: unknown category \"plumbing\" (kind is a category code)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := pgtest.Store(t)
			for _, kind := range reference.Kinds() {
				if kind == tt.kind {
					break
				}
				importKind(t, s, kind, refFiles[kind])
			}
			v0, err := s.DirectoryVersion(ctx)
			require.NoError(t, err)

			sum, err := s.Import(ctx, tt.kind, tt.kind+".csv", strings.NewReader(tt.data), nil)
			require.ErrorIs(t, err, reference.ErrInvalidFile)
			require.Equal(t, tt.want, err.Error())
			assert.Zero(t, sum.Inserted+sum.Updated)

			var n int
			require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM `+tt.kind).Scan(&n))
			assert.Zero(t, n, "rows imported from a refused file")
			v, err := s.DirectoryVersion(ctx)
			require.NoError(t, err)
			assert.Equal(t, v0, v)
		})
	}
}

func TestCopyReference(t *testing.T) {
	ctx := context.Background()
	from, to := pgtest.Store(t), pgtest.Store(t)
	importAll(t, from)
	v0, err := to.DirectoryVersion(ctx)
	require.NoError(t, err)

	require.NoError(t, to.CopyReference(ctx, from))
	src, err := from.LoadDirectory(ctx)
	require.NoError(t, err)
	dst, err := to.LoadDirectory(ctx)
	require.NoError(t, err)
	assert.Equal(t, v0+1, dst.Version)
	src.Version, dst.Version = 0, 0
	require.Equal(t, src, dst)

	// Copying again changes nothing.
	require.NoError(t, to.CopyReference(ctx, from))
	v, err := to.DirectoryVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, v0+1, v)
}
