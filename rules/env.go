package rules

import (
	"net/textproto"
	"strings"
	"time"

	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/routing"
)

// Env is what every expression sees: rule conditions, `=expr` action values
// and format match expressions. The names in expressions are the expr tags
// (lower case, snake_case). Everything a rule may look at is copied in by the
// caller before evaluation: rules do no I/O.
//
// Strings that are unknown are "", lists are empty, times are zero. Client,
// Contact and Object are values, never nil: an unmatched one has Code "" (or
// Name "" for a contact), so `client.code == ""` reads "no client known".
type Env struct {
	// Source is how the item arrived: one of flow's Source constants,
	// "mail", "call" or "connector".
	Source string `expr:"source" json:"source"`
	// From is the sender's address, lower case ("orders@pu.example").
	From string `expr:"from" json:"from"`
	// FromName is the sender's display name ("PU Service Desk").
	FromName string `expr:"from_name" json:"from_name,omitempty"`
	// FromDomain is the domain of From, lower case ("pu.example").
	FromDomain string `expr:"from_domain" json:"from_domain"`
	// To and Cc are the recipients' addresses, lower case.
	To []string `expr:"to" json:"to,omitempty"`
	Cc []string `expr:"cc" json:"cc,omitempty"`
	// Subject is the decoded subject line.
	Subject string `expr:"subject" json:"subject"`
	// Headers holds the first value of every header (several values joined
	// with ", "), under both the canonical name ("List-Unsubscribe") and the
	// lower-case name ("list-unsubscribe"). A missing header reads "".
	Headers map[string]string `expr:"headers" json:"headers,omitempty"`
	// Text is the whole text body (HTML rendered to text, table rows as
	// "label: value" lines).
	Text string `expr:"text" json:"text"`
	// NewText is Text without quoted history, forwarded blocks and signature:
	// what the sender wrote this time.
	NewText string `expr:"new_text" json:"new_text"`
	// Tables are the HTML tables of the body: tables -> rows -> cells.
	Tables [][][]string `expr:"tables" json:"tables,omitempty"`
	// Attachments lists the attachments (name, type, size).
	Attachments []Attachment `expr:"attachments" json:"attachments,omitempty"`
	// Fields is what extraction found; empty before extraction (message stage).
	Fields Fields `expr:"fields" json:"fields"`
	// Client is the client (retail chain) the item was matched to.
	Client Client `expr:"client" json:"client"`
	// Contact is the known person who sent or called, if any.
	Contact Contact `expr:"contact" json:"contact"`
	// Object is the service object (store) the item was matched to.
	Object Object `expr:"object" json:"object"`
	// Equipment is the equipment a serial number in the item named; its
	// Serial is "" when none was found.
	Equipment Equipment `expr:"equipment" json:"equipment"`
	// Call describes a phone call; zero for mail and connector items.
	Call Call `expr:"call" json:"call"`
	// Now is the evaluation time, given by the caller so that a backtest
	// evaluates as of the original processing time.
	Now time.Time `expr:"now" json:"now"`
	// Received is when Intake received the item.
	Received time.Time `expr:"received" json:"received"`
	// Format is the name of the format used for extraction, "" for free text
	// or before a format is chosen.
	Format string `expr:"format" json:"format"`

	// meter is set on run's private copy: the budget of the evaluation.
	meter *meter
}

// Attachment is an attachment as rules see it.
type Attachment struct {
	Name string `expr:"name" json:"name"`
	// Type is the MIME type, lower case ("application/pdf").
	Type string `expr:"type" json:"type"`
	// Size is in bytes.
	Size int64 `expr:"size" json:"size"`
}

// Fields is parsers.Fields as rules see it.
type Fields struct {
	Format      string `expr:"format" json:"format,omitempty"`
	Client      string `expr:"client" json:"client,omitempty"`
	ExternalID  string `expr:"external_id" json:"external_id,omitempty"`
	ObjectCode  string `expr:"object_code" json:"object_code,omitempty"`
	ObjectName  string `expr:"object_name" json:"object_name,omitempty"`
	Address     string `expr:"address" json:"address,omitempty"`
	Problem     string `expr:"problem" json:"problem,omitempty"`
	CategoryRaw string `expr:"category_raw" json:"category_raw,omitempty"`
	Category    string `expr:"category" json:"category,omitempty"`
	PriorityRaw string `expr:"priority_raw" json:"priority_raw,omitempty"`
	Priority    string `expr:"priority" json:"priority,omitempty"`
	// Due is zero when the client gave no due time.
	Due    time.Time         `expr:"due" json:"due,omitempty"`
	Status string            `expr:"status" json:"status,omitempty"`
	Event  string            `expr:"event" json:"event,omitempty"`
	Phones []string          `expr:"phones" json:"phones,omitempty"`
	Emails []string          `expr:"emails" json:"emails,omitempty"`
	Codes  []string          `expr:"codes" json:"codes,omitempty"`
	Refs   []string          `expr:"refs" json:"refs,omitempty"`
	Urgent bool              `expr:"urgent" json:"urgent,omitempty"`
	Extra  map[string]string `expr:"extra" json:"extra,omitempty"`
}

// Client is routing.Client as rules see it.
type Client struct {
	Code    string   `expr:"code" json:"code"`
	Name    string   `expr:"name" json:"name"`
	Domains []string `expr:"domains" json:"domains,omitempty"`
}

// Contact is routing.Contact as rules see it.
type Contact struct {
	Name  string `expr:"name" json:"name"`
	Role  string `expr:"role" json:"role"`
	Email string `expr:"email" json:"email"`
	Phone string `expr:"phone" json:"phone"`
	// Object is the code of the contact's store, "" for regional roles.
	Object string `expr:"object" json:"object"`
}

// Object is routing.Object as rules see it.
type Object struct {
	Code    string `expr:"code" json:"code"`
	Name    string `expr:"name" json:"name"`
	Address string `expr:"address" json:"address"`
	City    string `expr:"city" json:"city"`
	Region  string `expr:"region" json:"region"`
	// Engineer is the object's fixed engineer code, "" when none.
	Engineer string `expr:"engineer" json:"engineer"`
}

// Equipment is routing.Equipment as rules see it, with where its serial
// was found and whether it is under warranty today.
type Equipment struct {
	Serial string `expr:"serial" json:"serial"`
	Model  string `expr:"model" json:"model"`
	// Kind is a category code.
	Kind string `expr:"kind" json:"kind"`
	// Client and Object are where the equipment is registered.
	Client string `expr:"client" json:"client"`
	Object string `expr:"object" json:"object"`
	// Installed and WarrantyUntil are dates "YYYY-MM-DD", "" when unknown.
	Installed     string `expr:"installed" json:"installed,omitempty"`
	WarrantyUntil string `expr:"warranty_until" json:"warranty_until,omitempty"`
	Warranty      bool   `expr:"warranty" json:"warranty"`
	// Source is where the serial was found: "subject", "text", "table",
	// "attachment:NAME" or "field"; How is "label", "token" or "field".
	Source string `expr:"source" json:"source,omitempty"`
	How    string `expr:"how" json:"how,omitempty"`
}

// SetEquipment sets the equipment the item names; warranty is whether it
// is under warranty at the evaluation time.
func (e *Env) SetEquipment(m routing.EquipmentMatch, warranty bool) {
	if m.Equipment == nil {
		return
	}
	q := m.Equipment
	e.Equipment = Equipment{Serial: q.Serial, Model: q.Model, Kind: q.Kind, Client: q.Client, Object: q.Object,
		Installed: q.Installed, WarrantyUntil: q.WarrantyUntil, Warranty: warranty, Source: m.Source, How: m.How}
}

// Call describes a phone call.
type Call struct {
	Caller string `expr:"caller" json:"caller"` // E.164
	Callee string `expr:"callee" json:"callee"` // E.164, the line that was called
	Missed bool   `expr:"missed" json:"missed"`
	// Duration is the talk time in seconds.
	Duration int `expr:"duration" json:"duration"`
	// Direction is "in" or "out".
	Direction string `expr:"direction" json:"direction"`
}

// NewEnv builds the environment of a message. doc may be nil (a call or a
// connector order without a mail). Fields, Client, Contact, Object and Call
// are left zero: set them as they become known.
func NewEnv(source string, doc *parsers.Document, received, now time.Time) *Env {
	e := &Env{Source: source, Received: received, Now: now}
	if doc == nil {
		return e
	}
	e.From = strings.ToLower(doc.From.Email)
	e.FromName = doc.From.Name
	e.FromDomain = emailDomain(e.From)
	e.To = addresses(doc.To)
	e.Cc = addresses(doc.Cc)
	e.Subject = doc.Subject
	e.Text = doc.Text
	e.NewText = doc.NewText
	e.Tables = doc.Tables
	if len(doc.Header) > 0 {
		e.Headers = make(map[string]string, 2*len(doc.Header))
		for k, vs := range doc.Header {
			v := strings.Join(vs, ", ")
			e.Headers[textproto.CanonicalMIMEHeaderKey(k)] = v
			e.Headers[strings.ToLower(k)] = v
		}
	}
	for _, a := range doc.Attachments {
		e.Attachments = append(e.Attachments, Attachment{
			Name: a.Name,
			Type: strings.ToLower(a.ContentType),
			Size: a.Size,
		})
	}
	return e
}

// SetFields copies what extraction found into the environment.
func (e *Env) SetFields(f parsers.Fields) {
	e.Fields = Fields{
		Format:      f.Format,
		Client:      f.Client,
		ExternalID:  f.ExternalID,
		ObjectCode:  f.ObjectCode,
		ObjectName:  f.ObjectName,
		Address:     f.Address,
		Problem:     f.Problem,
		CategoryRaw: f.CategoryRaw,
		Category:    f.Category,
		PriorityRaw: f.PriorityRaw,
		Priority:    f.Priority,
		Status:      f.Status,
		Event:       f.Event,
		Phones:      f.Phones,
		Emails:      f.Emails,
		Codes:       f.Codes,
		Refs:        f.Refs,
		Urgent:      f.Urgent,
		Extra:       f.Extra,
	}
	if f.Due != nil {
		e.Fields.Due = *f.Due
	}
	if e.Format == "" {
		e.Format = f.Format
	}
}

// SetClient sets the client the item was matched to.
func (e *Env) SetClient(c routing.Client) {
	e.Client = Client{Code: c.Code, Name: c.Name, Domains: c.Domains}
}

// SetContact sets the known person behind the item.
func (e *Env) SetContact(c routing.Contact) {
	e.Contact = Contact{Name: c.Name, Role: c.Role, Email: c.Email, Phone: c.Phone, Object: c.Object}
}

// SetObject sets the service object the item was matched to.
func (e *Env) SetObject(o routing.Object) {
	e.Object = Object{Code: o.Code, Name: o.Name, Address: o.Address, City: o.City, Region: o.Region, Engineer: o.Engineer}
}

func addresses(as []parsers.Address) []string {
	if len(as) == 0 {
		return nil
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = strings.ToLower(a.Email)
	}
	return out
}
