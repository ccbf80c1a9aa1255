-- The outbox, telephony call records and connector cursors.

-- Every outbound message (a reply by email, a webhook, a status push to a
-- chain's service desk) is written here in the transaction that decided to
-- send it, and delivered by the outbox dispatcher. A row that cannot be
-- delivered backs off on its own and ends as 'dead' after the configured
-- number of attempts; other rows are not held up by it.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('email', 'webhook', 'connector')),
    target          text NOT NULL,          -- connector name, email address or URL
    ticket_id       bigint REFERENCES tickets (id),
    payload         jsonb NOT NULL,
    dedup_key       text NOT NULL UNIQUE,   -- the same decision enqueued twice is one message
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state, id);
CREATE INDEX outbox_ticket ON outbox (ticket_id) WHERE ticket_id IS NOT NULL;

-- One row per telephony call (all webhook events of a provider's call id).
CREATE TABLE calls (
    id             bigserial PRIMARY KEY,
    provider       text NOT NULL,           -- mango | zadarma | generic
    call_id        text NOT NULL,           -- Mango entry_id, Zadarma pbx_call_id, ...
    direction      text NOT NULL DEFAULT '' CHECK (direction IN ('', 'in', 'out')),
    phone          text NOT NULL DEFAULT '', -- the external party, E.164 when it parses
    line           text NOT NULL DEFAULT '', -- our number or extension
    client         text NOT NULL DEFAULT '',
    object         text NOT NULL DEFAULT '',
    contact        text NOT NULL DEFAULT '', -- the contact's name
    known          boolean NOT NULL DEFAULT false, -- the phone belongs to a contact or engineer
    started_at     timestamptz,
    answered_at    timestamptz,
    ended_at       timestamptz,
    status         text NOT NULL DEFAULT 'ringing' CHECK (status IN ('ringing', 'answered', 'missed', 'ended')),
    -- What became of the call once it ended: a call-back ticket, a follow-up
    -- on the store's open ticket, or a record for a dispatcher.
    disposition    text NOT NULL DEFAULT '' CHECK (disposition IN ('', 'callback', 'follow_up', 'record')),
    ticket_id      bigint REFERENCES tickets (id),
    events         integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, call_id)
);
CREATE INDEX calls_unknown ON calls (id) WHERE NOT known;
CREATE INDEX calls_object ON calls (client, object);

-- The webhook requests of a call, one per inbox item.
CREATE TABLE call_events (
    id       bigserial PRIMARY KEY,
    call     bigint NOT NULL REFERENCES calls (id),
    item_id  bigint NOT NULL UNIQUE REFERENCES inbound_items (id),
    event    text NOT NULL,
    at       timestamptz,
    data     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX call_events_call ON call_events (call, id);

-- Where each connector's pull stands. Written in the same transaction as the
-- items pulled, so a restart resumes exactly after the last committed record.
CREATE TABLE connector_cursors (
    connector  text PRIMARY KEY,
    cursor     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
