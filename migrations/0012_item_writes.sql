-- Every item's row is written three times: stored, claimed, done. Updates
-- copy the whole row and add it to each index whose columns change, so:
--
-- The raw bytes live out of line (TOAST) as soon as a row would not fit in
-- about 2 KB: an update then copies a pointer, not the message.
ALTER TABLE inbound_items ALTER COLUMN raw SET STORAGE EXTERNAL;
-- Room on each page for the claim's new row version beside the old one, so
-- that the claim (attempts and lease only, no indexed column) is a
-- heap-only update that touches no index.
ALTER TABLE inbound_items SET (fillfactor = 70);
-- No query reads this expression; its lease column made every claim an
-- index update.
DROP INDEX inbound_items_due;
-- Only the outcomes that wait for someone are looked up by outcome (the
-- queues and their counts); lists of all items walk the primary key.
DROP INDEX inbound_items_outcome;
CREATE INDEX inbound_items_attention ON inbound_items (outcome, id) WHERE outcome IN ('unmatched', 'failed');
-- The parse result and the decision are written once per item, compressed:
-- lz4 costs a fraction of the default's time.
-- (A server built without lz4 keeps its default.)
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE inbound_items ALTER COLUMN parsed SET COMPRESSION lz4, ALTER COLUMN decision SET COMPRESSION lz4;
        ALTER TABLE tickets ALTER COLUMN assignment SET COMPRESSION lz4;
    END IF;
END $$;
-- Items are looked up by Message-ID only while they wait for an outcome
-- (a reply must not overtake the order it answers): the index holds those
-- alone, so an item's last update no longer adds to it.
DROP INDEX inbound_items_message_id;
CREATE INDEX inbound_items_message_id ON inbound_items (message_id) WHERE message_id <> '' AND stage <> 'done';
