DROP TABLE api_messages;
DELETE FROM events WHERE source = 'api';
CREATE TABLE events_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id      BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    source           TEXT    NOT NULL CHECK (source IN ('gateway', 'chatwoot')),
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
INSERT INTO events_new SELECT * FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_active_lane ON events (instance_id, lane, id)
    WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX events_active ON events (id) WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX events_by_instance ON events (instance_id, id);
CREATE INDEX events_finished ON events (finished_at) WHERE status IN ('done', 'ignored');
CREATE INDEX events_counts ON events (instance_id, source, kind, status);
