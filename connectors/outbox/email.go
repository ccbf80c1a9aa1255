package outbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/intakehq/intake/store"
)

// Email is the payload of an outbox message of kind "email": a reply to the
// chain, threaded under the chain's own message. The row's target is the
// recipient unless To is set.
type Email struct {
	To         []string `json:"to,omitempty"`
	Subject    string   `json:"subject"`
	Text       string   `json:"text"`
	ExternalID string   `json:"external_id,omitempty"` // the chain's number; put in the subject when missing
	InReplyTo  string   `json:"in_reply_to,omitempty"` // Message-ID of the chain's message, without <>
	References []string `json:"references,omitempty"`
}

// OriginHeader marks mail Intake sent. parsers.Classify treats mail that
// carries it as a loop, so our own notifications are never ingested again.
const OriginHeader = "X-Intake-Origin"

// SMTPConfig is the relay outbound mail goes through.
type SMTPConfig struct {
	Addr     string // host:port
	TLS      string // "starttls" (default), "tls" (implicit, port 465) or "none"
	Username string
	Password string
	From     string // our address, e.g. dispetcher@tehservis.example
	// Domain for Message-IDs; defaults to the domain of From.
	Domain             string
	InsecureSkipVerify bool // tests only
}

// EmailSender sends outbox emails over SMTP.
type EmailSender struct {
	cfg SMTPConfig
	now func() time.Time
}

// NewEmailSender returns a sender for cfg.
func NewEmailSender(cfg SMTPConfig) *EmailSender {
	if cfg.TLS == "" {
		cfg.TLS = "starttls"
	}
	if cfg.Domain == "" {
		if i := strings.LastIndexByte(cfg.From, '@'); i >= 0 {
			cfg.Domain = cfg.From[i+1:]
		}
	}
	return &EmailSender{cfg: cfg, now: time.Now}
}

// Send implements Sender.
func (s *EmailSender) Send(ctx context.Context, m store.OutboxRow) error {
	var e Email
	if err := json.Unmarshal(m.Payload, &e); err != nil {
		return Permanent(fmt.Errorf("email payload: %w", err))
	}
	to := e.To
	if len(to) == 0 {
		to = []string{m.Target}
	}
	msg := s.Compose(m.ID, m.DedupKey, to, e)
	if err := s.deliver(ctx, to, msg); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 {
			return Permanent(fmt.Errorf("smtp %s: %w", s.cfg.Addr, err))
		}
		return fmt.Errorf("smtp %s: %w", s.cfg.Addr, err)
	}
	return nil
}

// Compose renders the message. Its Message-ID derives from the outbox row,
// so a repeated attempt is the same message to the chain's deduplication.
func (s *EmailSender) Compose(id int64, dedupKey string, to []string, e Email) []byte {
	subject := headerText(e.Subject)
	if e.ExternalID != "" && !strings.Contains(subject, e.ExternalID) {
		subject = strings.TrimSpace(subject + " [" + e.ExternalID + "]")
	}
	if e.InReplyTo != "" && !hasReplyPrefix(subject) {
		subject = "Re: " + subject
	}
	sum := sha256.Sum256([]byte(dedupKey))
	var b bytes.Buffer
	// Every value is one line: a CR or LF taken from a chain's message
	// (its Message-ID, a subject) cannot start a header of its own.
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, headerText(v)) }
	h("From", s.cfg.From)
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", s.now().Format(time.RFC1123Z))
	h("Message-ID", fmt.Sprintf("<outbox.%d.%x@%s>", id, sum[:6], s.cfg.Domain))
	if e.InReplyTo != "" {
		h("In-Reply-To", msgID(e.InReplyTo))
	}
	refs := e.References
	if e.InReplyTo != "" && !containsID(refs, e.InReplyTo) {
		refs = append(refs, e.InReplyTo)
	}
	if len(refs) > 0 {
		parts := make([]string, len(refs))
		for i, r := range refs {
			parts[i] = msgID(r)
		}
		h("References", strings.Join(parts, " "))
	}
	h(OriginHeader, "outbox")
	h("Auto-Submitted", "auto-generated")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(e.Text, "\r\n", "\n"), "\n", "\r\n"))) //nolint:errcheck
	qp.Close()                                                                                   //nolint:errcheck
	return b.Bytes()
}

// headerText is v as one header line: CR, LF and other control characters
// become spaces.
func headerText(v string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, v)
}

// msgID is id as a Message-ID reference, <...>, with nothing in it that
// could end the header or the id: controls, spaces, angle brackets.
func msgID(id string) string {
	id = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return -1
		}
		return r
	}, id)
	return "<" + id + ">"
}

func hasReplyPrefix(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "re:") || strings.HasPrefix(l, "re[")
}

func containsID(ids []string, id string) bool {
	id = strings.Trim(id, "<>")
	for _, x := range ids {
		if strings.Trim(x, "<>") == id {
			return true
		}
	}
	return false
}

func (s *EmailSender) deliver(ctx context.Context, to []string, msg []byte) error {
	host, _, err := net.SplitHostPort(s.cfg.Addr)
	if err != nil {
		return Permanent(fmt.Errorf("smtp.addr %q: %w", s.cfg.Addr, err))
	}
	tlsCfg := &tls.Config{ServerName: host, InsecureSkipVerify: s.cfg.InsecureSkipVerify} //nolint:gosec // tests only, from config
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	// go-smtp takes no context: closing the connection ends a stuck exchange.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var c *smtp.Client
	switch s.cfg.TLS {
	case "tls":
		c = smtp.NewClient(tls.Client(conn, tlsCfg))
	case "none":
		c = smtp.NewClient(conn)
	default:
		c, err = smtp.NewClientStartTLS(conn, tlsCfg)
		if err != nil {
			conn.Close()
			return err
		}
	}
	defer c.Close()
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return err
		}
	}
	if err := c.SendMail(s.cfg.From, to, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}
