ALTER TABLE conversations DROP COLUMN csat_sent_at;
ALTER TABLE conversations DROP COLUMN csat_uuid;
