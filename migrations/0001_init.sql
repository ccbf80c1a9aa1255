-- Reference data: clients, engineers, service objects (stores), contacts, categories.

CREATE TABLE clients (
    code           text PRIMARY KEY,
    name           text NOT NULL,
    legal_entities text[] NOT NULL DEFAULT '{}',
    domains        text[] NOT NULL DEFAULT '{}',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE engineers (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    competences text[] NOT NULL DEFAULT '{}',
    areas       text[] NOT NULL DEFAULT '{}',
    lat         double precision,
    lon         double precision,
    radius_km   double precision NOT NULL DEFAULT 0,
    max_open    integer NOT NULL DEFAULT 0,
    status      text NOT NULL CHECK (status IN ('active', 'pending', 'blacklisted')),
    rating      double precision NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE objects (
    client       text NOT NULL REFERENCES clients (code),
    code         text NOT NULL,
    name         text NOT NULL DEFAULT '',
    address      text NOT NULL DEFAULT '',
    city         text NOT NULL DEFAULT '',
    region       text NOT NULL DEFAULT '',
    oktmo        text NOT NULL DEFAULT '',
    lat          double precision,
    lon          double precision,
    legal_entity text NOT NULL DEFAULT '',
    engineer     text REFERENCES engineers (code),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client, code)
);

CREATE TABLE contacts (
    client     text NOT NULL REFERENCES clients (code),
    object     text NOT NULL DEFAULT '', -- '' for people without a store of their own
    name       text NOT NULL DEFAULT '',
    role       text NOT NULL DEFAULT '',
    email      text NOT NULL DEFAULT '',
    phone      text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client, object, email)
);
CREATE INDEX contacts_email ON contacts (lower(email));
CREATE INDEX contacts_phone ON contacts (phone);

CREATE TABLE categories (
    code       text PRIMARY KEY,
    name       text NOT NULL,
    competence text NOT NULL,
    sla_hours  double precision NOT NULL,
    keywords   text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row; bumped by every import that changes reference data, so running
-- pipelines reload their in-memory directory without a restart.
CREATE TABLE directory_version (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
INSERT INTO directory_version (version) VALUES (1);

-- Rule sets: every applied set of rule and format files gets a version.
CREATE TABLE rule_sets (
    version    bigserial PRIMARY KEY,
    hash       text NOT NULL,
    sources    jsonb NOT NULL, -- [{"name": ..., "data": ...}]
    applied_by text NOT NULL DEFAULT '',
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- The durable inbox. Every inbound item (an email's raw bytes, a webhook
-- request, a connector record) is committed here before its source is
-- acknowledged. Raw bytes are compressed with lz4.
CREATE TABLE inbound_items (
    id             bigserial PRIMARY KEY,
    source         text NOT NULL,          -- mail | call | connector
    source_ref     text NOT NULL,          -- e.g. mailbox/folder/uidvalidity/uid
    dedup_key      text NOT NULL,          -- e.g. mid:<message-id>, or sha256:<hash>
    content_sha256 bytea NOT NULL,
    raw            bytea NOT NULL,
    size           integer NOT NULL,
    meta           jsonb NOT NULL DEFAULT '{}',
    received_at    timestamptz NOT NULL DEFAULT now(),
    duplicate_of   bigint REFERENCES inbound_items (id),
    -- Processing: stage is where the item is in the pipeline; outcome is set
    -- exactly once when it leaves it.
    stage          text NOT NULL DEFAULT 'received' CHECK (stage IN ('received', 'parsed', 'routed', 'done')),
    outcome        text CHECK (outcome IN ('ticket', 'follow_up', 'duplicate', 'ignored', 'unmatched', 'failed')),
    reason         text NOT NULL DEFAULT '',
    error          text NOT NULL DEFAULT '',
    attempts       integer NOT NULL DEFAULT 0,
    message_id     text NOT NULL DEFAULT '',
    client         text NOT NULL DEFAULT '',
    parsed         jsonb,                  -- normalized document summary and extracted fields
    decision       jsonb,                  -- matching, assignment and rule trace
    rules_version  bigint,
    ticket_id      bigint,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((outcome IS NULL) = (stage <> 'done'))
);
ALTER TABLE inbound_items ALTER COLUMN raw SET COMPRESSION lz4;
-- The same source position is the same item: a re-fetch after a crash is a no-op.
CREATE UNIQUE INDEX inbound_items_source_ref ON inbound_items (source, source_ref);
-- One original per dedup key; re-deliveries are rows with duplicate_of set.
CREATE UNIQUE INDEX inbound_items_dedup ON inbound_items (source, dedup_key) WHERE duplicate_of IS NULL;
CREATE INDEX inbound_items_pending ON inbound_items (id) WHERE stage <> 'done';
CREATE INDEX inbound_items_outcome ON inbound_items (outcome, received_at);
CREATE INDEX inbound_items_message_id ON inbound_items (message_id) WHERE message_id <> '';

CREATE TABLE tickets (
    id          bigserial PRIMARY KEY,
    number      text GENERATED ALWAYS AS ('INT-' || id::text) STORED UNIQUE,
    client      text NOT NULL REFERENCES clients (code),
    external_id text,                      -- the chain's own ticket number
    object      text NOT NULL,
    category    text REFERENCES categories (code),
    priority    text CHECK (priority IN ('critical', 'high', 'normal', 'low')),
    due         timestamptz,             -- as stated by the chain, if it was
    sla_due     timestamptz,             -- the deadline in force: stated due, else received + SLA
    team        text NOT NULL DEFAULT '',
    tags        text[] NOT NULL DEFAULT '{}',
    problem     text NOT NULL DEFAULT '',
    state       text NOT NULL DEFAULT 'new',
    engineer    text REFERENCES engineers (code),
    assignment  jsonb,                     -- candidates, filters and scores
    source_item bigint NOT NULL REFERENCES inbound_items (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (client, object) REFERENCES objects (client, code)
);
-- The same order arriving by two routes is one ticket.
CREATE UNIQUE INDEX tickets_external ON tickets (client, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX tickets_engineer_open ON tickets (engineer) WHERE state NOT IN ('done', 'closed', 'cancelled');

-- Message-IDs that belong to a ticket, for threading replies.
CREATE TABLE ticket_messages (
    message_id text PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES tickets (id),
    item_id    bigint REFERENCES inbound_items (id)
);

CREATE TABLE ticket_events (
    id         bigserial PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES tickets (id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    kind       text NOT NULL,              -- created | follow_up | status | comment | ...
    from_state text NOT NULL DEFAULT '',
    to_state   text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    item_id    bigint REFERENCES inbound_items (id),
    data       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);
-- A follow-up item is applied to its ticket once.
CREATE UNIQUE INDEX ticket_events_item ON ticket_events (item_id, kind) WHERE item_id IS NOT NULL;
