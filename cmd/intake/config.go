package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/intakehq/intake/ingest/mailbox"
)

// Config is Intake's whole configuration: one YAML file (intake.yaml) plus
// environment overrides. Secrets come from the environment or *_file keys and
// are never logged.
type Config struct {
	Database DatabaseConfig `yaml:"database"`
	HTTP     HTTPConfig     `yaml:"http"`
	Bus      BusConfig      `yaml:"bus"`
	Pipeline PipelineConfig `yaml:"pipeline"`
	Rules    RulesConfig    `yaml:"rules"`
	Intake   IntakeConfig   `yaml:"intake"`
	SLA      SLAConfig      `yaml:"sla"`
	Log      LogConfig      `yaml:"log"`
	// Mailboxes: see docs/mailboxes.md.
	Mailboxes MailboxesConfig `yaml:"mailboxes"`
	// Calls are the telephony webhooks; nil: none.
	Calls      *CallsConfig      `yaml:"calls"`
	Connectors []ConnectorConfig `yaml:"connectors"`
	Outbox     OutboxConfig      `yaml:"outbox"`
	// SMTP is the relay for mail we send; nil: none (email notifications
	// are off).
	SMTP      *SMTPConfig     `yaml:"smtp"`
	Lifecycle LifecycleConfig `yaml:"lifecycle"`
	Drift     DriftConfig     `yaml:"drift"`
}

// DatabaseConfig: the PostgreSQL database. DATABASE_URL overrides url.
type DatabaseConfig struct {
	URL     string `yaml:"url"`
	URLFile string `yaml:"url_file"`
}

// HTTPConfig: the API, health and metrics listener.
type HTTPConfig struct {
	// Addr unset is :8080, or 127.0.0.1:8080 while nobody can sign in
	// (serve's listenAddr).
	Addr string `yaml:"addr"`
	// APITokensFile holds admin tokens (one a line) for /api/v1/, besides
	// users' tokens; INTAKE_API_TOKENS (comma-separated) overrides it.
	APITokensFile string   `yaml:"api_tokens_file"`
	APITokens     []string `yaml:"-"`
}

// BusConfig: the message bus between pipeline stages.
type BusConfig struct {
	// Kind is "postgres" (default: watermill-sql in the same database) or
	// "nats" (JetStream, for several replicas).
	Kind    string `yaml:"kind"`
	NATSURL string `yaml:"nats_url"`
	// NATSPrefix names this deployment's subjects and consumers on a shared
	// NATS server.
	NATSPrefix string `yaml:"nats_prefix"`
	// PollInterval is how often the PostgreSQL bus polls for new events.
	PollInterval Duration `yaml:"poll_interval"`
}

// PipelineConfig: retries and limits of the stage handlers.
type PipelineConfig struct {
	Retries      int      `yaml:"retries"`
	RetryInitial Duration `yaml:"retry_initial"`
	Timeout      Duration `yaml:"timeout"`
	// Lease is how long a replica holds an item it works on; past it (the
	// replica died) another takes the item over.
	Lease       Duration `yaml:"lease"`
	BatchSize   int      `yaml:"batch_size"`
	Concurrency int      `yaml:"concurrency"`
}

// RulesConfig: where rule and format files come from at first start.
type RulesConfig struct {
	// Paths are YAML files or directories applied when the database holds no
	// rule set yet; empty means the shipped defaults.
	Paths []string `yaml:"paths"`
	// ReloadInterval bounds how long a replica runs an outdated version when
	// a notification is missed.
	ReloadInterval Duration `yaml:"reload_interval"`
}

// IntakeConfig: the company's own side.
type IntakeConfig struct {
	// OwnAddresses are our own mailboxes: mail from them is never ingested
	// (loop protection).
	OwnAddresses []string `yaml:"own_addresses"`
	// Timezone is the zone of dates written without one and of working
	// hours, shown times and the texts we send. Location is it, loaded once
	// by loadConfig and passed down to whoever needs it.
	Timezone string         `yaml:"timezone"`
	Location *time.Location `yaml:"-"`
	// LeasePeriod is how long a replica holds a mailbox without renewing
	// its lease: when it dies, another takes the mailbox over within it.
	LeasePeriod Duration `yaml:"lease_period"`
}

// LogConfig: log/slog settings.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Duration is a time.Duration written as "5s", "1m30s".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string. A bad one is a *yaml.TypeError,
// so that decoding goes on and every bad key is reported.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (e.g. 5s, 1m)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MailboxesConfig is the mailboxes list, decoded and validated by the
// mailbox source's rules (mailbox.DecodeConfigs).
type MailboxesConfig []mailbox.Config

// UnmarshalYAML decodes the list; its problems are a *yaml.TypeError, so
// that they are reported with those of the other sections.
func (m *MailboxesConfig) UnmarshalYAML(n *yaml.Node) error {
	cfgs, err := mailbox.DecodeConfigs(n)
	if err != nil {
		return &yaml.TypeError{Errors: strings.Split(err.Error(), "\n")}
	}
	*m = cfgs
	return nil
}

func defaultConfig() Config {
	return Config{
		Bus: BusConfig{Kind: "postgres", NATSURL: "nats://127.0.0.1:4222", NATSPrefix: "intake", PollInterval: Duration(100 * time.Millisecond)},
		Pipeline: PipelineConfig{Retries: 5, RetryInitial: Duration(500 * time.Millisecond), Timeout: Duration(60 * time.Second),
			Lease: Duration(15 * time.Second), BatchSize: 128, Concurrency: 4},
		Rules:     RulesConfig{ReloadInterval: Duration(5 * time.Second)},
		Intake:    IntakeConfig{Timezone: "Europe/Moscow", LeasePeriod: Duration(15 * time.Second)},
		Log:       LogConfig{Level: "info", Format: "text"},
		Lifecycle: defaultLifecycleConfig(),
		Drift:     defaultDriftConfig(),
	}
}

// ConfigError lists every bad key with its reason.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// loadConfig reads path (optional: "" means defaults only) and applies the
// environment overrides, then validates. Every section is decoded here,
// once, into its typed struct; secrets are read and zones loaded, so that
// what the components are given is ready to use. Problems name their key.
func loadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := defaultConfig()
	var problems []string
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("reading config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		var te *yaml.TypeError
		switch err := dec.Decode(&cfg); {
		case err == nil, errors.Is(err, errEOF):
		case errors.As(err, &te):
			// Unknown keys and bad values: the rest was decoded, and is
			// checked too, so that one run names every problem.
			for _, e := range te.Errors {
				problems = append(problems, path+": "+e)
			}
		default:
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
	}
	if v := getenv("DATABASE_URL"); v != "" {
		cfg.Database.URL = v
	} else if f := cmp.Or(getenv("DATABASE_URL_FILE"), cfg.Database.URLFile); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, fmt.Sprintf("database.url_file: %v", err))
		}
		cfg.Database.URL = strings.TrimSpace(string(b))
	}
	envStr := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	envStr("INTAKE_HTTP_ADDR", &cfg.HTTP.Addr)
	if v := getenv("INTAKE_API_TOKENS"); v != "" {
		cfg.HTTP.APITokens = splitTokens(strings.ReplaceAll(v, ",", "\n"))
	} else if cfg.HTTP.APITokensFile != "" {
		b, err := os.ReadFile(cfg.HTTP.APITokensFile)
		if err != nil {
			problems = append(problems, fmt.Sprintf("http.api_tokens_file: %v", err))
		}
		cfg.HTTP.APITokens = splitTokens(string(b))
		if err == nil && len(cfg.HTTP.APITokens) == 0 {
			problems = append(problems, "http.api_tokens_file: no token in the file")
		}
	}
	envStr("INTAKE_BUS", &cfg.Bus.Kind)
	envStr("INTAKE_NATS_URL", &cfg.Bus.NATSURL)
	envStr("INTAKE_LOG_LEVEL", &cfg.Log.Level)
	envStr("INTAKE_LOG_FORMAT", &cfg.Log.Format)
	envStr("INTAKE_TIMEZONE", &cfg.Intake.Timezone)
	if v := getenv("INTAKE_PIPELINE_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("INTAKE_PIPELINE_RETRIES: %q is not a number", v))
		}
		cfg.Pipeline.Retries = n
	}
	if v := getenv("INTAKE_OWN_ADDRESSES"); v != "" {
		cfg.Intake.OwnAddresses = strings.Split(v, ",")
	}
	loc, err := time.LoadLocation(cfg.Intake.Timezone)
	if err != nil {
		problems = append(problems, fmt.Sprintf("intake.timezone: %q: %v", cfg.Intake.Timezone, err))
		loc = nil
	}
	cfg.Intake.Location = loc
	problems = append(problems, cfg.validate()...)
	problems = append(problems, cfg.SLA.resolve()...)
	if cfg.Calls != nil {
		problems = append(problems, cfg.Calls.resolve(loc)...)
	}
	problems = append(problems, resolveConnectors(cfg.Connectors, loc)...)
	problems = append(problems, cfg.Outbox.resolve()...)
	if cfg.SMTP != nil {
		problems = append(problems, cfg.SMTP.resolve()...)
	}
	problems = append(problems, cfg.Lifecycle.resolve(getenv)...)
	if len(problems) > 0 {
		return cfg, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

var errEOF = io.EOF

func (c *Config) validate() []string {
	var p []string
	switch c.Bus.Kind {
	case "postgres":
	case "nats":
		if c.Bus.NATSURL == "" {
			p = append(p, "bus.nats_url: required when bus.kind is nats")
		}
	default:
		p = append(p, fmt.Sprintf("bus.kind: %q is not one of postgres, nats", c.Bus.Kind))
	}
	if c.Bus.PollInterval.D() <= 0 {
		p = append(p, "bus.poll_interval: must be positive")
	}
	if c.Pipeline.Retries < 0 {
		p = append(p, "pipeline.retries: must not be negative")
	}
	if c.Pipeline.Lease.D() <= 0 {
		p = append(p, "pipeline.lease: must be positive")
	}
	if c.Pipeline.BatchSize < 1 || c.Pipeline.BatchSize > 1000 {
		p = append(p, "pipeline.batch_size: must be between 1 and 1000")
	}
	if c.Pipeline.Concurrency < 1 || c.Pipeline.Concurrency > 16 {
		p = append(p, "pipeline.concurrency: must be between 1 and 16")
	}
	if c.Pipeline.Timeout.D() <= 0 {
		p = append(p, "pipeline.timeout: must be positive")
	}
	if c.Intake.LeasePeriod.D() < time.Second {
		p = append(p, "intake.lease_period: must be at least 1s")
	}
	if c.Rules.ReloadInterval.D() <= 0 {
		p = append(p, "rules.reload_interval: must be positive")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p = append(p, fmt.Sprintf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p = append(p, fmt.Sprintf("log.format: %q is not one of text, json", c.Log.Format))
	}
	p = append(p, c.Drift.validate()...)
	for i, a := range c.Intake.OwnAddresses {
		if !strings.Contains(a, "@") {
			p = append(p, fmt.Sprintf("intake.own_addresses[%d]: %q is not an email address", i, a))
		}
	}
	return p
}

func splitTokens(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
