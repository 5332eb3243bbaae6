//! Migrations: up → down → up on both backends, and no drift between the crate's SQL and
//! the workspace's top-level `migrations/`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::new_instance;

both_backends! {
    async fn up_down_up(db) {
        let store = db.open().await;
        assert_eq!(store.migrate().await.unwrap(), 0, "open already applied everything");
        store.create_instance(new_instance("alpha")).await.unwrap();
        let reverted = store.revert_all_migrations().await.unwrap();
        assert!(reverted >= 1);
        assert!(store.instances().await.is_err(), "tables are gone after down");
        assert_eq!(store.migrate().await.unwrap(), reverted);
        assert!(store.instances().await.unwrap().is_empty());
        store.create_instance(new_instance("alpha")).await.unwrap();
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
            "{name} differs: copy crates/zapwoot-store/migrations to migrations/"
        );
    }
}
