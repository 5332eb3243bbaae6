//! The two backends behind one API.
//!
//! Diesel is synchronous and its query types are backend-specific, so every query is written
//! once in `queries.rs` and compiled twice: once in [`sqlite`] with `Conn = SqliteConnection`
//! and once in [`postgres`] with `Conn = PgConnection`. Each backend module supplies what
//! really differs: connection set-up, the write-transaction flavour and the claim SQL.

use std::time::Duration;

use diesel::r2d2::{ConnectionManager, Pool};
use diesel::{PgConnection, SqliteConnection};

use crate::StoreError;

pub(crate) mod lease_queue;
pub(crate) mod postgres;
pub(crate) mod sqlite;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// One embedded SQLite file (one bridge process).
    Sqlite,
    /// A PostgreSQL server (several bridge processes may share it).
    Postgres,
}

/// A pool of connections of either backend. SQLite also carries the database's writer lock
/// (see [`sqlite::write_tx`]).
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(
        Pool<ConnectionManager<SqliteConnection>>,
        sqlite::WriterLock,
    ),
    Postgres(Pool<ConnectionManager<PgConnection>>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(..) => "Db::Sqlite",
            Self::Postgres(_) => "Db::Postgres",
        })
    }
}

impl Db {
    pub(crate) fn open(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            sqlite::open(path, pool_size)
                .map(|pool| Self::Sqlite(pool, sqlite::WriterLock::default()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres::open(url, pool_size).map(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(..) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Which of an instance's two webhook key hashes a lookup reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyColumn {
    /// `gateway_key_hash`.
    Gateway,
    /// `chatwoot_key_hash`.
    Chatwoot,
}

/// Outcome of a replay request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    Queued,
    NotFound,
    Running,
    Pruned,
}

pub(crate) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `$body` with `$c` bound to a pooled connection and `$q` to that backend's queries.
macro_rules! dispatch {
    ($db:expr, |$c:ident, $q:ident| $body:expr) => {
        match $db {
            $crate::backend::Db::Sqlite(pool, writer) => {
                let mut guard = pool.get()?;
                let $c = &mut *guard;
                use $crate::backend::sqlite::queries as $q;
                $crate::backend::sqlite::with_writer(writer, || $body)
            }
            $crate::backend::Db::Postgres(pool) => {
                let mut guard = pool.get()?;
                let $c = &mut *guard;
                use $crate::backend::postgres::queries as $q;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

/// `query.first_row(c)`: the first row, like `.first(c).optional()` but without `LIMIT ?`.
///
/// SQLite (≥ 3.48) lets a bound `LIMIT` steer the plan, so a cached statement whose `LIMIT`
/// parameter is bound again is compiled again — on every run, since Diesel binds `.first()`'s
/// `LIMIT 1`. Reading the first row off the cursor keeps the cached statement. For lookups by
/// key or of a few rows: PostgreSQL reads every matching row before the first is returned.
pub(crate) trait FirstRow: Sized {
    /// The first row `self` yields, if any.
    fn first_row<'q, C, U>(self, c: &mut C) -> diesel::QueryResult<Option<U>>
    where
        C: diesel::connection::LoadConnection,
        Self: diesel::RunQueryDsl<C>
            + diesel::query_dsl::LoadQuery<'q, C, U, diesel::connection::DefaultLoadingMode>
            + 'q,
        U: 'q;
}

impl<T> FirstRow for T {
    fn first_row<'q, C, U>(self, c: &mut C) -> diesel::QueryResult<Option<U>>
    where
        C: diesel::connection::LoadConnection,
        Self: diesel::RunQueryDsl<C>
            + diesel::query_dsl::LoadQuery<'q, C, U, diesel::connection::DefaultLoadingMode>
            + 'q,
        U: 'q,
    {
        self.load_iter::<U, diesel::connection::DefaultLoadingMode>(c)?
            .next()
            .transpose()
    }
}
