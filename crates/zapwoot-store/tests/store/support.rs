//! Test databases for both backends and the `both_backends!` macro.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};
use zapwoot_store::{NewInstance, Sealer, SealingKey, SecretString, Store, StoreOptions};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A throwaway database: a SQLite file in a fresh folder, or a fresh PostgreSQL schema.
pub struct TestDb {
    pub url: String,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique("zapwoot-store-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("store.db").display());
        Self {
            url,
            dir: Some(dir),
            pg: None,
        }
    }

    pub fn postgres() -> Self {
        let base = std::env::var("ZAPWOOT_TEST_DATABASE_URL").expect(
            "PostgreSQL tests need ZAPWOOT_TEST_DATABASE_URL: run scripts/test.sh, which starts a throwaway server",
        );
        let schema = unique("t");
        let mut conn = PgConnection::establish(&base).unwrap();
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
        Self {
            url,
            dir: None,
            pg: Some((base, schema)),
        }
    }

    /// The SQLite file's path (SQLite only).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("store.db"))
    }

    pub async fn open(&self) -> Store {
        self.open_with(StoreOptions::with_sealer(sealer())).await
    }

    pub async fn open_with(&self, options: StoreOptions) -> Store {
        Store::open(&self.url, options).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((base, schema)) = &self.pg
            && let Ok(mut conn) = PgConnection::establish(base)
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn);
        }
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
    store.create_instance(new_instance(name)).await.unwrap().id
}

/// Defines each test once per backend: `mod sqlite { … }` and `mod postgres { … }`.
macro_rules! both_backends {
    ($(async fn $name:ident($db:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let $db = crate::support::TestDb::sqlite();
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let $db = crate::support::TestDb::postgres();
                    $body
                }
            )*
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
