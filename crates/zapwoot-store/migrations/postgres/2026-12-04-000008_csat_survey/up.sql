-- The CSAT survey last sent in a conversation and not answered yet (csat_capture): the
-- conversation's UUID (the survey link names it) and when the survey was sent.
ALTER TABLE conversations ADD COLUMN csat_uuid TEXT;
ALTER TABLE conversations ADD COLUMN csat_sent_at BIGINT;
