-- Folds `waits` back into the dedupe key as its `#wait{n}` suffix.
CREATE TABLE events_old (
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
INSERT INTO events_old (id, instance_id, source, kind, dedupe_key, lane, content_type, body,
                        received_at, status, attempts, next_attempt_at, lease_owner,
                        lease_expires_at, last_error, finished_at)
SELECT id, instance_id, source, kind,
       CASE WHEN waits > 0 THEN dedupe_key || '#wait' || waits ELSE dedupe_key END,
       lane, content_type, body, received_at, status, attempts, next_attempt_at, lease_owner,
       lease_expires_at, last_error, finished_at
FROM events;
DROP TABLE events;
ALTER TABLE events_old RENAME TO events;
CREATE INDEX events_active_lane ON events (instance_id, lane, id)
    WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX events_active ON events (id) WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX events_by_instance ON events (instance_id, id);
CREATE INDEX events_finished ON events (finished_at) WHERE status IN ('done', 'ignored');
CREATE INDEX events_counts ON events (instance_id, source, kind, status);
