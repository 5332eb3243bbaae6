DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE subscriptions;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE identities;
DROP TABLE events;
DROP TABLE instances;
