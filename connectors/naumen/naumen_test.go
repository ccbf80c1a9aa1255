package naumen_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/connectors"
	"github.com/intakehq/intake/connectors/connectortest"
	"github.com/intakehq/intake/connectors/naumen"
	"github.com/intakehq/intake/connectors/outbox"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fake implements find, edit and create-m2m/comment of the Naumen REST API.
type fake struct {
	mu       sync.Mutex
	recs     []map[string]any
	edits    []string // "uuid:state"
	comments []string
	fail     int
	failWith func(w http.ResponseWriter)
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		f.failWith(w)
		return
	}
	if r.URL.Query().Get("accessKey") != "ak-1" {
		http.Error(w, "Access key is invalid", http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/sd/services/rest/"), "/")
	arg := func(i int) string { s, _ := url.PathUnescape(parts[i]); return s }
	switch parts[0] {
	case "find":
		var filter map[string]string
		json.Unmarshal([]byte(arg(2)), &filter)
		out := []map[string]any{}
		for _, rec := range f.recs {
			if n, ok := filter["number"]; ok && fmt.Sprint(int64(rec["number"].(float64))) != n {
				continue
			}
			out = append(out, rec)
		}
		json.NewEncoder(w).Encode(out)
	case "edit":
		var attrs map[string]string
		json.Unmarshal([]byte(arg(2)), &attrs)
		f.edits = append(f.edits, arg(1)+":"+attrs["state"])
		w.Write([]byte(`"` + arg(1) + `"`))
	case "create-m2m":
		var attrs map[string]string
		json.Unmarshal([]byte(arg(2)), &attrs)
		f.comments = append(f.comments, attrs["source"]+":"+attrs["text"])
		w.Write([]byte(`"comment$1"`))
	default:
		http.NotFound(w, r)
	}
}

func TestPullToTicketStatusPushedOnce(t *testing.T) {
	f := &fake{recs: []map[string]any{{
		"UUID": "serviceCall$501", "number": float64(123456), "shortDescr": "Не работает холодильная витрина",
		"descriptionRTF": "<p>Витрина <b>не холодит</b></p>", "address": "г. Москва, ул. Ленина, д. 1", "storeCode": "VR-001",
		"service": map[string]any{"title": "Холодильное оборудование"}, "priority": map[string]any{"title": "Высокий"},
		"state": "registered", "lastModifiedDate": "2026.11.03 10:33:00", "deadLineTime": "2026.11.04 10:33:00",
	}}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := naumen.New(naumen.Config{Name: "vr-naumen", Client: "VR", BaseURL: srv.URL + "/sd", AccessKey: "ak-1",
		Attrs: naumen.Attrs{Object: "storeCode"}, Location: connectortest.Moscow(t), Timeout: time.Second})
	env := connectortest.New(t, c, connectors.Mapping{
		Categories: map[string]string{"Холодильное оборудование": "refrigeration"}, Priorities: map[string]string{"Высокий": "high"},
		States: map[string]string{"done": "resolved"},
	})
	n, err := env.Runner().PullOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	env.Process()
	tk := env.Ticket("123456")
	assert.Equal(t, "VR-001", tk.Object)
	assert.Contains(t, tk.Problem, "Витрина не холодит")

	n, err = env.Runner().PullOnce(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing changed since the cursor")

	env.SetState(tk, "done")
	f.mu.Lock()
	f.fail, f.failWith = 3, func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }
	f.mu.Unlock()
	for _, r := range env.Deliver(10 * time.Second) {
		assert.Equal(t, store.OutboxSent, r.State, r.LastError)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Equal(t, []string{"serviceCall$501:resolved"}, f.edits)
}

func TestErrors(t *testing.T) {
	f := &fake{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	bad := naumen.New(naumen.Config{Name: "n", Client: "VR", BaseURL: srv.URL + "/sd", AccessKey: "wrong", Location: connectortest.Moscow(t), Timeout: time.Second})
	_, err := bad.Pull(context.Background(), "")
	var p *outbox.PermanentError
	require.True(t, errors.As(err, &p), "401 is permanent: %v", err)

	c := naumen.New(naumen.Config{Name: "n", Client: "VR", BaseURL: srv.URL + "/sd", AccessKey: "ak-1", Location: connectortest.Moscow(t), Timeout: time.Second})
	f.fail, f.failWith = 1, func(w http.ResponseWriter) { w.Header().Set("Retry-After", "7"); w.WriteHeader(429) }
	_, err = c.Pull(context.Background(), "")
	var ra *outbox.RetryAfterError
	require.True(t, errors.As(err, &ra))
	assert.Equal(t, 7*time.Second, ra.After)

	err = c.Push(context.Background(), connectors.Push{Op: connectors.OpStatus, ExternalID: "999", Status: "resolved"})
	require.True(t, errors.As(err, &p), "an unknown number is a dead letter: %v", err)
}
