package parsers

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestXMLMemo checks that looking paths up in a document's kept tokens
// gives what reading the document for each path gives, also when the
// document changes between look-ups and when it is too big to keep.
func TestXMLMemo(t *testing.T) {
	docs := []string{
		"\ufeff<?xml version=\"1.0\" encoding=\"windows-1251\"?><Заявка><Номер> ЗНО-1234567 </Номер>" +
			"<Магазин Код=\"0127\"><Наименование>Пятёрочка &amp; Ко</Наименование></Магазин>" +
			"<Описание>Не <b>холодит</b> витрина</Описание><Пусто/></Заявка>",
		"<a><b x='1'>one</b><b>two</b><c><b>three</b></c></a>",
		"<a><b>unclosed",
		"<r>" + strings.Repeat("<i>x</i>", maxXMLMemo/8) + "<last>end</last></r>",
	}
	paths := []string{"//Номер", "/Заявка/Магазин/@Код", "//Наименование", "//Описание", "//Пусто",
		"//b", "/a/b/@x", "/a/c/b", "//*/b", "//last", "//missing"}
	var m xmlMemo
	for range 2 {
		for _, doc := range docs {
			for _, p := range paths {
				steps, attr, err := parsePath(p)
				require.NoError(t, err)
				assert.Equal(t, xmlLookup(doc, steps, attr), m.lookup(doc, steps, attr), "%s in %.40q", p, doc)
			}
		}
	}
	steps, _, err := parsePath("//Номер")
	require.NoError(t, err)
	assert.Equal(t, "ЗНО-1234567", m.lookup(docs[0], steps, ""))
}

// TestTableKeyMemo checks that the kept labels follow the tables asked for.
func TestTableKeyMemo(t *testing.T) {
	a := [][][]string{{{"Номер заявки:", "WO1"}, {" Магазин ", "0127"}}}
	b := [][][]string{{{"Адрес", "ул. Ленина, 5"}}, {{"Ёмкость"}}}
	var m tableKeyMemo
	assert.Equal(t, [][][]string{{{"номерзаявки", "wo1"}, {"магазин", "0127"}}}, m.get(a))
	assert.Equal(t, [][][]string{{{"адрес", "улленина5"}}, {{"емкость"}}}, m.get(b))
	assert.Equal(t, "WO1", findTable(a, m.get(a), []string{"номерзаявки"}))
	assert.Empty(t, m.get(nil))
}
