-- Tenants group instances and subscriptions; API keys (only their SHA-256 is kept) carry
-- scopes and may be limited to a tenant or to instances; pairing links let a client pair
-- one instance's phone without an account (only the token's SHA-256 is kept); actions
-- record who (the admin token or a key) changed what.
CREATE TABLE tenants (
    name        TEXT   NOT NULL PRIMARY KEY,
    description TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
ALTER TABLE instances ADD COLUMN tenant TEXT;
ALTER TABLE subscriptions ADD COLUMN tenant TEXT;
CREATE INDEX instances_by_tenant ON instances (tenant);

CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    prefix          TEXT    NOT NULL,
    key_hash        TEXT    NOT NULL UNIQUE,
    tenant          TEXT,
    instances       TEXT,
    scopes          TEXT    NOT NULL,
    rate_per_minute INTEGER,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);

CREATE TABLE pairing_links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT   NOT NULL UNIQUE,
    instance_id BIGINT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    instance_id BIGINT,
    target      TEXT
);
CREATE INDEX actions_by_instance ON actions (instance_id, id);
CREATE INDEX actions_by_target ON actions (target);
