//! Test databases for both backends and the `both_backends!` macro.

use std::path::PathBuf;
use std::sync::Arc;

use diesel::{Connection as _, PgConnection};
use zapwoot_store::{
    ManualClock, NewInstance, Sealer, SealingKey, SecretString, Store, StoreOptions,
};

/// A throwaway database (`zapwoot_testkit::Db`: a SQLite file in a fresh folder, or a fresh
/// PostgreSQL schema) with the store's ways to open it. Every store opened here runs on
/// `clock`, so a test moves time (leases, retention) instead of sleeping.
pub struct TestDb {
    pub url: String,
    pub clock: ManualClock,
    /// Dropped with the handle: removes the file or schema.
    _db: zapwoot_testkit::Db,
}

impl TestDb {
    /// For `on_both_databases!`: the suite's handle on a fresh database.
    pub async fn ready(db: zapwoot_testkit::Db) -> Self {
        Self {
            url: db.url(),
            clock: ManualClock::new(),
            _db: db,
        }
    }

    /// The SQLite file's path (SQLite only).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.url.strip_prefix("sqlite://").map(PathBuf::from)
    }

    pub async fn open(&self) -> Store {
        self.open_with(StoreOptions::with_sealer(sealer())).await
    }

    /// Opens a store with `options`, on the test's clock unless they name another.
    pub async fn open_with(&self, mut options: StoreOptions) -> Store {
        if options.clock.is_none() {
            options.clock = Some(Arc::new(self.clock.clone()));
        }
        Store::open(&self.url, options).await.unwrap()
    }
}

pub fn key(byte: u8) -> SealingKey {
    SealingKey::from_bytes(&[byte; 32]).unwrap()
}

pub fn sealer() -> Sealer {
    Sealer::new(key(7))
}

pub fn new_instance(name: &str) -> NewInstance {
    let mut config = NewInstance::new(
        name,
        zapwoot_store::GatewayKind::Wuzapi,
        "http://127.0.0.1:8081",
        "http://127.0.0.1:3000",
        1,
    );
    config.secrets.insert(
        "gateway_token".to_owned(),
        SecretString::new(format!("tok-{name}-SECRET")),
    );
    config.secrets.insert(
        "chatwoot_api_token".to_owned(),
        SecretString::new(format!("cw-{name}-SECRET")),
    );
    config
}

pub async fn instance_id(store: &Store, name: &str) -> i64 {
    store
        .instances()
        .create(new_instance(name))
        .await
        .unwrap()
        .id
}

/// Defines each test once per backend (`name::sqlite`, `name::postgres`), given a [`TestDb`].
macro_rules! both_backends {
    ($($tests:tt)*) => {
        zapwoot_testkit::on_both_databases! {
            @with crate::support::TestDb::ready, crate::support::TestDb;
            $($tests)*
        }
    };
}

/// Runs SQL statements on the test database behind the store's back (corrupting rows,
/// stepping migrations back).
pub fn execute_raw(db: &TestDb, sql: &str) {
    use diesel::connection::SimpleConnection as _;
    match db.sqlite_path() {
        Some(path) => {
            let mut conn =
                diesel::SqliteConnection::establish(&path.display().to_string()).unwrap();
            conn.batch_execute("PRAGMA busy_timeout = 10000;").unwrap();
            conn.batch_execute(sql).unwrap();
        }
        None => {
            let mut conn = PgConnection::establish(&db.url).unwrap();
            conn.batch_execute(sql).unwrap();
        }
    }
}
