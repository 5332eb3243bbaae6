-- The number of times an event was deferred behind later ones of its lane gets its own
-- column (it was a `#wait{n}` suffix of the dedupe key). The deferred copies of one webhook
-- share its dedupe key and differ by `waits`; existing rows are carried over.
ALTER TABLE events ADD COLUMN waits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events DROP CONSTRAINT events_instance_id_source_dedupe_key_key;
UPDATE events
   SET waits = CAST(substr(dedupe_key, strpos(dedupe_key, '#wait') + 5) AS INTEGER),
       dedupe_key = substr(dedupe_key, 1, strpos(dedupe_key, '#wait') - 1)
 WHERE strpos(dedupe_key, '#wait') > 0;
ALTER TABLE events ADD CONSTRAINT events_instance_id_source_dedupe_key_waits_key
    UNIQUE (instance_id, source, dedupe_key, waits);
