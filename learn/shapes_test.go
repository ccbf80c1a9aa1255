package learn

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCodePattern(t *testing.T) {
	cases := []struct {
		name  string
		codes []string
		want  string
		match []string
		not   []string
	}{
		{"digits", []string{"0001", "0283", "0900"}, `\b\d{4}\b`, []string{"0283 Пятый угол"}, []string{"12345"}},
		{"cyrillic prefix", []string{"ГМ-106", "ГМ-12"}, `ГМ-\d{2,3}`, []string{"ГМ-106"}, []string{"ГМ106"}},
		{"varying letters", []string{"ZT-MSK-0042", "ZT-SPB-0011"}, `\bZT-[A-Z]{3}-\d{4}\b`, []string{"ZT-EKB-0012"}, []string{"ZT-2026-000118"}},
		{"slash", []string{"DM/0001", "DM/0164"}, `\bDM/\d{4}\b`, []string{"DM/0072"}, nil},
		{"no common shape", []string{"A1", "22-B", "C-3-3", "D"}, "", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := codePattern(c.codes)
			assert.Equal(t, c.want, got)
			if got == "" {
				return
			}
			re := regexp.MustCompile(got)
			for _, m := range c.match {
				assert.True(t, re.MatchString(m), m)
			}
			for _, m := range c.not {
				assert.False(t, re.MatchString(m), m)
			}
		})
	}
}

func TestNumberShapes(t *testing.T) {
	cases := []struct {
		subjects   []string
		want, wide string
	}{
		{[]string{"Рабочий заказ WO0000000948256 назначен", "Рабочий заказ WO0000000948283 изменён"}, `WO\d{13}`, `[A-Z]{1,3}\d{12,14}`},
		{[]string{"[JIRA] (SRV-37063) [MG-37-669] x", "[JIRA] (SRV-37100) y"}, `SRV-\d{5}`, `[A-Z]{2,4}-\d{4,6}`},
		{[]string{"Обращение № 00000044936 от 05.11.2026", "Обращение № 00000044940 от 06.11.2026"}, `\d{11}`, `\d{10,12}`},
		{[]string{"Обращение №ZT-2026-000118 зарегистрировано"}, `ZT-\d{4}-\d{6}`, `[A-Z]{1,3}-\d{4}-\d{5,7}`},
	}
	for _, c := range cases {
		var ts []token
		for _, s := range c.subjects {
			for _, tk := range tokensOf(s) {
				if !tk.isYear() && tk.family() == tokensOf(c.subjects[0])[0].family() {
					ts = append(ts, tk)
					break
				}
			}
		}
		sh := shapeOf(ts)
		assert.Equal(t, c.want, sh.regex(), c.subjects[0])
		assert.Equal(t, c.wide, sh.wide(), c.subjects[0])
	}
}
