package parsers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// eventPatterns are the shipped formats' event patterns and a few that
// cannot be folded or have no literal to look for.
func eventPatterns(t testing.TB) []string {
	files, err := filepath.Glob("../rules/defaults/formats/*.yaml")
	require.NoError(t, err)
	pats := []string{`(?-i:Created)|x`, `\w+:\s*Отмен`, `ſtatus`, `^\s*Re:`, `(?m)^Статус:\s*закрыт$`}
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		var doc struct {
			Formats []FormatSpec `yaml:"formats"`
		}
		require.NoError(t, yaml.Unmarshal(b, &doc), file)
		for _, spec := range doc.Formats {
			for _, ev := range spec.Events {
				pats = append(pats, ev.Pattern)
			}
		}
	}
	require.Greater(t, len(pats), 20)
	return pats
}

// TestEventMatches compares the folded and literal-driven event match with
// the case-insensitive expression over whole texts.
func TestEventMatches(t *testing.T) {
	texts := append(litTexts(t),
		"<Действие>создание</Действие>", "<ДЕЙСТВИЕ> Изменение </ДЕЙСТВИЕ>\n<Комментарий>x", "[MG-12] created:",
		"INC0001 РЕШЁН", "статусы изменены на «отмена»", "Запрос № 12 отменён", "\u212a ſtatus: отмен")
	for _, p := range eventPatterns(t) {
		ev, err := newCompiledEvent(p, "new", true)
		require.NoError(t, err, p)
		for _, text := range texts {
			folded, ok := foldText(text)
			if !assert.Equal(t, ev.re.MatchString(text), ev.matches(text, folded, ok), "%s over %q", p, text) {
				return
			}
		}
	}
}
