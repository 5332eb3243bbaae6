DROP INDEX deliveries_finished;
DROP INDEX deliveries_by_subscription;
DROP INDEX deliveries_due;
ALTER TABLE delivery_attempts DROP COLUMN response;
ALTER TABLE deliveries DROP COLUMN last_error;
ALTER TABLE subscriptions DROP COLUMN disabled_reason;
ALTER TABLE subscriptions DROP COLUMN previous_secret_until;
ALTER TABLE subscriptions DROP COLUMN previous_secret;
