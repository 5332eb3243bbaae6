DROP TABLE actions;
DROP TABLE pairing_links;
DROP TABLE api_keys;
DROP INDEX IF EXISTS instances_by_tenant;
ALTER TABLE subscriptions DROP COLUMN tenant;
ALTER TABLE instances DROP COLUMN tenant;
DROP TABLE tenants;
