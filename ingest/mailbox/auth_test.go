package mailbox_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest/mailbox"
)

func TestXOAuth2InitialResponse(t *testing.T) {
	mech, ir := mailbox.XOAuth2Initial("orders@example.org", "ya29.token")
	assert.Equal(t, "XOAUTH2", mech)
	assert.Equal(t, "user=orders@example.org\x01auth=Bearer ya29.token\x01\x01", string(ir))
}

func TestOAuthToken(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("from-file\n"), 0o600))
	cases := []struct {
		name    string
		cfg     mailbox.Config
		want    string
		wantErr string
	}{
		{"file", mailbox.Config{TokenFile: file}, "from-file", ""},
		{"missing file", mailbox.Config{TokenFile: file + ".nope"}, "", "token_file:"},
		{"command", mailbox.Config{TokenCommand: "printf 'from-command\\n'"}, "from-command", ""},
		{"failing command", mailbox.Config{TokenCommand: "echo expired >&2; exit 3"}, "", "expired"},
		{"silent command", mailbox.Config{TokenCommand: "true"}, "", "no token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mailbox.OAuthToken(ctx, &tc.cfg)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
