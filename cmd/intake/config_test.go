package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "intake.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// TestConfigSectionsDecodedOnce: every section is a typed struct filled by
// loadConfig, with its secrets read and its zones loaded; the components
// are given it ready to use.
func TestConfigSectionsDecodedOnce(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("s3cret\n"), 0o600))
	path := writeConfig(t, `
intake:
  timezone: Asia/Yekaterinburg
calls:
  zadarma: {secret_file: `+secret+`}
  generic: {secret: g, header: X-Sign}
connectors:
  - {name: vr, kind: naumen, client: VR, base_url: "https://sd.vr.example", secret_file: `+secret+`}
  - {name: mg, kind: jira, client: MG, base_url: "https://mg.example", secret: t, email: bot@x.example, timezone: Europe/Samara, pull: false}
outbox:
  workers: 2
  webhook: {secret_file: `+secret+`}
smtp: {addr: "smtp.example:587", from: zayavki@x.example, username: u, password_file: `+secret+`}
lifecycle:
  offer: {n: 5}
mailboxes:
  - {name: ops, host: imap.example, username: u, password: p}
`)
	cfg, err := loadConfig(path, func(string) string { return "" })
	require.NoError(t, err)

	yekt, err := time.LoadLocation("Asia/Yekaterinburg")
	require.NoError(t, err)
	assert.Equal(t, yekt, cfg.Intake.Location)

	require.NotNil(t, cfg.Calls)
	assert.Equal(t, "/telephony", cfg.Calls.PathPrefix)
	assert.Equal(t, "s3cret", cfg.Calls.webhook.ZadarmaSecret)
	assert.Equal(t, yekt, cfg.Calls.webhook.ZadarmaLocation, "the PBX's zone defaults to intake.timezone")
	assert.Equal(t, yekt, cfg.Calls.webhook.Location)

	require.Len(t, cfg.Connectors, 2)
	assert.Equal(t, "s3cret", cfg.Connectors[0].secret)
	assert.Equal(t, yekt, cfg.Connectors[0].location)
	assert.Equal(t, "Europe/Samara", cfg.Connectors[1].location.String())
	set, err := newConnectorSet(cfg.Connectors)
	require.NoError(t, err)
	assert.Equal(t, map[string]time.Duration{"vr": time.Minute, "mg": 0}, set.interval)

	assert.Equal(t, 2, cfg.Outbox.dispatcher().Workers)
	assert.Equal(t, []byte("s3cret"), cfg.Outbox.webhookSecret)
	require.NotNil(t, cfg.SMTP)
	assert.Equal(t, "s3cret", cfg.SMTP.password)
	assert.Empty(t, outboxChannelsOff(&cfg))

	assert.Equal(t, 5, cfg.Lifecycle.Offer.N)
	assert.Equal(t, 15*time.Minute, cfg.Lifecycle.Offer.Timeout.D(), "the section's defaults stay where the file says nothing")

	require.Len(t, cfg.Mailboxes, 1)
	assert.Equal(t, "ops", cfg.Mailboxes[0].Name)

	// Without the optional sections: no calls, no SMTP, the defaults.
	cfg, err = loadConfig("", func(string) string { return "" })
	require.NoError(t, err)
	assert.Nil(t, cfg.Calls)
	assert.Nil(t, cfg.SMTP)
	assert.Contains(t, outboxChannelsOff(&cfg), "email")
	assert.Equal(t, "Europe/Moscow", cfg.Intake.Location.String())
	assert.Nil(t, cfg.Lifecycle.signingKey, "no link key configured")
	assert.ErrorContains(t, cfg.Lifecycle.keyErr, "INTAKE_LINK_KEY", "what to set is said where a key is needed")
	lc := cfg.Lifecycle
	lc.keyErr = nil
	assert.Equal(t, defaultLifecycleConfig(), lc)

	// The link key is read once, here, from the environment given.
	cfg, err = loadConfig("", func(k string) string {
		if k == "INTAKE_LINK_KEY" {
			return testLinkKey
		}
		return ""
	})
	require.NoError(t, err)
	assert.Equal(t, []byte(testLinkKey), cfg.Lifecycle.signingKey)
	assert.NoError(t, cfg.Lifecycle.keyErr)
}

// TestConfigSectionErrorsNameTheKey: a bad value in any section, and an
// unknown key in one, are reported together, each by its key.
func TestConfigSectionErrorsNameTheKey(t *testing.T) {
	path := writeConfig(t, `
calls:
  zadarma: {secret: z, timezone: Mars/Base}
  callback: {priority: asap}
connectors:
  - {name: a, kind: remedy, client: A, base_url: "https://a.example", secret: x}
  - {name: a, kind: jira, client: A, base_url: "not a url", secret: x}
outbox:
  workers: -1
  poll_interval: often
smtp: {addr: nowhere, from: "not an address"}
lifecycle:
  at_risk: 2
  offr: {n: 2}
mailboxes:
  - {name: ops, host: imap.example, username: u, password: p, colour: blue}
`)
	_, err := loadConfig(path, func(string) string { return "" })
	require.Error(t, err)
	for _, want := range []string{
		`calls.zadarma.timezone: "Mars/Base"`,
		`calls.callback.priority: "asap" is not one of`,
		`connectors[0] (a).kind: "remedy" is not one of`,
		`connectors[1] (a).name: connector "a" configured twice`,
		`connectors[1] (a).base_url: "not a url" is not an absolute URL`,
		`connectors[1] (a).email: required for jira`,
		`outbox.workers, outbox.max_attempts: must not be negative`,
		`"often" is not a duration`,
		`smtp.addr: host:port required`,
		`smtp.from:`,
		`lifecycle.at_risk: 2 is not between 0 and 1`,
		`field offr not found`,
		`mailboxes[0] (line 16): unknown key "colour"`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestExampleConfigLoads keeps intake.example.yaml a configuration that
// loads.
func TestExampleConfigLoads(t *testing.T) {
	_, err := loadConfig("../../intake.example.yaml", func(string) string { return "" })
	require.NoError(t, err)
}
