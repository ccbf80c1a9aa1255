package webhook

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// ErrBadSignature is returned for a request whose signature is missing or
// wrong: it is refused (401) and never processed.
var ErrBadSignature = errors.New("bad signature")

func badSignature(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSignature, fmt.Sprintf(format, args...))
}

// equal compares secrets and signatures in constant time.
func equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// provider is one telephony provider's request format.
type provider interface {
	name() string
	// verify checks the signature of a received request.
	verify(r *http.Request, body []byte) error
	// parse reduces a request to an event; it does not check the signature.
	parse(r *http.Request, body []byte) (CallEvent, error)
	// claimedCallID is the call id a request claims, for the audit of
	// refused requests.
	claimedCallID(r *http.Request, body []byte) string
	// signsCall reports whether the signature covers the call id and the
	// event: when it does not, a missed-call ticket needs the call's signed
	// start, and replays are recognised by the signed fields (Event.Key).
	signsCall() bool
}

// freshnessChecker is a provider whose signed fields carry a time: a
// signed request whose time is outside the window is refused as a replay.
type freshnessChecker interface {
	fresh(body []byte, now time.Time, window time.Duration) error
}

// --- Mango Office -------------------------------------------------------

// Mango Office posts form fields vpbx_api_key, sign and json to
// .../events/call (every state change of a call leg) and .../events/summary
// (once, when the call is over). sign is the lowercase hex SHA-256 of
// vpbx_api_key + json + api_salt.
type mango struct {
	apiKey, salt string
}

func (mango) name() string { return "mango" }

// signsCall: the whole json, call id and event included, is signed.
func (mango) signsCall() bool { return true }

func (m mango) verify(r *http.Request, body []byte) error {
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return badSignature("form: %v", err)
	}
	key, sign, js := f.Get("vpbx_api_key"), strings.ToLower(strings.TrimSpace(f.Get("sign"))), f.Get("json")
	if sign == "" {
		return badSignature("no sign field")
	}
	if !equal(key, m.apiKey) {
		return badSignature("vpbx_api_key is not ours")
	}
	sum := sha256.Sum256([]byte(m.apiKey + js + m.salt))
	if !equal(sign, hex.EncodeToString(sum[:])) {
		return badSignature("sign does not match")
	}
	return nil
}

type mangoParty struct {
	Number     flex `json:"number"`
	Extension  flex `json:"extension"`
	LineNumber flex `json:"line_number"`
}

type mangoEvent struct {
	EntryID          flex       `json:"entry_id"`
	CallID           flex       `json:"call_id"`
	Timestamp        flex       `json:"timestamp"`
	Seq              flex       `json:"seq"`
	CallState        string     `json:"call_state"`
	Location         string     `json:"location"`
	From             mangoParty `json:"from"`
	To               mangoParty `json:"to"`
	DisconnectReason flex       `json:"disconnect_reason"`
	// summary
	CallDirection flex `json:"call_direction"`
	LineNumber    flex `json:"line_number"`
	CreateTime    flex `json:"create_time"`
	TalkTime      flex `json:"talk_time"`
	EndTime       flex `json:"end_time"`
	EntryResult   flex `json:"entry_result"`
}

func (m mango) decode(body []byte) (mangoEvent, error) {
	var ev mangoEvent
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return ev, fmt.Errorf("mango form: %w", err)
	}
	if err := json.Unmarshal([]byte(f.Get("json")), &ev); err != nil {
		return ev, fmt.Errorf("mango json: %w", err)
	}
	return ev, nil
}

func (m mango) claimedCallID(r *http.Request, body []byte) string {
	ev, _ := m.decode(body)
	return ev.EntryID.String()
}

func (m mango) parse(r *http.Request, body []byte) (CallEvent, error) {
	ev, err := m.decode(body)
	if err != nil {
		return CallEvent{}, err
	}
	if ev.EntryID == "" {
		return CallEvent{}, errors.New("mango event without entry_id")
	}
	e := CallEvent{Provider: m.name(), CallID: ev.EntryID.String()}
	switch kind := path.Base(r.URL.Path); kind {
	case "summary":
		e.Kind, e.Name, e.EventID = KindSummary, "summary", "summary"
		switch ev.CallDirection.Int() {
		case 1:
			e.Direction, e.External = "in", ev.From.Number.String()
		case 2:
			e.Direction, e.External = "out", ev.To.Number.String()
		}
		e.Line = cmp.Or(ev.LineNumber.String(), ev.To.LineNumber.String())
		e.At = ev.EndTime.unix()
		talk := ev.TalkTime.Int()
		e.Answered = boolPtr(talk > 0 || ev.EntryResult.Int() == 1)
		if end := ev.EndTime.Int(); talk > 0 && end > talk {
			e.Duration = int(end - talk)
		}
	case "call":
		e.Name = ev.CallState
		e.EventID = "call/" + ev.CallID.String() + "/" + cmp.Or(ev.Seq.String(), ev.CallState+"@"+ev.Timestamp.String())
		switch ev.CallState {
		case "Appeared":
			e.Kind = KindStart
		case "Connected":
			e.Kind = KindAnswer
		case "Disconnected":
			e.Kind = KindEnd
		default:
			e.Kind = KindOther
		}
		if ev.From.Extension != "" {
			// our employee calling out
			e.Direction, e.External, e.Line = "out", ev.To.Number.String(), ev.From.Extension.String()
		} else {
			e.Direction, e.External = "in", ev.From.Number.String()
			e.Line = cmp.Or(ev.To.LineNumber.String(), ev.To.Number.String())
		}
		e.At = ev.Timestamp.unix()
	default:
		e.Kind, e.Name = KindOther, kind
		sum := sha256.Sum256(body)
		e.EventID = kind + "/" + hex.EncodeToString(sum[:8])
		e.External = ev.From.Number.String()
		e.At = ev.Timestamp.unix()
	}
	return e, nil
}

// --- Zadarma ------------------------------------------------------------

// Zadarma posts form fields with an event name; the Signature header is
// base64 of the lowercase hex HMAC-SHA1 (api_secret) of fields that depend
// on the event. It checks the URL first with GET ?zd_echo=X, expecting X.
type zadarma struct {
	secret string
	loc    *time.Location // call_start is local time of the PBX
}

func (zadarma) name() string { return "zadarma" }

// signsCall: pbx_call_id, event, disposition and duration are not signed.
func (zadarma) signsCall() bool { return false }

// fresh refuses a request whose signed call_start is more than window away
// from now: a captured request cannot be replayed later.
func (z zadarma) fresh(body []byte, now time.Time, window time.Duration) error {
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return badSignature("form: %v", err)
	}
	if !slices.Contains(zadarmaSigned[f.Get("event")], "call_start") {
		return nil // NOTIFY_RECORD: no time is signed; it only describes a recording
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", strings.TrimSpace(f.Get("call_start")), z.loc)
	if err != nil {
		return badSignature("call_start %q is not a time", clip(f.Get("call_start"), 40))
	}
	if d := now.Sub(t); d > window || d < -window {
		return badSignature("call_start %s is outside the freshness window (%s) of now %s", t.Format(time.RFC3339), window, now.Format(time.RFC3339))
	}
	return nil
}

// zadarmaKey is the identity of a request by what its signature covers: the
// event and the signed fields. A request replayed with another pbx_call_id
// or disposition has the same key and is a duplicate.
func zadarmaKey(f url.Values) string {
	m := sha256.New()
	for _, k := range zadarmaSigned[f.Get("event")] {
		m.Write([]byte(f.Get(k)))
		m.Write([]byte{0})
	}
	return "zadarma/signed/" + f.Get("event") + "/" + hex.EncodeToString(m.Sum(nil))
}

// zadarmaSigned lists, per event, the fields concatenated for the signature.
var zadarmaSigned = map[string][]string{
	"NOTIFY_START":     {"caller_id", "called_did", "call_start"},
	"NOTIFY_INTERNAL":  {"caller_id", "called_did", "call_start"},
	"NOTIFY_END":       {"caller_id", "called_did", "call_start"},
	"NOTIFY_ANSWER":    {"caller_id", "destination", "call_start"},
	"NOTIFY_OUT_START": {"internal", "destination", "call_start"},
	"NOTIFY_OUT_END":   {"internal", "destination", "call_start"},
	"NOTIFY_RECORD":    {"pbx_call_id", "call_id_with_rec"},
}

// ZadarmaSignature returns the Signature header value for a form.
func ZadarmaSignature(secret string, f url.Values) string {
	var data strings.Builder
	for _, k := range zadarmaSigned[f.Get("event")] {
		data.WriteString(f.Get(k))
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(data.String()))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

func (z zadarma) verify(r *http.Request, body []byte) error {
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return badSignature("form: %v", err)
	}
	sig := strings.TrimSpace(r.Header.Get("Signature"))
	if sig == "" {
		return badSignature("no Signature header")
	}
	if _, ok := zadarmaSigned[f.Get("event")]; !ok {
		return badSignature("event %q cannot be verified", f.Get("event"))
	}
	if !equal(sig, ZadarmaSignature(z.secret, f)) {
		return badSignature("Signature does not match")
	}
	return nil
}

func (z zadarma) claimedCallID(r *http.Request, body []byte) string {
	f, _ := url.ParseQuery(string(body))
	return f.Get("pbx_call_id")
}

func (z zadarma) parse(r *http.Request, body []byte) (CallEvent, error) {
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return CallEvent{}, fmt.Errorf("zadarma form: %w", err)
	}
	id := strings.TrimSpace(f.Get("pbx_call_id"))
	if id == "" {
		return CallEvent{}, errors.New("zadarma event without pbx_call_id")
	}
	name := f.Get("event")
	e := CallEvent{Provider: z.name(), CallID: id, Name: name, EventID: name, Key: zadarmaKey(f)}
	if t, err := time.ParseInLocation("2006-01-02 15:04:05", strings.TrimSpace(f.Get("call_start")), z.loc); err == nil {
		e.At = t
	}
	in := func() { e.Direction, e.External, e.Line = "in", f.Get("caller_id"), f.Get("called_did") }
	out := func() { e.Direction, e.External, e.Line = "out", f.Get("destination"), f.Get("internal") }
	switch name {
	case "NOTIFY_START":
		e.Kind = KindStart
		in()
	case "NOTIFY_INTERNAL":
		e.Kind, e.EventID = KindOther, name+"/"+f.Get("internal")
		in()
	case "NOTIFY_ANSWER":
		e.Kind = KindAnswer
		in()
	case "NOTIFY_END":
		e.Kind = KindEnd
		in()
	case "NOTIFY_OUT_START":
		e.Kind = KindStart
		out()
	case "NOTIFY_OUT_END":
		e.Kind = KindEnd
		out()
	default:
		e.Kind = KindOther
	}
	if e.Kind == KindEnd {
		e.Answered = boolPtr(strings.EqualFold(strings.TrimSpace(f.Get("disposition")), "answered"))
		e.Duration = int(flex(f.Get("duration")).Int())
		if e.Duration > 0 && !e.At.IsZero() {
			e.At = e.At.Add(time.Duration(e.Duration) * time.Second)
		}
	}
	return e, nil
}

// --- Generic JSON --------------------------------------------------------

// generic is Intake's own call event, for PBXs without a supported format:
// a JSON body signed with HMAC-SHA256 in a header (see
// docs/calls-and-connectors.md).
type generic struct {
	secret string
	header string
}

// GenericEvent is the schema of the generic call event.
type GenericEvent struct {
	CallID    flex   `json:"call_id"`   // required: the PBX's id of the call
	EventID   flex   `json:"event_id"`  // required: unique within the call
	Event     string `json:"event"`     // start | answer | end | other
	Direction string `json:"direction"` // in | out
	From      flex   `json:"from"`
	To        flex   `json:"to"`
	Line      flex   `json:"line"`     // our number or extension, optional
	At        flex   `json:"at"`       // RFC 3339 or unix seconds
	Answered  *bool  `json:"answered"` // on "end": was the call answered
	Duration  flex   `json:"duration"` // talk seconds
}

func (generic) name() string { return "generic" }

// signsCall: the whole body is signed.
func (generic) signsCall() bool { return true }

// GenericSignature returns the header value for body.
func GenericSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (g generic) verify(r *http.Request, body []byte) error {
	sig := strings.ToLower(strings.TrimSpace(r.Header.Get(g.header)))
	if sig == "" {
		return badSignature("no %s header", g.header)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		sig = "sha256=" + sig
	}
	if !equal(sig, GenericSignature(g.secret, body)) {
		return badSignature("%s does not match", g.header)
	}
	return nil
}

func (g generic) claimedCallID(r *http.Request, body []byte) string {
	var ev GenericEvent
	json.Unmarshal(body, &ev) //nolint:errcheck // best effort, for the audit
	return ev.CallID.String()
}

func (g generic) parse(r *http.Request, body []byte) (CallEvent, error) {
	var ev GenericEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return CallEvent{}, fmt.Errorf("generic call event: %w", err)
	}
	if ev.CallID == "" || ev.EventID == "" {
		return CallEvent{}, errors.New("generic call event needs call_id and event_id")
	}
	e := CallEvent{Provider: g.name(), CallID: ev.CallID.String(), EventID: ev.EventID.String(), Name: ev.Event,
		Direction: strings.ToLower(ev.Direction), Line: ev.Line.String(), Answered: ev.Answered, Duration: int(ev.Duration.Int())}
	switch strings.ToLower(ev.Event) {
	case "start", "ringing":
		e.Kind = KindStart
	case "answer", "answered":
		e.Kind = KindAnswer
	case "end", "hangup":
		e.Kind = KindEnd
	case "summary":
		e.Kind = KindSummary
	default:
		e.Kind = KindOther
	}
	switch e.Direction {
	case "out":
		e.External = ev.To.String()
		e.Line = cmp.Or(e.Line, ev.From.String())
	default:
		e.Direction = "in"
		e.External = ev.From.String()
		e.Line = cmp.Or(e.Line, ev.To.String())
	}
	if t, err := time.Parse(time.RFC3339, ev.At.String()); err == nil {
		e.At = t
	} else {
		e.At = ev.At.unix()
	}
	return e, nil
}
