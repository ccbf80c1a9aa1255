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

// OutboxConfig is the `outbox` section.
type OutboxConfig struct {
	PollInterval Duration `yaml:"poll_interval"`
	Workers      int      `yaml:"workers"`
	MaxAttempts  int      `yaml:"max_attempts"`
	BaseDelay    Duration `yaml:"base_delay"`
	MaxDelay     Duration `yaml:"max_delay"`
	SendTimeout  Duration `yaml:"send_timeout"`
	Webhook      struct {
		Secret secretField `yaml:",inline"`
	} `yaml:"webhook"`

	webhookSecret []byte // read by resolve; nil: webhooks are not signed
}

// resolve checks the section and reads the webhook secret.
func (oc *OutboxConfig) resolve() []string {
	var p []string
	if oc.Workers < 0 || oc.MaxAttempts < 0 {
		p = append(p, "outbox.workers, outbox.max_attempts: must not be negative")
	}
	if w := oc.Webhook.Secret; w.Value != "" || w.Env != "" || w.File != "" {
		s, problem := resolveSecret("outbox.webhook.secret", w.Value, w.Env, w.File)
		if problem != "" {
			p = append(p, problem)
		}
		oc.webhookSecret = []byte(s)
	}
	return p
}

// dispatcher is the outbox dispatcher's configuration.
func (oc OutboxConfig) dispatcher() outbox.Config {
	return outbox.Config{PollInterval: oc.PollInterval.D(), Workers: oc.Workers, MaxAttempts: oc.MaxAttempts,
		BaseDelay: oc.BaseDelay.D(), MaxDelay: oc.MaxDelay.D(), SendTimeout: oc.SendTimeout.D()}
}

// SMTPConfig is the `smtp` section: the relay for replies by email.
type SMTPConfig struct {
	Addr         string `yaml:"addr"`
	TLS          string `yaml:"tls"` // starttls | tls | none
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	From         string `yaml:"from"`

	password string // read by resolve
}

// resolve checks the section and reads the password.
func (s *SMTPConfig) resolve() []string {
	var p []string
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
	if s.Username != "" {
		var problem string
		s.password, problem = resolveSecret("smtp.password", s.Password, s.PasswordEnv, s.PasswordFile)
		if problem != "" {
			p = append(p, problem)
		}
	}
	return p
}

// outboxChannelsOff names the outbox kinds that no sender of this
// configuration delivers, each with the reason. The lifecycle queues no
// notification of such a kind: it would only end dead. Webhooks and
// connector pushes always have a sender; email needs the smtp section.
func outboxChannelsOff(cfg *Config) map[string]string {
	off := map[string]string{}
	if cfg.SMTP == nil {
		off[store.OutboxEmail] = "no SMTP configured"
	}
	return off
}

// setupOutbox runs the outbox dispatcher with a sender of each kind, and
// the client connectors: their pulls, webhooks and status pushes.
func setupOutbox(env *componentEnv) (func(context.Context) error, error) {
	set, err := newConnectorSet(env.cfg.Connectors)
	if err != nil {
		return nil, err
	}
	d := outbox.New(env.eng.st, env.cfg.Outbox.dispatcher(), env.log)
	d.Register(store.OutboxWebhook, &outbox.WebhookSender{Secret: env.cfg.Outbox.webhookSecret})
	if s := env.cfg.SMTP; s != nil {
		d.Register(store.OutboxEmail, outbox.NewEmailSender(outbox.SMTPConfig{Addr: s.Addr, TLS: s.TLS, Username: s.Username, Password: s.password, From: s.From}))
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
}
