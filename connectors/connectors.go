// Package connectors links Intake to the chains' own service desks.
//
// A Connector pulls new and changed orders and pushes our status changes and
// comments back, keyed by the chain's own number. Pulled orders enter the
// durable inbox as "connector" items and go through the same stages as mail
// (a changed order whose number we know is a follow-up on its ticket).
//
// Cursors: each pull starts from the cursor saved with the previous pull's
// items, in the same transaction, so a restart neither skips nor repeats a
// record. A record's item key is connector/number/version (its update time),
// so a record seen twice, by an overlapping pull or by a webhook, is stored
// once.
//
// Pushes go through the outbox (kind "connector", target = connector name):
// a desk that is down delays only its own pushes, which are retried with
// backoff and end as dead letters visible in the API.
package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/intakehq/intake/store"
)

// Order is one record of a chain's desk, reduced to what the pipeline needs.
// Texts are the chain's own words; the parse stage maps them to ours.
type Order struct {
	ExternalID string `json:"external_id"`   // the chain's number: what pushes are keyed by
	Key        string `json:"key,omitempty"` // the desk's internal id when it differs (Naumen UUID)
	ObjectCode string `json:"object_code,omitempty"`
	Address    string `json:"address,omitempty"`
	// Serial is an equipment serial number the desk gives in a field of
	// its own; serials in the title and problem text are found as in mail.
	Serial    string     `json:"serial,omitempty"`
	Title     string     `json:"title,omitempty"`
	Problem   string     `json:"problem,omitempty"`
	Category  string     `json:"category,omitempty"`
	Priority  string     `json:"priority,omitempty"`
	Due       *time.Time `json:"due,omitempty"`
	Status    string     `json:"status,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
	// Event is "closed" or "cancelled" when the status says so (see the
	// connector's closed/cancelled status lists), else "update"; the parse
	// stage treats an unknown number as new.
	Event string          `json:"event,omitempty"`
	Raw   json.RawMessage `json:"raw,omitempty"`
}

// Version is the order's change stamp, part of its item key.
func (o Order) Version() string { return o.UpdatedAt.UTC().Format(time.RFC3339Nano) }

// Page is one pull's result: orders oldest change first, and the cursor
// after the last of them.
type Page struct {
	Orders []Order
	Cursor string
	More   bool // another page is ready now
}

// Push operations.
const (
	OpStatus  = "status"
	OpComment = "comment"
)

// Push is a status change or comment for the chain's desk. It is the payload
// of a "connector" outbox message.
type Push struct {
	Op         string `json:"op"`
	ExternalID string `json:"external_id"`
	// Status is the chain's status code to set (already mapped from ours).
	Status   string `json:"status,omitempty"`
	Comment  string `json:"comment,omitempty"`
	TicketID int64  `json:"ticket_id,omitempty"`
}

// Connector is one chain's desk.
type Connector interface {
	Name() string
	// Client is our client code the desk's orders belong to.
	Client() string
	// Pull returns orders changed after cursor ("" = from the configured
	// start), oldest change first.
	Pull(ctx context.Context, cursor string) (Page, error)
	// Push applies a status change or comment to the order with the chain's
	// number. Errors follow the outbox's rules (outbox.Permanent,
	// outbox.RetryAfterError).
	Push(ctx context.Context, p Push) error
}

// WebhookReceiver is a connector whose desk calls us on changes. It verifies
// the request and returns the orders it carries.
type WebhookReceiver interface {
	Webhook(r *http.Request, body []byte) ([]Order, error)
}

// ErrBadSignature is returned by webhooks whose request is not signed by
// the desk.
var ErrBadSignature = errors.New("bad signature")

// Registry holds the configured connectors by name.
type Registry struct {
	byName   map[string]Connector
	byClient map[string]Connector
	mapping  map[string]Mapping
}

// Mapping translates between the chain's words and ours.
type Mapping struct {
	// Categories: the chain's category text -> our category code.
	Categories map[string]string
	// Priorities: the chain's priority text -> critical|high|normal|low.
	Priorities map[string]string
	// States: our ticket state -> the chain's status code. A state not
	// listed is not pushed.
	States map[string]string
	// Closed and Cancelled are the chain's status codes that close or cancel
	// the order on our side.
	Closed, Cancelled []string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]Connector{}, byClient: map[string]Connector{}, mapping: map[string]Mapping{}}
}

// Add registers a connector and its mapping.
func (r *Registry) Add(c Connector, m Mapping) error {
	if _, dup := r.byName[c.Name()]; dup {
		return fmt.Errorf("connector %q configured twice", c.Name())
	}
	r.byName[c.Name()] = c
	r.byClient[c.Client()] = c
	r.mapping[c.Name()] = m
	return nil
}

// Get returns a connector by name.
func (r *Registry) Get(name string) Connector { return r.byName[name] }

// ForClient returns the connector of a client, or nil.
func (r *Registry) ForClient(client string) Connector { return r.byClient[client] }

// Mapping returns a connector's mapping.
func (r *Registry) Mapping(name string) Mapping { return r.mapping[name] }

// All lists the connectors.
func (r *Registry) All() []Connector {
	out := make([]Connector, 0, len(r.byName))
	for _, c := range r.byName {
		out = append(out, c)
	}
	return out
}

// Send is the outbox sender of kind "connector": the row's target names the
// connector, its payload is a Push.
func (r *Registry) Send(ctx context.Context, m store.OutboxRow) error {
	c := r.byName[m.Target]
	if c == nil {
		return permanent(fmt.Errorf("no connector named %q is configured", m.Target))
	}
	var p Push
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return permanent(fmt.Errorf("push payload: %w", err))
	}
	if p.ExternalID == "" {
		return permanent(errors.New("push without the chain's number"))
	}
	return c.Push(ctx, p)
}
