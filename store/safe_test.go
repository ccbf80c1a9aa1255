package store

import (
	"encoding/json"
	"testing"
)

func TestSafeJSON(t *testing.T) {
	in, _ := json.Marshal(map[string]string{"s": "a\x00b", "t": `c\u0000d`})
	got := SafeJSON(in)
	var m map[string]string
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if m["s"] != "a\uFFFDb" {
		t.Errorf("NUL: got %q", m["s"])
	}
	if m["t"] != `c\u0000d` {
		t.Errorf("an escaped backslash must stay: got %q", m["t"])
	}
	if string(SafeJSON([]byte(`{"a":1}`))) != `{"a":1}` {
		t.Error("clean JSON must be unchanged")
	}
}

func TestSafeText(t *testing.T) {
	if got := SafeText("a\x00b\xffc"); got != "a\uFFFDb\uFFFDc" {
		t.Errorf("got %q", got)
	}
	if got := SafeText("плохо"); got != "плохо" {
		t.Errorf("got %q", got)
	}
}
