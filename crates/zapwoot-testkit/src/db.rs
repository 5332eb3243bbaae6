//! [`Db`]: a throwaway database for one test.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database for one test: a SQLite file in a fresh directory, or a fresh PostgreSQL schema.
#[derive(Debug)]
pub enum Db {
    Sqlite(std::path::PathBuf),
    Postgres {
        base: String,
        schema: String,
        role: String,
    },
}

pub(crate) fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Db {
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique("zapwoot-blackbox"));
        std::fs::create_dir_all(&dir).unwrap();
        Self::Sqlite(dir)
    }

    /// A schema owned by a role of its own (so a test can lock the bridge out of the database).
    pub fn postgres() -> Self {
        let base = std::env::var("ZAPWOOT_TEST_DATABASE_URL")
            .expect("PostgreSQL tests need ZAPWOOT_TEST_DATABASE_URL (scripts/test.sh)");
        Self::postgres_at(&base)
    }

    /// A fresh schema and role on the server at `base` (a superuser URL).
    pub fn postgres_at(base: &str) -> Self {
        let base = base.to_owned();
        let schema = unique("bb");
        let role = format!("{schema}_role");
        let mut conn = PgConnection::establish(&base).unwrap();
        for sql in [
            format!("CREATE ROLE {role} LOGIN PASSWORD 'pw'"),
            format!("CREATE SCHEMA {schema} AUTHORIZATION {role}"),
        ] {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
        Self::Postgres { base, schema, role }
    }

    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}", dir.join("zapwoot.db").display()),
            Self::Postgres { base, schema, role } => {
                // postgres://user[:pw]@host… → postgres://role:pw@host…
                let (scheme, rest) = base.split_once("://").unwrap();
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                let sep = if host.contains('?') { '&' } else { '?' };
                format!("{scheme}://{role}:pw@{host}{sep}options=-csearch_path%3D{schema}")
            }
        }
    }

    /// PostgreSQL: refuses (`false`) or allows the bridge's logins, dropping its connections.
    pub fn set_reachable(&self, reachable: bool) {
        let Self::Postgres { base, role, .. } = self else {
            panic!("PostgreSQL only")
        };
        let mut conn = PgConnection::establish(base).unwrap();
        let login = if reachable { "LOGIN" } else { "NOLOGIN" };
        diesel::sql_query(format!("ALTER ROLE {role} {login}"))
            .execute(&mut conn)
            .unwrap();
        if !reachable {
            diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
            ))
            .execute(&mut conn)
            .unwrap();
        }
    }
}

impl Db {
    /// PostgreSQL: puts the bridge's sessions in (or out of) read-only mode, dropping its
    /// connections so the setting applies.
    pub fn set_read_only(&self, read_only: bool) {
        let Self::Postgres { base, role, .. } = self else {
            panic!("PostgreSQL only")
        };
        let mut conn = PgConnection::establish(base).unwrap();
        let value = if read_only { "on" } else { "off" };
        diesel::sql_query(format!(
            "ALTER ROLE {role} SET default_transaction_read_only = {value}"
        ))
        .execute(&mut conn)
        .unwrap();
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
        ))
        .execute(&mut conn)
        .unwrap();
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Self::Postgres { base, schema, role } => {
                if let Ok(mut conn) = PgConnection::establish(base) {
                    let _ = diesel::sql_query(format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
                    ))
                    .execute(&mut conn);
                    let _ = diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(&mut conn);
                    let _ = diesel::sql_query(format!("DROP ROLE {role}")).execute(&mut conn);
                }
            }
        }
    }
}
