-- Ticket lifecycle: engineer tasks, offers, attachments, engineer tokens,
-- approvals, timers, time spent per state, recurring contracts, QC links.
-- The states and moves are decided by package lifecycle; see docs/lifecycle.md.

-- A piece of work for one engineer on a client ticket. A ticket can have
-- several; its state follows theirs (lifecycle.TicketState).
CREATE TABLE engineer_tasks (
    id              bigserial PRIMARY KEY,
    ticket_id       bigint NOT NULL REFERENCES tickets (id),
    engineer        text REFERENCES engineers (code), -- NULL while offered
    mode            text NOT NULL CHECK (mode IN ('direct', 'offer')),
    state           text NOT NULL,
    resume_state    text NOT NULL DEFAULT '',     -- where a postponed task returns
    postponed_until timestamptz,
    reason          text NOT NULL DEFAULT '',     -- of the last reject/postpone/cancel
    candidates      text[] NOT NULL DEFAULT '{}', -- offer mode: ranked engineers still to offer to
    offer_round     integer NOT NULL DEFAULT 0,
    problem_found   text NOT NULL DEFAULT '',
    work_done       text NOT NULL DEFAULT '',
    accepted_at     timestamptz,
    started_at      timestamptz,
    done_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX engineer_tasks_ticket ON engineer_tasks (ticket_id, id);
CREATE INDEX engineer_tasks_engineer_open ON engineer_tasks (engineer)
    WHERE state NOT IN ('done', 'rejected', 'cancelled');

-- Offer mode: one row per engineer an offer went to.
CREATE TABLE task_offers (
    task_id    bigint NOT NULL REFERENCES engineer_tasks (id),
    engineer   text NOT NULL REFERENCES engineers (code),
    round      integer NOT NULL,
    state      text NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'accepted', 'declined', 'withdrawn', 'expired')),
    offered_at timestamptz NOT NULL,
    decided_at timestamptz,
    PRIMARY KEY (task_id, engineer)
);
-- First accept wins: a second accepted offer on a task is a unique violation,
-- whatever the application code does.
CREATE UNIQUE INDEX task_offers_one_winner ON task_offers (task_id) WHERE state = 'accepted';
CREATE INDEX task_offers_engineer_pending ON task_offers (engineer) WHERE state = 'pending';

-- Photos and files an engineer attaches; kept in the database with limits
-- (see lifecycle.max_attachment_bytes) so a backup holds the whole ticket.
CREATE TABLE task_attachments (
    id           bigserial PRIMARY KEY,
    task_id      bigint NOT NULL REFERENCES engineer_tasks (id),
    name         text NOT NULL,
    content_type text NOT NULL,
    size         integer NOT NULL,
    sha256       bytea NOT NULL,
    data         bytea NOT NULL,
    uploaded_by  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE task_attachments ALTER COLUMN data SET STORAGE EXTERNAL; -- photos do not compress
CREATE INDEX task_attachments_task ON task_attachments (task_id, id);

-- Per-engineer API tokens; only their SHA-256 is stored.
CREATE TABLE engineer_tokens (
    token_sha256 bytea PRIMARY KEY,
    engineer     text NOT NULL REFERENCES engineers (code),
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

-- A client's approval chain for one ticket: step 1 is asked first, the next
-- when the previous approves.
CREATE TABLE approvals (
    id            bigserial PRIMARY KEY,
    ticket_id     bigint NOT NULL REFERENCES tickets (id),
    step          integer NOT NULL,
    role          text NOT NULL,
    contact_name  text NOT NULL DEFAULT '',
    contact_email text NOT NULL DEFAULT '',
    state         text NOT NULL CHECK (state IN ('waiting', 'pending', 'approved', 'declined', 'skipped')),
    decided_by    text NOT NULL DEFAULT '',
    reason        text NOT NULL DEFAULT '',
    decided_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticket_id, step)
);

-- Timers of the scheduler. A timer fires once: the replica that fires it
-- holds its row (FOR UPDATE SKIP LOCKED) and sets fired_at in the same
-- transaction as the effect. key makes scheduling idempotent.
CREATE TABLE lifecycle_timers (
    id         bigserial PRIMARY KEY,
    key        text NOT NULL UNIQUE,  -- e.g. offer:12:2, wake:12:1, risk:7, breach:7, qc:7
    kind       text NOT NULL CHECK (kind IN ('offer', 'wake', 'risk', 'breach', 'qc')),
    ticket_id  bigint NOT NULL REFERENCES tickets (id),
    task_id    bigint REFERENCES engineer_tasks (id),
    due_at     timestamptz NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    fired_at   timestamptz,
    outcome    text NOT NULL DEFAULT '', -- what firing did ("escalated", "obsolete: ticket done", ...)
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lifecycle_timers_due ON lifecycle_timers (due_at, id) WHERE fired_at IS NULL;
CREATE INDEX lifecycle_timers_ticket ON lifecycle_timers (ticket_id);

-- Time spent in each state, for SLA analytics per client, region and
-- category. A ticket's rows have task_id NULL; a task's rows carry it. The
-- open row (left_at NULL) is closed by the next change.
CREATE TABLE state_durations (
    id         bigserial PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES tickets (id),
    task_id    bigint REFERENCES engineer_tasks (id),
    state      text NOT NULL,
    client     text NOT NULL,
    region     text NOT NULL DEFAULT '',
    category   text NOT NULL DEFAULT '',
    entered_at timestamptz NOT NULL,
    left_at    timestamptz
);
CREATE UNIQUE INDEX state_durations_open ON state_durations (ticket_id, coalesce(task_id, 0)) WHERE left_at IS NULL;
CREATE INDEX state_durations_report ON state_durations (client, state);

-- Contract-based recurring work, e.g. monthly maintenance of a store.
CREATE TABLE recurring_contracts (
    id         bigserial PRIMARY KEY,
    client     text NOT NULL,
    object     text NOT NULL,
    category   text REFERENCES categories (code),
    engineer   text REFERENCES engineers (code), -- NULL: routing decides
    problem    text NOT NULL,
    period     text NOT NULL DEFAULT 'month' CHECK (period IN ('week', 'month', 'quarter', 'year')),
    starts_on  date NOT NULL,
    ends_on    date,
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (client, object) REFERENCES objects (client, code)
);

-- One ticket per contract and period: the unique key stops a second replica.
CREATE TABLE recurring_runs (
    contract_id  bigint NOT NULL REFERENCES recurring_contracts (id),
    period_start date NOT NULL,
    ticket_id    bigint NOT NULL REFERENCES tickets (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contract_id, period_start)
);

-- Tickets made from other tickets: the QC ticket of a completed one.
CREATE TABLE ticket_links (
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    kind      text NOT NULL CHECK (kind IN ('qc', 'recurring')),
    source    bigint REFERENCES tickets (id),
    PRIMARY KEY (ticket_id, kind)
);
CREATE UNIQUE INDEX ticket_links_qc_once ON ticket_links (source) WHERE kind = 'qc';
