package mailbox_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/intakehq/intake/ingest/mailbox"
)

func TestConfigValidate(t *testing.T) {
	base := func() mailbox.Config {
		return mailbox.Config{Name: "ops", Host: "imap.example.org", Username: "orders@example.org", PasswordEnv: "OPS_PASSWORD"}
	}
	cases := []struct {
		name   string
		modify func(c *mailbox.Config)
		errKey string // "" = valid
	}{
		{"minimal", func(c *mailbox.Config) {}, ""},
		{"no name", func(c *mailbox.Config) { c.Name = "" }, "name: required"},
		{"slash in name", func(c *mailbox.Config) { c.Name = "a/b" }, "name:"},
		{"no host", func(c *mailbox.Config) { c.Host = "" }, "host: required"},
		{"bad tls", func(c *mailbox.Config) { c.TLS = "ssl" }, "tls:"},
		{"two passwords", func(c *mailbox.Config) { c.Password = "x" }, "password:"},
		{"no password", func(c *mailbox.Config) { c.PasswordEnv = "" }, "password:"},
		{"xoauth2 with file", func(c *mailbox.Config) { c.Auth = "xoauth2"; c.PasswordEnv = ""; c.TokenFile = "/run/token" }, ""},
		{"xoauth2 without token", func(c *mailbox.Config) { c.Auth = "xoauth2"; c.PasswordEnv = "" }, "token_file:"},
		{"xoauth2 with password", func(c *mailbox.Config) { c.Auth = "xoauth2"; c.TokenCommand = "get-token" }, "password:"},
		{"bad auth", func(c *mailbox.Config) { c.Auth = "cram-md5" }, "auth:"},
		{"bad mode", func(c *mailbox.Config) { c.Mode = "delete" }, "mode:"},
		{"processed is read", func(c *mailbox.Config) { c.Folders = []string{"INBOX", "Done"}; c.ProcessedFolder = "Done" }, "processed_folder:"},
		{"duplicate folder", func(c *mailbox.Config) { c.Folders = []string{"INBOX", "INBOX"} }, "folders[1]:"},
		{"bad keyword", func(c *mailbox.Config) { c.Mode = "flag"; c.FlagKeyword = `\Seen` }, "flag_keyword:"},
		{"read-only", func(c *mailbox.Config) { c.Mode = "read-only" }, ""},
		{"tiny poll", func(c *mailbox.Config) { c.PollInterval = time.Millisecond }, "poll_interval:"},
		{"tiny size", func(c *mailbox.Config) { c.MaxMessageSize = 10 }, "max_message_size:"},
		{"huge batch", func(c *mailbox.Config) { c.Batch = 100000 }, "batch:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.modify(&c)
			c = c.WithDefaults()
			err := c.Validate()
			if tc.errKey == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.errKey)
			assert.Contains(t, err.Error(), "mailbox ")
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := mailbox.Config{Name: "ops", Host: "h", Username: "u", Password: "p"}.WithDefaults()
	assert.Equal(t, 993, c.Port)
	assert.Equal(t, "implicit", c.TLS)
	assert.Equal(t, []string{"INBOX"}, c.Folders)
	assert.Equal(t, "move", c.Mode)
	assert.True(t, *c.Idle)
	assert.EqualValues(t, 25<<20, c.MaxMessageSize)
	assert.Equal(t, 500, c.Batch)
	assert.Equal(t, c.ProcessedFolder, c.FailedFolder)
}

func TestDecodeConfigs(t *testing.T) {
	src := `
mailboxes:
  - name: ops
    host: outlook.office365.com
    username: orders@example.org
    auth: xoauth2
    token_command: /usr/local/bin/m365-token orders
    folders: [INBOX, Orders]
    processed_folder: Intake/Done
    failed_folder: Intake/Failed
    poll_interval: 45s
    max_message_size: 10MiB
    idle: false
  - name: legacy
    host: 10.0.0.5
    port: 143
    tls: starttls
    username: zayavki
    password_file: /run/secrets/legacy
    mode: flag
    pasword: typo
`
	var doc struct {
		Mailboxes yaml.Node `yaml:"mailboxes"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(src), &doc))
	_, err := mailbox.DecodeConfigs(&doc.Mailboxes)
	require.ErrorContains(t, err, `mailboxes[1] (line 21): unknown key "pasword"`)

	doc.Mailboxes.Content[1].Content = doc.Mailboxes.Content[1].Content[:len(doc.Mailboxes.Content[1].Content)-2]
	cfgs, err := mailbox.DecodeConfigs(&doc.Mailboxes)
	require.NoError(t, err)
	require.Len(t, cfgs, 2)
	assert.Equal(t, 45*time.Second, cfgs[0].PollInterval)
	assert.EqualValues(t, 10<<20, cfgs[0].MaxMessageSize)
	assert.False(t, *cfgs[0].Idle)
	assert.Equal(t, "Intake/Failed", cfgs[0].FailedFolder)
	assert.Equal(t, "$Intake", cfgs[1].FlagKeyword)
	assert.Equal(t, 143, cfgs[1].Port)
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "25MiB": 25 << 20, "10MB": 10e6, "512 KiB": 512 << 10, "1.5M": 3 << 19} {
		var b mailbox.ByteSize
		require.NoError(t, b.UnmarshalText([]byte(in)), in)
		assert.Equal(t, want, int64(b), in)
	}
	var b mailbox.ByteSize
	assert.Error(t, b.UnmarshalText([]byte("lots")))
}
