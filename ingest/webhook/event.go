// Package webhook receives telephony call events (Mango Office, Zadarma and
// a generic signed JSON event) and turns them into calls, call-back tickets
// and follow-ups.
//
// Receiving: every request's signature is checked in constant time. A
// request with a bad or missing signature is answered 401 and kept in the
// inbox for audit with outcome "ignored", reason "bad signature"; it is never
// processed. A good request is stored in the inbox (the raw HTTP request:
// request line, headers, body) before it is answered 200. Its dedup key is
// provider/call id/event id, so a replayed event is stored once and changes
// nothing.
//
// Processing (the parse stage of "call" items): the events of a call are
// applied to one calls row, one at a time under a row lock. The external
// party's number (E.164, region RU) is looked up among the contacts (store
// directors and other client staff) and engineers. When the call ends, once
// per call whatever the number of events that say so:
//   - a missed incoming call from a store becomes a call-back ticket for the
//     store, through the route and ticket stages (rules pick the category,
//     team or engineer; source == "call");
//   - an answered call with a store is attached to the store's open ticket
//     as a "call" event, or else kept as a call record for a dispatcher;
//   - a call from or to a number we do not know is kept, listed by
//     GET /api/v1/calls?unknown=1, and its item is "unmatched".
package webhook

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Event kinds, normalized over providers.
const (
	KindStart   = "start"   // the call appeared (ringing)
	KindAnswer  = "answer"  // someone picked up
	KindEnd     = "end"     // the call ended
	KindSummary = "summary" // the provider's record of a finished call
	KindOther   = "other"   // hold, transfer, recording: recorded only
)

// CallEvent is one call event as every provider's request is reduced to.
type CallEvent struct {
	Provider  string `json:"provider"`
	CallID    string `json:"call_id"`
	EventID   string `json:"event_id"` // unique within the call
	Kind      string `json:"kind"`
	Name      string `json:"name"`      // the provider's event name
	Direction string `json:"direction"` // in | out | ""
	// External is the other party's number as the provider wrote it: the
	// caller of an incoming call, the destination of an outgoing one.
	External string    `json:"external"`
	Line     string    `json:"line"` // our number or extension
	At       time.Time `json:"at"`
	// Answered is known at the end of a call: nil when the event does not
	// say.
	Answered *bool `json:"answered,omitempty"`
	Duration int   `json:"duration,omitempty"` // talk seconds
	// Key, when the provider does not sign the call id, is the request's
	// identity by its signed fields: the inbox's dedup key, so a replay
	// under another call id is a duplicate.
	Key string `json:"-"`
}

// Terminal reports whether the event says the call is over.
func (e CallEvent) Terminal() bool { return e.Kind == KindEnd || e.Kind == KindSummary }

func (e CallEvent) ref() string { return e.Provider + "/" + e.CallID + "/" + e.EventID }

func (e CallEvent) dedupKey() string { return cmp.Or(e.Key, e.ref()) }

// flex is a JSON value that may come as a string or a number ("123" or 123).
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(strings.TrimSpace(s))
	case b[0] == '{' || b[0] == '[':
		return fmt.Errorf("expected a string or a number, got %.20s", b)
	default:
		*f = flex(b) // number or boolean, verbatim
	}
	return nil
}

func (f flex) String() string { return string(f) }

// Int parses the value as an integer; 0 when empty or not a number.
func (f flex) Int() int64 {
	s := string(f)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// unix reads seconds since the epoch; nil for 0 or empty.
func (f flex) unix() time.Time {
	if n := f.Int(); n > 0 {
		return time.Unix(n, 0).UTC()
	}
	return time.Time{}
}

func boolPtr(b bool) *bool { return &b }

// Raw requests. An item's raw bytes are the HTTP request as received (request
// line, headers, body), so what was signed can be checked again later.

// secretHeaders are not kept.
var secretHeaders = map[string]bool{"Authorization": true, "Cookie": true, "Proxy-Authorization": true}

func dumpRequest(r *http.Request, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", r.Method, r.URL.RequestURI())
	if r.Host != "" {
		fmt.Fprintf(&b, "Host: %s\r\n", r.Host)
	}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if !secretHeaders[k] && k != "Content-Length" && k != "Transfer-Encoding" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes()
}

// readRaw parses a stored request back.
func readRaw(raw []byte) (*http.Request, []byte, error) {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, nil, fmt.Errorf("stored request: %w", err)
	}
	var body bytes.Buffer
	if _, err := body.ReadFrom(r.Body); err != nil {
		return nil, nil, fmt.Errorf("stored request body: %w", err)
	}
	return r, body.Bytes(), nil
}
