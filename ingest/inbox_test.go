package ingest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

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
	})
	msg := []byte("Message-ID: <a@x>\r\nSubject: hi\r\n\r\nbody\r\n")
	redelivered := append([]byte("Received: from mx2\r\n"), msg...)

	cases := []struct {
		name   string
		item   ingest.Item
		status string
	}{
		{"first delivery", ingest.Item{Source: "mail", SourceRef: "box/INBOX/1/1", DedupKey: "mid:a@x", Raw: msg}, ingest.StatusNew},
		{"re-fetch of the same uid", ingest.Item{Source: "mail", SourceRef: "box/INBOX/1/1", DedupKey: "mid:a@x", Raw: msg}, ingest.StatusKnown},
		{"same bytes at a new uid", ingest.Item{Source: "mail", SourceRef: "box/INBOX/2/7", DedupKey: "mid:a@x", Raw: msg}, ingest.StatusKnown},
		{"re-delivery via a second MX", ingest.Item{Source: "mail", SourceRef: "box/INBOX/1/2", DedupKey: "mid:a@x", Raw: redelivered}, ingest.StatusDuplicate},
		{"re-fetch of the duplicate", ingest.Item{Source: "mail", SourceRef: "box/INBOX/1/2", DedupKey: "mid:a@x", Raw: redelivered}, ingest.StatusKnown},
		{"too large", ingest.Item{Source: "mail", SourceRef: "box/INBOX/1/3", Raw: []byte("Subject: big\r\n\r\n"), Failed: "over the size limit"}, ingest.StatusFailed},
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
			}
		})
	}
	require.Equal(t, []int64{first}, notified, "only the new item is announced to the pipeline")

	var n, dups, failed int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE outcome = 'duplicate'), count(*) FILTER (WHERE outcome = 'failed') FROM inbound_items`).Scan(&n, &dups, &failed))
	require.Equal(t, 3, n)
	require.Equal(t, 1, dups)
	require.Equal(t, 1, failed)
}

func TestInboxRollsBackWhenAfterFails(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	in := ingest.NewInbox(s, nil)
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
	in := ingest.NewInbox(s, nil)
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
