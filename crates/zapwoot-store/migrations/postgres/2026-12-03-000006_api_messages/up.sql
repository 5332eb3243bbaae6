-- The send API: `api` events (a message to send, its Chatwoot mirror) beside gateway and
-- Chatwoot webhooks, and one row per API message with its idempotency key and outcome.
ALTER TABLE events DROP CONSTRAINT events_source_check;
ALTER TABLE events ADD CONSTRAINT events_source_check
    CHECK (source IN ('gateway', 'chatwoot', 'api'));

CREATE TABLE api_messages (
    id                       BIGSERIAL PRIMARY KEY,
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
