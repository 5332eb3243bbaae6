//! PostgreSQL: several bridge processes share the queue; claims use
//! `FOR UPDATE SKIP LOCKED` so two workers never take the same lane head.

use diesel::r2d2::{ConnectionManager, Pool};
use diesel::{Connection as _, PgConnection};

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use super::CONNECTION_TIMEOUT;
use crate::StoreError;

pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

pub(crate) type Conn = PgConnection;

// The same query file is compiled once per backend (see `backend/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "queries.rs"]
pub(crate) mod queries;

const CLAIM_SQL: &str = "
SELECT e.id AS id FROM events e
WHERE e.status IN ('pending', 'running', 'failed')
  AND CASE WHEN e.status = 'running' THEN e.lease_expires_at <= $1 ELSE e.next_attempt_at <= $1 END
  AND NOT EXISTS (
      SELECT 1 FROM events p
      WHERE p.instance_id = e.instance_id AND p.lane = e.lane AND p.id < e.id
        AND p.status IN ('pending', 'running', 'failed'))
ORDER BY e.id
LIMIT $2
FOR UPDATE OF e SKIP LOCKED";

/// Claims up to `$2` due deliveries at time `$1`: of enabled subscriptions only, and for
/// ordered subscriptions only the oldest open delivery of each lane.
const DELIVERY_CLAIM_SQL: &str = "
SELECT d.id AS id FROM deliveries d
JOIN subscriptions s ON s.id = d.subscription_id
WHERE s.enabled
  AND d.status IN ('pending', 'running', 'failed')
  AND CASE WHEN d.status = 'running' THEN d.lease_expires_at <= $1 ELSE d.next_attempt_at <= $1 END
  AND (NOT s.ordered OR NOT EXISTS (
      SELECT 1 FROM deliveries p
      WHERE p.subscription_id = d.subscription_id AND p.lane = d.lane AND p.id < d.id
        AND p.status IN ('pending', 'running', 'failed')))
ORDER BY d.id
LIMIT $2
FOR UPDATE OF d SKIP LOCKED";

pub(crate) fn open(url: &str, pool_size: u32) -> Result<Pool<ConnectionManager<Conn>>, StoreError> {
    Pool::builder()
        .max_size(pool_size.max(2))
        .connection_timeout(CONNECTION_TIMEOUT)
        .build(ConnectionManager::new(url))
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

pub(crate) fn write_tx<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.transaction(f)
}

pub(crate) fn claim_sql() -> &'static str {
    CLAIM_SQL
}

pub(crate) fn delivery_claim_sql() -> &'static str {
    DELIVERY_CLAIM_SQL
}
