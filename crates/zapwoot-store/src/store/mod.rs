//! [`Store`]: the async API. Every call runs its Diesel work on a blocking thread; a call whose
//! future is dropped still runs to the end, so no transaction is ever cut in half.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::{Backend, Db, dispatch};
use crate::ingest::{self, Ingest};
use crate::intents::{self, Intents};
use crate::outcomes::{self, Outcomes};
use crate::{Clock, KEY_RETENTION, PruneReport, SealError, Sealer, StoreError, SystemClock};

mod actions;
mod api_keys;
mod connections;
mod console_sessions;
mod deliveries;
mod events;
mod imports;
mod instances;
mod mappings;
mod pairing_links;
mod sends;
mod subscriptions;
mod tenants;

pub use actions::{Action, ActionFilter, Actions, NewAction};
pub use api_keys::{ApiKey, ApiKeys, NewApiKey};
pub use connections::Connections;
pub use console_sessions::{ConsoleSession, ConsoleSessions};
pub use deliveries::Deliveries;
pub use events::Events;
pub use imports::Imports;
pub use instances::Instances;
pub use mappings::Mappings;
pub use pairing_links::{PairingLink, PairingLinks};
pub use sends::Sends;
pub use subscriptions::Subscriptions;
pub use tenants::{Tenant, TenantMembers, Tenants};

/// How to open a [`Store`].
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Seals secrets at rest; without it, storing a secret fails with [`SealError::KeyMissing`].
    pub sealer: Option<Sealer>,
    /// Connections in the pool (default 8 for SQLite, 16 for PostgreSQL).
    pub pool_size: Option<u32>,
    /// Group-commit writer threads for `events().record` (default 1 for SQLite, 4 for PostgreSQL).
    pub ingest_writers: Option<usize>,
    /// Most events in one group commit (default 1024).
    pub max_batch: Option<usize>,
    /// What "now" is for stamps, leases, schedules and retention (default [`SystemClock`]).
    pub clock: Option<Arc<dyn Clock>>,
}

impl StoreOptions {
    /// Options with this sealer and defaults otherwise.
    #[must_use]
    pub fn with_sealer(sealer: Sealer) -> Self {
        Self {
            sealer: Some(sealer),
            ..Self::default()
        }
    }
}

/// The durable store: webhook inbox, work queue and audit log; instances; mappings;
/// subscriptions. Cheap to clone (all clones share one pool).
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    sealer: Option<Sealer>,
    ingest: Ingest,
    outcomes: Outcomes,
    intents: Intents,
    clock: Arc<dyn Clock>,
}

impl Store {
    /// Opens `url` (`sqlite://PATH` or `postgres://…`) and applies pending migrations.
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`], [`StoreError::Unavailable`] or [`StoreError::Migration`].
    pub async fn open(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let url = url.to_owned();
        let pool_size = options.pool_size;
        let db = tokio::task::spawn_blocking(move || -> Result<Db, StoreError> {
            let default_size = if url.starts_with("sqlite://") { 8 } else { 16 };
            let db = Db::open(&url, pool_size.unwrap_or(default_size))?;
            dispatch!(&db, |c, q| q::migrate(c))?;
            Ok(db)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        let writers = options.ingest_writers.unwrap_or(match db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 4,
        });
        let max_batch = options.max_batch.unwrap_or(1024);
        let ingest = ingest::start(&db, writers, max_batch)?;
        // One writer each: a batch already carries whatever is queued, and a single writer
        // cannot race itself (two batches recording the same message, or deadlocking).
        let outcomes = outcomes::start(&db, 1, max_batch)?;
        let intents = intents::start(&db, 1, max_batch)?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                sealer: options.sealer,
                ingest,
                outcomes,
                intents,
                clock: options.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            }),
        })
    }

    /// Which backend this store uses.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.inner.db.backend()
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|db| dispatch!(db, |c, q| q::ping(c))).await
    }

    /// Checks that the database accepts writes (opens a write transaction and updates
    /// nothing), for readiness probes.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when unreachable; a query error when read-only.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        self.run(|db| dispatch!(db, |c, q| q::check_writable(c)))
            .await
    }

    /// Applies pending migrations (also done by [`open`](Self::open)); returns how many ran.
    ///
    /// # Errors
    /// [`StoreError::Migration`].
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        self.run(|db| dispatch!(db, |c, q| q::migrate(c))).await
    }

    /// Writes a consistent copy of a SQLite database to `target` while the bridge runs (a
    /// new file, mode 0600; an existing file is never overwritten). The copy opens as a
    /// database of its own, with the same sealing key.
    ///
    /// # Errors
    /// [`StoreError::Backup`] when the file exists or cannot be written, or on PostgreSQL,
    /// which has its own tools (`pg_dump`).
    pub async fn backup_to(&self, target: &std::path::Path) -> Result<(), StoreError> {
        let target = target.to_owned();
        self.run(move |db| match db {
            crate::backend::Db::Sqlite(pool, _) => {
                let mut conn = pool.get()?;
                crate::backend::sqlite::backup_to(&mut conn, &target)
            }
            crate::backend::Db::Postgres(_) => Err(StoreError::Backup {
                path: target.display().to_string(),
                reason: "PostgreSQL has no online backup here: use pg_dump".to_owned(),
            }),
        })
        .await
    }

    /// Reverts **every** migration, dropping all tables and data. For tests and
    /// `zapwoot migrate --revert`; returns how many migrations were reverted.
    ///
    /// # Errors
    /// [`StoreError::Migration`].
    pub async fn revert_all_migrations(&self) -> Result<usize, StoreError> {
        self.run(|db| dispatch!(db, |c, q| q::revert_all(c))).await
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Now, in unix milliseconds, by the store's clock (the clock of every time it records,
    /// such as an event's `received_at_ms`).
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    fn sealer(&self) -> Result<&Sealer, StoreError> {
        self.inner
            .sealer
            .as_ref()
            .ok_or(StoreError::Seal(SealError::KeyMissing))
    }

    /// Expires every current lease at once, so running events can be claimed again now
    /// instead of when their leases run out. For a process starting on a database no other
    /// live process works on (one bridge per SQLite file) after a crash; never while other
    /// workers share the database. Returns how many leases were expired.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn expire_leases(&self) -> Result<usize, StoreError> {
        let now = self.now_ms();
        self.run(move |db| dispatch!(db, |c, q| q::expire_leases(c, now)))
            .await
    }

    /// Retention: drops the raw body of done/ignored events finished more than `body_age`
    /// ago, and deletes done/ignored events finished more than `row_age` ago. Pending,
    /// running, failed and dead events are never touched. Send API messages (with their
    /// idempotency keys) are deleted once their send event is, and not before they are
    /// [`KEY_RETENTION`] old.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn prune(
        &self,
        body_age: Duration,
        row_age: Duration,
    ) -> Result<PruneReport, StoreError> {
        let now = self.now_ms();
        let cutoff =
            |age: Duration| now.saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX));
        let (body_cutoff, row_cutoff) = (cutoff(body_age), cutoff(row_age));
        let key_cutoff = cutoff(KEY_RETENTION.max(row_age));
        self.run(move |db| dispatch!(db, |c, q| q::prune(c, body_cutoff, row_cutoff, key_cutoff)))
            .await
    }
}

pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    column: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::CorruptJson {
        column,
        reason: e.to_string(),
    })
}
