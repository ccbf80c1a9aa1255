// Package jira is the connector for Jira Service Management (REST API v2,
// basic auth with an account e-mail and API token).
//
//	search:      GET  /rest/api/2/search?jql=...&startAt=&maxResults=
//	comment:     POST /rest/api/2/issue/{key}/comment         {"body"}
//	transitions: GET  /rest/api/2/issue/{key}/transitions
//	transition:  POST /rest/api/2/issue/{key}/transitions     {"transition": {"id"}}
//	webhook:     Jira posts {"webhookEvent", "issue"} signed with
//	             X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>.
//
// The chain's number is the issue key (SRV-10234). A status push names the
// target status; the transition leading to it is looked up.
package jira

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/outbox"
)

// Config of one site.
type Config struct {
	Name, Client  string
	BaseURL       string // https://chain.atlassian.net
	Email, Token  string
	JQL           string // which issues, e.g. project = SRV
	WebhookSecret string
	ObjectField   string         // field with the store code, e.g. customfield_10050; else found in the summary
	Location      *time.Location // zone of the desk's dates (intake.timezone or the connector's own); UTC when nil
	Timeout       time.Duration
	MinInterval   time.Duration
	PageSize      int
}

// Connector talks to one Jira site.
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
	auth := func(r *http.Request) { r.SetBasicAuth(cfg.Email, cfg.Token) }
	return &Connector{cfg: cfg, http: connectors.NewHTTPClient(cfg.Timeout, cfg.MinInterval, auth)}
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Client implements connectors.Connector.
func (c *Connector) Client() string { return c.cfg.Client }

// Issue is the part of a Jira issue we read.
type Issue struct {
	Key    string                     `json:"key"`
	Fields map[string]json.RawMessage `json:"fields"`
}

func field(f map[string]json.RawMessage, name string) string {
	raw, ok := f[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct{ Name, Value string }
	if json.Unmarshal(raw, &obj) == nil {
		return cmp.Or(obj.Name, obj.Value)
	}
	return ""
}

const jiraTime = "2006-01-02T15:04:05.000-0700"

func (c *Connector) order(is Issue, raw []byte) (connectors.Order, error) {
	f := is.Fields
	o := connectors.Order{ExternalID: is.Key, Title: field(f, "summary"), Problem: field(f, "description"),
		Status: field(f, "status"), Priority: field(f, "priority"), Category: field(f, "issuetype"), Raw: raw}
	if c.cfg.ObjectField != "" {
		o.ObjectCode = field(f, c.cfg.ObjectField)
	}
	if o.ExternalID == "" {
		return o, errors.New("jira issue without key")
	}
	t, err := connectors.ParseTime(field(f, "updated"), c.cfg.Location, jiraTime, time.RFC3339Nano)
	if err != nil {
		return o, fmt.Errorf("jira issue %s: updated: %w", is.Key, err)
	}
	o.UpdatedAt = t
	if d := field(f, "duedate"); d != "" {
		if due, err := connectors.ParseTime(d, c.cfg.Location, "2006-01-02", jiraTime); err == nil {
			o.Due = &due
		}
	}
	return o, nil
}

// Pull implements connectors.Connector. JQL compares times by the minute:
// the search starts at the cursor's minute and the records up to the cursor
// are dropped.
func (c *Connector) Pull(ctx context.Context, cursor string) (connectors.Page, error) {
	cur, err := connectors.ParseCursor(cursor)
	if err != nil {
		return connectors.Page{}, err
	}
	jql := strings.TrimSpace(c.cfg.JQL)
	if !cur.At.IsZero() {
		since := fmt.Sprintf(`updated >= "%s"`, cur.At.In(c.cfg.Location).Format("2006/01/02 15:04"))
		if jql != "" {
			jql = "(" + jql + ") AND " + since
		} else {
			jql = since
		}
	}
	jql += " ORDER BY updated ASC, key ASC"
	var all []connectors.Order
	for start := 0; ; {
		q := url.Values{"jql": {jql}, "startAt": {fmt.Sprint(start)}, "maxResults": {fmt.Sprint(c.cfg.PageSize)}}
		var res struct {
			Total  int               `json:"total"`
			Issues []json.RawMessage `json:"issues"`
		}
		if err := c.http.JSON(ctx, "GET", c.cfg.BaseURL+"/rest/api/2/search?"+q.Encode(), nil, &res); err != nil {
			return connectors.Page{}, err
		}
		for _, raw := range res.Issues {
			var is Issue
			if err := json.Unmarshal(raw, &is); err != nil {
				return connectors.Page{}, fmt.Errorf("jira search: %w", err)
			}
			o, err := c.order(is, raw)
			if err != nil {
				return connectors.Page{}, err
			}
			all = append(all, o)
		}
		start += len(res.Issues)
		if len(res.Issues) == 0 || start >= res.Total || len(all) > c.cfg.PageSize {
			break
		}
	}
	return connectors.Window(all, cur, c.cfg.PageSize), nil
}

// Push implements connectors.Connector.
func (c *Connector) Push(ctx context.Context, p connectors.Push) error {
	base := c.cfg.BaseURL + "/rest/api/2/issue/" + url.PathEscape(p.ExternalID)
	switch p.Op {
	case connectors.OpStatus:
		var tr struct {
			Transitions []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
				To   struct {
					Name string `json:"name"`
				} `json:"to"`
			} `json:"transitions"`
		}
		if err := c.http.JSON(ctx, "GET", base+"/transitions", nil, &tr); err != nil {
			return err
		}
		id := ""
		for _, t := range tr.Transitions {
			if strings.EqualFold(t.To.Name, p.Status) || strings.EqualFold(t.Name, p.Status) || t.ID == p.Status {
				id = t.ID
				break
			}
		}
		if id != "" {
			if err := c.http.JSON(ctx, "POST", base+"/transitions", map[string]any{"transition": map[string]string{"id": id}}, nil); err != nil {
				return err
			}
		} else if p.Comment == "" {
			// Already there, or no way there from the current status.
			return outbox.Permanent(fmt.Errorf("jira %s: no transition to %q", p.ExternalID, p.Status))
		}
		if p.Comment == "" {
			return nil
		}
		fallthrough
	case connectors.OpComment:
		return c.http.JSON(ctx, "POST", base+"/comment", map[string]string{"body": p.Comment}, nil)
	}
	return outbox.Permanent(errors.New("jira: unknown push op " + p.Op))
}

// Sign returns the X-Hub-Signature value of body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Webhook implements connectors.WebhookReceiver.
func (c *Connector) Webhook(r *http.Request, body []byte) ([]connectors.Order, error) {
	sig := strings.TrimSpace(r.Header.Get("X-Hub-Signature"))
	if c.cfg.WebhookSecret == "" || sig == "" || !hmac.Equal([]byte(strings.ToLower(sig)), []byte(Sign(c.cfg.WebhookSecret, body))) {
		return nil, fmt.Errorf("%w: X-Hub-Signature does not match", connectors.ErrBadSignature)
	}
	var ev struct {
		Issue json.RawMessage `json:"issue"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || len(ev.Issue) == 0 {
		return nil, fmt.Errorf("jira webhook: no issue in body: %v", err)
	}
	var is Issue
	if err := json.Unmarshal(ev.Issue, &is); err != nil {
		return nil, fmt.Errorf("jira webhook: %w", err)
	}
	o, err := c.order(is, ev.Issue)
	if err != nil {
		return nil, err
	}
	return []connectors.Order{o}, nil
}
