package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

// ClaimTried takes back exactly the items an attempt touched that are free
// again (the replica working on them died, or their retry is due); fresh
// items, live claims, deferred and finished items stay where they are.
func TestClaimTried(t *testing.T) {
	ctx := context.Background()
	st := pgtest.Store(t)
	var ids []int64
	require.NoError(t, st.InTx(ctx, func(tx pgx.Tx) error {
		var items []store.NewItem
		for i := range 6 {
			items = append(items, store.NewItem{Source: "mail", SourceRef: fmt.Sprintf("claim/%d", i), DedupKey: fmt.Sprintf("claim-%d", i),
				ContentSHA256: []byte{byte(i)}, Raw: []byte("x"), Meta: []byte(`{}`), ReceivedAt: time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)})
		}
		var err error
		ids, err = store.InsertItems(ctx, tx, items)
		return err
	}))
	set := func(id int64, sql string) {
		_, err := st.Pool.Exec(ctx, `UPDATE inbound_items SET `+sql+` WHERE id = $1`, id)
		require.NoError(t, err)
	}
	_, lapsed, live, due, waiting, done := ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]
	set(lapsed, `attempts = 1, lease_until = now() - interval '1 second'`)
	set(live, `attempts = 1, lease_until = now() + interval '1 minute'`)
	set(due, `attempts = 2, next_attempt_at = now() - interval '1 second'`)
	set(waiting, `attempts = 1, next_attempt_at = now() + interval '1 minute'`)
	set(done, `attempts = 1, stage = 'done', outcome = 'ticket'`)

	var claimed []int64
	for {
		it, err := st.ClaimTried(ctx, ids, 15*time.Second)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		require.NoError(t, err)
		claimed = append(claimed, it.ID)
		assert.Equal(t, map[int64]int{lapsed: 2, due: 3}[it.ID], it.Attempts, "item %d: the attempt is counted when claimed", it.ID)
		require.Less(t, len(claimed), 3, "a claimed item is leased: it is not claimed again")
	}
	assert.Equal(t, []int64{lapsed, due}, claimed, "one at a time, oldest first")
}
