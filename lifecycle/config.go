package lifecycle

import "time"

// Config is what the lifecycle needs from the configuration. Its zero
// fields take the defaults of [Config.WithDefaults], the one place they are
// defined.
type Config struct {
	OfferN       int           // engineers per offer round
	OfferTimeout time.Duration // an offer round lasts this long
	AtRisk       float64       // escalate when this share of the SLA time is used and nobody accepted
	Contractor   string        // our company, for the act
	BaseURL      string        // public URL of this server, for signed links
	LinkTTL      time.Duration // signed links expire after this
	// Dispatchers are emailed escalations; DispatchersWebhook (optional)
	// gets the same as JSON.
	Dispatchers        []string
	DispatchersWebhook string
	// EngineerWebhook (optional) gets every engineer notification as JSON,
	// for a mobile push or Telegram bridge.
	EngineerWebhook string
	// QCDelay: a QC ticket follows a completed one after this delay, per
	// client; the "" key is the default; 0 or absent: no QC ticket.
	QCDelay map[string]time.Duration
	QCTeam  []string // emailed about QC tickets
	// Approvals are the approval chains per client.
	Approvals map[string][]ApprovalStep
	// Chains say how each client hears of completion and cancellation.
	Chains map[string]ChainTarget
	// ChannelsOff are the outbox channels that nothing in this deployment
	// delivers (email with no SMTP relay), each with the reason. Their
	// notifications are not queued: a row no sender will ever take only
	// ends dead. Absent channels are delivered.
	ChannelsOff map[string]string
	// Attachment limits.
	MaxAttachmentBytes int64
	MaxTaskBytes       int64
	MaxAttachments     int
	Location           *time.Location // for acts, emails and periods
}

// The defaults of the configuration.
const (
	DefaultOfferN             = 3 // routing's default too
	DefaultOfferTimeout       = 15 * time.Minute
	DefaultAtRisk             = 0.8
	DefaultLinkTTL            = 72 * time.Hour
	DefaultMaxAttachmentBytes = 10 << 20
	DefaultMaxTaskBytes       = 50 << 20
	DefaultMaxAttachments     = 30
	// DefaultSchedulerInterval is how often the scheduler looks for due
	// timers and recurring work.
	DefaultSchedulerInterval = 15 * time.Second
)

// WithDefaults returns c with every unset or out-of-range field at its
// default; the location defaults to UTC.
func (c Config) WithDefaults() Config {
	if c.OfferN <= 0 {
		c.OfferN = DefaultOfferN
	}
	if c.OfferTimeout <= 0 {
		c.OfferTimeout = DefaultOfferTimeout
	}
	if c.AtRisk <= 0 || c.AtRisk >= 1 {
		c.AtRisk = DefaultAtRisk
	}
	if c.LinkTTL <= 0 {
		c.LinkTTL = DefaultLinkTTL
	}
	if c.MaxAttachmentBytes <= 0 {
		c.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if c.MaxTaskBytes <= 0 {
		c.MaxTaskBytes = DefaultMaxTaskBytes
	}
	if c.MaxAttachments <= 0 {
		c.MaxAttachments = DefaultMaxAttachments
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	return c
}

// QCDelayFor is the delay of a client's QC ticket; 0 means none.
func (c Config) QCDelayFor(client string) time.Duration {
	if d, ok := c.QCDelay[client]; ok {
		return d
	}
	return c.QCDelay[""]
}

// ApprovalStep is one approver in a client's chain: a contact with Role.
// With ByRegion the contact's role is "Role:<the store's region>" (as in
// contacts.csv: regional_director:Московская обл.).
type ApprovalStep struct {
	Role     string
	ByRegion bool
}

// ChainTarget is how a chain hears of its tickets' completion and
// cancellation: Channel connector (Target: connector name) or email
// (Target: address).
type ChainTarget struct {
	Channel string
	Target  string
	// Statuses maps our status (done, cancelled) to the chain's code for a
	// connector push; unmapped statuses are sent as ours.
	Statuses map[string]string
}

// The outbox channels a notification can take.
const (
	ChannelEmail     = "email"
	ChannelWebhook   = "webhook"
	ChannelConnector = "connector"
)
