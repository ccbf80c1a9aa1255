package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/jira"
	"github.com/intakehq/intake/connectors/naumen"
	"github.com/intakehq/intake/connectors/okdesk"
)

// ConnectorConfig is one entry of the `connectors` list.
type ConnectorConfig struct {
	Name   string `yaml:"name"`
	Kind   string `yaml:"kind"` // naumen | okdesk | jira
	Client string `yaml:"client"`
	URL    string `yaml:"base_url"`
	// The credential: Naumen accessKey, Okdesk api_token, Jira API token.
	Secret secretField `yaml:",inline"`
	// Webhooks: Jira's HMAC secret, Okdesk's URL token.
	WebhookSecret    string `yaml:"webhook_secret"`
	WebhookSecretEnv string `yaml:"webhook_secret_env"`
	WebhookSecretFil string `yaml:"webhook_secret_file"`

	Interval Duration `yaml:"interval"` // between pulls; default 1m, 0 to disable pulling with `pull: false`
	Pull     *bool    `yaml:"pull"`
	Rate     Duration `yaml:"min_interval"` // between requests to the desk
	Timeout  Duration `yaml:"timeout"`
	Timezone string   `yaml:"timezone"`

	// Naumen
	MetaClass string            `yaml:"meta_class"`
	Filter    map[string]string `yaml:"filter"`
	Attrs     naumen.Attrs      `yaml:"attrs"`
	// Okdesk
	AuthorID    int64  `yaml:"author_id"`
	ObjectParam string `yaml:"object_param"`
	// Jira
	Email       string `yaml:"email"`
	JQL         string `yaml:"jql"`
	ObjectField string `yaml:"object_field"`

	States     map[string]string `yaml:"states"`
	Categories map[string]string `yaml:"categories"`
	Priorities map[string]string `yaml:"priorities"`
	Closed     []string          `yaml:"closed"`
	Cancelled  []string          `yaml:"cancelled"`

	// Read and loaded by resolveConnectors.
	secret, webhookSecret string
	location              *time.Location
}

// resolveConnectors checks the connectors list, reads each connector's
// secrets and loads its zone (its own timezone, else loc, intake.timezone).
// The problems name their keys.
func resolveConnectors(list []ConnectorConfig, loc *time.Location) []string {
	var p []string
	names := map[string]int{}
	for i := range list {
		c := &list[i]
		key := fmt.Sprintf("connectors[%d]", i)
		if c.Name != "" {
			key = fmt.Sprintf("connectors[%d] (%s)", i, c.Name)
		}
		bad := func(f string, a ...any) { p = append(p, key+"."+fmt.Sprintf(f, a...)) }
		if c.Name == "" {
			bad("name: required")
		} else if prev, dup := names[c.Name]; dup {
			bad("name: connector %q configured twice (also connectors[%d])", c.Name, prev)
		} else {
			names[c.Name] = i
		}
		if c.Client == "" {
			bad("client: required (our client code)")
		}
		if u, err := url.Parse(c.URL); err != nil || u.Scheme == "" || u.Host == "" {
			bad("base_url: %q is not an absolute URL", c.URL)
		}
		var problem string
		c.secret, problem = resolveSecret(key+".secret", c.Secret.Value, c.Secret.Env, c.Secret.File)
		if problem != "" {
			p = append(p, problem)
		}
		if c.WebhookSecret != "" || c.WebhookSecretEnv != "" || c.WebhookSecretFil != "" {
			c.webhookSecret, problem = resolveSecret(key+".webhook_secret", c.WebhookSecret, c.WebhookSecretEnv, c.WebhookSecretFil)
			if problem != "" {
				p = append(p, problem)
			}
		}
		c.location = loc
		if c.Timezone != "" {
			l, err := time.LoadLocation(c.Timezone)
			if err != nil {
				bad("timezone: %q: %v", c.Timezone, err)
			}
			c.location = l
		}
		switch c.Kind {
		case "naumen", "itsm365", "okdesk":
		case "jira":
			if c.Email == "" {
				bad("email: required for jira (the API token's account)")
			}
		default:
			bad("kind: %q is not one of naumen, itsm365, okdesk, jira", c.Kind)
		}
		for st, code := range c.States {
			if code == "" {
				bad("states.%s: the chain's status code is empty", st)
			}
		}
	}
	return p
}

// connectorSet is the registry with each connector's pull settings.
type connectorSet struct {
	reg      *connectors.Registry
	interval map[string]time.Duration // 0: not pulled
}

// newConnectorSet builds the connectors of a resolved list.
func newConnectorSet(list []ConnectorConfig) (*connectorSet, error) {
	set := &connectorSet{reg: connectors.NewRegistry(), interval: map[string]time.Duration{}}
	for _, c := range list {
		var conn connectors.Connector
		switch c.Kind {
		case "naumen", "itsm365":
			conn = naumen.New(naumen.Config{Name: c.Name, Client: c.Client, BaseURL: c.URL, AccessKey: c.secret, MetaClass: c.MetaClass,
				Filter: c.Filter, Attrs: c.Attrs, Location: c.location, Timeout: c.Timeout.D(), MinInterval: c.Rate.D()})
		case "okdesk":
			conn = okdesk.New(okdesk.Config{Name: c.Name, Client: c.Client, BaseURL: c.URL, Token: c.secret, WebhookToken: c.webhookSecret,
				AuthorID: c.AuthorID, ObjectParam: c.ObjectParam, Location: c.location, Timeout: c.Timeout.D(), MinInterval: c.Rate.D()})
		case "jira":
			conn = jira.New(jira.Config{Name: c.Name, Client: c.Client, BaseURL: c.URL, Email: c.Email, Token: c.secret, JQL: c.JQL,
				WebhookSecret: c.webhookSecret, ObjectField: c.ObjectField, Location: c.location, Timeout: c.Timeout.D(), MinInterval: c.Rate.D()})
		default:
			return nil, fmt.Errorf("connector %s: kind %q is not one of naumen, itsm365, okdesk, jira", c.Name, c.Kind)
		}
		if err := set.reg.Add(conn, connectors.Mapping{Categories: c.Categories, Priorities: c.Priorities, States: c.States,
			Closed: c.Closed, Cancelled: c.Cancelled}); err != nil {
			return nil, err
		}
		iv := c.Interval.D()
		if iv == 0 {
			iv = time.Minute
		}
		if c.Pull != nil && !*c.Pull {
			iv = 0
		}
		set.interval[c.Name] = iv
	}
	return set, nil
}
