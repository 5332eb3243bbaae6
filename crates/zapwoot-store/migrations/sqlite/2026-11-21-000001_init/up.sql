-- zapwoot store, SQLite. Times are unix milliseconds (BIGINT); JSON is TEXT; sealed secrets
-- are TEXT produced by the store's sealer (AES-256-GCM), never plaintext.

CREATE TABLE instances (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL UNIQUE,
    enabled             BOOLEAN NOT NULL DEFAULT 1,
    gateway_kind        TEXT    NOT NULL,
    gateway_url         TEXT    NOT NULL,
    gateway_device_id   TEXT,
    gateway_username    TEXT,
    chatwoot_url        TEXT    NOT NULL,
    chatwoot_account_id BIGINT  NOT NULL,
    chatwoot_inbox_id   BIGINT,
    options             TEXT    NOT NULL DEFAULT '{}',
    -- sealed JSON object: API tokens, HMAC keys, passwords, and the two webhook route keys
    secrets             TEXT    NOT NULL,
    -- SHA-256 (hex) of the webhook route keys, for lookup without unsealing
    gateway_key_hash    TEXT    NOT NULL UNIQUE,
    chatwoot_key_hash   TEXT    NOT NULL UNIQUE,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);

-- Every inbound webhook: the durable inbox, the work queue and the audit log.
CREATE TABLE events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id      BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    source           TEXT    NOT NULL CHECK (source IN ('gateway', 'chatwoot')),
    kind             TEXT    NOT NULL DEFAULT '',
    dedupe_key       TEXT    NOT NULL,
    lane             TEXT    NOT NULL,
    content_type     TEXT    NOT NULL DEFAULT '',
    body             BLOB,
    received_at      BIGINT  NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'done', 'failed', 'dead', 'ignored')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    last_error       TEXT,
    finished_at      BIGINT,
    UNIQUE (instance_id, source, dedupe_key)
);
CREATE INDEX events_active_lane ON events (instance_id, lane, id)
    WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX events_active ON events (id) WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX events_by_instance ON events (instance_id, id);
CREATE INDEX events_finished ON events (finished_at) WHERE status IN ('done', 'ignored');

-- One person or group per instance.
CREATE TABLE identities (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id         BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    is_group            BOOLEAN NOT NULL DEFAULT 0,
    phone_jid           TEXT,
    phone_variant_jid   TEXT,
    lid                 TEXT,
    chatwoot_contact_id BIGINT,
    contact_source_id   TEXT,
    display_name        TEXT,
    name_locked         BOOLEAN NOT NULL DEFAULT 0,
    avatar_synced_at    BIGINT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    UNIQUE (instance_id, phone_jid),
    UNIQUE (instance_id, phone_variant_jid),
    UNIQUE (instance_id, lid),
    UNIQUE (instance_id, chatwoot_contact_id)
);

CREATE TABLE conversations (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id              BIGINT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    chat_jid                 TEXT   NOT NULL,
    identity_id              BIGINT REFERENCES identities (id) ON DELETE SET NULL,
    chatwoot_conversation_id BIGINT NOT NULL,
    status                   TEXT   NOT NULL,
    last_chatwoot_message_id BIGINT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    UNIQUE (instance_id, chatwoot_conversation_id)
);
CREATE INDEX conversations_by_chat ON conversations (instance_id, chat_jid, id);

-- WhatsApp message (+ part) <-> Chatwoot message, with the effect's intent state.
CREATE TABLE messages (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id              BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    chat_jid                 TEXT    NOT NULL,
    direction                TEXT    NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
    wa_message_id            TEXT,
    chatwoot_conversation_id BIGINT,
    chatwoot_message_id      BIGINT,
    part                     INTEGER NOT NULL DEFAULT 0,
    delivery                 INTEGER NOT NULL DEFAULT 0,
    state                    TEXT    NOT NULL CHECK (state IN ('intended', 'done', 'failed')),
    created_at               BIGINT  NOT NULL,
    updated_at               BIGINT  NOT NULL
);
CREATE UNIQUE INDEX messages_by_wa ON messages (instance_id, wa_message_id, part)
    WHERE wa_message_id IS NOT NULL;
CREATE UNIQUE INDEX messages_by_chatwoot ON messages (instance_id, chatwoot_message_id, part)
    WHERE chatwoot_message_id IS NOT NULL;

-- Outbound webhooks for third parties.
CREATE TABLE subscriptions (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    url                   TEXT    NOT NULL,
    events                TEXT    NOT NULL DEFAULT '["*"]',
    instances             TEXT,
    secret                TEXT    NOT NULL,
    headers               TEXT    NOT NULL DEFAULT '{}',
    allow_private_network BOOLEAN NOT NULL DEFAULT 0,
    ordered               BOOLEAN NOT NULL DEFAULT 1,
    enabled               BOOLEAN NOT NULL DEFAULT 1,
    failing_since         BIGINT,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL
);

CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id  BIGINT  NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    message_id       TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    instance_id      BIGINT  REFERENCES instances (id) ON DELETE SET NULL,
    lane             TEXT    NOT NULL DEFAULT '',
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'done', 'failed', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    created_at       BIGINT  NOT NULL,
    finished_at      BIGINT,
    UNIQUE (subscription_id, message_id)
);
CREATE INDEX deliveries_active ON deliveries (subscription_id, lane, id)
    WHERE status IN ('pending', 'running', 'failed');

CREATE TABLE delivery_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    status_code  INTEGER,
    latency_ms   BIGINT NOT NULL,
    error        TEXT
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, id);
