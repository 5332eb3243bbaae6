-- Outbound webhook delivery: secret rotation, why a subscription was disabled, the last
-- error of a delivery, and an excerpt of each attempt's response.
ALTER TABLE subscriptions ADD COLUMN previous_secret TEXT;
ALTER TABLE subscriptions ADD COLUMN previous_secret_until BIGINT;
ALTER TABLE subscriptions ADD COLUMN disabled_reason TEXT;
ALTER TABLE deliveries ADD COLUMN last_error TEXT;
ALTER TABLE delivery_attempts ADD COLUMN response TEXT;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id)
    WHERE status IN ('pending', 'running', 'failed');
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, id);
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE status IN ('done', 'dead');
