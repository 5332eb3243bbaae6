//! Migrations: up → down → up on both backends, and no drift between the crate's SQL and
//! the workspace's top-level `migrations/`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::new_instance;

both_backends! {
    async fn wait_counters_move_from_the_dedupe_key_into_their_column(db) {
        let store = db.open().await;
        let alpha = store.instances().create(new_instance("alpha")).await.unwrap();
        drop(store);
        // Back to the schema before the column, with rows as that version wrote them.
        let backend = if db.sqlite_path().is_some() { "sqlite" } else { "postgres" };
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
        let down = std::fs::read_to_string(dir.join("2026-12-03-000005_event_waits/down.sql")).unwrap();
        crate::support::execute_raw(&db, &down);
        crate::support::execute_raw(&db, &format!(
            "DELETE FROM __diesel_schema_migrations WHERE version = '20261203000005';
             INSERT INTO events (id, instance_id, source, kind, dedupe_key, lane, content_type, body, received_at, status, attempts, next_attempt_at)
             VALUES (901, {id}, 'gateway', 'Message', 'wuzapi:m:3EB0', 'chat', 'application/json', NULL, 1, 'ignored', 1, 1),
                    (902, {id}, 'gateway', 'Message', 'wuzapi:m:3EB0#wait1', 'chat', 'application/json', NULL, 2, 'ignored', 1, 2),
                    (903, {id}, 'gateway', 'Message', 'wuzapi:m:3EB0#wait12', 'chat', 'application/json', NULL, 3, 'pending', 0, 3);",
            id = alpha.id
        ));
        let store = db.open().await;
        for (id, key, waits) in [(901, "wuzapi:m:3EB0", 0), (902, "wuzapi:m:3EB0", 1), (903, "wuzapi:m:3EB0", 12)] {
            let event = store.events().get(id).await.unwrap().unwrap();
            assert_eq!((event.dedupe_key.as_str(), event.waits), (key, waits), "event {id}");
        }
        // The same webhook at the same wait count is a duplicate; at the next count it is not.
        let mut again = zapwoot_store::NewEvent::new(alpha.id, zapwoot_store::Source::Gateway, "wuzapi:m:3EB0", "chat", b"{}".to_vec());
        again.waits = 12;
        assert!(store.events().record(again.clone()).await.unwrap().duplicate);
        again.waits = 13;
        assert!(!store.events().record(again).await.unwrap().duplicate);
        // And every migration still reverts.
        let reverted = store.revert_all_migrations().await.unwrap();
        assert!(reverted >= 5);
    }

    async fn up_down_up(db) {
        let store = db.open().await;
        assert_eq!(store.migrate().await.unwrap(), 0, "open already applied everything");
        store.instances().create(new_instance("alpha")).await.unwrap();
        let reverted = store.revert_all_migrations().await.unwrap();
        assert!(reverted >= 1);
        assert!(store.instances().list().await.is_err(), "tables are gone after down");
        assert_eq!(store.migrate().await.unwrap(), reverted);
        assert!(store.instances().list().await.unwrap().is_empty());
        store.instances().create(new_instance("alpha")).await.unwrap();
        store.ping().await.unwrap();
    }
}

fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn workspace_migrations_match_the_crate() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The workspace's trees are links to the crate's, so there is one copy to edit.
    for backend in ["sqlite", "postgres"] {
        let link = crate_dir.join("../../migrations").join(backend);
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "migrations/{backend} is not a link"
        );
        assert_eq!(
            std::fs::canonicalize(&link).unwrap(),
            std::fs::canonicalize(crate_dir.join("migrations").join(backend)).unwrap()
        );
    }
    let ours = files(&crate_dir.join("migrations"));
    let workspace = files(&crate_dir.join("../../migrations"));
    assert!(
        ours.keys().any(|k| k.starts_with("sqlite/"))
            && ours.keys().any(|k| k.starts_with("postgres/"))
    );
    let sql: BTreeMap<_, _> = workspace
        .into_iter()
        .filter(|(k, _)| k.ends_with(".sql"))
        .collect();
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        sql.keys().collect::<Vec<_>>(),
        "migrations/ and crates/zapwoot-store/migrations/ list different files"
    );
    for (name, bytes) in &ours {
        assert_eq!(
            Some(bytes),
            sql.get(name),
            "{name} differs between migrations/ and crates/zapwoot-store/migrations/"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_sqlite_file_is_in_wal_mode_and_busy_connections_open_cleanly() {
    use diesel::Connection as _;
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let db = crate::support::TestDb::ready(zapwoot_testkit::Db::sqlite()).await;
    let store = db.open().await;
    // Many statements at once: the pool opens its connections concurrently, none of them
    // switching the journal mode (that takes an exclusive lock).
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let store = store.clone();
        tasks.spawn(async move {
            store
                .instances()
                .create(crate::support::new_instance(&format!("i{i}")))
                .await
                .map(drop)
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let path = db.sqlite_path().unwrap();
    let mut conn = diesel::SqliteConnection::establish(&path.display().to_string()).unwrap();
    let mode: Vec<Mode> = diesel::sql_query("PRAGMA journal_mode")
        .load(&mut conn)
        .unwrap();
    assert_eq!(mode[0].journal_mode, "wal");
}
