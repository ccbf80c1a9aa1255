package parsers

import (
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var base64Bodies = []string{
	"", "QQ==", "QUI=", "QUJD", "QR==", "QUJ=", "QQ", "QQ=", "QQ==QUJD", "QQ==\r\n", "QUJD\r\n====",
	"QU JD\tRA==", "QUJD\r\nREVG\r\n", "QU-_", "QU+/", "QUJD*REVG", "QQ=\n=", "=QQ==", "QUJDRA", "\r\n\r\n",
	base64.StdEncoding.EncodeToString([]byte("Не работает холодильная витрина")),
	base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 5000))),
}

// checkBase64 compares transferReader's result for a base64 body with the
// streaming decoder's.
func checkBase64(t *testing.T, body string) {
	oracle := &base64Reader{src: []byte(body)}
	want, err := io.ReadAll(oracle)
	require.NoError(t, err)
	r := transferReader("base64", []byte(body))
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, want, got, "%q", body)
	assert.Equal(t, oracle.problems(), r.problems(), "%q", body)
}

func TestBase64WholeAsStreaming(t *testing.T) {
	for _, body := range base64Bodies {
		checkBase64(t, body)
	}
	wrapped := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("данные ", 3000)))
	var b strings.Builder
	for len(wrapped) > 76 {
		b.WriteString(wrapped[:76] + "\r\n")
		wrapped = wrapped[76:]
	}
	b.WriteString(wrapped)
	checkBase64(t, b.String())
	_, ok := decodeBase64([]byte(b.String()))
	assert.True(t, ok, "a well-formed body takes the whole-body path")
}

func FuzzBase64(f *testing.F) {
	for _, body := range base64Bodies {
		f.Add(body)
	}
	f.Fuzz(checkBase64)
}
