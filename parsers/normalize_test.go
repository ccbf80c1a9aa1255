package parsers

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeRejectsUnreadable(t *testing.T) {
	for name, in := range map[string]string{
		"empty":       "",
		"blank":       " \r\n\t",
		"prose":       "just some words, no header here\nsecond line\n",
		"binary junk": "\x00\x01\x02\x03",
	} {
		t.Run(name, func(t *testing.T) {
			d, err := Normalize([]byte(in))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrMalformed))
			assert.Nil(t, d)
		})
	}
}

func TestNormalizeBasics(t *testing.T) {
	raw := "From: \"Petrov, Ivan\" <Ivan.Petrov@Chain.example>\r\n" +
		"To: a@b.example; c@d.example\r\n" +
		"Reply-To: =?utf-8?B?0JjQstCw0L0=?= <reply@chain.example>\r\n" +
		"Subject: =?utf-8?B?0J/RgNC+0LLQtdGA0LrQsA==?=\r\n" +
		"Message-ID: <abc@chain.example>\r\n" +
		"In-Reply-To: <x@y>\r\nReferences: <r1@y> <r2@y>\r\n" +
		"Date: Mon, 02 Nov 2026 10:58:33 +0300 (MSK)\r\n\r\nbody\r\n"
	d, err := Normalize([]byte(raw))
	require.NoError(t, err)
	assert.Equal(t, Address{Name: "Petrov, Ivan", Email: "ivan.petrov@chain.example"}, d.From)
	assert.Len(t, d.To, 2)
	assert.Equal(t, "Иван", d.ReplyTo[0].Name)
	assert.Equal(t, "Проверка", d.Subject)
	assert.Equal(t, "abc@chain.example", d.MessageID)
	assert.Equal(t, []string{"x@y"}, d.InReplyTo)
	assert.Equal(t, []string{"r1@y", "r2@y"}, d.References)
	assert.Equal(t, 2026, d.Date.Year())
	assert.Equal(t, "body", d.Text)
	assert.Equal(t, len(raw), d.Size)
	assert.Equal(t, "Проверка", d.HeaderGet("subject"))
}

func TestDecodeBytes(t *testing.T) {
	cp1251 := []byte{0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x2C, 0x20, 0xEC, 0xE8, 0xF0} // "Привет, мир"
	koi8 := []byte{0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4, 0x2C, 0x20, 0xCD, 0xC9, 0xD2}
	tests := []struct {
		name, label string
		in          []byte
		want        string
		warn        bool
	}{
		{"utf8", "utf-8", []byte("Привет, мир"), "Привет, мир", false},
		{"cp1251", "windows-1251", cp1251, "Привет, мир", false},
		{"koi8", "KOI8-R", koi8, "Привет, мир", false},
		{"utf8 label on cp1251", "utf-8", cp1251, "Привет, мир", true},
		{"cp1251 label on koi8", "windows-1251", koi8, "Привет, мир", true},
		{"cp1251 label on utf8", "windows-1251", []byte("Привет, мир"), "Привет, мир", true},
		{"unknown label", "x-nonsense", cp1251, "Привет, мир", true},
		{"no label, cp1251", "", cp1251, "Привет, мир", true},
		{"htmlindex label", "latin1", []byte("caf\xe9"), "café", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warn := decodeBytes(tt.in, tt.label)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.warn, warn != "", warn)
		})
	}
}

func TestDecodeHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=?koi8-r?B?8NLJ18XU?=", "Привет"},
		{"=?windows-1251?Q?=CF=F0=E8=E2=E5=F2?= world", "Привет world"},
		{"=?utf-8?B?0J/RgNC4?= =?utf-8?B?0LLQtdGC?=", "Привет"},
		// A character split across two words.
		{"=?utf-8?B?0J/RgNC4?= =?utf-8?B?0LLQtdG=?= =?utf-8?B?gg==?=", "Привет"},
		{"=?utf-8*ru?Q?=D0=94=D0=B0?=", "Да"},
		{"\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		got, _ := decodeHeader([]byte(tt.in))
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestParseParams(t *testing.T) {
	v, p := parseParams([]byte(`Attachment; filename*0*=utf-8''%D0%97%D0%B0; filename*1="явка.xml"; size=12`))
	assert.Equal(t, "attachment", v)
	assert.Equal(t, "Заявка.xml", p["filename"])
	assert.Equal(t, "12", p["size"])
	_, p = parseParams([]byte(`text/plain; charset="windows-1251"; format=flowed`))
	assert.Equal(t, "windows-1251", p["charset"])
}

func TestRenderHTML(t *testing.T) {
	r := renderHTML(`<p>Привет</p><table><tr><td>Номер:</td><td> 42 </td></tr><tr><td>a</td><td>b</td><td>c</td></tr></table>line<br>next`)
	assert.Equal(t, "Привет\n\nНомер: 42\na | b | c\nline\nnext", cleanText(r.text))
	assert.Equal(t, [][][]string{{{"Номер:", "42"}, {"a", "b", "c"}}}, r.tables)
}

func TestRenderHTMLDefinitionList(t *testing.T) {
	r := renderHTML(`<dl>
  <dt>Номер обращения</dt> <dd>ZT-2026-000118</dd>
  <dt>Важность:</dt><dd><p>P2 Высокий</p></dd>
  <dt>Выполнить</dt><dd>до 10 ноября 2026 г., <b>14:00</b></dd>
  <dt>Без значения</dt>
  <dt>Два термина</dt><dd>одно значение</dd><dd>второе значение</dd>
</dl><p>после</p>`)
	assert.Equal(t, "Номер обращения: ZT-2026-000118\nВажность: P2 Высокий\nВыполнить: до 10 ноября 2026 г., 14:00\n"+
		"Без значения\nДва термина: одно значение\nвторое значение\nпосле", cleanText(r.text))

	// The labels extractor reads such a card.
	f, err := CompileFormat(FormatSpec{Name: "dl", Fields: map[string]Extractors{
		"priority": {{Labels: []string{"Важность"}}},
		"due":      {{Labels: []string{"Выполнить"}}},
	}, Priorities: map[string]string{"P2 Высокий": "high"}})
	require.NoError(t, err)
	got := f.Extract(&Document{Text: r.text}, ExtractContext{Location: moscowTest})
	assert.Equal(t, "high", got.Priority)
	require.NotNil(t, got.Due)
	assert.Equal(t, "2026-11-10T14:00:00+03:00", got.Due.Format(time.RFC3339))
}

func TestSplitText(t *testing.T) {
	s := splitText("Текст\n\n> цитата\nещё текст\n\n-- \nИван\nтел. 123", "Re: x")
	assert.Equal(t, "Текст\n\nещё текст", s.newText)
	assert.Equal(t, "> цитата", s.quoted)
	assert.Equal(t, "--\nИван\nтел. 123", strings.ReplaceAll(s.signature, "-- ", "--"))

	s = splitText("Ок\n\nOn Mon, Nov 9, 2026 at 10:00 AM Ivan <i@x.example> wrote:\n> old", "Re: x")
	assert.Equal(t, "Ок", s.newText)
	assert.True(t, strings.HasPrefix(s.quoted, "On Mon"))
	assert.Nil(t, s.forward)

	s = splitText("См.\n\n-----Original Message-----\nFrom: A <a@x.example>\nSent: Monday, November 9, 2026 10:00 AM\nTo: b@x.example\nSubject: Hi\n\nBody", "FW: Hi")
	require.NotNil(t, s.forward)
	assert.Equal(t, "Hi", s.forward.header["Subject"])
	assert.Equal(t, "Body", s.forward.body)
}

func TestParseLooseDate(t *testing.T) {
	msk, _ := parseLooseDate("Fri, 6 Nov 2026 12:00:00 +0300", nil)
	loc := msk.Location()
	for in, want := range map[string]string{
		"вторник, 10 ноября 2026 г. 17:30":    "2026-11-10T17:30:00+03:00",
		"Mon, Nov 9, 2026 at 10:00 PM":        "2026-11-09T22:00:00+03:00",
		"Monday, November 9, 2026 10:00 AM":   "2026-11-09T10:00:00+03:00",
		"10.11.2026 17:30":                    "2026-11-10T17:30:00+03:00",
		"7 ноября 2026 г. в 8:05:29 GMT+3":    "2026-11-07T08:05:29+03:00",
		"Суббота, 7 ноября 2026, 8:00 +07:00": "2026-11-07T08:00:00+07:00",
		"24 нояб. 2026 г., в 9:13":            "2026-11-24T09:13:00+03:00",
	} {
		got, ok := parseLooseDate(in, loc)
		require.True(t, ok, in)
		assert.Equal(t, want, got.Format("2006-01-02T15:04:05-07:00"), in)
	}
	_, ok := parseLooseDate("когда-нибудь", loc)
	assert.False(t, ok)
}

// TestNormalizeBigAttachment checks a large binary attachment is hashed and
// sized without its decoded bytes being kept.
func TestNormalizeBigAttachment(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@b.example\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--X\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("AAAA", 19) + "\r\n"
	for range 50000 {
		b.WriteString(line)
	}
	b.WriteString("--X--\r\n")
	d, err := Normalize([]byte(b.String()))
	require.NoError(t, err)
	require.Len(t, d.Attachments, 1)
	assert.Equal(t, int64(50000*57), d.Attachments[0].Size)
	assert.Empty(t, d.Attachments[0].Text)
	assert.Len(t, d.Attachments[0].SHA256, 64)
}

func TestNormalizeDeepNesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 1; i < 100; i++ {
		b.WriteString("--b" + itoa(i-1) + "\r\nContent-Type: multipart/mixed; boundary=b" + itoa(i) + "\r\n\r\n")
	}
	b.WriteString("--b99\r\nContent-Type: text/plain\r\n\r\ndeep\r\n")
	d, err := Normalize([]byte(b.String()))
	require.NoError(t, err)
	assert.Contains(t, d.Warnings, "multipart: nested too deep, inner parts skipped")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestFixturesHaveNoErrors(t *testing.T) {
	for _, f := range mailFixtures(t) {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = Normalize(raw)
		assert.NoError(t, err, f)
	}
}

// TestNormalizePathological covers inputs that once took time quadratic in
// their size (a closing phrase on every line).
func TestNormalizePathological(t *testing.T) {
	for name, in := range map[string]string{
		"nested tables":  "From: a@b\r\nContent-Type: text/html\r\n\r\n" + strings.Repeat("<table><tr><td>x", 3000),
		"header lines":   "From: a@b\r\n\r\n" + strings.Repeat("From: x\n", 20000),
		"quote and dash": "From: a@b\r\n\r\n" + strings.Repeat("> a\n--\n", 20000),
		"closing lines":  "From: a@b\r\n\r\n" + strings.Repeat("С уважением\n", 20000),
		"encoded words":  "From: a@b\r\nSubject: " + strings.Repeat("=?utf-8?B?0J/RgNC4?= ", 20000) + "\r\n\r\nx",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Normalize([]byte(in))
			require.NoError(t, err)
		})
	}
}
