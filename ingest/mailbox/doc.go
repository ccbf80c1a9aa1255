// Package mailbox reads work orders from IMAP mailboxes into the durable
// inbox without losing or duplicating any.
//
// Semantics:
//
//   - A folder's position is a checkpoint (UIDVALIDITY, last UID) in
//     PostgreSQL. It is written in the same transaction as the messages it
//     covers (ingest.Inbox.Put), so it only ever moves past committed
//     messages, and past messages that no longer exist. \Seen is never used.
//   - A message is moved (mode move) or flagged (mode flag) only after its
//     commit. A crash in between leaves it in the folder at or below the
//     checkpoint; the next session acknowledges it without storing it again.
//   - A new UIDVALIDITY means the folder's UIDs were reassigned: the folder
//     is read again from the start, and the inbox recognises what it already
//     holds (same source position, or same Message-ID and bytes).
//   - Messages over max_message_size are stored as failed with their header
//     only and the reason; nothing is dropped silently. A message the server
//     lists but will not return is retried, then stored as failed.
//   - Only one replica reads a mailbox: it holds a lease row in PostgreSQL,
//     renewed every third of the lease period; the checkpoint write checks
//     the lease, so a replica that lost it commits nothing. A replica stops
//     reading before its lease could have expired; when it dies, another
//     takes over once the lease expires.
//   - Each mailbox has one connection. New mail is noticed through IDLE on
//     the first folder when the server offers it, else by polling; all
//     folders are checked at least every poll_interval.
//
// See docs/mailboxes.md for configuration.
package mailbox
