// Package naumen is the connector for Naumen Service Desk and ITSM 365
// (the same REST API, /sd/services/rest). Requests carry the installation's
// accessKey. Attribute and state codes differ per installation and are
// configured.
//
//	find:    GET  {base}/services/rest/find/{metaClass}/{attrs JSON}?accessKey=K
//	get:     GET  {base}/services/rest/get/{uuid}?accessKey=K
//	edit:    POST {base}/services/rest/edit/{uuid}/{attrs JSON}?accessKey=K
//	comment: POST {base}/services/rest/create-m2m/comment/{"source":uuid,"text":...}?accessKey=K
//
// The desk has no "changed since" query: pull finds the records matching the
// configured filter (e.g. the requests of our team) and keeps those changed
// after the cursor (lastModifiedDate, uuid).
package naumen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/outbox"
)

// Attrs are the installation's attribute codes.
type Attrs struct {
	Number   string `yaml:"number"`   // the request number the chain quotes; default "number"
	Object   string `yaml:"object"`   // the store code; default "" (matched from the address)
	Address  string `yaml:"address"`  // default "address"
	Title    string `yaml:"title"`    // default "shortDescr"
	Problem  string `yaml:"problem"`  // default "descriptionRTF"
	Category string `yaml:"category"` // default "service"
	Priority string `yaml:"priority"` // default "priority"
	Deadline string `yaml:"deadline"` // default "deadLineTime"
	State    string `yaml:"state"`    // default "state"
	Modified string `yaml:"modified"` // default "lastModifiedDate"
}

// Config of one installation.
type Config struct {
	Name, Client string
	BaseURL      string // e.g. https://sd.chain.example/sd
	AccessKey    string
	MetaClass    string            // default serviceCall
	Filter       map[string]string // find attributes, e.g. {"responsibleTeam": "team$1201"}
	Attrs        Attrs
	Location     *time.Location // zone of the desk's dates (intake.timezone or the connector's own); UTC when nil
	Timeout      time.Duration
	MinInterval  time.Duration
	PageSize     int
}

// Connector talks to one installation.
type Connector struct {
	cfg  Config
	http *connectors.HTTPClient
}

// New returns a connector.
func New(cfg Config) *Connector {
	if cfg.MetaClass == "" {
		cfg.MetaClass = "serviceCall"
	}
	a := &cfg.Attrs
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&a.Number, "number")
	def(&a.Address, "address")
	def(&a.Title, "shortDescr")
	def(&a.Problem, "descriptionRTF")
	def(&a.Category, "service")
	def(&a.Priority, "priority")
	def(&a.Deadline, "deadLineTime")
	def(&a.State, "state")
	def(&a.Modified, "lastModifiedDate")
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Connector{cfg: cfg, http: connectors.NewHTTPClient(cfg.Timeout, cfg.MinInterval, nil)}
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Client implements connectors.Connector.
func (c *Connector) Client() string { return c.cfg.Client }

func (c *Connector) url(parts ...string) string {
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return c.cfg.BaseURL + "/services/rest/" + strings.Join(parts, "/") + "?accessKey=" + url.QueryEscape(c.cfg.AccessKey)
}

func attrJSON(m map[string]string) string {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m) // a map[string]string always encodes
	return string(b)
}

var layouts = []string{"2006.01.02 15:04:05", "2006.01.02 15:04", "2006-01-02T15:04:05.000Z07:00", time.RFC3339, "2006-01-02 15:04:05"}

// Pull implements connectors.Connector.
func (c *Connector) Pull(ctx context.Context, cursor string) (connectors.Page, error) {
	cur, err := connectors.ParseCursor(cursor)
	if err != nil {
		return connectors.Page{}, err
	}
	var recs []map[string]any
	if err := c.http.JSON(ctx, "GET", c.url("find", c.cfg.MetaClass, attrJSON(c.cfg.Filter)), nil, &recs); err != nil {
		return connectors.Page{}, err
	}
	orders := make([]connectors.Order, 0, len(recs))
	for _, r := range recs {
		o, err := c.order(r)
		if err != nil {
			return connectors.Page{}, err
		}
		orders = append(orders, o)
	}
	return connectors.Window(orders, cur, c.cfg.PageSize), nil
}

// str reads an attribute: a string, a number, or a reference object's title.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strings.TrimSuffix(fmt.Sprintf("%f", x), ".000000")
	case map[string]any:
		for _, k := range []string{"code", "title", "UUID"} {
			if s, ok := x[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return fmt.Sprint(v)
}

func (c *Connector) order(r map[string]any) (connectors.Order, error) {
	a := c.cfg.Attrs
	raw, err := json.Marshal(r)
	if err != nil {
		return connectors.Order{}, fmt.Errorf("encoding the record: %w", err)
	}
	o := connectors.Order{
		ExternalID: str(r[a.Number]), Key: str(r["UUID"]), Address: str(r[a.Address]),
		Title: str(r[a.Title]), Problem: stripHTML(str(r[a.Problem])), Category: str(r[a.Category]),
		Priority: str(r[a.Priority]), Status: str(r[a.State]), Raw: raw,
	}
	if a.Object != "" {
		o.ObjectCode = str(r[a.Object])
	}
	if o.ExternalID == "" || o.Key == "" {
		return o, fmt.Errorf("naumen record without %s or UUID: %.200s", a.Number, raw)
	}
	t, err := connectors.ParseTime(str(r[a.Modified]), c.cfg.Location, layouts...)
	if err != nil {
		return o, fmt.Errorf("naumen record %s: %s: %w", o.ExternalID, a.Modified, err)
	}
	o.UpdatedAt = t
	if s := str(r[a.Deadline]); s != "" {
		if d, err := connectors.ParseTime(s, c.cfg.Location, layouts...); err == nil {
			o.Due = &d
		}
	}
	return o, nil
}

// stripHTML drops tags of RTF-as-HTML descriptions.
func stripHTML(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// uuid finds the record of the chain's number.
func (c *Connector) uuid(ctx context.Context, number string) (string, error) {
	var recs []map[string]any
	if err := c.http.JSON(ctx, "GET", c.url("find", c.cfg.MetaClass, attrJSON(map[string]string{c.cfg.Attrs.Number: number})), nil, &recs); err != nil {
		return "", err
	}
	if len(recs) != 1 {
		return "", outbox.Permanent(fmt.Errorf("naumen: %d records with %s %q", len(recs), c.cfg.Attrs.Number, number))
	}
	return str(recs[0]["UUID"]), nil
}

// Push implements connectors.Connector.
func (c *Connector) Push(ctx context.Context, p connectors.Push) error {
	id, err := c.uuid(ctx, p.ExternalID)
	if err != nil {
		return err
	}
	switch p.Op {
	case connectors.OpStatus:
		if err := c.http.JSON(ctx, "POST", c.url("edit", id, attrJSON(map[string]string{c.cfg.Attrs.State: p.Status})), nil, nil); err != nil {
			return err
		}
		if p.Comment == "" {
			return nil
		}
		fallthrough
	case connectors.OpComment:
		return c.http.JSON(ctx, "POST", c.url("create-m2m", "comment", attrJSON(map[string]string{"source": id, "text": p.Comment})), nil, nil)
	}
	return outbox.Permanent(errors.New("naumen: unknown push op " + p.Op))
}
