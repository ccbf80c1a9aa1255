-- Equipment: the instruments and machines at clients' stores, found in
-- requests by their serial numbers; the equipment a ticket is about; and the
-- answers of the request API kept per idempotency key.

CREATE TABLE equipment (
    client         text NOT NULL REFERENCES clients (code),
    object         text NOT NULL,
    serial         text NOT NULL,
    model          text NOT NULL DEFAULT '',
    kind           text NOT NULL REFERENCES categories (code), -- a category code
    installed      date,
    warranty_until date,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client, serial),
    FOREIGN KEY (client, object) REFERENCES objects (client, code)
);

-- The equipment a ticket is about, how it was found, and what a dispatcher
-- should look at (a serial registered at another store than the one the
-- request names).
CREATE TABLE ticket_equipment (
    ticket_id bigint PRIMARY KEY REFERENCES tickets (id),
    client    text NOT NULL,
    serial    text NOT NULL,
    source    text NOT NULL DEFAULT '', -- subject | text | table | attachment:NAME | field
    conflict  text NOT NULL DEFAULT '',
    FOREIGN KEY (client, serial) REFERENCES equipment (client, serial)
);
CREATE INDEX ticket_equipment_serial ON ticket_equipment (client, serial);

-- Request API: the first answer to each Idempotency-Key of a caller, so that
-- a retry gets the same answer and stores nothing twice.
CREATE TABLE request_keys (
    caller      text NOT NULL,
    key         text NOT NULL,
    body_sha256 bytea NOT NULL,
    item_id     bigint REFERENCES inbound_items (id),
    status      integer NOT NULL,
    response    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key)
);

-- A client's system may only submit requests.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('client', 'dispatcher', 'operations', 'admin'));
