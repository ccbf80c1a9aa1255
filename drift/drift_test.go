package drift

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/parsers"
)

func TestRequired(t *testing.T) {
	spec := parsers.FormatSpec{Fields: map[string]parsers.Extractors{"external_id": nil, "object_name": nil, "problem": nil}}
	assert.Equal(t, []string{FieldExternalID, FieldStore}, Required(spec))
	assert.Equal(t, []string{FieldStore}, Required(parsers.FormatSpec{Fields: map[string]parsers.Extractors{"address": nil}}))
	assert.Empty(t, Required(parsers.FormatSpec{Fields: map[string]parsers.Extractors{"problem": nil}}))
}

func TestEvaluate(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg := Config{Threshold: 0.5, MinMessages: 4}
	groups := []Group{
		{Kind: KindFormat, Key: "a", HasExternal: true, HasStore: true, Messages: 2, Examples: []int64{1, 2}},
		{Kind: KindFormat, Key: "a", HasExternal: false, HasStore: true, Messages: 2, Examples: []int64{3, 4}},
		{Kind: KindFormat, Key: "b", HasExternal: false, HasStore: true, Messages: 9, Examples: []int64{5}},
		{Kind: KindFormat, Key: "c", HasExternal: false, HasStore: false, Messages: 3, Examples: []int64{6}},
		{Kind: KindDomain, Key: "x.ru", HasExternal: false, HasStore: true, Messages: 10},
		{Kind: KindDomain, Key: "y.ru", HasExternal: true, HasStore: false, Messages: 4, Examples: []int64{7, 8, 9, 10, 11, 12}},
	}
	required := map[string][]string{"a": {FieldExternalID, FieldStore}, "b": {FieldStore}}
	rep := Evaluate(groups, required, cfg, at)
	byKey := map[string]Share{}
	for _, s := range rep.Shares {
		byKey[s.Key] = s
	}
	require.Len(t, byKey, 5)
	a := byKey["a"]
	assert.Equal(t, 4, a.Messages)
	assert.Equal(t, 2, a.Missing)
	assert.InDelta(t, 0.5, a.Share, 1e-9)
	assert.True(t, a.Alarm, "at the threshold")
	assert.Equal(t, []int64{4, 3}, a.Examples)
	assert.Equal(t, map[string]int{FieldExternalID: 2}, a.MissingBy)
	assert.False(t, byKey["b"].Alarm, "b needs only the store")
	assert.Zero(t, byKey["b"].Share)
	assert.False(t, byKey["c"].Alarm, "too few messages")
	assert.Equal(t, []string{FieldExternalID, FieldStore}, byKey["c"].Required, "a format gone from the rules needs both")
	assert.False(t, byKey["x.ru"].Alarm, "a domain needs only the store")
	y := byKey["y.ru"]
	assert.True(t, y.Alarm)
	assert.Len(t, y.Examples, maxExamples)
	// Alarms first.
	assert.True(t, rep.Shares[0].Alarm && rep.Shares[1].Alarm)
	assert.Len(t, rep.Alarms(), 2)
	var none *Report
	assert.Empty(t, none.Alarms())
}
