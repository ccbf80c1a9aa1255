package routing

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSearchObjects(t *testing.T) {
	d := fixtureDirectory(t)
	codes := func(fs []Found) []string {
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = f.Client + "/" + f.Code
		}
		return out
	}
	tests := []struct {
		name    string
		client  string
		q       string
		want    []string // best first; the whole list when exact
		exact   bool
		firstBy string
	}{
		{"whole code", "", "ГМ-106", []string{"PL/ГМ-106"}, true, "code"},
		{"code typed in the other layout", "", "гм 106", []string{"PL/ГМ-106"}, true, "code"},
		{"code beginning", "", "MG-", []string{"MG/MG-19-1093", "MG/MG-26-884", "MG/MG-30-454"}, true, "code"},
		{"street and house", "", "Горького 27", []string{"VR/VV0358"}, false, "address"},
		{"street and house in one city", "PU", "Казань, Гагарина 12", []string{"PU/0059"}, false, "address"},
		{"name words", "", "пятый угол самара", []string{"PU/0060"}, true, "words"},
		{"beginnings of words", "", "магистраль тольят", []string{"MG/MG-19-1093"}, true, "words"},
		{"client keeps to its stores", "VR", "пенза", []string{"VR/VV0193", "VR/VV0358"}, true, "words"},
		{"nothing", "", "несуществующая улица", nil, true, ""},
		{"blank", "", "   ", nil, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := d.SearchObjects(tt.client, tt.q, 10)
			if tt.exact {
				assert.Equal(t, tt.want, nilIfEmpty(codes(got)))
			} else {
				require.NotEmpty(t, got)
				assert.Equal(t, tt.want, codes(got)[:len(tt.want)])
			}
			if len(got) > 0 {
				assert.Equal(t, tt.firstBy, got[0].By)
				assert.NotEmpty(t, got[0].Address)
			}
			for i := 1; i < len(got); i++ {
				assert.GreaterOrEqual(t, got[i-1].Score, got[i].Score, "best first")
			}
		})
	}
	assert.Len(t, d.SearchObjects("", "г", 3), 3, "the limit holds")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Whatever a dispatcher types, the search answers without failing, within
// its limit, best first.
func FuzzSearchObjects(f *testing.F) {
	d := fixtureDirectory(f)
	for _, s := range []string{"Ленина 12", "гм 106", "MG-", "пятый угол", "№ 57", "д. 12/1к2", "\x00\xff", "  "} {
		f.Add("", s)
		f.Add("PU", s)
	}
	f.Fuzz(func(t *testing.T, client, q string) {
		got := d.SearchObjects(client, q, 5)
		if len(got) > 5 {
			t.Fatalf("%d results over the limit", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].Score < got[i].Score {
				t.Fatalf("not best first: %v", got)
			}
		}
	})
}
