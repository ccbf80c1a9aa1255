package mailbox_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest/mailbox"
	"github.com/intakehq/intake/ingest/mailbox/dovecottest"
)

// workOrder is a typical work-order email: an HTML body and a small PDF-like
// attachment, about 15 KB.
func workOrder(seq int) ([]byte, string) {
	id := fmt.Sprintf("wo-%08d@chain.example", seq)
	r := rand.New(rand.NewPCG(uint64(seq), 7))
	att := make([]byte, 8<<10)
	for i := range att {
		att[i] = byte(r.Uint32())
	}
	var b strings.Builder
	b.WriteString("From: Service desk <sd@chain.example>\r\nTo: orders@intake.example\r\n")
	fmt.Fprintf(&b, "Subject: Work order %d: freezer alarm, store %d\r\nMessage-ID: <%s>\r\n", seq, seq%900, id)
	b.WriteString("Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><table>")
	for i := range 40 {
		fmt.Fprintf(&b, "<tr><td>Field %d</td><td>Freezer 3 alarm, temperature above -12C since 06:40</td></tr>\r\n", i)
	}
	b.WriteString("</table></body></html>\r\n--b1\r\nContent-Type: application/pdf; name=\"wo.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(att)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return []byte(b.String()), id
}

// BenchmarkBacklog measures how fast a backlog is fetched and committed:
// INTAKE_BENCH_N messages (default 5,000) are written into Dovecot's maildir,
// then the timer runs from starting the Manager until the last one is
// committed. Reports msg/s, MB/s of raw mail, and the bytes PostgreSQL uses
// for them.
func BenchmarkBacklog(b *testing.B) {
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("INTAKE_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	e := newEnv(b)
	cfg := e.config()
	cfg.Folders = []string{"INBOX"}
	var total, fetching, committing time.Duration
	var rawBytes int64
	seq := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		msgs := make([][]byte, n)
		for j := range msgs {
			msgs[j], _ = workOrder(seq)
			rawBytes += int64(len(msgs[j]))
			seq++
		}
		e.dc.WriteMaildir(b, "INBOX", msgs)
		want := seq
		// Let Dovecot index the new files outside the measurement, as it
		// would have done on delivery.
		require.Equal(b, n, e.dc.Count(b, "INBOX"))
		b.StartTimer()
		start := time.Now()
		r := e.run([]mailbox.Config{cfg}, testOptions())
		for e.items() < want {
			time.Sleep(2 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		r.stop()
		fetching += time.Duration(r.metric("intake_mailbox_fetch_seconds", "sum") * float64(time.Second))
		committing += time.Duration(r.metric("intake_mailbox_commit_seconds", "sum") * float64(time.Second))
	}
	var tableBytes, rawSum int64
	require.NoError(b, e.st.Pool.QueryRow(context.Background(),
		`SELECT pg_total_relation_size('inbound_items'), sum(size) FROM inbound_items`).Scan(&tableBytes, &rawSum))
	msgs := float64(seq)
	b.ReportMetric(msgs/total.Seconds(), "msg/s")
	b.ReportMetric(float64(rawBytes)/1e6/total.Seconds(), "MB/s")
	b.ReportMetric(float64(rawSum)/msgs, "raw-B/msg")
	b.ReportMetric(float64(tableBytes)/msgs, "pg-B/msg")
	// Where the time goes: body FETCHes and commits, as shares of the total.
	b.ReportMetric(fetching.Seconds()/total.Seconds(), "fetch-share")
	b.ReportMetric(committing.Seconds()/total.Seconds(), "commit-share")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIdleLatency measures the time from sending APPEND to the
// message being committed (the commit hook), over at least 60 messages
// appended one at a time at random intervals while the Manager is in IDLE.
func BenchmarkIdleLatency(b *testing.B) {
	e := newEnv(b)
	cfg := e.config()
	cfg.PollInterval = time.Minute
	var mu sync.Mutex
	committed := map[imap.UID]time.Time{}
	arrived := make(chan struct{}, 1)
	opts := testOptions()
	mailbox.SetAfterCommit(&opts, func(_, _ string, uids []imap.UID) {
		now := time.Now()
		mu.Lock()
		for _, u := range uids {
			committed[u] = now
		}
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	})
	r := e.run([]mailbox.Config{cfg}, opts)
	e.waitFor("connection", 10*time.Second, e.connected(r))
	c := e.dc.Client(b)
	samples := max(b.N, 60)
	var lat []time.Duration
	b.ResetTimer()
	for i := range samples {
		raw, _ := workOrder(1_000_000 + i)
		// Let the reader settle into IDLE, at an unpredictable moment.
		time.Sleep(50*time.Millisecond + time.Duration(rand.N(int64(100*time.Millisecond))))
		sent := time.Now()
		uid := dovecottest.AppendWith(b, c, "INBOX", raw)
		for {
			mu.Lock()
			at, ok := committed[uid]
			mu.Unlock()
			if ok {
				lat = append(lat, at.Sub(sent))
				break
			}
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				b.Fatalf("message uid %d not committed within 10s", uid)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(pct(0.50).Seconds(), "p50-s")
	b.ReportMetric(pct(0.99).Seconds(), "p99-s")
	b.ReportMetric(lat[len(lat)-1].Seconds(), "max-s")
	b.ReportMetric(float64(len(lat)), "samples")
	b.ReportMetric(0, "ns/op")
}
