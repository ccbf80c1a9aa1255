package routing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/routing"
)

func equipmentDirectory(t *testing.T) *routing.Directory {
	t.Helper()
	d, err := routing.NewDirectory(
		[]routing.Client{{Code: "PU", Name: "Пятый угол"}, {Code: "VR", Name: "Верный выбор"}},
		[]routing.Object{{Client: "PU", Code: "0127"}, {Client: "PU", Code: "0128"}, {Client: "VR", Code: "0101"}},
		nil, nil, []routing.Category{{Code: "refrigeration", Name: "Холод", Competence: "refrigeration", SLAHours: 4}})
	require.NoError(t, err)
	d, err = d.WithEquipment([]routing.Equipment{
		{Client: "PU", Object: "0127", Serial: "KB-4471-02918", Kind: "refrigeration", WarrantyUntil: "2026-11-04"},
		{Client: "PU", Object: "0128", Serial: "SN-77120", Kind: "refrigeration"},
		{Client: "VR", Object: "0101", Serial: "SN-77120", Kind: "refrigeration"},
	})
	require.NoError(t, err)
	return d
}

func TestFindEquipment(t *testing.T) {
	d := equipmentDirectory(t)
	cases := []struct {
		name, client, text  string
		serial, source, how string
		object              string
	}{
		{"S/N label", "", "Не холодит витрина, S/N: KB-4471-02918.", "KB-4471-02918", "text", routing.SerialByLabel, "0127"},
		{"SN label", "", "SN KB447102918 сломан", "KB447102918", "text", routing.SerialByLabel, "0127"},
		{"зав. №", "", "зав. № КВ 4471 02918 не работает", "КВ 4471 02918", "text", routing.SerialByLabel, "0127"},
		{"заводской номер", "", "заводской номер: kb-4471-02918", "kb-4471-02918", "text", routing.SerialByLabel, "0127"},
		{"серийный номер", "", "Серийный номер KB–4471–02918", "KB–4471–02918", "text", routing.SerialByLabel, "0127"},
		{"bare token with Cyrillic look-alikes and spaces", "", "витрина КВ 4471 02918 опять течёт", "КВ 4471 02918", "text", routing.SerialByToken, "0127"},
		{"a serial of two clients needs the client", "VR", "S/N SN-77120", "SN-77120", "text", routing.SerialByLabel, "0101"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := d.FindEquipment(tc.client, []routing.SerialSource{{Name: "subject", Text: "Заявка"}, {Name: "text", Text: tc.text}})
			require.NotNil(t, m.Equipment, "%+v", m)
			assert.Equal(t, tc.serial, m.Serial)
			assert.Equal(t, tc.source, m.Source)
			assert.Equal(t, tc.how, m.How)
			assert.Equal(t, tc.object, m.Equipment.Object)
		})
	}

	m := d.FindEquipment("", []routing.SerialSource{{Name: "text", Text: "S/N SN-77120"}})
	assert.Nil(t, m.Equipment, "registered for two clients, none known")
	assert.Equal(t, []string{"PU", "VR"}, m.Ambiguous)

	m = d.FindEquipment("", []routing.SerialSource{{Name: "text", Text: "S/N ZZ-000111 и заказ 4471"}})
	assert.Nil(t, m.Equipment)
	assert.Equal(t, []string{"ZZ-000111"}, m.Unknown, "a labelled serial not registered is reported")

	m = d.FindEquipment("", []routing.SerialSource{{Name: "field", Text: "kb 4471 02918", Field: true}})
	require.NotNil(t, m.Equipment)
	assert.Equal(t, routing.SerialByField, m.How)

	m = d.FindEquipment("PU", []routing.SerialSource{{Name: "text", Text: "магазин 0127, телефон 4471 02918"}})
	assert.Nil(t, m.Equipment, "the serial's digits without its letters are not the serial")
}

func TestWarranty(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	e := routing.Equipment{WarrantyUntil: "2026-11-04"}
	assert.True(t, e.UnderWarranty(time.Date(2026, 11, 4, 20, 59, 0, 0, time.UTC), msk), "the last day counts")
	assert.False(t, e.UnderWarranty(time.Date(2026, 11, 4, 21, 0, 0, 0, time.UTC), msk), "the next day in Moscow")
	assert.False(t, routing.Equipment{}.UnderWarranty(time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC), msk), "unknown is not under warranty")
}

// FuzzFindEquipment: any text is searched without a panic, and whatever
// binds is registered equipment whose serial key the text holds.
func FuzzFindEquipment(f *testing.F) {
	d, err := routing.NewDirectory([]routing.Client{{Code: "PU", Name: "x"}}, []routing.Object{{Client: "PU", Code: "0127"}}, nil, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	if d, err = d.WithEquipment([]routing.Equipment{{Client: "PU", Object: "0127", Serial: "KB-4471-02918", Kind: "k"}}); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"S/N KB-4471-02918", "зав. № КВ 4471 02918", "SN", "серийный номер\n", "\xff\xfeзав. №", "sn: " + string(make([]byte, 70000))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		m := d.FindEquipment("", []routing.SerialSource{{Name: "text", Text: text}, {Name: "field", Text: text, Field: true}})
		if m.Equipment != nil && m.Equipment.Serial != "KB-4471-02918" {
			t.Fatalf("bound %+v", m.Equipment)
		}
		if m.Equipment != nil && routing.SerialKey(m.Serial) != "KB447102918" {
			t.Fatalf("serial %q does not have the key of the equipment", m.Serial)
		}
	})
}
