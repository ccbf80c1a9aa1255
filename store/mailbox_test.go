package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake/store"
	"github.com/intakehq/intake/store/pgtest"
)

func TestMailboxCheckpoint(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	_, err := s.MailboxCheckpoint(ctx, "ops", "INBOX")
	require.ErrorIs(t, err, store.ErrNotFound)

	save := func(cp store.MailboxCheckpoint) {
		t.Helper()
		require.NoError(t, s.InTx(ctx, func(tx pgx.Tx) error { return s.SaveMailboxCheckpoint(ctx, tx, cp, "") }))
	}
	cases := []struct {
		name       string
		save       store.MailboxCheckpoint
		want       uint32
		wantRescan uint32
	}{
		{"first", store.MailboxCheckpoint{Mailbox: "ops", Folder: "INBOX", UIDValidity: 7, LastUID: 10}, 10, 0},
		{"forward", store.MailboxCheckpoint{Mailbox: "ops", Folder: "INBOX", UIDValidity: 7, LastUID: 12}, 12, 0},
		{"never backwards", store.MailboxCheckpoint{Mailbox: "ops", Folder: "INBOX", UIDValidity: 7, LastUID: 3}, 12, 0},
		{"new uidvalidity resets", store.MailboxCheckpoint{Mailbox: "ops", Folder: "INBOX", UIDValidity: 8, LastUID: 2, RescanUntil: 40}, 2, 40},
		{"the re-read window stays with its uidvalidity", store.MailboxCheckpoint{Mailbox: "ops", Folder: "INBOX", UIDValidity: 8, LastUID: 20}, 20, 40},
		{"and goes with it", store.MailboxCheckpoint{Mailbox: "ops", Folder: "INBOX", UIDValidity: 9, LastUID: 0}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			save(tc.save)
			got, err := s.MailboxCheckpoint(ctx, "ops", "INBOX")
			require.NoError(t, err)
			require.Equal(t, tc.save.UIDValidity, got.UIDValidity)
			require.Equal(t, tc.want, got.LastUID)
			require.Equal(t, tc.wantRescan, got.RescanUntil)
		})
	}
}

func TestMailboxLease(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	const period = 300 * time.Millisecond

	l, err := s.AcquireMailboxLease(ctx, "ops", "a", period)
	require.NoError(t, err)
	require.Equal(t, "a", l.Holder)
	l, err = s.AcquireMailboxLease(ctx, "ops", "b", period)
	require.NoError(t, err)
	require.Equal(t, "a", l.Holder, "b cannot take a live lease")

	cp := store.MailboxCheckpoint{Mailbox: "ops", Folder: "INBOX", UIDValidity: 1, LastUID: 1}
	err = s.InTx(ctx, func(tx pgx.Tx) error { return s.SaveMailboxCheckpoint(ctx, tx, cp, "b") })
	require.ErrorIs(t, err, store.ErrLeaseLost, "only the holder commits")
	require.NoError(t, s.InTx(ctx, func(tx pgx.Tx) error { return s.SaveMailboxCheckpoint(ctx, tx, cp, "a") }))

	time.Sleep(period + 50*time.Millisecond)
	l, err = s.AcquireMailboxLease(ctx, "ops", "b", period)
	require.NoError(t, err)
	require.Equal(t, "b", l.Holder, "an expired lease is taken over")
	err = s.InTx(ctx, func(tx pgx.Tx) error { return s.SaveMailboxCheckpoint(ctx, tx, cp, "a") })
	require.ErrorIs(t, err, store.ErrLeaseLost)

	require.NoError(t, s.ReleaseMailboxLease(ctx, "ops", "a"), "releasing someone else's lease is a no-op")
	l, err = s.AcquireMailboxLease(ctx, "ops", "a", period)
	require.NoError(t, err)
	require.Equal(t, "b", l.Holder)
	require.NoError(t, s.ReleaseMailboxLease(ctx, "ops", "b"))
	l, err = s.AcquireMailboxLease(ctx, "ops", "a", period)
	require.NoError(t, err)
	require.Equal(t, "a", l.Holder, "a released lease is free at once")
}

func TestMailboxStatus(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	_, err := s.MailboxStatusOf(ctx, "ops")
	require.ErrorIs(t, err, store.ErrNotFound)
	now := time.Now()
	require.NoError(t, s.SaveMailboxStatus(ctx, store.MailboxStatus{Mailbox: "ops", Holder: "a", Connected: true, LastSuccess: &now, Backlog: 5}))
	st, err := s.MailboxStatusOf(ctx, "ops")
	require.NoError(t, err)
	require.Equal(t, "a", st.Holder)
	require.True(t, st.Connected)
	require.EqualValues(t, 5, st.Backlog)
	require.NotNil(t, st.LastSuccess)
	require.Nil(t, st.LastErrorAt)
}

func TestFailedMailRefs(t *testing.T) {
	ctx := context.Background()
	s := pgtest.Store(t)
	_, err := s.Pool.Exec(ctx, `
		INSERT INTO inbound_items (source, source_ref, dedup_key, content_sha256, raw, size, stage, outcome, error)
		VALUES ('mail', 'ops/INBOX/1/1', 'k1', '\x00', '', 0, 'done', 'failed', 'too big'),
		       ('mail', 'ops/INBOX/1/2', 'k2', '\x00', '', 0, 'received', NULL, '')`)
	require.NoError(t, err)
	m, err := s.FailedMailRefs(ctx, []string{"ops/INBOX/1/1", "ops/INBOX/1/2", "ops/INBOX/1/3"})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{"ops/INBOX/1/1": true}, m)
}
