package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/lifecycle"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/routing"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/web"
)

// LifecycleConfig is the lifecycle section of intake.yaml (docs/lifecycle.md).
type LifecycleConfig struct {
	Enabled *bool `yaml:"enabled"` // default true
	// The HMAC key of signed links: from the environment variable named by
	// signing_key_env (default INTAKE_LINK_KEY) or the file signing_key_file;
	// at least 32 bytes. Never in the file itself.
	SigningKeyEnv  string   `yaml:"signing_key_env"`
	SigningKeyFile string   `yaml:"signing_key_file"`
	BaseURL        string   `yaml:"base_url"` // public URL of the links, e.g. https://intake.example.ru
	LinkTTL        Duration `yaml:"link_ttl"`
	Contractor     string   `yaml:"contractor"` // our company, on the act
	Offer          struct {
		N       int      `yaml:"n"`
		Timeout Duration `yaml:"timeout"`
	} `yaml:"offer"`
	AtRisk             float64                        `yaml:"at_risk"`
	SchedulerInterval  Duration                       `yaml:"scheduler_interval"`
	Dispatchers        []string                       `yaml:"dispatchers"`
	DispatchersWebhook string                         `yaml:"dispatchers_webhook"`
	EngineerWebhook    string                         `yaml:"engineer_webhook"`
	QC                 lifecycleQC                    `yaml:"qc"`
	Approvals          map[string][]lifecycleApprover `yaml:"approvals"`
	Chains             map[string]lifecycleTarget     `yaml:"chains"`
	Attachments        struct {
		MaxFileBytes int64 `yaml:"max_file_bytes"`
		MaxTaskBytes int64 `yaml:"max_task_bytes"`
		MaxFiles     int   `yaml:"max_files"`
	} `yaml:"attachments"`

	// signingKey is the key resolve read, nil when none is configured;
	// keyErr then says why. Links of the lifecycle and stores' own request
	// forms are signed with it.
	signingKey []byte
	keyErr     error
}

type lifecycleQC struct {
	Delay   Duration            `yaml:"delay"`   // default for every client; 0: no QC tickets
	Clients map[string]Duration `yaml:"clients"` // per client
	Team    []string            `yaml:"team"`    // emails
}

type lifecycleApprover struct {
	Role     string `yaml:"role"`
	ByRegion bool   `yaml:"by_region"`
}

type lifecycleTarget struct {
	Kind     string            `yaml:"kind"` // connector | email
	Target   string            `yaml:"target"`
	Statuses map[string]string `yaml:"statuses"` // our done/cancelled -> the chain's status code
}

// defaultLifecycleConfig is the section before the file is read.
func defaultLifecycleConfig() LifecycleConfig {
	lc := LifecycleConfig{SigningKeyEnv: "INTAKE_LINK_KEY", LinkTTL: Duration(lifecycle.DefaultLinkTTL), AtRisk: lifecycle.DefaultAtRisk,
		SchedulerInterval: Duration(lifecycle.DefaultSchedulerInterval)}
	lc.Offer.N = lifecycle.DefaultOfferN
	lc.Offer.Timeout = Duration(lifecycle.DefaultOfferTimeout)
	return lc
}

func checkLifecycle(lc LifecycleConfig) []string {
	var p []string
	if lc.Offer.N <= 0 {
		p = append(p, "lifecycle.offer.n: must be positive")
	}
	if lc.Offer.Timeout.D() <= 0 {
		p = append(p, "lifecycle.offer.timeout: must be positive")
	}
	if lc.AtRisk <= 0 || lc.AtRisk >= 1 {
		p = append(p, fmt.Sprintf("lifecycle.at_risk: %v is not between 0 and 1 (e.g. 0.8)", lc.AtRisk))
	}
	if lc.SchedulerInterval.D() <= 0 {
		p = append(p, "lifecycle.scheduler_interval: must be positive")
	}
	if lc.BaseURL != "" {
		if u, err := url.Parse(lc.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p = append(p, fmt.Sprintf("lifecycle.base_url: %q is not an http(s) URL", lc.BaseURL))
		}
	}
	for i, d := range lc.Dispatchers {
		if !strings.Contains(d, "@") {
			p = append(p, fmt.Sprintf("lifecycle.dispatchers[%d]: %q is not an email address", i, d))
		}
	}
	for i, d := range lc.QC.Team {
		if !strings.Contains(d, "@") {
			p = append(p, fmt.Sprintf("lifecycle.qc.team[%d]: %q is not an email address", i, d))
		}
	}
	for client, steps := range lc.Approvals {
		for i, s := range steps {
			if s.Role == "" {
				p = append(p, fmt.Sprintf("lifecycle.approvals.%s[%d].role: required", client, i))
			}
		}
	}
	for client, t := range lc.Chains {
		switch t.Kind {
		case lifecycle.ChannelConnector, lifecycle.ChannelEmail:
		default:
			p = append(p, fmt.Sprintf("lifecycle.chains.%s.kind: %q is not one of connector, email", client, t.Kind))
		}
		if t.Target == "" {
			p = append(p, fmt.Sprintf("lifecycle.chains.%s.target: required", client))
		}
	}
	for k, v := range map[string]string{"dispatchers_webhook": lc.DispatchersWebhook, "engineer_webhook": lc.EngineerWebhook} {
		if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			p = append(p, fmt.Sprintf("lifecycle.%s: %q is not an http(s) URL", k, v))
		}
	}
	return p
}

// resolve checks the section and reads the signing key, once: it is
// required when base_url is set (links are then sent), optional otherwise.
func (lc *LifecycleConfig) resolve(getenv func(string) string) []string {
	p := checkLifecycle(*lc)
	lc.signingKey, lc.keyErr = lifecycleKey(*lc, getenv)
	if len(p) == 0 && lc.BaseURL != "" && lc.keyErr != nil {
		p = append(p, lc.keyErr.Error())
	}
	return p
}

// lifecycleKey reads the signing key; "" when none is configured.
func lifecycleKey(lc LifecycleConfig, getenv func(string) string) ([]byte, error) {
	var key string
	switch {
	case lc.SigningKeyFile != "":
		b, err := os.ReadFile(lc.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("lifecycle.signing_key_file: %v", err)
		}
		key = strings.TrimSpace(string(b))
	case lc.SigningKeyEnv != "":
		key = getenv(lc.SigningKeyEnv)
	}
	if key == "" {
		return nil, fmt.Errorf("lifecycle: signed links need a key: set %s (at least %d bytes, e.g. `openssl rand -hex 32`) or lifecycle.signing_key_file",
			lc.SigningKeyEnv, lifecycle.MinKeyLen)
	}
	if len(key) < lifecycle.MinKeyLen {
		return nil, fmt.Errorf("lifecycle: the signing key is %d bytes; at least %d are needed", len(key), lifecycle.MinKeyLen)
	}
	return []byte(key), nil
}

// serviceConfig turns the section into the lifecycle's configuration.
func serviceConfig(lc LifecycleConfig, loc *time.Location) lifecycle.Config {
	out := lifecycle.Config{
		OfferN: lc.Offer.N, OfferTimeout: lc.Offer.Timeout.D(), AtRisk: lc.AtRisk, Contractor: lc.Contractor,
		BaseURL: lc.BaseURL, LinkTTL: lc.LinkTTL.D(), Dispatchers: lc.Dispatchers, DispatchersWebhook: lc.DispatchersWebhook,
		EngineerWebhook: lc.EngineerWebhook, QCTeam: lc.QC.Team, QCDelay: map[string]time.Duration{"": lc.QC.Delay.D()},
		Approvals: map[string][]lifecycle.ApprovalStep{}, Chains: map[string]lifecycle.ChainTarget{},
		MaxAttachmentBytes: lc.Attachments.MaxFileBytes, MaxTaskBytes: lc.Attachments.MaxTaskBytes, MaxAttachments: lc.Attachments.MaxFiles,
		Location: loc,
	}
	for c, d := range lc.QC.Clients {
		out.QCDelay[c] = d.D()
	}
	for c, steps := range lc.Approvals {
		for _, s := range steps {
			out.Approvals[c] = append(out.Approvals[c], lifecycle.ApprovalStep{Role: s.Role, ByRegion: s.ByRegion})
		}
	}
	for c, t := range lc.Chains {
		out.Chains[c] = lifecycle.ChainTarget{Channel: t.Kind, Target: t.Target, Statuses: t.Statuses}
	}
	return out
}

// newLifecycle builds the lifecycle over st; now is its clock.
func newLifecycle(cfg Config, st *store.Store, dir func() *routing.Directory, now func() time.Time) (*lifecycle.Service, LifecycleConfig, error) {
	lc := cfg.Lifecycle
	var signer *lifecycle.Signer
	if lc.signingKey != nil {
		var err error
		if signer, err = lifecycle.NewSigner(lc.signingKey); err != nil {
			return nil, lc, err
		}
	} else if lc.BaseURL != "" {
		return nil, lc, cmp.Or(lc.keyErr, errors.New("lifecycle: no signing key"))
	}
	sc := serviceConfig(lc, cfg.Intake.Location)
	sc.ChannelsOff = outboxChannelsOff(&cfg)
	return lifecycle.NewService(st, sc, signer, pipeline.LifecycleRouter(dir), now), lc, nil
}

// setupLifecycle hooks the lifecycle onto new tickets, serves its routes
// and returns its scheduler.
func setupLifecycle(env *componentEnv) (func(context.Context) error, error) {
	l, lc, err := newLifecycle(env.cfg, env.eng.st, func() *routing.Directory { return env.eng.proc.Runtime().Directory }, env.eng.now)
	if err != nil {
		return nil, err
	}
	if _, off := l.ChannelsOff()[lifecycle.ChannelEmail]; l.Signer() == nil && !off {
		env.log.Warn("lifecycle: no signing key and no base_url: notification emails carry no one-click links")
	}
	// A channel nothing delivers is said once here; its notifications are
	// not queued, and only counted.
	for _, kind := range slices.Sorted(maps.Keys(l.ChannelsOff())) {
		env.log.Info(fmt.Sprintf("notifications by %s are off: %s", kind, l.ChannelsOff()[kind]))
		if err := env.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "intake_notifications_skipped_total",
			Help:        "Lifecycle notifications not queued because no sender of their kind is configured.",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, func() float64 { return float64(l.Skipped(kind)) })); err != nil {
			return nil, err
		}
	}
	// A chain told by a channel that is off never hears of completion: a
	// configuration mistake worth a warning of its own.
	for _, client := range slices.Sorted(maps.Keys(lc.Chains)) {
		if why, off := l.ChannelsOff()[lc.Chains[client].Kind]; off {
			env.log.Warn(fmt.Sprintf("lifecycle.chains.%s: the chain is told by %s, which is off (%s): it will not hear of completion or cancellation",
				client, lc.Chains[client].Kind, why))
		}
	}
	env.eng.proc.OnTicket(func(ctx context.Context, tx pgx.Tx, ticketID, itemID int64, dec flow.Decision, created *store.Ticket) error {
		var a *lifecycle.Assignment
		if dec.Assignment != nil {
			la := pipeline.LifecycleAssignment(*dec.Assignment)
			a = &la
		}
		if created != nil {
			t := store.LifecycleTicket(created)
			err := l.OnCreated(ctx, store.LifecycleTx(tx), t, a)
			created.State, created.Engineer = t.State, t.Engineer
			return err
		}
		return l.OnTicket(ctx, store.LifecycleTx(tx), ticketID, false, dec.Event, a)
	})
	(&web.LifecycleAPI{Service: l, Store: env.eng.st, Log: env.log}).Register(env.mux)
	env.eng.lifecycle = l
	interval := lc.SchedulerInterval.D()
	return func(ctx context.Context) error {
		err := l.RunScheduler(ctx, interval, func(err error) { env.log.Error("lifecycle scheduler", "error", err) })
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}, nil
}
