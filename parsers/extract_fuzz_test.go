package parsers

import (
	"strings"
	"testing"
	"time"
)

// FuzzExtract runs every extractor kind, the free-text extractor and the code
// and reference finders over arbitrary text.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"Номер: WO0000000123456\nПриоритет ....: 1 - Высокий (был: Средний)\nСрок:\n21.11.2026 14:00",
		"<a><b x=\"1\">v</b><b>w</b></a>",
		`<?xml version="1.0" encoding="windows-1251"?><Заявка><Номер>ЗНО-1</Номер></Заявка>`,
		`{"a": {"b": [1, {"c": "d"}]}}`,
		"магазин №12, ГМ 197, MG-04-844, DM/0164, INC0529724, 00000045097, +7 900 000-00-01 срочно",
		"<a><b>", "{", "Номер:", "Номер -", ">>> Номер: x",
	} {
		f.Add(s)
	}
	cats, err := CompileCategories(testCategories)
	if err != nil {
		f.Fatal(err)
	}
	format := mustFormat(f, `
name: fuzz
code_pattern: '[A-ZА-Я]{2}-\d{2,4}'
events_in: all
fields:
  external_id: {labels: [Номер, Номер заявки]}
  object_code: {table: [Магазин, Номер]}
  problem: {regex: '(?P<value>[^\n]{1,40})', in: all}
  address: {xpath: //b}
  status: {xpath: '/a/b/@x'}
  due: {labels: [Срок]}
  priority: {labels: [Приоритет]}
  category: {json: a.b.1.c}
  other: {json: a.b.0, normalize: [trim, upper, fold_lookalikes, digits, first_line, collapse_spaces, strip_parens]}
priorities: {Высокий: high}
categories: {d: doors}
events: {'Номер': new, 'от': update}
`)
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		var rows [][]string
		for _, l := range strings.Split(s, "\n") {
			rows = append(rows, strings.Split(l, "|"))
		}
		d := &Document{
			Subject: s, Text: s, NewText: s, HTML: s, Signature: s,
			Tables:      [][][]string{rows},
			Attachments: []Attachment{{Name: "a.xml", Text: s}, {Name: "a.json", Text: s}},
			Header:      map[string][]string{"X-Priority": {s}},
		}
		d.Forwarded = &Document{Subject: s, Text: s}
		x := ExtractContext{Categories: cats, Now: now}
		for _, got := range []Fields{format.Extract(d, x), ExtractFreeText(d, x)} {
			for _, v := range []string{got.ExternalID, got.ObjectCode, got.Problem, got.Address, got.Status, got.CategoryRaw} {
				if len(v) > maxValue {
					t.Fatalf("value of %d bytes", len(v))
				}
			}
			if got.Priority != "" && got.Priority != "high" {
				t.Fatalf("priority %q", got.Priority)
			}
		}
		FindCodes(s, FindRefs(s))
		FindPhones(s)
		NormalizePriority(s, map[string]string{"Высокий": "high"})
		FoldLookalikes(s)
	})
}
