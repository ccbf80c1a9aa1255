package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func enqueue(t *testing.T, s *store.Store, m store.OutboxMessage) {
	t.Helper()
	require.NoError(t, s.InTx(context.Background(), func(tx pgx.Tx) error {
		return store.EnqueueOutbox(context.Background(), tx, m)
	}))
}

func TestOutboxEnqueueIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	m := store.OutboxMessage{Kind: store.OutboxWebhook, Target: "https://example.test/hook", Payload: map[string]string{"a": "b"}, DedupKey: "k1"}
	enqueue(t, s, m)
	m.Payload = map[string]string{"a": "changed"}
	enqueue(t, s, m)
	rows, err := s.ListOutbox(ctx, store.OutboxFilter{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.JSONEq(t, `{"a":"b"}`, string(rows[0].Payload))
	assert.Equal(t, store.OutboxPending, rows[0].State)

	err = s.InTx(ctx, func(tx pgx.Tx) error {
		return store.EnqueueOutbox(ctx, tx, store.OutboxMessage{Kind: "fax", Target: "x", DedupKey: "k2"})
	})
	require.ErrorContains(t, err, `"fax"`)
}

func TestOutboxClaimLeaseAndStates(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxConnector, Target: "vr", Payload: 1, DedupKey: "a"})
	enqueue(t, s, store.OutboxMessage{Kind: store.OutboxConnector, Target: "vr", Payload: 2, DedupKey: "b"})

	got, err := s.ClaimOutbox(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, 1, got[0].Attempts)

	again, err := s.ClaimOutbox(ctx, 10, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, again, "claimed rows are leased to their dispatcher")

	require.NoError(t, s.OutboxDelivered(ctx, got[0].ID))
	require.NoError(t, s.OutboxFailed(ctx, got[1].ID, "503 from vr", 0, false))
	due, err := s.ClaimOutbox(ctx, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, got[1].ID, due[0].ID)
	assert.Equal(t, 2, due[0].Attempts)
	assert.Equal(t, "503 from vr", due[0].LastError)

	require.NoError(t, s.OutboxFailed(ctx, due[0].ID, "still down", 0, true))
	dead, err := s.ListOutbox(ctx, store.OutboxFilter{State: store.OutboxDead})
	require.NoError(t, err)
	require.Len(t, dead, 1)

	counts, err := s.OutboxCounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"pending": 0, "sent": 1, "dead": 1}, counts)

	r, err := s.RetryOutbox(ctx, dead[0].ID)
	require.NoError(t, err)
	assert.Equal(t, store.OutboxPending, r.State)
	assert.Equal(t, 0, r.Attempts)

	_, err = s.RetryOutbox(ctx, got[0].ID)
	require.ErrorIs(t, err, store.ErrOutboxSent)
	_, err = s.RetryOutbox(ctx, 9999)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// Two dispatchers claiming at once never get the same row.
func TestOutboxClaimIsExclusive(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	for i := range 50 {
		enqueue(t, s, store.OutboxMessage{Kind: store.OutboxWebhook, Target: "u", Payload: i, DedupKey: string(rune('A' + i))})
	}
	seen := make(chan int64, 100)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				rows, err := s.ClaimOutbox(ctx, 3, time.Minute)
				if err != nil || len(rows) == 0 {
					errs <- err
					return
				}
				for _, r := range rows {
					seen <- r.ID
				}
			}
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
	close(seen)
	ids := map[int64]bool{}
	for id := range seen {
		require.False(t, ids[id], "row %d claimed twice", id)
		ids[id] = true
	}
	assert.Len(t, ids, 50)
}
