-- The pipeline claims items with a lease, counts every attempt before it
-- starts (an item that kills the process is failed after a few restarts
-- instead of crash-looping), and retries transient failures later without
-- holding up the items behind them.
ALTER TABLE inbound_items
    ADD COLUMN lease_until     timestamptz, -- a replica is working on it until then
    ADD COLUMN next_attempt_at timestamptz, -- retry (or re-check a deferral) not before
    ADD COLUMN deferrals       integer NOT NULL DEFAULT 0;
CREATE INDEX inbound_items_due ON inbound_items (coalesce(next_attempt_at, lease_until)) WHERE stage <> 'done';
-- Later items look up the order numbers of earlier items still without an
-- outcome (being retried): a small index, only of those.
CREATE INDEX inbound_items_pending_external ON inbound_items ((parsed->'fields'->>'external_id'))
    WHERE parsed IS NOT NULL AND stage IN ('received', 'parsed', 'routed');
