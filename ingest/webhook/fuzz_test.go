package webhook

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Parsing outside input never panics, whatever the provider sends.
func FuzzParse(f *testing.F) {
	f.Add("/telephony/mango/events/call", `json=%7B%22entry_id%22%3A1%2C%22seq%22%3A%222%22%7D`)
	f.Add("/telephony/mango/events/summary", `json=%7B%22entry_id%22%3A%22x%22%2C%22talk_time%22%3A%22abc%22%7D`)
	f.Add("/telephony/zadarma/events", `event=NOTIFY_END&pbx_call_id=in_1&duration=12.5&disposition=answered`)
	f.Add("/telephony/generic/events", `{"call_id":1,"event_id":[1],"at":"x"}`)
	ps := []provider{mango{apiKey: "k", salt: "s"}, zadarma{secret: "s", loc: time.UTC}, generic{secret: "s", header: "X-Intake-Signature"}}
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
		r.URL.Path = path
		for _, p := range ps {
			p.verify(r, []byte(body)) //nolint:errcheck
			p.parse(r, []byte(body))  //nolint:errcheck
			p.claimedCallID(r, []byte(body))
		}
		if raw := dumpRequest(r, []byte(body)); len(raw) > 0 {
			readRaw(raw) //nolint:errcheck
		}
	})
}
