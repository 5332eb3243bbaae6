-- The send API: `api` events (a message to send, its Chatwoot mirror) beside gateway and
-- Chatwoot webhooks, and one row per API message with its idempotency key and outcome.
-- SQLite cannot change a CHECK constraint, so `events` is rebuilt with its rows.
CREATE TABLE events_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id      BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    source           TEXT    NOT NULL CHECK (source IN ('gateway', 'chatwoot', 'api')),
    kind             TEXT    NOT NULL DEFAULT '',
    dedupe_key       TEXT    NOT NULL,
    waits            INTEGER NOT NULL DEFAULT 0,
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
    UNIQUE (instance_id, source, dedupe_key, waits)
);
INSERT INTO events_new SELECT id, instance_id, source, kind, dedupe_key, waits, lane,
       content_type, body, received_at, status, attempts, next_attempt_at, lease_owner,
       lease_expires_at, last_error, finished_at
FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_active_lane ON events (instance_id, lane, id)
    WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX events_active ON events (id) WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX events_by_instance ON events (instance_id, id);
CREATE INDEX events_finished ON events (finished_at) WHERE status IN ('done', 'ignored');
CREATE INDEX events_counts ON events (instance_id, source, kind, status);

CREATE TABLE api_messages (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id              BIGINT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    idempotency_key          TEXT,
    request_digest           TEXT   NOT NULL,
    event_id                 BIGINT,
    chat_jid                 TEXT   NOT NULL,
    wa_message_id            TEXT,
    chatwoot_conversation_id BIGINT,
    chatwoot_message_id      BIGINT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    UNIQUE (instance_id, idempotency_key)
);
CREATE INDEX api_messages_by_event ON api_messages (event_id);
CREATE INDEX api_messages_unsent ON api_messages (instance_id) WHERE wa_message_id IS NULL;
