package main

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/web"
)

// outboxConfig is the `outbox` section.
type outboxConfig struct {
	PollInterval Duration `yaml:"poll_interval"`
	Workers      int      `yaml:"workers"`
	MaxAttempts  int      `yaml:"max_attempts"`
	BaseDelay    Duration `yaml:"base_delay"`
	MaxDelay     Duration `yaml:"max_delay"`
	SendTimeout  Duration `yaml:"send_timeout"`
	Webhook      struct {
		Secret secretField `yaml:",inline"`
	} `yaml:"webhook"`
}

// smtpConfig is the `smtp` section: the relay for replies by email.
type smtpConfig struct {
	Addr         string `yaml:"addr"`
	TLS          string `yaml:"tls"` // starttls | tls | none
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	From         string `yaml:"from"`
}

func decodeOutbox(cfg *Config) (outbox.Config, []byte, *outbox.SMTPConfig, []string) {
	var oc outboxConfig
	var p []string
	if cfg.Outbox.Kind != 0 {
		if err := cfg.Outbox.Decode(&oc); err != nil {
			p = append(p, "outbox: "+yamlProblem(err))
		}
	}
	if oc.Workers < 0 || oc.MaxAttempts < 0 {
		p = append(p, "outbox.workers, outbox.max_attempts: must not be negative")
	}
	var secret []byte
	if w := oc.Webhook.Secret; w.Value != "" || w.Env != "" || w.File != "" {
		s, problem := resolveSecret("outbox.webhook.secret", w.Value, w.Env, w.File)
		if problem != "" {
			p = append(p, problem)
		}
		secret = []byte(s)
	}
	dc := outbox.Config{PollInterval: oc.PollInterval.D(), Workers: oc.Workers, MaxAttempts: oc.MaxAttempts,
		BaseDelay: oc.BaseDelay.D(), MaxDelay: oc.MaxDelay.D(), SendTimeout: oc.SendTimeout.D()}
	var sc *outbox.SMTPConfig
	if cfg.SMTP.Kind != 0 {
		var s smtpConfig
		if err := cfg.SMTP.Decode(&s); err != nil {
			p = append(p, "smtp: "+yamlProblem(err))
		}
		if !strings.Contains(s.Addr, ":") {
			p = append(p, "smtp.addr: host:port required")
		}
		switch s.TLS {
		case "", "starttls", "tls", "none":
		default:
			p = append(p, "smtp.tls: "+s.TLS+" is not one of starttls, tls, none")
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			p = append(p, "smtp.from: "+err.Error())
		}
		var pw string
		if s.Username != "" {
			var problem string
			pw, problem = resolveSecret("smtp.password", s.Password, s.PasswordEnv, s.PasswordFile)
			if problem != "" {
				p = append(p, problem)
			}
		}
		sc = &outbox.SMTPConfig{Addr: s.Addr, TLS: s.TLS, Username: s.Username, Password: pw, From: s.From}
	}
	return dc, secret, sc, p
}

// outboxChannelsOff names the outbox kinds that no sender of this
// configuration delivers, each with the reason. The lifecycle queues no
// notification of such a kind: it would only end dead. Webhooks and
// connector pushes always have a sender; email needs the smtp section.
func outboxChannelsOff(cfg *Config) map[string]string {
	off := map[string]string{}
	if cfg.SMTP.Kind == 0 {
		off[store.OutboxEmail] = "no SMTP configured"
	}
	return off
}

func init() {
	registerComponent(componentDef{
		name: "outbox",
		validate: func(cfg *Config) []string {
			_, _, _, p := decodeOutbox(cfg)
			_, cp := decodeConnectors(cfg)
			return append(p, cp...)
		},
		setup: func(ctx context.Context, env *componentEnv) (func(context.Context) error, error) {
			dc, secret, sc, p := decodeOutbox(&env.cfg)
			set, cp := decodeConnectors(&env.cfg)
			if p = append(p, cp...); len(p) > 0 {
				return nil, &ConfigError{Problems: p}
			}
			d := outbox.New(env.eng.st, dc, env.log)
			d.Register(store.OutboxWebhook, &outbox.WebhookSender{Secret: secret})
			if sc != nil {
				d.Register(store.OutboxEmail, outbox.NewEmailSender(*sc))
			}
			d.Register(store.OutboxConnector, outbox.SenderFunc(set.reg.Send))
			for _, c := range d.Collectors() {
				if err := env.reg.Register(c); err != nil {
					return nil, err
				}
			}
			(&web.Server{Store: env.eng.st, Log: env.log}).OutboxRoutes(env.mux)

			conns := set.reg.All()
			if len(conns) > 0 {
				env.eng.proc.HandleSource(flow.SourceConnector, set.reg.Parse)
				env.eng.proc.OnTicket(set.reg.TicketHook)
				env.mux.Handle("POST /connectors/{name}/webhook", set.reg.WebhookHandler(env.eng.inbox, env.log))
			}
			var runners []*connectors.Runner
			for _, c := range conns {
				if iv := set.interval[c.Name()]; iv > 0 {
					runners = append(runners, &connectors.Runner{Conn: c, Store: env.eng.st, Inbox: env.eng.inbox, Interval: iv,
						Log: env.log, MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute})
				}
			}
			return func(ctx context.Context) error {
				g, ctx := errgroup.WithContext(ctx)
				g.Go(func() error { return d.Run(ctx) })
				for _, r := range runners {
					g.Go(func() error { return r.Run(ctx) })
				}
				return g.Wait()
			}, nil
		},
	})
}
