package pipeline_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/demo"
	"github.com/intakehq/intake/flow"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/pipeline"
	"github.com/intakehq/intake/rules/defaults"
	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// sampleProcessor is a scratch database with the sample reference data and
// a processor with the shipped rules, at the test's fixed instant.
func sampleProcessor(ctx context.Context, t *testing.T) (*store.Store, *pipeline.Processor) {
	t.Helper()
	st := pgtest.Store(t)
	pgtest.ImportDemo(t, st)
	rt, err := pipeline.LoadRuntime(ctx, st, defaults.Files())
	require.NoError(t, err)
	return st, pipeline.NewProcessor(rt, nil, time.UTC, clocktest.Clock(t))
}

// runBus runs the sample mailbox through a running router on the given bus,
// all messages at once, and checks every item's outcome against its label.
func runBus(t *testing.T, cfg pipeline.Config) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, proc := sampleProcessor(ctx, t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pipe := pipeline.New(cfg, st, proc, log)
	require.NoError(t, pipeline.InitSchema(ctx, st.Pool, nil))
	in := ingest.NewInbox(st, pipe.Publish, clocktest.Clock(t))
	done := make(chan error, 1)
	go func() { done <- pipe.Run(ctx) }()

	ids := map[string]int64{}
	var items []ingest.Item
	for _, m := range demo.Mail() {
		key, mid := ingest.MailKeys(m.Data)
		items = append(items, ingest.Item{Source: flow.SourceMail, SourceRef: "bus/" + m.Name, DedupKey: key, MessageID: mid, Raw: m.Data})
	}
	res, err := in.Put(ctx, items, nil)
	require.NoError(t, err)
	for i, m := range demo.Mail() {
		ids[m.Name] = res[i].ID
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var pending int
		require.NoError(t, st.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items WHERE stage <> 'done'`).Scan(&pending))
		if pending == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d items still without an outcome", pending)
		time.Sleep(50 * time.Millisecond)
	}
	for _, l := range demo.SampleLabels() {
		o, err := pipeline.ReadOutcome(ctx, st.Pool, ids[l.File])
		require.NoError(t, err)
		assert.Equal(t, l.Kind, o.Kind, l.File)
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(40 * time.Second):
		t.Fatal("the router did not stop")
	}
}

func TestPipelineOnPostgresBus(t *testing.T) {
	runBus(t, pipeline.Config{Bus: "postgres", PollInterval: 10 * time.Millisecond})
}

// TestPipelineOnNATSBus runs the same on NATS JetStream (the scale-out bus):
// events still leave each stage's transaction through the PostgreSQL outbox
// topic and a forwarder relays them.
func TestPipelineOnNATSBus(t *testing.T) {
	natsURL := os.Getenv("INTAKE_TEST_NATS_URL")
	if natsURL == "" {
		natsURL = "nats://127.0.0.1:4222"
	}
	u, err := url.Parse(natsURL)
	require.NoError(t, err)
	conn, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		t.Fatalf("no NATS server at %s (%v): start one with JetStream (nats-server -js) or set INTAKE_TEST_NATS_URL", natsURL, err)
	}
	conn.Close()
	runBus(t, pipeline.Config{Bus: "nats", NATSURL: natsURL, NATSPrefix: fmt.Sprintf("t%d", time.Now().UnixNano()), PollInterval: 10 * time.Millisecond})
}
