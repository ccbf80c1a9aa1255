package routing

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatchObject(t *testing.T) {
	d := fixtureDirectory(t)
	tests := []struct {
		name       string
		h          Hints
		wantCode   string // "" for no store
		wantMethod string
		wantClient string
	}{
		{"code hint", Hints{Client: "PL", Codes: []string{"ГМ-106"}}, "ГМ-106", MethodCode, "PL"},
		{"code hint with look-alikes", Hints{Client: "PL", Codes: []string{"гм 106"}}, "ГМ-106", MethodCode, "PL"},
		{"code hint without client", Hints{Codes: []string{"DM/0211"}}, "DM/0211", MethodCode, "DM"},
		{"store number for padded digit codes", Hints{Client: "PU", Codes: []string{"магазин 57"}}, "0057", MethodCode, "PU"},
		{"№ number", Hints{Client: "PU", Codes: []string{"№57"}}, "0057", MethodCode, "PU"},
		{"store number via name", Hints{Client: "VR", Codes: []string{"№358"}}, "VV0358", MethodCode, "VR"},
		{"code in text, transliterated", Hints{SenderEmail: "storemg26884@magistral.ru", Text: "Пишу за коллег.\n\nМГ-30-454\nВ камере -5."}, "MG-30-454", MethodCode, "MG"},
		{"store number in text of a regional director", Hints{SenderEmail: "rd.000@pyatugol.ru", Text: "магазин №57: течёт кран"}, "0057", MethodCode, "PU"},
		{"кассе №3 is not a store", Hints{SenderEmail: "rd.000@pyatugol.ru", Text: "на кассе №3 ошибка"}, "", "", "PU"},
		{"sender contact", Hints{SenderEmail: "Попова <store0057@pyatugol.ru>", Text: "не холодит витрина"}, "0057", MethodContact, "PU"},
		{"personal mailbox", Hints{SenderEmail: "kuznetsova.o22@mail.example"}, "0001", MethodContact, "PU"},
		{"ambiguous personal mailbox needs client", Hints{SenderEmail: "belova.n41@mail.example", Client: "MG"}, "MG-19-1093", MethodContact, "MG"},
		{"ambiguous personal mailbox, no client", Hints{SenderEmail: "belova.n41@mail.example"}, "", "", ""},
		{"phone hint", Hints{Phones: []string{"8 (964) 655-83-85"}}, "0057", MethodPhone, "PU"},
		{"phone in signature", Hints{SenderEmail: "unknown@mail.example", Signature: "Попова Ирина\nтел. +7 964 655-83-85"}, "0057", MethodPhone, "PU"},
		{"VR kladr address", Hints{Client: "VR", Address: "Пенза г, Горького ул, дом 27"}, "VV0358", MethodAddress, "VR"},
		{"VR street type decides", Hints{Client: "VR", Address: "Пенза г, Горького пер, дом 51"}, "VV0193", MethodAddress, "VR"},
		{"VR gar with строение", Hints{Client: "VR", Address: "Тюменская обл, г Тюмень, ул Российская, д 164, стр 2"}, "VV0136", MethodAddress, "VR"},
		{"VR same house without строение", Hints{Client: "VR", Address: "г. Тюмень, улица Российская, д. 164"}, "VV0137", MethodAddress, "VR"},
		{"VR gar пр-кт", Hints{Client: "VR", Address: "Самарская обл, г Тольятти, пр-кт Полевая, д 112"}, "VV0347", MethodAddress, "VR"},
		{"VR short", Hints{Client: "VR", Address: "Краснодар, Рабочая пр-т, 31"}, "VV0151", MethodAddress, "VR"},
		{"address in text", Hints{Client: "MG", Text: "Здравствуйте, г.Тольятти ул.Садовая д.84 — в подсобке моргает лампа."}, "MG-19-1093", MethodAddress, "MG"},
		{"address in text, client unknown", Hints{Text: "Аптека по адресу ул. Кирова, 148 (Курск). Холодильник не холодит."}, "MG-30-454", MethodAddress, "MG"},
		{"корпус in text", Hints{Client: "PU", Text: "Казань, Гагарина 12к2 — не работает касса"}, "0058", MethodAddress, "PU"},
		{"without корпус it is the other building", Hints{Client: "PU", Text: "Казань, ул. Гагарина, д. 12 — не работает касса"}, "0059", MethodAddress, "PU"},
		{"no city, unique in client", Hints{Client: "DM", Text: "у нас на Весенней 39 корп 4 погнули ворота"}, "DM/0211", MethodAddress, "DM"},
		{"store name", Hints{Text: "Это Пятый угол Пенза №1, не горит лампа"}, "0001", MethodName, "PU"},
		{"nothing", Hints{Client: "PU", Text: "Здравствуйте! Не работает касса."}, "", "", "PU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := d.MatchObject(tt.h)
			if tt.wantCode == "" {
				assert.Nil(t, m.Object, "%+v", m)
			} else if assert.NotNil(t, m.Object, "%+v", m) {
				assert.Equal(t, tt.wantCode, m.Object.Code, m.Reason)
				assert.GreaterOrEqual(t, m.Confidence, MatchThreshold)
			}
			assert.Equal(t, tt.wantMethod, m.Method, m.Reason)
			assert.Equal(t, tt.wantClient, m.Client)
			assert.NotEmpty(t, m.Reason)
		})
	}
}

func TestMatchObjectAmbiguousAddressGivesCandidates(t *testing.T) {
	d := fixtureDirectory(t)
	// Гагарина 12 exists in Казань (two buildings) and Самара: without a
	// city and корпус nothing is certain.
	m := d.MatchObject(Hints{Client: "PU", Text: "магазин на Гагарина 12, течёт кран"})
	assert.Nil(t, m.Object)
	assert.Less(t, m.Confidence, MatchThreshold)
	require.GreaterOrEqual(t, len(m.Candidates), 3)
	codes := []string{m.Candidates[0].Code, m.Candidates[1].Code, m.Candidates[2].Code}
	assert.ElementsMatch(t, []string{"0058", "0059", "0060"}, codes)
	assert.Contains(t, m.Reason, "several stores")

	// A house number that no store has on that street: no candidate.
	m = d.MatchObject(Hints{Client: "PU", Address: "г. Казань, ул. Гагарина, д. 99"})
	assert.Nil(t, m.Object)
	assert.Empty(t, m.Candidates)

	// The city named contradicts: the Самара store is only a candidate.
	m = d.MatchObject(Hints{Client: "PU", Address: "г. Пенза, ул. Гагарина, д. 12"})
	assert.Nil(t, m.Object)
}

func TestMatchObjectMethodOrder(t *testing.T) {
	d := fixtureDirectory(t)
	// A code beats the sender's own store: a director writes for a neighbour.
	m := d.MatchObject(Hints{SenderEmail: "store0057@pyatugol.ru", Codes: []string{"0001"}})
	require.NotNil(t, m.Object)
	assert.Equal(t, "0001", m.Object.Code)
	// The sender beats an address in the text.
	m = d.MatchObject(Hints{SenderEmail: "store0057@pyatugol.ru", Text: "г. Пенза, ул. Заводская, д. 67"})
	require.NotNil(t, m.Object)
	assert.Equal(t, "0057", m.Object.Code)
	assert.Equal(t, MethodContact, m.Method)
}

func TestDirectoryConcurrentUse(t *testing.T) {
	d := fixtureDirectory(t)
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				m := d.MatchObject(Hints{Client: "VR", Address: "Пенза г, Горького ул, дом 27"})
				if m.Object != nil {
					d.Assign(m.Object, "refrigeration", map[string]int{}, Policy{})
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

// A contact's phone in a code libphonenumber does not list (399) is read the
// way extraction reads it, so the store is found by it in any spelling.
func TestMatchPhoneInUnlistedCode(t *testing.T) {
	contacts := append(fixtureContacts(), Contact{Client: "DM", Object: "DM/0211", Name: "Орлова Мария", Role: "store_director", Email: "dm0211@dommarket.ru", Phone: "+7 (399) 123-45-67"})
	d, err := NewDirectory(fixtureClients(), fixtureObjects(), fixtureEngineers(), contacts, fixtureCategories())
	require.NoError(t, err)
	for _, h := range []Hints{
		{Phones: []string{"+73991234567"}},
		{Phones: []string{"8 (399) 123-45-67"}},
		{Phones: []string{"8-399-123-45-67"}},
		{SenderEmail: "unknown@mail.example", Signature: "Орлова Мария\nтел. +7 399 1234567"},
	} {
		m := d.MatchObject(h)
		require.NotNil(t, m.Object, "%+v", h)
		assert.Equal(t, "DM/0211", m.Object.Code, "%+v", h)
		assert.Equal(t, MethodPhone, m.Method, "%+v", h)
	}
	assert.Len(t, d.ContactsByPhone("8 (399) 123-45-67"), 1)
	assert.Len(t, d.ContactsByPhone("+73991234567"), 1)
}
