package parsers

import (
	"regexp"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// foldPatterns are keyword alternations in the shape of categories.csv.
var foldPatterns = []string{
	"холодил|витрин|камер|морозил|ларь|температур|компрессор|не холодит|течёт фреон|лар[ья]",
	"электр|розетк|щит|автомат выбило|нет света|проводк|искрит",
	"касс|терминал|сканер|принтер чеков|фискал|эквайринг|pos",
	"двер|входн.. групп|доводчик|автоматическ.. двер|ролл?ет|ворот",
	"плитк|потол|покраск|штукатур|пол |стен[аы]|ремонт помещ",
	`\bkws\b|[a-f]x|[^а-я]z|Straße`,
}

var foldTexts = []string{
	"", "Не работает ХОЛОДИЛЬНАЯ витрина, температура +12",
	"ВЫБИЛО АВТОМАТ ВЫБИЛО, нет света, Розетка искрит",
	"POS-терминал и Касса №2; принтер чеков",
	"Автоматические двери; ВХОДНАЯ ГРУППА; Роллет",
	"Kelvin \u212aWS sign, long \u017f, STRASSE, straße, ǅ ǆ Ǆ",
	"invalid \xff\xfe bytes КАСС\xd0 касс",
	"kws KWS Kws aX AX fx Fx 1z Zz",
}

func TestFoldedCategoriesMatchTheOriginal(t *testing.T) {
	for _, p := range foldPatterns {
		re := regexp.MustCompile("(?i)" + foldYo(p))
		fast := compileFolded("(?i)" + foldYo(p))
		require.NotNil(t, fast, p)
		for _, text := range foldTexts {
			text = foldYo(text)
			f, ok := foldText(text)
			if !ok {
				continue // Match uses the original expression then
			}
			assert.Equal(t, re.FindAllStringIndex(text, 50), fast.FindAllStringIndex(f, 50), "%q over %q", p, text)
		}
	}
}

func TestFoldedRefusesCaseSensitiveParts(t *testing.T) {
	assert.Nil(t, compileFolded("(?i)abc(?-i)Def"))
	assert.Nil(t, compileFolded("(?i)abc(?-i:[a-c])"))
	assert.NotNil(t, compileFolded("(?i)abc(?-i:[0-9])"))
	_, ok := foldText("\u212a")
	assert.False(t, ok, "the Kelvin sign folds to a shorter K")
}

func FuzzFoldedCategories(f *testing.F) {
	for _, text := range foldTexts {
		f.Add(text)
	}
	var res, fast []*regexp.Regexp
	for _, p := range foldPatterns {
		res = append(res, regexp.MustCompile("(?i)"+foldYo(p)))
		fast = append(fast, compileFolded("(?i)"+foldYo(p)))
	}
	f.Fuzz(func(t *testing.T, text string) {
		text = foldYo(text)
		folded, ok := foldText(text)
		if !ok {
			return
		}
		if len(folded) != len(text) {
			t.Fatalf("folding changed the length of %q", text)
		}
		for i := range res {
			a, b := res[i].FindAllStringIndex(text, 50), fast[i].FindAllStringIndex(folded, 50)
			if !assert.Equal(t, a, b, "%q over %q", foldPatterns[i], text) {
				t.FailNow()
			}
		}
	})
}

func TestFoldCanonTableAsOrbitWalk(t *testing.T) {
	for r := rune(0); r <= 0x1FFFF; r++ {
		if got, want := foldCanon(r), foldOrbitMin(r); got != want {
			t.Fatalf("foldCanon(%U) = %U, orbit walk gives %U", r, got, want)
		}
	}
}

func TestRuFreqOfAsMap(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		f, ok := ruFreq[r]
		if ok && f <= 0 {
			t.Fatalf("ruFreq[%U] = %v: ruFreqOf needs positive frequencies", r, f)
		}
		if got := ruFreqOf(r); got != f {
			t.Fatalf("ruFreqOf(%U) = %v, map gives %v", r, got, f)
		}
	}
}
