-- Folds `waits` back into the dedupe key as its `#wait{n}` suffix.
ALTER TABLE events DROP CONSTRAINT events_instance_id_source_dedupe_key_waits_key;
UPDATE events SET dedupe_key = dedupe_key || '#wait' || waits WHERE waits > 0;
ALTER TABLE events ADD CONSTRAINT events_instance_id_source_dedupe_key_key
    UNIQUE (instance_id, source, dedupe_key);
ALTER TABLE events DROP COLUMN waits;
