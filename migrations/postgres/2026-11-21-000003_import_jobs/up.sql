-- History imports (operator-triggered): the window, the chat list fixed at the start (so a
-- resumed import walks the same chats), and progress.
CREATE TABLE import_jobs (
    id              BIGSERIAL PRIMARY KEY,
    instance_id     BIGINT  NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    days            INTEGER NOT NULL,
    since           BIGINT  NOT NULL,
    until           BIGINT  NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'running'
                    CHECK (state IN ('running', 'done', 'failed')),
    chats           TEXT    NOT NULL DEFAULT '[]',
    chats_done      INTEGER NOT NULL DEFAULT 0,
    messages_found  INTEGER NOT NULL DEFAULT 0,
    messages_queued INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX import_jobs_by_instance ON import_jobs (instance_id, id);
