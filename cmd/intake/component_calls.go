package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest/webhook"
	"github.com/intakehq/intake/web"
)

// CallsConfig is the `calls` section: telephony webhooks.
type CallsConfig struct {
	// PathPrefix is where the webhook endpoints live (default /telephony).
	PathPrefix string `yaml:"path_prefix"`
	Mango      *struct {
		APIKey secretField `yaml:",inline"`
		Salt   saltField   `yaml:",inline"`
	} `yaml:"mango"`
	Zadarma *struct {
		Secret   secretField `yaml:",inline"`
		Timezone string      `yaml:"timezone"` // the PBX's; default intake.timezone
	} `yaml:"zadarma"`
	Generic *struct {
		Secret secretField `yaml:",inline"`
		Header string      `yaml:"header"`
	} `yaml:"generic"`
	Callback struct {
		Category string `yaml:"category"`
		Priority string `yaml:"priority"`
	} `yaml:"callback"`

	// webhook is the receiver's configuration, secrets read and zones
	// loaded by resolve.
	webhook webhook.Config
}

// secretField is a secret given as `secret` (discouraged: it sits in the
// file), `secret_env` (an environment variable) or `secret_file`.
type secretField struct {
	Value string `yaml:"secret"`
	Env   string `yaml:"secret_env"`
	File  string `yaml:"secret_file"`
}

// saltField is Mango's api_salt, given like a secret.
type saltField struct {
	Value string `yaml:"salt"`
	Env   string `yaml:"salt_env"`
	File  string `yaml:"salt_file"`
}

// resolveSecret reads a secret from its value, environment variable or file.
// The problem, if any, names key and never the secret.
func resolveSecret(key, value, env, file string) (string, string) {
	switch {
	case env != "":
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return "", fmt.Sprintf("%s_env: environment variable %s is empty or not set", key, env)
		}
		return v, ""
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Sprintf("%s_file: %v", key, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Sprintf("%s_file: %s is empty", key, file)
		}
		return v, ""
	case value != "":
		return value, ""
	}
	return "", fmt.Sprintf("%s: required (give %s_env or %s_file)", key, key, key)
}

// resolve reads the secrets and loads the PBX's zone; loc is
// intake.timezone. The problems name their keys.
func (cc *CallsConfig) resolve(loc *time.Location) []string {
	wc := webhook.Config{Location: loc}
	var p []string
	add := func(v *string, key, value, env, file string) {
		s, problem := resolveSecret(key, value, env, file)
		if problem != "" {
			p = append(p, problem)
		}
		*v = s
	}
	if cc.PathPrefix == "" {
		cc.PathPrefix = "/telephony"
	}
	if !strings.HasPrefix(cc.PathPrefix, "/") || strings.HasSuffix(cc.PathPrefix, "/") || strings.HasPrefix(cc.PathPrefix, "/api/") {
		p = append(p, fmt.Sprintf("calls.path_prefix: %q must start with / and not end with one, outside /api/", cc.PathPrefix))
	}
	if m := cc.Mango; m != nil {
		// Mango calls its key vpbx_api_key; here it is calls.mango.secret.
		add(&wc.MangoAPIKey, "calls.mango.secret", m.APIKey.Value, m.APIKey.Env, m.APIKey.File)
		add(&wc.MangoSalt, "calls.mango.salt", m.Salt.Value, m.Salt.Env, m.Salt.File)
	}
	if z := cc.Zadarma; z != nil {
		add(&wc.ZadarmaSecret, "calls.zadarma.secret", z.Secret.Value, z.Secret.Env, z.Secret.File)
		wc.ZadarmaLocation = loc
		if z.Timezone != "" {
			zl, err := time.LoadLocation(z.Timezone)
			if err != nil {
				p = append(p, fmt.Sprintf("calls.zadarma.timezone: %q: %v", z.Timezone, err))
			}
			wc.ZadarmaLocation = zl
		}
	}
	if g := cc.Generic; g != nil {
		add(&wc.GenericSecret, "calls.generic.secret", g.Secret.Value, g.Secret.Env, g.Secret.File)
		wc.GenericHeader = g.Header
	}
	if cc.Mango == nil && cc.Zadarma == nil && cc.Generic == nil {
		p = append(p, "calls: configure at least one of mango, zadarma, generic")
	}
	switch cc.Callback.Priority {
	case "", "critical", "high", "normal", "low":
	default:
		p = append(p, fmt.Sprintf("calls.callback.priority: %q is not one of critical, high, normal, low", cc.Callback.Priority))
	}
	wc.CallbackCategory, wc.CallbackPriority = cc.Callback.Category, cc.Callback.Priority
	cc.webhook = wc
	return p
}

// setupCalls serves the call webhooks of the calls section and parses
// their items.
func setupCalls(env *componentEnv, cc *CallsConfig) error {
	wc := cc.webhook
	wc.Now = env.eng.now
	rc := webhook.New(wc, env.eng.inbox, env.log)
	rc.Routes(env.mux, cc.PathPrefix)
	env.eng.proc.HandleSource(flow.SourceCall, rc.Parse)
	env.eng.proc.OnTicket(rc.TicketHook)
	for _, c := range rc.Collectors() {
		if err := env.reg.Register(c); err != nil {
			return err
		}
	}
	api := &web.Server{Store: env.eng.st, Log: env.log}
	api.CallRoutes(env.mux, func(ctx context.Context, id int64, body []byte) (int64, error) {
		var req webhook.TicketRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return 0, fmt.Errorf("%w: %w", web.ErrCallRequest, err)
		}
		item, err := rc.MakeTicket(ctx, env.eng.st, id, req)
		if errors.Is(err, webhook.ErrCallNoStore) || errors.Is(err, webhook.ErrCallHasTicket) {
			return 0, fmt.Errorf("%w: %w", web.ErrCallRequest, err)
		}
		return item, err
	})
	env.log.Info("call webhooks", "providers", rc.Providers(), "prefix", cc.PathPrefix)
	return nil
}
