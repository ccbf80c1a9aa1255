package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLeaseLost is returned when a mailbox lease is no longer held by the
// caller: another replica may be reading the mailbox, so nothing is committed.
var ErrLeaseLost = errors.New("mailbox lease lost")

// MailboxCheckpoint says how far a folder has been read: every message with a
// UID up to LastUID under UIDValidity is committed or no longer exists.
type MailboxCheckpoint struct {
	Mailbox     string
	Folder      string
	UIDValidity uint32
	LastUID     uint32
	// RescanUntil is the highest UID that was in the folder when this
	// UIDVALIDITY replaced an earlier one: messages up to it are the folder
	// read again, not new arrivals. 0 when the folder was never renumbered.
	RescanUntil uint32
}

// MailboxCheckpoint returns the checkpoint of mailbox/folder, or ErrNotFound
// when the folder has never been read.
func (s *Store) MailboxCheckpoint(ctx context.Context, mailbox, folder string) (MailboxCheckpoint, error) {
	cp := MailboxCheckpoint{Mailbox: mailbox, Folder: folder}
	var validity, last, rescan int64
	err := s.Pool.QueryRow(ctx, `
		SELECT uidvalidity, last_uid, rescan_until FROM mailbox_checkpoints WHERE mailbox = $1 AND folder = $2`,
		mailbox, folder).Scan(&validity, &last, &rescan)
	if errors.Is(err, pgx.ErrNoRows) {
		return cp, ErrNotFound
	}
	if err != nil {
		return cp, fmt.Errorf("reading checkpoint of %s/%s: %w", mailbox, folder, err)
	}
	cp.UIDValidity, cp.LastUID, cp.RescanUntil = uint32(validity), uint32(last), uint32(rescan)
	return cp, nil
}

// SaveMailboxCheckpoint writes cp inside tx, the transaction that commits the
// messages it covers. Under the same UIDVALIDITY the checkpoint only moves
// forward and keeps its RescanUntil; a new UIDVALIDITY replaces it. When holder is not empty the
// caller's lease is checked first (and locked against takeover until tx
// ends): a replica that lost its lease gets ErrLeaseLost and commits nothing.
func (s *Store) SaveMailboxCheckpoint(ctx context.Context, tx pgx.Tx, cp MailboxCheckpoint, holder string) error {
	if holder != "" {
		var one int
		err := tx.QueryRow(ctx, `
			SELECT 1 FROM mailbox_leases
			WHERE mailbox = $1 AND holder = $2 AND expires_at > clock_timestamp()
			FOR SHARE`, cp.Mailbox, holder).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %s is not held by %s", ErrLeaseLost, cp.Mailbox, holder)
		}
		if err != nil {
			return fmt.Errorf("checking lease of %s: %w", cp.Mailbox, err)
		}
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO mailbox_checkpoints (mailbox, folder, uidvalidity, last_uid, rescan_until)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (mailbox, folder) DO UPDATE SET
			last_uid = CASE WHEN mailbox_checkpoints.uidvalidity = EXCLUDED.uidvalidity
				THEN greatest(mailbox_checkpoints.last_uid, EXCLUDED.last_uid)
				ELSE EXCLUDED.last_uid END,
			rescan_until = CASE WHEN mailbox_checkpoints.uidvalidity = EXCLUDED.uidvalidity
				THEN mailbox_checkpoints.rescan_until
				ELSE EXCLUDED.rescan_until END,
			uidvalidity = EXCLUDED.uidvalidity,
			updated_at = now()`,
		cp.Mailbox, cp.Folder, int64(cp.UIDValidity), int64(cp.LastUID), int64(cp.RescanUntil))
	if err != nil {
		return fmt.Errorf("saving checkpoint of %s/%s: %w", cp.Mailbox, cp.Folder, err)
	}
	return nil
}

// MailboxLease is the current reader of a mailbox.
type MailboxLease struct {
	Mailbox    string
	Holder     string
	AcquiredAt time.Time
	ExpiresAt  time.Time
}

// AcquireMailboxLease takes the lease of mailbox for holder, or renews it when
// holder has it, for period from now (database time). It returns the lease as
// it stands afterwards: when Holder is someone else, the caller did not get it.
func (s *Store) AcquireMailboxLease(ctx context.Context, mailbox, holder string, period time.Duration) (MailboxLease, error) {
	l := MailboxLease{Mailbox: mailbox}
	err := s.Pool.QueryRow(ctx, `
		INSERT INTO mailbox_leases AS l (mailbox, holder, acquired_at, expires_at)
		VALUES ($1, $2, clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond')
		ON CONFLICT (mailbox) DO UPDATE SET
			holder = EXCLUDED.holder,
			acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
			expires_at = EXCLUDED.expires_at
		WHERE l.holder = EXCLUDED.holder OR l.expires_at <= clock_timestamp()
		RETURNING holder, acquired_at, expires_at`,
		mailbox, holder, period.Milliseconds()).Scan(&l.Holder, &l.AcquiredAt, &l.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.Pool.QueryRow(ctx, `
			SELECT holder, acquired_at, expires_at FROM mailbox_leases WHERE mailbox = $1`,
			mailbox).Scan(&l.Holder, &l.AcquiredAt, &l.ExpiresAt)
	}
	if err != nil {
		return l, fmt.Errorf("acquiring lease of %s: %w", mailbox, err)
	}
	return l, nil
}

// ReleaseMailboxLease gives the lease of mailbox up if holder has it, so that
// another replica can take over at once.
func (s *Store) ReleaseMailboxLease(ctx context.Context, mailbox, holder string) error {
	if _, err := s.Pool.Exec(ctx, `DELETE FROM mailbox_leases WHERE mailbox = $1 AND holder = $2`, mailbox, holder); err != nil {
		return fmt.Errorf("releasing lease of %s: %w", mailbox, err)
	}
	return nil
}

// MailboxStatus is what a mailbox's reader last reported.
type MailboxStatus struct {
	Mailbox     string     `db:"mailbox"`
	Holder      string     `db:"holder"`
	Connected   bool       `db:"connected"`
	LastSuccess *time.Time `db:"last_success"`
	LastError   string     `db:"last_error"`
	LastErrorAt *time.Time `db:"last_error_at"`
	Backlog     int64      `db:"backlog"`
	UpdatedAt   time.Time  `db:"updated_at"`
}

// SaveMailboxStatus records st as the mailbox's current status.
func (s *Store) SaveMailboxStatus(ctx context.Context, st MailboxStatus) error {
	_, err := s.Pool.Exec(ctx, `
		INSERT INTO mailbox_status (mailbox, holder, connected, last_success, last_error, last_error_at, backlog, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())
		ON CONFLICT (mailbox) DO UPDATE SET
			holder = EXCLUDED.holder, connected = EXCLUDED.connected,
			last_success = EXCLUDED.last_success, last_error = EXCLUDED.last_error,
			last_error_at = EXCLUDED.last_error_at, backlog = EXCLUDED.backlog,
			updated_at = now()`,
		st.Mailbox, st.Holder, st.Connected, st.LastSuccess, st.LastError, st.LastErrorAt, st.Backlog)
	if err != nil {
		return fmt.Errorf("saving status of %s: %w", st.Mailbox, err)
	}
	return nil
}

// MailboxStatusOf returns the status last saved for mailbox, or ErrNotFound.
func (s *Store) MailboxStatusOf(ctx context.Context, mailbox string) (MailboxStatus, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT mailbox, holder, connected, last_success, last_error, last_error_at, backlog, updated_at
		FROM mailbox_status WHERE mailbox = $1`, mailbox)
	if err != nil {
		return MailboxStatus{}, fmt.Errorf("reading status of %s: %w", mailbox, err)
	}
	st, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[MailboxStatus])
	if errors.Is(err, pgx.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, fmt.Errorf("reading status of %s: %w", mailbox, err)
	}
	return st, nil
}

// FailedMailRefs returns which of the given mail source references are
// stored with outcome failed (a mailbox uses it to file such messages in its
// failed folder when it finishes a move interrupted by a crash).
func (s *Store) FailedMailRefs(ctx context.Context, refs []string) (map[string]bool, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT source_ref FROM inbound_items
		WHERE source = 'mail' AND source_ref = ANY($1) AND outcome = 'failed'`, refs)
	if err != nil {
		return nil, fmt.Errorf("looking up failed mail items: %w", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("looking up failed mail items: %w", err)
	}
	m := make(map[string]bool, len(got))
	for _, r := range got {
		m[r] = true
	}
	return m, nil
}
