package mailbox_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/ingest/mailbox"
	"github.com/intakehq/intake/ingest/mailbox/dovecottest"
)

func (e *env) connected(r *running) func() bool {
	return func() bool {
		st := r.m.Status()
		return len(st) > 0 && st[0].Connected && !st[0].LastSuccess.IsZero()
	}
}

func TestIdleArrival(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.PollInterval = time.Minute // only IDLE can deliver within the test
	r := e.run([]mailbox.Config{cfg}, testOptions())
	e.waitFor("connection", 10*time.Second, e.connected(r))
	require.True(t, r.m.Ready())

	raw, id := msg(1)
	start := time.Now()
	e.dc.Append(t, "INBOX", raw)
	e.waitFor("the message in the inbox", 5*time.Second, func() bool { return e.items() == 1 })
	t.Logf("APPEND to commit: %s", time.Since(start))
	e.checkOnce([]string{id})

	var stored []byte
	var ref string
	require.NoError(t, e.st.Pool.QueryRow(context.Background(), `SELECT raw, source_ref FROM inbound_items`).Scan(&stored, &ref))
	require.Equal(t, raw, stored, "raw bytes are stored as received")
	require.Equal(t, "ops/INBOX/"+itoa(e.dc.UIDValidity(t, "INBOX"))+"/1", ref)
	e.waitFor("the message moved", 5*time.Second, func() bool { return e.dc.Count(t, "Processed") == 1 })
	require.Zero(t, e.dc.Count(t, "INBOX"))
	require.GreaterOrEqual(t, r.metric("intake_mailbox_idle_wakeups_total"), 1.0)
	require.Equal(t, 1.0, r.metric("intake_mailbox_messages_fetched_total", "result", "new"))
	require.Equal(t, 1.0, r.metric("intake_mailbox_lease_held"))
}

func TestPollingFallback(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	off := false
	cfg.Idle = &off
	cfg.PollInterval = 200 * time.Millisecond
	r := e.run([]mailbox.Config{cfg}, testOptions())
	e.waitFor("connection", 10*time.Second, e.connected(r))
	var ids []string
	for i := range 3 {
		raw, id := msg(i)
		ids = append(ids, id)
		e.dc.Append(t, "INBOX", raw)
	}
	e.waitFor("three messages", 5*time.Second, func() bool { return e.items() == 3 })
	e.checkOnce(ids)
	e.waitFor("messages moved", 5*time.Second, func() bool { return e.dc.Count(t, "Processed") == 3 })
	require.Zero(t, r.metric("intake_mailbox_idle_wakeups_total"))
}

func TestServerRestartMidSession(t *testing.T) {
	e := newEnv(t)
	r := e.run([]mailbox.Config{e.config()}, testOptions())
	e.waitFor("connection", 10*time.Second, e.connected(r))
	raw1, id1 := msg(1)
	e.dc.Append(t, "INBOX", raw1)
	e.waitFor("first message", 5*time.Second, func() bool { return e.items() == 1 })

	e.dc.Stop()
	e.waitFor("the disconnect noticed", 5*time.Second, func() bool { return !r.m.Status()[0].Connected })
	require.False(t, r.m.Ready())
	require.NotEmpty(t, r.m.Status()[0].LastError)
	// Mail delivered while the gateway cannot reach the server.
	raw2, id2 := msg(2)
	e.dc.WriteMaildir(t, "INBOX", [][]byte{raw2})
	e.dc.Restart()

	e.waitFor("reconnect", 10*time.Second, e.connected(r))
	raw3, id3 := msg(3)
	e.dc.Append(t, "INBOX", raw3)
	e.waitFor("all three messages", 10*time.Second, func() bool { return e.items() == 3 })
	e.checkOnce([]string{id1, id2, id3})
	e.waitFor("messages moved", 5*time.Second, func() bool { return e.dc.Count(t, "Processed") == 3 })
	require.GreaterOrEqual(t, r.metric("intake_mailbox_reconnects_total"), 1.0)
	require.GreaterOrEqual(t, r.metric("intake_mailbox_errors_total"), 1.0)
}

// A folder renumbered by the server (here deleted and recreated, which gives
// it a new UIDVALIDITY) is read again from the start. The messages it held
// are recognised: no new items, no duplicates, not even for a message the
// recreated folder holds twice. Only a message new to the folder is stored,
// and a copy put into the folder after the re-read is a re-delivery again.
func TestUIDValidityChange(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Folders = []string{"Orders"}
	cfg.Mode = mailbox.ModeFlag
	var raws [][]byte
	var mids []string
	for i := range 3 {
		raw, id := msg(i)
		raws, mids = append(raws, raw), append(mids, id)
		e.dc.Append(t, "Orders", raw)
	}
	r := e.run([]mailbox.Config{cfg}, testOptions())
	e.waitFor("three messages", 10*time.Second, func() bool { return e.items() == 3 })
	old := e.dc.UIDValidity(t, "Orders")
	r.stop()

	// Someone recreates the folder and puts the same mail back, one message
	// twice, plus a new one.
	c := e.dc.Client(t)
	require.NoError(t, c.Delete("Orders").Wait())
	e.dc.Create(t, c, "Orders")
	for _, raw := range append(raws, raws[0]) {
		dovecottest.AppendWith(t, c, "Orders", raw)
	}
	raw, id := msg(3)
	dovecottest.AppendWith(t, c, "Orders", raw)
	mids = append(mids, id)
	validity := e.dc.UIDValidity(t, "Orders")
	require.NotEqual(t, old, validity)

	r = e.run([]mailbox.Config{cfg}, testOptions())
	e.waitFor("the new message", 10*time.Second, func() bool { return e.items() == 4 })
	e.waitFor("the folder re-read", 10*time.Second, func() bool {
		return r.metric("intake_mailbox_messages_fetched_total", "result", "known") == 4
	})
	e.checkOnce(mids)
	require.Equal(t, 1.0, r.metric("intake_mailbox_uidvalidity_changes_total"))
	require.Zero(t, r.metric("intake_mailbox_messages_fetched_total", "result", "duplicate"))
	require.Equal(t, 5, e.count(`SELECT rescan_until FROM mailbox_checkpoints WHERE mailbox = 'ops' AND folder = 'Orders'`),
		"the five messages there when the new UIDVALIDITY was seen are the re-read")
	// Flag mode: every message, re-read ones included, carries the keyword.
	flagged := func(n int) func() bool {
		return func() bool {
			data, err := c.Status("Orders", &imap.StatusOptions{NumMessages: true}).Wait()
			require.NoError(t, err)
			_, err = c.Select("Orders", nil).Wait()
			require.NoError(t, err)
			found, err := c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{"$Intake"}}, nil).Wait()
			require.NoError(t, err)
			return len(found.AllUIDs()) == int(*data.NumMessages) && int(*data.NumMessages) == n
		}
	}
	e.waitFor("all flagged", 5*time.Second, flagged(5))

	// After the re-read, the same bytes arriving in the folder are a
	// re-delivery like any other.
	again := dovecottest.AppendWith(t, c, "Orders", raws[1])
	e.waitFor("the copy recorded", 10*time.Second, func() bool { return e.items() == 5 })
	var outcome, ref string
	var dupOf, origID int64
	require.NoError(t, e.st.Pool.QueryRow(context.Background(), `
		SELECT outcome, source_ref, duplicate_of FROM inbound_items WHERE outcome = 'duplicate'`).Scan(&outcome, &ref, &dupOf))
	require.NoError(t, e.st.Pool.QueryRow(context.Background(), `
		SELECT id FROM inbound_items WHERE message_id = $1 AND duplicate_of IS NULL`, mids[1]).Scan(&origID))
	require.Equal(t, "ops/Orders/"+itoa(validity)+"/"+itoa(uint32(again)), ref)
	require.Equal(t, origID, dupOf)
	require.Equal(t, 1.0, r.metric("intake_mailbox_messages_fetched_total", "result", "duplicate"))
	e.waitFor("the copy flagged", 5*time.Second, flagged(6))
}

// The same bytes in two mailboxes (mail sent to both addresses, or forwarded
// by a rule on the server unchanged) are one item and its duplicate.
func TestSameBytesInTwoMailboxes(t *testing.T) {
	e := newEnv(t)
	other := dovecottest.Start(t)
	ops := e.config()
	sales := e.config()
	sales.Name, sales.Port = "sales", other.Port
	raw, id := msg(1)
	e.dc.Append(t, "INBOX", raw)
	other.Append(t, "INBOX", raw)

	r := e.run([]mailbox.Config{ops, sales}, testOptions())
	e.waitFor("both deliveries", 10*time.Second, func() bool { return e.items() == 2 })
	rows, err := e.st.Pool.Query(context.Background(), `
		SELECT id, source_ref, coalesce(outcome, ''), coalesce(duplicate_of, 0), reason FROM inbound_items ORDER BY id`)
	require.NoError(t, err)
	type row struct {
		id          int64
		ref         string
		outcome     string
		duplicateOf int64
		reason      string
	}
	var got []row
	for rows.Next() {
		var x row
		require.NoError(t, rows.Scan(&x.id, &x.ref, &x.outcome, &x.duplicateOf, &x.reason))
		got = append(got, x)
	}
	require.NoError(t, rows.Err())
	require.Len(t, got, 2)
	orig, dup := got[0], got[1]
	require.Empty(t, orig.outcome, "the original waits for the pipeline")
	require.Zero(t, orig.duplicateOf)
	require.Equal(t, "duplicate", dup.outcome)
	require.Equal(t, orig.id, dup.duplicateOf)
	require.Equal(t, fmt.Sprintf("re-delivery of item %d: the same bytes", orig.id), dup.reason)
	require.NotEqual(t, strings.SplitN(orig.ref, "/", 2)[0], strings.SplitN(dup.ref, "/", 2)[0], "one from each mailbox")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM inbound_items WHERE message_id = $1 AND duplicate_of IS NULL`, id))
	require.Equal(t, 1.0, r.metric("intake_mailbox_messages_fetched_total", "result", "new"))
	require.Equal(t, 1.0, r.metric("intake_mailbox_messages_fetched_total", "result", "duplicate"))
	e.waitFor("both moved", 5*time.Second, func() bool {
		return e.dc.Count(t, "Processed") == 1 && other.Count(t, "Processed") == 1
	})
}

func TestOverSizeStoredAsFailed(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.MaxMessageSize = 64 << 10
	small, smallID := msg(1)
	header := "From: scanner@chain.example\r\nSubject: Scans\r\nMessage-ID: <big@chain.example>\r\nContent-Type: text/plain\r\n\r\n"
	big := append([]byte(header), bytes.Repeat([]byte("0123456789abcdef\r\n"), 20000)...)
	e.dc.Append(t, "INBOX", small)
	e.dc.Append(t, "INBOX", big)
	r := e.run([]mailbox.Config{cfg}, testOptions())
	e.waitFor("both items", 10*time.Second, func() bool { return e.items() == 2 })

	var raw []byte
	var outcome, reason string
	require.NoError(t, e.st.Pool.QueryRow(context.Background(),
		`SELECT raw, outcome, error FROM inbound_items WHERE message_id = 'big@chain.example'`).Scan(&raw, &outcome, &reason))
	require.Equal(t, "failed", outcome)
	require.Contains(t, reason, "over max_message_size 65536")
	require.Equal(t, header, string(raw), "only the header is kept")
	e.checkOnce([]string{smallID, "big@chain.example"})
	e.waitFor("filed", 5*time.Second, func() bool { return e.dc.Count(t, "Failed") == 1 && e.dc.Count(t, "Processed") == 1 })
	require.Equal(t, 1.0, r.metric("intake_mailbox_messages_fetched_total", "result", "failed"))
}

// A message at the size limit is held in memory once for its commit, not
// copied over and over.
func TestLargeMessageBoundedMemory(t *testing.T) {
	e := newEnv(t)
	const size = 25 << 20
	body := bytes.Repeat([]byte("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVmZ2hpamts\r\n"), size/62)
	raw := append([]byte("Subject: plans\r\nMessage-ID: <plans@chain.example>\r\n\r\n"), body...)
	e.dc.Append(t, "INBOX", raw)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	// A lease long enough that a slow, loaded machine cannot lose it in
	// the middle of the fetch and start a second reading of the message:
	// what is measured here is one message's memory.
	opts := testOptions()
	opts.LeasePeriod = 30 * time.Second
	e.run([]mailbox.Config{e.config()}, opts)
	e.waitFor("the large message", 30*time.Second, func() bool { return e.items() == 1 })
	close(done)
	grew := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("message %d MiB, heap in use grew by at most %d MiB", len(raw)>>20, grew>>20)
	require.Less(t, grew, int64(4*len(raw)), "memory for one message stays a small multiple of its size")
	var n int
	require.NoError(t, e.st.Pool.QueryRow(context.Background(), `SELECT size FROM inbound_items`).Scan(&n))
	require.Equal(t, len(raw), n)
}

func Test8BitHeaders(t *testing.T) {
	e := newEnv(t)
	// Raw UTF-8 and KOI8-R bytes in headers, as some shop systems send them.
	raw := []byte("From: \xd0\x9c\xd0\xb0\xd0\xb3\xd0\xb0\xd0\xb7\xd0\xb8\xd0\xbd 42 <m42@chain.example>\r\n" +
		"Subject: \xfa\xc1\xd1\xd7\xcb\xc1 \xce\xc1 \xd2\xc5\xcd\xcf\xce\xd4\r\n" +
		"Message-ID: <8bit@chain.example>\r\n" +
		"Content-Type: text/plain; charset=koi8-r\r\n\r\n\xf4\xc5\xce\xd4\r\n")
	e.dc.Append(t, "INBOX", raw)
	e.run([]mailbox.Config{e.config()}, testOptions())
	e.waitFor("the message", 10*time.Second, func() bool { return e.items() == 1 })
	var stored []byte
	var mid string
	require.NoError(t, e.st.Pool.QueryRow(context.Background(), `SELECT raw, message_id FROM inbound_items`).Scan(&stored, &mid))
	require.Equal(t, raw, stored, "bytes stored exactly")
	require.Equal(t, "8bit@chain.example", mid)
}

func TestExpungedBySomeoneElseMidFetch(t *testing.T) {
	e := newEnv(t)
	var mids []string
	for i := range 10 {
		raw, id := msg(i)
		mids = append(mids, id)
		e.dc.Append(t, "INBOX", raw)
	}
	other := e.dc.Client(t)
	_, err := other.Select("INBOX", nil).Wait()
	require.NoError(t, err)
	var fired atomic.Bool
	opts := testOptions()
	mailbox.SetBeforeBodies(&opts, func(_, _ string, uids []imap.UID) {
		if fired.Swap(true) {
			return
		}
		// A colleague deletes message 5 while the gateway is fetching.
		assert.NoError(t, other.Store(imap.UIDSetNum(5), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
		assert.NoError(t, other.UIDExpunge(imap.UIDSetNum(5)).Close())
	})
	r := e.run([]mailbox.Config{e.config()}, opts)
	e.waitFor("the other nine", 10*time.Second, func() bool { return e.items() >= 9 })
	t.Logf("items: %d", e.items())
	e.waitFor("moved", 5*time.Second, func() bool { return e.dc.Count(t, "Processed") == 9 && e.dc.Count(t, "INBOX") == 0 })
	e.checkOnce(append(mids[:4:4], mids[5:]...))
	cp, err := e.st.MailboxCheckpoint(context.Background(), "ops", "INBOX")
	require.NoError(t, err)
	require.EqualValues(t, 10, cp.LastUID, "the checkpoint passes the expunged message")
	require.True(t, r.m.Ready())
}

func TestWrongPasswordRetriedSlowly(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.Password = "hunter2-wrong"
	opts := testOptions()
	opts.AuthRetry = time.Hour
	r := e.run([]mailbox.Config{cfg}, opts)
	e.waitFor("the failure reported", 10*time.Second, func() bool { return r.m.Status()[0].LastError != "" })
	time.Sleep(time.Second)
	st := r.m.Status()[0]
	assert.Contains(t, st.LastError, "authentication failed for user test")
	assert.NotContains(t, st.LastError, "hunter2")
	assert.False(t, st.Connected)
	assert.False(t, r.m.Ready())
	assert.Equal(t, 1.0, r.metric("intake_mailbox_errors_total", "kind", "auth"), "one attempt, no hot loop")
	assert.Equal(t, 1, strings.Count(e.dc.Log(), "auth failed"), "the server saw one failed login")
}

func TestTwoReplicasOneReader(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	a := e.run([]mailbox.Config{cfg}, mailbox.Options{Holder: "replica-a", LeasePeriod: time.Second, RetryMin: 50 * time.Millisecond})
	b := e.run([]mailbox.Config{cfg}, mailbox.Options{Holder: "replica-b", LeasePeriod: time.Second, RetryMin: 50 * time.Millisecond})
	e.waitFor("one reader", 10*time.Second, func() bool {
		sa, sb := a.m.Status()[0], b.m.Status()[0]
		return sa.Local != sb.Local && sa.LeaseHolder == sb.LeaseHolder && sa.LeaseHolder != "" && (sa.Connected || sb.Connected)
	})
	holder, standby := a, b
	if b.m.Status()[0].Local {
		holder, standby = b, a
	}
	var mids []string
	for i := range 20 {
		raw, id := msg(i)
		mids = append(mids, id)
		e.dc.Append(t, "INBOX", raw)
	}
	// The fetch counter moves once a batch is stored, a moment after the
	// items can be seen.
	e.waitFor("twenty messages", 10*time.Second, func() bool {
		return e.items() == 20 && holder.metric("intake_mailbox_messages_fetched_total") == 20
	})
	require.Zero(t, standby.metric("intake_mailbox_messages_fetched_total"))
	require.Zero(t, standby.metric("intake_mailbox_connected"), "the standby never connects")
	require.True(t, standby.m.Ready(), "a mailbox read by another replica counts as ready")
	require.Equal(t, holder.m.Holder(), standby.m.Status()[0].LeaseHolder)

	// The holder goes away; the standby takes over within a lease period.
	holder.stop()
	start := time.Now()
	e.waitFor("takeover", 3*time.Second, func() bool { s := standby.m.Status()[0]; return s.Local && s.Connected })
	t.Logf("takeover after %s", time.Since(start))
	for i := 20; i < 25; i++ {
		raw, id := msg(i)
		mids = append(mids, id)
		e.dc.Append(t, "INBOX", raw)
	}
	e.waitFor("25 messages", 10*time.Second, func() bool { return e.items() == 25 })
	e.checkOnce(mids)
	require.Equal(t, 5.0, standby.metric("intake_mailbox_messages_fetched_total"))
}

// go-imap's in-memory server offers neither MOVE, UIDPLUS nor IDLE: the
// reader polls and moves with COPY, STORE \Deleted and EXPUNGE.
func TestInMemoryServer(t *testing.T) {
	e := newEnvDB(t)
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("test", "secret")
	require.NoError(t, u.Create("INBOX", nil))
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       nopLogger{},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(l) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })

	raw, id := msg(1)
	_, err = u.Append("INBOX", literal(raw), &imap.AppendOptions{})
	require.NoError(t, err)
	off := false
	cfg := mailbox.Config{Name: "mem", Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: mailbox.TLSPlain,
		Username: "test", Password: "secret", ProcessedFolder: "Processed", Idle: &off, PollInterval: 100 * time.Millisecond}
	r := e.run([]mailbox.Config{cfg}, testOptions())
	e.waitFor("the message", 10*time.Second, func() bool { return e.items() == 1 })
	e.checkOnce([]string{id})
	e.waitFor("moved", 5*time.Second, func() bool {
		in, _ := u.Status("INBOX", &imap.StatusOptions{NumMessages: true})
		done, _ := u.Status("Processed", &imap.StatusOptions{NumMessages: true})
		return in != nil && done != nil && *in.NumMessages == 0 && *done.NumMessages == 1
	})
	require.Equal(t, 1.0, r.metric("intake_mailbox_messages_fetched_total"))
}
