DROP INDEX events_counts;
