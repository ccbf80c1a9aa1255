-- Format drift counts the fields found in the recent mail of each format and
-- chain domain: the window query reads mail items by time of receipt,
-- newest first, and never the whole inbox.
CREATE INDEX inbound_items_mail_received ON inbound_items (received_at) WHERE source = 'mail' AND duplicate_of IS NULL;
