-- Each instance's WhatsApp session as the bridge last saw it (webhooks and polls): the state
-- since when, who is connected, and the state last announced (instance.status, Chatwoot
-- note) — a change is announced once it has held for 10 s.
CREATE TABLE connections (
    instance_id     BIGINT NOT NULL PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    state           TEXT   NOT NULL,
    jid             TEXT,
    push_name       TEXT,
    reason          TEXT,
    detail          TEXT   NOT NULL,
    since           BIGINT NOT NULL,
    announced_state TEXT,
    updated_at      BIGINT NOT NULL
);
