package lifecycle

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Link errors.
var (
	ErrBadSignature = errors.New("link signature is not valid")
	ErrLinkExpired  = errors.New("link has expired")
)

// Link is what a signed one-click link allows: Action on Subject (a task or
// an approval id) by Who (an engineer code or an approver's email) until
// Expires.
type Link struct {
	Action  Action    `json:"a"`
	Kind    string    `json:"k"` // "task" | "approval"
	Subject int64     `json:"s"`
	Who     string    `json:"w"`
	Expires time.Time `json:"-"`
	Exp     int64     `json:"x"`
}

// Signer signs and verifies links with an HMAC-SHA256 key.
type Signer struct {
	key []byte
}

// MinKeyLen is the shortest key accepted, in bytes.
const MinKeyLen = 32

// NewSigner returns a signer; the key must be at least MinKeyLen bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("signing key is %d bytes; at least %d are needed", len(key), MinKeyLen)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

var b64 = base64.RawURLEncoding

// Sign returns the token of l: base64url(payload) "." base64url(mac).
func (s *Signer) Sign(l Link) string {
	l.Exp = l.Expires.Unix()
	payload, _ := json.Marshal(l) // Link holds only strings and integers: it always encodes
	p := b64.EncodeToString(payload)
	return p + "." + b64.EncodeToString(s.mac(p))
}

func (s *Signer) mac(p string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("intake-link-v1\x00"))
	m.Write([]byte(p))
	return m.Sum(nil)
}

// Verify checks a token's signature and expiry at now and returns its link.
func (s *Signer) Verify(token string, now time.Time) (Link, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Link{}, ErrBadSignature
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(p)) {
		return Link{}, ErrBadSignature
	}
	raw, err := b64.DecodeString(p)
	if err != nil {
		return Link{}, ErrBadSignature
	}
	var l Link
	if err := json.Unmarshal(raw, &l); err != nil {
		return Link{}, ErrBadSignature
	}
	l.Expires = time.Unix(l.Exp, 0)
	if !now.Before(l.Expires) {
		return l, ErrLinkExpired
	}
	return l, nil
}

// LinkURL is the address of a signed one-click link to act on subject (a
// "task" or "approval" by kind) for who, valid for c.LinkTTL from now; ""
// when links are not configured (no signer or no base URL).
func (c Config) LinkURL(s *Signer, act Action, kind string, subject int64, who string, now time.Time) string {
	if s == nil || c.BaseURL == "" {
		return ""
	}
	tok := s.Sign(Link{Action: act, Kind: kind, Subject: subject, Who: who, Expires: now.Add(c.LinkTTL)})
	return strings.TrimRight(c.BaseURL, "/") + "/l/" + tok
}
