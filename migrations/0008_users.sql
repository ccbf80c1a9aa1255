-- Users, their API tokens and browser sessions, and the audit log.
--
-- Dispatchers, operations staff and admins sign in as users. Passwords are
-- kept as bcrypt hashes; tokens and session ids only as their SHA-256, so a
-- copy of the database grants nothing. Disabling a user ends its sessions
-- and makes its tokens useless at once (both are checked per request).

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    role          text NOT NULL CHECK (role IN ('dispatcher', 'operations', 'admin')),
    password_hash bytea,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id),
    prefix       text NOT NULL,
    token_sha256 bytea NOT NULL UNIQUE,
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_tokens_user ON api_tokens (user_id) WHERE revoked_at IS NULL;

CREATE TABLE sessions (
    id_sha256  bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    address    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

-- Who did what: rule applies, resolves, re-dispatches, user and token
-- changes. actor is the authenticated user ("cli" for the command line).
CREATE TABLE audit_log (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text NOT NULL,
    action text NOT NULL,
    target text NOT NULL DEFAULT '',
    detail jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_action ON audit_log (action, id);
