package dovecottest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest/mailbox/dovecottest"
)

func TestServer(t *testing.T) {
	s := dovecottest.Start(t)
	uid := s.Append(t, "INBOX", dovecottest.Message("a@x", "hello", "body"))
	require.EqualValues(t, 1, uid)
	s.WriteMaildir(t, "Orders", [][]byte{dovecottest.Message("b@x", "b", "b"), dovecottest.Message("c@x", "c", "c")})
	require.Equal(t, 2, s.Count(t, "Orders"))
	s.Restart()
	require.Equal(t, 1, s.Count(t, "INBOX"))
	s.Append(t, "Orders", dovecottest.Message("d@x", "d", "d"))
	require.Equal(t, 3, s.Count(t, "Orders"))
}
