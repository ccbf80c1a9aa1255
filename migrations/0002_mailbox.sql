-- IMAP mailboxes: checkpoints, leases and status.

-- Where each folder's reading stands. Every message in the folder with a UID
-- up to last_uid (under this uidvalidity) is committed to inbound_items, or
-- no longer exists. Written in the same transaction as the items.
CREATE TABLE mailbox_checkpoints (
    mailbox     text NOT NULL,
    folder      text NOT NULL,
    uidvalidity bigint NOT NULL,
    last_uid    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox, folder)
);

-- One reader per mailbox across replicas. A holder renews expires_at; when it
-- stops renewing, another replica takes the row over once it has expired.
-- Times are the database's, so replicas' clocks do not matter.
CREATE TABLE mailbox_leases (
    mailbox     text PRIMARY KEY,
    holder      text NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

-- What the current reader last reported, so that every replica can show it.
CREATE TABLE mailbox_status (
    mailbox       text PRIMARY KEY,
    holder        text NOT NULL DEFAULT '',
    connected     boolean NOT NULL DEFAULT false,
    last_success  timestamptz,
    last_error    text NOT NULL DEFAULT '',
    last_error_at timestamptz,
    backlog       bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
