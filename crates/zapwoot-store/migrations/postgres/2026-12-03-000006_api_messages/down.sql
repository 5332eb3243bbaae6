DROP TABLE api_messages;
DELETE FROM events WHERE source = 'api';
ALTER TABLE events DROP CONSTRAINT events_source_check;
ALTER TABLE events ADD CONSTRAINT events_source_check CHECK (source IN ('gateway', 'chatwoot'));
