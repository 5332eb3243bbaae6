//! SQLite: WAL, `synchronous=FULL` (a commit is on disk when it returns), busy timeout,
//! foreign keys on, and `BEGIN IMMEDIATE` for writes so concurrent writers queue instead
//! of failing on lock upgrade.

use diesel::SqliteConnection;
use diesel::connection::SimpleConnection as _;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

use super::CONNECTION_TIMEOUT;
use crate::StoreError;

pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

pub(crate) type Conn = SqliteConnection;

// The same query file is compiled once per backend (see `backend/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "queries.rs"]
pub(crate) mod queries;

/// Claims up to `?2` claimable lane heads at time `?1`, oldest first.
const CLAIM_SQL: &str = "
SELECT e.id AS id FROM events e
WHERE e.status IN ('pending', 'running', 'failed')
  AND CASE WHEN e.status = 'running' THEN e.lease_expires_at <= ?1 ELSE e.next_attempt_at <= ?1 END
  AND NOT EXISTS (
      SELECT 1 FROM events p
      WHERE p.instance_id = e.instance_id AND p.lane = e.lane AND p.id < e.id
        AND p.status IN ('pending', 'running', 'failed'))
ORDER BY e.id
LIMIT ?2";

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 10000;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

pub(crate) fn open(
    path: &str,
    pool_size: u32,
) -> Result<Pool<ConnectionManager<Conn>>, StoreError> {
    if path.is_empty() {
        return Err(StoreError::UnsupportedUrl);
    }
    Pool::builder()
        .max_size(pool_size.max(2))
        .connection_timeout(CONNECTION_TIMEOUT)
        .connection_customizer(Box::new(Pragmas))
        .build(ConnectionManager::new(path))
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// A write transaction that takes the write lock up front.
pub(crate) fn write_tx<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.immediate_transaction(f)
}

/// SQLite has one writer at a time; `BEGIN IMMEDIATE` already serializes claims.
pub(crate) fn claim_sql() -> &'static str {
    CLAIM_SQL
}
