-- Events by receive time, covering what the console's per-minute chart counts: the last hour
-- is read from this index alone, never from the rows (which hold the bodies).
CREATE INDEX events_by_time ON events (received_at, source, kind, status);
