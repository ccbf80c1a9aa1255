// Package okdesk is the connector for Okdesk (https://<account>.okdesk.ru/api/v1,
// api_token in the query: Okdesk's API takes the token nowhere else, so every
// error that quotes a URL is masked by the connectors' HTTP client, see
// package redact).
//
//	list:     GET  /api/v1/issues/list?updated_since=dd-mm-yyyy HH:MM   [{id, updated_at, ...}]
//	get:      GET  /api/v1/issues/{id}
//	status:   POST /api/v1/issues/{id}/statuses  {"code", "comment"}
//	comment:  POST /api/v1/issues/{id}/comments  {"content", "author_id", "public"}
//	webhook:  Okdesk posts {"event": {"event_type"}, "issue": {...}}; it signs
//	          nothing, so the URL carries a token we check (?token=...).
//
// The chain's number is the Okdesk issue id.
package okdesk

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/outbox"
)

// Config of one account.
type Config struct {
	Name, Client string
	BaseURL      string // https://account.okdesk.ru
	Token        string
	WebhookToken string
	AuthorID     int64          // employee id comments are written as
	ObjectParam  string         // code of the issue parameter with the store code; else the service object's name
	Location     *time.Location // zone of the desk's dates (intake.timezone or the connector's own); UTC when nil
	Timeout      time.Duration
	MinInterval  time.Duration
	PageSize     int
}

// Connector talks to one Okdesk account.
type Connector struct {
	cfg  Config
	http *connectors.HTTPClient
}

// New returns a connector.
func New(cfg Config) *Connector {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Connector{cfg: cfg, http: connectors.NewHTTPClient(cfg.Timeout, cfg.MinInterval, nil)}
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Client implements connectors.Connector.
func (c *Connector) Client() string { return c.cfg.Client }

func (c *Connector) url(path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("api_token", c.cfg.Token)
	return c.cfg.BaseURL + "/api/v1/" + path + "?" + q.Encode()
}

type named struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type param struct {
	Code  string `json:"code"`
	Value any    `json:"value"`
}

// serialParams are the codes of an issue's additional parameters that hold
// an equipment serial number.
var serialParams = map[string]bool{"serial": true, "serial_number": true, "sn": true, "zav_nomer": true, "zavodskoy_nomer": true}

// Issue is the part of an Okdesk issue we read.
type Issue struct {
	ID            json.Number `json:"id"`
	Title         string      `json:"title"`
	Description   string      `json:"description"`
	Status        named       `json:"status"`
	Priority      named       `json:"priority"`
	Type          named       `json:"type"`
	DeadlineAt    string      `json:"deadline_at"`
	UpdatedAt     string      `json:"updated_at"`
	ServiceObject *named      `json:"service_object"`
	Address       string      `json:"address"`
	Parameters    []param     `json:"parameters"`
}

var layouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-07:00", "2006-01-02 15:04:05"}

func (c *Connector) order(is Issue, raw []byte) (connectors.Order, error) {
	o := connectors.Order{ExternalID: is.ID.String(), Title: is.Title, Problem: is.Description, Status: is.Status.Code,
		Priority: cmp.Or(is.Priority.Name, is.Priority.Code), Category: cmp.Or(is.Type.Name, is.Type.Code), Address: is.Address, Raw: raw}
	if is.ServiceObject != nil {
		o.ObjectCode = is.ServiceObject.Name
	}
	for _, p := range is.Parameters {
		if c.cfg.ObjectParam != "" && p.Code == c.cfg.ObjectParam {
			o.ObjectCode = fmt.Sprint(p.Value)
		}
		if serialParams[strings.ToLower(p.Code)] && p.Value != nil {
			o.Serial = fmt.Sprint(p.Value)
		}
	}
	if o.ExternalID == "" {
		return o, errors.New("okdesk issue without id")
	}
	t, err := connectors.ParseTime(is.UpdatedAt, c.cfg.Location, layouts...)
	if err != nil {
		return o, fmt.Errorf("okdesk issue %s: updated_at: %w", o.ExternalID, err)
	}
	o.UpdatedAt = t
	if is.DeadlineAt != "" {
		if d, err := connectors.ParseTime(is.DeadlineAt, c.cfg.Location, layouts...); err == nil {
			o.Due = &d
		}
	}
	return o, nil
}

// Pull implements connectors.Connector: the list gives the issues changed
// since the cursor's minute (Okdesk's resolution); each is then read whole.
func (c *Connector) Pull(ctx context.Context, cursor string) (connectors.Page, error) {
	cur, err := connectors.ParseCursor(cursor)
	if err != nil {
		return connectors.Page{}, err
	}
	q := url.Values{}
	if !cur.At.IsZero() {
		q.Set("updated_since", cur.At.In(c.cfg.Location).Format("02-01-2006 15:04"))
	}
	var list []Issue
	if err := c.http.JSON(ctx, "GET", c.url("issues/list", q), nil, &list); err != nil {
		return connectors.Page{}, err
	}
	var stubs []connectors.Order
	for _, is := range list {
		o, err := c.order(is, nil)
		if err != nil {
			return connectors.Page{}, err
		}
		stubs = append(stubs, o)
	}
	page := connectors.Window(stubs, cur, c.cfg.PageSize)
	for i, s := range page.Orders {
		var raw json.RawMessage
		if err := c.http.JSON(ctx, "GET", c.url("issues/"+url.PathEscape(s.ExternalID), nil), nil, &raw); err != nil {
			return connectors.Page{}, err
		}
		var is Issue
		if err := json.Unmarshal(raw, &is); err != nil {
			return connectors.Page{}, fmt.Errorf("okdesk issue %s: %w", s.ExternalID, err)
		}
		o, err := c.order(is, raw)
		if err != nil {
			return connectors.Page{}, err
		}
		// The version stays the listed one, so the cursor and the items agree.
		o.UpdatedAt = s.UpdatedAt
		page.Orders[i] = o
	}
	return page, nil
}

// Push implements connectors.Connector.
func (c *Connector) Push(ctx context.Context, p connectors.Push) error {
	if _, err := strconv.ParseInt(p.ExternalID, 10, 64); err != nil {
		return outbox.Permanent(fmt.Errorf("okdesk: %q is not an issue id", p.ExternalID))
	}
	path := "issues/" + p.ExternalID
	switch p.Op {
	case connectors.OpStatus:
		return c.http.JSON(ctx, "POST", c.url(path+"/statuses", nil), map[string]any{"code": p.Status, "comment": p.Comment}, nil)
	case connectors.OpComment:
		return c.http.JSON(ctx, "POST", c.url(path+"/comments", nil), map[string]any{"content": p.Comment, "author_id": c.cfg.AuthorID, "public": false}, nil)
	}
	return outbox.Permanent(errors.New("okdesk: unknown push op " + p.Op))
}

// Webhook implements connectors.WebhookReceiver.
func (c *Connector) Webhook(r *http.Request, body []byte) ([]connectors.Order, error) {
	tok := r.URL.Query().Get("token")
	if c.cfg.WebhookToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(c.cfg.WebhookToken)) != 1 {
		return nil, fmt.Errorf("%w: token does not match", connectors.ErrBadSignature)
	}
	var ev struct {
		Issue json.RawMessage `json:"issue"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || len(ev.Issue) == 0 {
		return nil, fmt.Errorf("okdesk webhook: no issue in body: %v", err)
	}
	var is Issue
	if err := json.Unmarshal(ev.Issue, &is); err != nil {
		return nil, fmt.Errorf("okdesk webhook: %w", err)
	}
	o, err := c.order(is, ev.Issue)
	if err != nil {
		return nil, err
	}
	return []connectors.Order{o}, nil
}
