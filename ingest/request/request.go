// Package request is the source of requests written directly to Intake: the
// request form store staff fill in on a phone (/form/) and the request API
// clients' systems call (POST /api/v1/requests). A request is stored in the
// inbox first, as an item of source "form" or "api" holding the request as
// JSON, and then goes through the same stages as mail: Parse turns it into
// the fields routing works with.
package request

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"golang.org/x/time/rate"

	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/parsers"
	"github.com/intakehq/intake/store"
)

// Request is a request as the form and the API take it, and as it is
// stored.
type Request struct {
	Client     string       `json:"client"`
	ExternalID string       `json:"external_id,omitempty"`
	Store      string       `json:"store,omitempty"`   // the store's code
	Address    string       `json:"address,omitempty"` // or its address
	Serial     string       `json:"serial,omitempty"`
	Problem    string       `json:"problem"`
	Priority   string       `json:"priority,omitempty"` // critical | high | normal | low
	Due        *time.Time   `json:"due,omitempty"`
	Contact    Contact      `json:"contact"`
	Attach     []Attachment `json:"attachments,omitempty"`
}

// Contact is who to call back about the request.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// Attachment is a link to a file or the file itself (Data, base64 in JSON).
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	URL         string `json:"url,omitempty"`
	Data        []byte `json:"data,omitempty"`
}

// Limits of a request.
const (
	MaxProblem        = 8 << 10
	MaxAttachments    = 10
	MaxAttachmentSize = 10 << 20 // bytes of one file
	MaxTotalSize      = 25 << 20 // bytes of all files
)

// FieldError is what is wrong with one field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FieldErrors are all a request's problems; it is the error Validate
// returns.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Message
	}
	return strings.Join(parts, "; ")
}

var priorities = map[string]bool{"critical": true, "high": true, "normal": true, "low": true}

// Validate checks a request field by field; clientKnown and storeKnown say
// whether a client code and a store code exist (nil: not checked).
func (r *Request) Validate(clientKnown func(string) bool, storeKnown func(client, code string) bool) error {
	var fe FieldErrors
	add := func(field, format string, args ...any) {
		fe = append(fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, s := range []*string{&r.Client, &r.ExternalID, &r.Store, &r.Address, &r.Serial, &r.Problem, &r.Priority, &r.Contact.Name, &r.Contact.Phone, &r.Contact.Email} {
		*s = strings.TrimSpace(*s)
	}
	switch {
	case r.Client == "":
		add("client", "required")
	case clientKnown != nil && !clientKnown(r.Client):
		add("client", "unknown client %q", r.Client)
	}
	if r.Store != "" && r.Client != "" && storeKnown != nil && clientKnown != nil && clientKnown(r.Client) && !storeKnown(r.Client, r.Store) {
		add("store", "unknown store %q of client %q", r.Store, r.Client)
	}
	switch {
	case r.Problem == "":
		add("problem", "required: describe what is wrong")
	case len(r.Problem) > MaxProblem:
		add("problem", "longer than %d bytes", MaxProblem)
	}
	if r.Store == "" && r.Address == "" && r.Serial == "" {
		add("store", "give the store's code, its address or the equipment's serial number")
	}
	if r.Priority != "" && !priorities[r.Priority] {
		add("priority", "%q is not one of critical, high, normal, low", r.Priority)
	}
	if r.Contact.Phone != "" && parsers.NormalizePhone(r.Contact.Phone) == "" {
		add("contact.phone", "%q is not a phone number", r.Contact.Phone)
	}
	if r.Contact.Email != "" && !strings.Contains(r.Contact.Email, "@") {
		add("contact.email", "%q is not an email address", r.Contact.Email)
	}
	if len(r.Attach) > MaxAttachments {
		add("attachments", "%d files, at most %d", len(r.Attach), MaxAttachments)
	}
	total := 0
	for i, a := range r.Attach {
		field := fmt.Sprintf("attachments[%d]", i)
		total += len(a.Data)
		switch {
		case a.URL == "" && len(a.Data) == 0:
			add(field, "give url or data")
		case a.URL != "" && len(a.Data) > 0:
			add(field, "give url or data, not both")
		case a.URL != "":
			if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				add(field+".url", "%q is not an http(s) address", a.URL)
			}
		case len(a.Data) > MaxAttachmentSize:
			add(field+".data", "%d bytes, at most %d", len(a.Data), MaxAttachmentSize)
		}
		if !utf8.ValidString(a.Name) || strings.ContainsAny(a.Name, "/\\\x00") {
			add(field+".name", "not a file name")
		}
	}
	if total > MaxTotalSize {
		add("attachments", "%d bytes in all, at most %d", total, MaxTotalSize)
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// Meta is what the item's meta says of a request.
type Meta struct {
	Caller string `json:"caller,omitempty"` // the API user, or "form"
	// StoreSigned is true when the store came from a store's own signed
	// form link, false when the submitter chose it.
	StoreSigned bool   `json:"store_signed,omitempty"`
	Key         string `json:"idempotency_key,omitempty"`
}

// Intake stores requests in the inbox.
type Intake struct {
	Inbox *ingest.Inbox
}

// Submitted is what storing a request did.
type Submitted struct {
	Item  int64
	Known bool // the same source position was stored before (a retry)
}

// Submit stores r as an item of source (flow.SourceForm or flow.SourceAPI).
// ref makes the item's position: an API caller's idempotency key, a form's
// random submission id. after runs in the same transaction.
func (in *Intake) Submit(ctx context.Context, source, ref string, r Request, meta Meta, after func(ctx context.Context, tx pgx.Tx, item int64) error) (Submitted, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return Submitted{}, err
	}
	// The item's meta is a map: Meta by its JSON names.
	mb, err := json.Marshal(meta)
	if err != nil {
		return Submitted{}, fmt.Errorf("request meta: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(mb, &m); err != nil {
		return Submitted{}, fmt.Errorf("request meta: %w", err)
	}
	pos := source + "/" + ref
	var res []ingest.Result
	res, err = in.Inbox.Put(ctx, []ingest.Item{{Source: source, SourceRef: pos, DedupKey: pos, Raw: raw, Meta: m}},
		func(ctx context.Context, tx pgx.Tx) error {
			if after == nil {
				return nil
			}
			id, err := store.ItemBySourceRef(ctx, tx, source, pos)
			if err != nil {
				return err
			}
			return after(ctx, tx, id)
		})
	if err != nil {
		return Submitted{}, fmt.Errorf("storing a %s request: %w", source, err)
	}
	return Submitted{Item: res[0].ID, Known: res[0].Status == ingest.StatusKnown}, nil
}

// Parse is the parse stage of form and API items (pipeline.SourceParser):
// the request becomes the fields routing works with.
func Parse(ctx context.Context, tx pgx.Tx, it *store.Item, rt *flow.Runtime) (*flow.Parsed, error) {
	var r Request
	if err := json.Unmarshal(it.Raw, &r); err != nil {
		return nil, store.Finish(ctx, tx, it.ID, store.OutcomeFailed, "unreadable request: "+err.Error(), nil)
	}
	f := parsers.Fields{
		Format: "request:" + it.Source, Client: r.Client, ExternalID: r.ExternalID, ObjectCode: r.Store,
		Address: r.Address, Problem: r.Problem, Priority: r.Priority, PriorityRaw: r.Priority, Due: r.Due, Serial: r.Serial,
		Event: "new",
	}
	if p := parsers.NormalizePhone(r.Contact.Phone); p != "" {
		f.Phones = []string{p}
	}
	if r.Contact.Email != "" {
		f.Emails = []string{strings.ToLower(r.Contact.Email)}
	}
	if rt != nil {
		f.Category = rt.Categories.Match(1, r.Problem)
	}
	f.Extra = map[string]string{}
	if r.Contact.Name != "" {
		f.Extra["contact_name"] = r.Contact.Name
	}
	if r.Contact.Phone != "" {
		f.Extra["contact_phone"] = r.Contact.Phone
	}
	subject, _, _ := strings.Cut(r.Problem, "\n")
	pd := &flow.Parsed{
		From: strings.ToLower(r.Contact.Email), FromName: r.Contact.Name, Subject: clip(subject, 200),
		NewText: r.Problem, Fields: f, Date: it.ReceivedAt,
	}
	for _, a := range r.Attach {
		sum := sha256.Sum256(a.Data)
		att := parsers.Attachment{Name: a.Name, ContentType: a.ContentType, Size: int64(len(a.Data))}
		if len(a.Data) > 0 {
			att.SHA256 = hex.EncodeToString(sum[:])
		} else {
			att.Text = a.URL
		}
		pd.Attachments = append(pd.Attachments, att)
	}
	return pd, nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// NewRef is a random position for a form submission.
func NewRef() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b[:])
}

// Links signs a store's own form link, so that nobody else can pose as
// that store, and the receipts a submitter is shown.
type Links struct{ key []byte }

// MinKeyLen is the shortest signing key, in bytes.
const MinKeyLen = 32

// NewLinks returns a signer with key.
func NewLinks(key []byte) (*Links, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("form link key is %d bytes; at least %d are needed", len(key), MinKeyLen)
	}
	return &Links{key: append([]byte(nil), key...)}, nil
}

// ErrBadLink is a store link or receipt whose signature is wrong.
var ErrBadLink = errors.New("the link is not valid")

var b64 = base64.RawURLEncoding

func (l *Links) mac(kind, payload string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("intake-form-v1\x00" + kind + "\x00" + payload))
	return b64.EncodeToString(m.Sum(nil)[:18])
}

func (l *Links) sign(kind, payload string) string {
	p := b64.EncodeToString([]byte(payload))
	return p + "." + l.mac(kind, p)
}

func (l *Links) verify(kind, token string) (string, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(l.mac(kind, p))) {
		return "", ErrBadLink
	}
	b, err := b64.DecodeString(p)
	if err != nil {
		return "", ErrBadLink
	}
	return string(b), nil
}

// Store returns the token of a store's own form link (/form/s/TOKEN).
func (l *Links) Store(client, code string) string { return l.sign("store", client+"\x00"+code) }

// VerifyStore returns the store of a form link token.
func (l *Links) VerifyStore(token string) (client, code string, err error) {
	p, err := l.verify("store", token)
	if err != nil {
		return "", "", err
	}
	client, code, ok := strings.Cut(p, "\x00")
	if !ok {
		return "", "", ErrBadLink
	}
	return client, code, nil
}

// Receipt returns the token of a submission's receipt page.
func (l *Links) Receipt(item int64) string { return l.sign("receipt", fmt.Sprint(item)) }

// VerifyReceipt returns the item of a receipt token.
func (l *Links) VerifyReceipt(token string) (int64, error) {
	p, err := l.verify("receipt", token)
	if err != nil {
		return 0, err
	}
	var id int64
	if _, err := fmt.Sscan(p, &id); err != nil || id <= 0 {
		return 0, ErrBadLink
	}
	return id, nil
}

// Limiter limits submissions per source address (ingest.Address): Burst at
// once, then one per Every.
type Limiter struct {
	Every time.Duration
	Burst int

	mu    sync.Mutex
	addrs map[string]*rate.Limiter
}

// maxAddrs bounds the limiters held; full ones are dropped past it.
const maxAddrs = 10000

// Allow spends one submission of r's address and reports whether it had
// one.
func (l *Limiter) Allow(r *http.Request) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addrs == nil {
		l.addrs = map[string]*rate.Limiter{}
	}
	a := ingest.Address(r)
	x := l.addrs[a]
	if x == nil {
		if len(l.addrs) >= maxAddrs {
			for k, v := range l.addrs {
				if v.Tokens() >= float64(l.Burst) {
					delete(l.addrs, k)
				}
			}
		}
		x = rate.NewLimiter(rate.Every(l.Every), l.Burst)
		l.addrs[a] = x
	}
	return x.Allow()
}
