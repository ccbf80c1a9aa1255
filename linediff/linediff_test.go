package linediff

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnified(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"same", "a\nb\n", "a\nb\n", ""},
		{"both empty", "", "", ""},
		{"from nothing", "", "a\nb\n", "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"to nothing", "a\n", "", "--- old\n+++ new\n@@ -1,1 +0,0 @@\n-a\n"},
		{"one changed", "a\nb\nc\n", "a\nB\nc\n", "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"insert in the middle", "a\nb\nc\nd\n", "a\nb\nx\nc\nd\n", "--- old\n+++ new\n@@ -1,4 +1,5 @@\n a\n b\n+x\n c\n d\n"},
		{"no final newline is the same lines", "a\nb", "a\nb\n", ""},
		{"crlf is the same lines", "a\r\nb\r\n", "a\nb\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, Unified("old", "new", c.old, c.new, 3))
		})
	}
}

// Far-apart changes make two hunks, each with its own numbers; the context
// around each is at most what was asked.
func TestHunks(t *testing.T) {
	var old, new []string
	for i := 1; i <= 30; i++ {
		line := strings.Repeat("x", i)
		old = append(old, line)
		switch i {
		case 3:
			new = append(new, "changed")
		case 25:
			new = append(new, line, "added")
		default:
			new = append(new, line)
		}
	}
	hs := Hunks(Lines(strings.Join(old, "\n"), strings.Join(new, "\n")), 2)
	require.Len(t, hs, 2)
	assert.Equal(t, "@@ -1,5 +1,5 @@", hs[0].Header())
	assert.Equal(t, "@@ -24,4 +24,5 @@", hs[1].Header())
	assert.Equal(t, Insert, hs[1].Lines[2].Op)
	assert.Equal(t, "added", hs[1].Lines[2].Text)
	assert.Equal(t, 26, hs[1].Lines[2].New)
}

// Every line of both texts appears once, in order: the old text is the
// equal and deleted lines, the new one the equal and inserted lines; and
// the common lines are as many as can be.
func TestLinesRebuildsBoth(t *testing.T) {
	old := "a\nb\nc\nd\ne\nf\n"
	new := "b\nX\nd\ne\nY\nf\ng\n"
	ls := Lines(old, new)
	var o, n []string
	equal := 0
	for _, l := range ls {
		if l.Op != Insert {
			o = append(o, l.Text)
		}
		if l.Op != Delete {
			n = append(n, l.Text)
		}
		if l.Op == Equal {
			equal++
		}
	}
	assert.Equal(t, split(old), o)
	assert.Equal(t, split(new), n)
	assert.Equal(t, 4, equal, "b, d, e, f are common")
}

func FuzzLines(f *testing.F) {
	f.Add("a\nb\nc", "a\nc\nd")
	f.Fuzz(func(t *testing.T, old, new string) {
		var o, n []string
		for _, l := range Lines(old, new) {
			if l.Op != Insert {
				o = append(o, l.Text)
			}
			if l.Op != Delete {
				n = append(n, l.Text)
			}
		}
		if strings.Join(o, "\n") != strings.Join(split(old), "\n") || strings.Join(n, "\n") != strings.Join(split(new), "\n") {
			t.Fatalf("the diff does not rebuild the texts")
		}
	})
}
