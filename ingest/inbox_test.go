package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/clock"
	"github.com/intakehq/intake/clock/clocktest"
	"github.com/intakehq/intake/ingest"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestInboxDedup(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	var notified []int64
	in := ingest.NewInbox(s, func(ctx context.Context, tx pgx.Tx, ids []int64) error {
		notified = append(notified, ids...)
		return nil
	}, clocktest.Clock(t))
	msg := []byte("Message-ID: <a@x>\r\nSubject: hi\r\n\r\nbody\r\n")
	redelivered := append([]byte("Received: from mx2\r\n"), msg...)
	noID := []byte("Subject: no id\r\n\r\nbody\r\n")
	mail := func(scope, ref string, raw []byte, rescan bool) ingest.Item {
		key, mid := ingest.MailKeys(raw)
		return ingest.Item{Source: "mail", SourceRef: ref, DedupKey: key, MessageID: mid, Raw: raw, Scope: scope, Rescan: rescan}
	}

	cases := []struct {
		name   string
		item   ingest.Item
		status string
		reason string // of a duplicate
	}{
		{"first delivery", mail("box/INBOX", "box/INBOX/1/1", msg, false), ingest.StatusNew, ""},
		{"re-fetch of the same uid", mail("box/INBOX", "box/INBOX/1/1", msg, false), ingest.StatusKnown, ""},
		{"the folder re-read under a new UIDVALIDITY", mail("box/INBOX", "box/INBOX/2/7", msg, true), ingest.StatusKnown, ""},
		{"re-delivery via a second MX", mail("box/INBOX", "box/INBOX/1/2", redelivered, false), ingest.StatusDuplicate, "the same Message-ID <a@x>, other bytes"},
		{"re-fetch of the duplicate", mail("box/INBOX", "box/INBOX/1/2", redelivered, false), ingest.StatusKnown, ""},
		{"same bytes from another mailbox", mail("sales/INBOX", "sales/INBOX/5/1", msg, false), ingest.StatusDuplicate, "the same bytes"},
		{"same bytes put back into the folder", mail("box/INBOX", "box/INBOX/1/9", msg, false), ingest.StatusDuplicate, "the same bytes"},
		{"same bytes by intake ingest", mail("", "file/host/run2/tmp/a.eml", msg, false), ingest.StatusDuplicate, "the same bytes"},
		{"a re-scan does not hide what another folder delivered", mail("box/Orders", "box/Orders/3/1", msg, true), ingest.StatusDuplicate, "the same bytes"},
		{"too large", ingest.Item{Source: "mail", SourceRef: "box/INBOX/1/3", Raw: []byte("Subject: big\r\n\r\n"), Failed: "over the size limit"}, ingest.StatusFailed, ""},
	}
	var first int64
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := in.Put(ctx, []ingest.Item{tc.item}, nil)
			require.NoError(t, err)
			require.Len(t, res, 1)
			require.Equal(t, tc.status, res[0].Status)
			if first == 0 {
				first = res[0].ID
			}
			if tc.status == ingest.StatusDuplicate {
				require.Equal(t, first, res[0].DuplicateOf)
				var stage, outcome, reason string
				var dupOf int64
				require.NoError(t, s.Pool.QueryRow(ctx, `SELECT stage, outcome, reason, duplicate_of FROM inbound_items WHERE id = $1`,
					res[0].ID).Scan(&stage, &outcome, &reason, &dupOf))
				require.Equal(t, "done", stage, "a duplicate is finished when it is stored")
				require.Equal(t, "duplicate", outcome)
				require.Equal(t, first, dupOf)
				require.Equal(t, fmt.Sprintf("re-delivery of item %d: %s", first, tc.reason), reason)
			}
		})
	}
	require.Equal(t, []int64{first}, notified, "only the new item is announced to the pipeline")

	var n, dups, failed int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE outcome = 'duplicate'), count(*) FILTER (WHERE outcome = 'failed') FROM inbound_items`).Scan(&n, &dups, &failed))
	require.Equal(t, 7, n)
	require.Equal(t, 5, dups)
	require.Equal(t, 1, failed)

	// Without a Message-ID the content hash is the key: the same bytes
	// twice are an original and a duplicate.
	res, err := in.Put(ctx, []ingest.Item{mail("box/INBOX", "box/INBOX/1/20", noID, false), mail("", "file/host/run3/tmp/b.eml", noID, false)}, nil)
	require.NoError(t, err)
	require.Equal(t, ingest.StatusNew, res[0].Status)
	require.Equal(t, ingest.StatusDuplicate, res[1].Status)
	require.Equal(t, res[0].ID, res[1].DuplicateOf)
}

func TestInboxRollsBackWhenAfterFails(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	in := ingest.NewInbox(s, nil, clocktest.Clock(t))
	_, err := in.Put(ctx, []ingest.Item{{Source: "mail", SourceRef: "r1", Raw: []byte("x")}}, func(ctx context.Context, tx pgx.Tx) error {
		return context.Canceled
	})
	require.Error(t, err)
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM inbound_items`).Scan(&n))
	require.Zero(t, n, "nothing is committed when the checkpoint write fails")
}

func TestInboxBatchResolvesCollisionsInOrder(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	in := ingest.NewInbox(s, nil, clocktest.Clock(t))
	a := []byte("Message-ID: <a@x>\r\n\r\nA\r\n")
	a2 := append([]byte("Received: from mx2\r\n"), a...)
	b := []byte("Message-ID: <b@x>\r\n\r\nB\r\n")
	res, err := in.Put(ctx, []ingest.Item{
		{Source: "mail", SourceRef: "r1", DedupKey: "mid:a@x", Raw: a},
		{Source: "mail", SourceRef: "r2", DedupKey: "mid:a@x", Raw: a2}, // re-delivery in the same batch
		{Source: "mail", SourceRef: "r3", DedupKey: "mid:b@x", Raw: b},
		{Source: "mail", SourceRef: "r1", DedupKey: "mid:a@x", Raw: a}, // the same position twice
	}, nil)
	require.NoError(t, err)
	require.Equal(t, ingest.StatusNew, res[0].Status)
	require.Equal(t, ingest.StatusDuplicate, res[1].Status)
	require.Equal(t, res[0].ID, res[1].DuplicateOf)
	require.Equal(t, ingest.StatusNew, res[2].Status)
	require.Equal(t, ingest.StatusKnown, res[3].Status)
	require.Equal(t, res[0].ID, res[3].ID)
}

// A re-scan batch (a renumbered folder read again) is recognised whole, even
// where the folder held the same bytes twice; a message new to the folder
// is stored as usual.
func TestInboxRescanBatch(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	in := ingest.NewInbox(s, nil, clocktest.Clock(t))
	a := []byte("Message-ID: <a@x>\r\n\r\nA\r\n")
	b := []byte("Message-ID: <b@x>\r\n\r\nB\r\n")
	c := []byte("Message-ID: <c@x>\r\n\r\nC\r\n")
	item := func(ref string, raw []byte, rescan bool) ingest.Item {
		key, mid := ingest.MailKeys(raw)
		return ingest.Item{Source: "mail", SourceRef: ref, DedupKey: key, MessageID: mid, Raw: raw, Scope: "box/INBOX", Rescan: rescan}
	}
	res, err := in.Put(ctx, []ingest.Item{item("box/INBOX/1/1", a, false), item("box/INBOX/1/2", a, false), item("box/INBOX/1/3", b, false)}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{ingest.StatusNew, ingest.StatusDuplicate, ingest.StatusNew}, []string{res[0].Status, res[1].Status, res[2].Status})

	res, err = in.Put(ctx, []ingest.Item{item("box/INBOX/2/1", a, true), item("box/INBOX/2/2", a, true), item("box/INBOX/2/3", b, true), item("box/INBOX/2/4", c, true)}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{ingest.StatusKnown, ingest.StatusKnown, ingest.StatusKnown, ingest.StatusNew},
		[]string{res[0].Status, res[1].Status, res[2].Status, res[3].Status})

	var n, dups int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE outcome = 'duplicate') FROM inbound_items`).Scan(&n, &dups))
	require.Equal(t, 4, n, "the re-scan adds only the message new to the folder")
	require.Equal(t, 1, dups)
}

// TestInboxStampsReceivedAtByItsClock: received_at, from which SLAs count
// and which the rules read the hour of, is the inbox's clock, for new items
// and duplicates alike, not the database's.
func TestInboxStampsReceivedAtByItsClock(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	at := time.Date(2026, time.March, 8, 3, 0, 0, 0, time.UTC)
	in := ingest.NewInbox(s, nil, clock.Fixed(at))
	raw := []byte("Message-ID: <clock@x>\r\nSubject: hi\r\n\r\nbody\r\n")
	key, mid := ingest.MailKeys(raw)
	res, err := in.Put(ctx, []ingest.Item{
		{Source: "mail", SourceRef: "c/1", DedupKey: key, MessageID: mid, Raw: raw},
		{Source: "mail", SourceRef: "c/2", DedupKey: key, MessageID: mid, Raw: raw},
	}, nil)
	require.NoError(t, err)
	require.Equal(t, ingest.StatusNew, res[0].Status)
	require.Equal(t, ingest.StatusDuplicate, res[1].Status)
	for _, r := range res {
		it, err := s.GetItem(ctx, r.ID)
		require.NoError(t, err)
		assert.True(t, it.ReceivedAt.Equal(at), "item %d received at %v, want %v", r.ID, it.ReceivedAt, at)
	}
}
