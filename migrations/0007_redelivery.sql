-- Re-deliveries and re-scans.
--
-- The same bytes arriving at a new source position are a re-delivery,
-- recorded as a duplicate, except when a mailbox re-reads a folder after its
-- UIDVALIDITY changed: those messages are the ones it already holds, and
-- nothing is written for them. To tell the two apart an item records the
-- folder it was read from (source_scope, "<mailbox>/<folder>"), and a
-- checkpoint records which UIDs of the new UIDVALIDITY are the re-read.

ALTER TABLE inbound_items ADD COLUMN source_scope text NOT NULL DEFAULT '';

-- Mail stored before this migration carries its mailbox and folder in meta.
UPDATE inbound_items SET source_scope = (meta->>'mailbox') || '/' || (meta->>'folder')
WHERE source = 'mail' AND meta ? 'mailbox' AND meta ? 'folder';

-- A re-read message is looked up by folder and content.
CREATE INDEX inbound_items_scope_content ON inbound_items (source, source_scope, content_sha256)
    WHERE source_scope <> '';

-- UIDs up to rescan_until under the checkpoint's uidvalidity were in the
-- folder when the new UIDVALIDITY was first seen: they are a re-read of the
-- folder, not new arrivals. 0 when the folder has not been renumbered.
ALTER TABLE mailbox_checkpoints ADD COLUMN rescan_until bigint NOT NULL DEFAULT 0;
