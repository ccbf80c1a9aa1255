package routing

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCodeKey(t *testing.T) {
	cases := []struct{ in, want string }{
		{"MG 30/454", "MG30454"},
		{"МG 30/454", "MG30454"}, // Cyrillic М
		{"мг-30-454", "MГ30454"}, // Г has no Latin twin; translitKey handles it
		{"ГМ-106", "ГM106"},
		{"гм 106", "ГM106"},
		{"ГM106", "ГM106"},  // Latin M
		{"ОК-008", "OK008"}, // Cyrillic О, К
		{"dm/0211", "DM0211"},
		{"с в а", "CBA"},
		{"ab_12.3\\4", "AB1234"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, CodeKey(tc.in))
		})
	}
}

// TestCodeKeyOfJoinedWords checks what FindEquipment relies on: the key of
// words joined by a space is the words' keys one after another.
func TestCodeKeyOfJoinedWords(t *testing.T) {
	cases := [][]string{
		{"КВ", "4471", "02918"},
		{"kb-4471", "02918"},
		{"ſn", "ёж", "ǅ12"},
		{"ab\xd0", "\xd0\x9a1", "x"},
		{"Ｋ", "ı", "ß"},
	}
	for _, words := range cases {
		var key []byte
		for _, w := range words {
			key = appendCodeKey(key, w)
		}
		assert.Equal(t, CodeKey(strings.Join(words, " ")), string(key), "%q", words)
	}
}

func TestDirectoryLookups(t *testing.T) {
	d := fixtureDirectory(t)

	require.NotNil(t, d.Client("PU"))
	assert.Nil(t, d.Client("XX"))
	assert.Equal(t, "PU", d.ClientByDomain("pyatugol.ru").Code)
	assert.Equal(t, "PU", d.ClientByDomain("mx1.SD.pyatugol.ru.").Code, "subdomain")
	assert.Nil(t, d.ClientByDomain("notpyatugol.ru"))
	assert.Equal(t, "MG", d.ClientByEmail("Иван <ivan@jira.magistral.ru>").Code)
	assert.Equal(t, "PU", d.ClientByEmail("kuznetsova.o22@mail.example").Code, "personal mailbox of a director")
	assert.Nil(t, d.ClientByEmail("belova.n41@mail.example"), "one person, two chains")
	assert.Nil(t, d.ClientByEmail("someone@mail.example"))

	assert.Equal(t, "ГМ-106", d.Object("PL", "гм 106").Code)
	assert.Equal(t, "ГМ-106", d.Object("PL", "ГM-106").Code, "Latin M")
	assert.Equal(t, "MG-30-454", d.Object("MG", "МГ-30-454").Code, "transliterated")
	assert.Equal(t, "VV0358", d.Object("VR", "вв 0358").Code, "transliterated Cyrillic В")
	assert.Equal(t, "DM/0211", d.Object("", "DM-0211").Code, "client unknown but code unique")
	assert.Nil(t, d.Object("PU", "ГМ-106"), "other client's code")

	assert.Equal(t, "0057", d.ContactByEmail("STORE0057@pyatugol.ru").Object)
	assert.Len(t, d.ContactsByEmail("belova.n41@mail.example"), 2)
	cs := d.ContactsByPhone("8 (964) 655-83-85")
	require.Len(t, cs, 1)
	assert.Equal(t, "0057", cs[0].Object)
	assert.Len(t, d.ContactsByPhone("+79646558385"), 1)

	assert.Equal(t, "ENG-0001", d.Engineer("ENG-0001").Code)
	assert.Equal(t, 3.0, d.Category("refrigeration").SLAHours)
	assert.Len(t, d.Categories(), 3)
	assert.Len(t, d.Objects(), len(fixtureObjects()))
	assert.Len(t, d.Engineers(), len(fixtureEngineers()))

	// Copies: the snapshot cannot be changed through them.
	objs := d.Objects()
	objs[0].Code = "changed"
	assert.Equal(t, "0001", d.Objects()[0].Code)
}

func TestNewDirectoryRejectsInconsistentData(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(cl *[]Client, ob *[]Object, en *[]Engineer, co *[]Contact, ca *[]Category)
		want   string
	}{
		{"duplicate client", func(cl *[]Client, _ *[]Object, _ *[]Engineer, _ *[]Contact, _ *[]Category) {
			*cl = append(*cl, Client{Code: "PU"})
		}, `duplicate code "PU"`},
		{"duplicate folded store code", func(_ *[]Client, ob *[]Object, _ *[]Engineer, _ *[]Contact, _ *[]Category) {
			*ob = append(*ob, Object{Client: "PL", Code: "гм-106"})
		}, "duplicate or empty code"},
		{"store of unknown client", func(_ *[]Client, ob *[]Object, _ *[]Engineer, _ *[]Contact, _ *[]Category) {
			*ob = append(*ob, Object{Client: "ZZ", Code: "1"})
		}, `unknown client "ZZ"`},
		{"unknown fixed engineer", func(_ *[]Client, ob *[]Object, _ *[]Engineer, _ *[]Contact, _ *[]Category) {
			(*ob)[0].Engineer = "ENG-9999"
		}, `unknown engineer "ENG-9999"`},
		{"contact of unknown store", func(_ *[]Client, _ *[]Object, _ *[]Engineer, co *[]Contact, _ *[]Category) {
			*co = append(*co, Contact{Client: "PU", Object: "9999", Email: "x@pyatugol.ru"})
		}, "unknown object PU/9999"},
		{"bad phone", func(_ *[]Client, _ *[]Object, _ *[]Engineer, co *[]Contact, _ *[]Category) {
			*co = append(*co, Contact{Client: "PU", Email: "y@pyatugol.ru", Phone: "123"})
		}, `invalid phone "123"`},
		{"bad keywords", func(_ *[]Client, _ *[]Object, _ *[]Engineer, _ *[]Contact, ca *[]Category) {
			*ca = append(*ca, Category{Code: "x", Keywords: "(("})
		}, "keywords"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, ob, en, co, ca := fixtureClients(), fixtureObjects(), fixtureEngineers(), fixtureContacts(), fixtureCategories()
			tt.mutate(&cl, &ob, &en, &co, &ca)
			_, err := NewDirectory(cl, ob, en, co, ca)
			require.ErrorIs(t, err, ErrInvalidMasterData)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestLearnShape(t *testing.T) {
	sh := learnShape([]string{"MG-10-944", "MG-19-1093"})
	for _, s := range []string{"заявка по MG-10-944!", "мг 19 1093", "MG191093", "(МГ-10-944)"} {
		assert.NotEmpty(t, sh.re.FindStringSubmatch(s), s)
	}
	assert.Empty(t, sh.re.FindStringSubmatch("AMG-10-9440"))

	digits := learnShape([]string{"0001", "0900"})
	assert.Nil(t, digits.re)
	assert.Equal(t, "0057", digits.padCode("57"))
}
