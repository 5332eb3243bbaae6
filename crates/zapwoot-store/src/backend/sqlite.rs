//! SQLite: WAL, `synchronous=FULL` (a commit is on disk when it returns), busy timeout,
//! foreign keys on, and `BEGIN IMMEDIATE` for writes so concurrent writers queue instead
//! of failing on lock upgrade.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex};

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

/// Claims up to `?2` due deliveries at time `?1`: of enabled subscriptions only, and for
/// ordered subscriptions only the oldest open delivery of each lane.
const DELIVERY_CLAIM_SQL: &str = "
SELECT d.id AS id FROM deliveries d
JOIN subscriptions s ON s.id = d.subscription_id
WHERE s.enabled
  AND d.status IN ('pending', 'running', 'failed')
  AND CASE WHEN d.status = 'running' THEN d.lease_expires_at <= ?1 ELSE d.next_attempt_at <= ?1 END
  AND (NOT s.ordered OR NOT EXISTS (
      SELECT 1 FROM deliveries p
      WHERE p.subscription_id = d.subscription_id AND p.lane = d.lane AND p.id < d.id
        AND p.status IN ('pending', 'running', 'failed')))
ORDER BY d.id
LIMIT ?2";

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // WAL is the file's, set once by `open`: switching the journal mode takes an
        // exclusive lock, which connections opened at the same time would fight over.
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000;
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
    restrict_permissions(path)?;
    {
        use diesel::Connection as _;
        let unavailable = |e: &dyn std::fmt::Display| StoreError::Unavailable(e.to_string());
        let mut first = SqliteConnection::establish(path).map_err(|e| unavailable(&e))?;
        first
            .batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
            .map_err(|e| unavailable(&e))?;
    }
    Pool::builder()
        .max_size(pool_size.max(2))
        .connection_timeout(CONNECTION_TIMEOUT)
        .connection_customizer(Box::new(Pragmas))
        .build(ConnectionManager::new(path))
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// A consistent copy of the database at `target` while it is in use (`VACUUM INTO`: one read
/// transaction, no writer blocked), created 0600 like the database itself; never over an
/// existing file.
pub(crate) fn backup_to(c: &mut Conn, target: &std::path::Path) -> Result<(), StoreError> {
    use diesel::RunQueryDsl as _;
    let failed = |reason: String| StoreError::Backup {
        path: target.display().to_string(),
        reason,
    };
    let text = target
        .to_str()
        .ok_or_else(|| failed("the path is not UTF-8".to_owned()))?;
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        create.mode(0o600);
    }
    create.open(target).map_err(|e| failed(e.to_string()))?;
    let quoted = text.replace('\'', "''");
    diesel::sql_query(format!("VACUUM INTO '{quoted}'"))
        .execute(c)
        .map_err(|e| {
            let _ = std::fs::remove_file(target);
            failed(e.to_string())
        })?;
    Ok(())
}

/// The database holds message texts, phone numbers and sealed secrets: only the bridge's own
/// user may read it. The file is created 0600 before SQLite opens it (SQLite gives the `-wal`
/// and `-shm` files the database file's mode), and files an older version left readable are
/// narrowed.
fn restrict_permissions(path: &str) -> Result<(), StoreError> {
    if path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let failed = |e: std::io::Error| StoreError::Unavailable(format!("{path}: {e}"));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(failed)?;
        for file in [
            path.to_owned(),
            format!("{path}-wal"),
            format!("{path}-shm"),
        ] {
            match std::fs::metadata(&file) {
                Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .map_err(failed)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// One per database: write transactions of this process take it before `BEGIN IMMEDIATE`.
/// SQLite has one writer at a time anyway; queueing here instead of in SQLite's busy handler
/// (which sleeps in steps of up to 100 ms) nearly doubled relay throughput under load.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriterLock(Arc<Mutex<()>>);

thread_local! {
    /// The writer lock of the database the current `dispatch!` body works on.
    static CURRENT: RefCell<Option<WriterLock>> = const { RefCell::new(None) };
    /// Whether this thread holds it (write transactions may nest).
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (synchronous, on this thread) with `writer` as the current database's lock.
pub(crate) fn with_writer<T>(writer: &WriterLock, f: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|c| c.replace(Some(writer.clone())));
    let result = f();
    CURRENT.with(|c| c.replace(previous));
    result
}

/// Clears [`HELD`] however the transaction ends.
struct Held;

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with(|h| h.set(false));
    }
}

/// A write transaction that takes the write lock up front (the process's writer lock first,
/// then SQLite's with `BEGIN IMMEDIATE`).
pub(crate) fn write_tx<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let writer = CURRENT.with(|c| c.borrow().clone());
    match writer {
        Some(WriterLock(lock)) if !HELD.with(Cell::get) => {
            let _guard = lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            HELD.with(|h| h.set(true));
            let _held = Held;
            conn.immediate_transaction(f)
        }
        _ => conn.immediate_transaction(f),
    }
}

/// SQLite has one writer at a time; `BEGIN IMMEDIATE` already serializes claims.
pub(crate) fn claim_sql() -> &'static str {
    CLAIM_SQL
}

pub(crate) fn delivery_claim_sql() -> &'static str {
    DELIVERY_CLAIM_SQL
}
