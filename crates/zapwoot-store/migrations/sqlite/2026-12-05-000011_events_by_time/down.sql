-- IF EXISTS: reverting an older migration that rebuilds the events table drops it too.
DROP INDEX IF EXISTS events_by_time;
