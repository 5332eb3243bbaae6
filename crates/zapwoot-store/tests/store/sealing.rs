//! Secrets at rest.

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};
use zapwoot_store::{NewSubscription, SealError, Sealer, SecretString, StoreError, StoreOptions};

use crate::support::{key, new_instance};

/// Every stored byte of the database, as one string (SQLite: the files; PostgreSQL: a dump
/// of every text column in the test schema).
fn raw_contents(db: &crate::support::TestDb) -> String {
    if let Some(path) = db.sqlite_path() {
        let mut all = Vec::new();
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{}{suffix}", path.display())) {
                all.extend(bytes);
            }
        }
        return String::from_utf8_lossy(&all).into_owned();
    }
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let mut conn = PgConnection::establish(&db.url).unwrap();
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT row_to_json(i)::text AS t FROM instances i UNION ALL SELECT row_to_json(s)::text FROM subscriptions s",
    )
    .load(&mut conn)
    .unwrap();
    rows.into_iter().map(|r| r.t).collect::<Vec<_>>().join("\n")
}

both_backends! {
    async fn the_database_alone_reveals_no_secret(db) {
        let store = db.open().await;
        let created = store.instances().create(new_instance("alpha")).await.unwrap();
        store
            .subscriptions().create(NewSubscription::new("https://crm.example/hook", vec!["message.*".into()], SecretString::new("whsec_SUBSCRIPTIONSECRET")))
            .await
            .unwrap();
        drop(store);
        let raw = raw_contents(&db);
        assert!(raw.contains("alpha"), "the dump should contain the instance row");
        for secret in ["tok-alpha-SECRET", "cw-alpha-SECRET", "SUBSCRIPTIONSECRET", created.gateway_key.expose(), created.chatwoot_key.expose()] {
            assert!(!raw.contains(secret), "{secret} found in clear");
        }
    }

    async fn secrets_need_the_right_key(db) {
        let store = db.open().await;
        store.instances().create(new_instance("alpha")).await.unwrap();
        drop(store);

        let keyless = db.open_with(StoreOptions::default()).await;
        assert!(matches!(keyless.instances().get("alpha").await, Err(StoreError::Seal(SealError::KeyMissing))));
        assert!(matches!(keyless.instances().create(new_instance("beta")).await, Err(StoreError::Seal(SealError::KeyMissing))));

        let wrong = db.open_with(StoreOptions::with_sealer(Sealer::new(key(9)))).await;
        let err = wrong.instances().get("alpha").await.unwrap_err();
        assert!(matches!(err, StoreError::Seal(SealError::UnknownKey { .. })), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(key(7).id()) && text.contains(key(9).id()) && text.contains("ZAPWOOT_SECRET_KEY"), "{text}");
        assert!(!text.contains("tok-alpha") && !text.contains("cw-alpha"), "{text}");
    }

    async fn keys_rotate(db) {
        let store = db.open().await;
        let before = store.instances().create(new_instance("alpha")).await.unwrap();
        drop(store);

        // New key first, old key kept to open existing values; reseal moves everything over.
        let rotating = db.open_with(StoreOptions::with_sealer(Sealer::new(key(8)).with_previous(key(7)))).await;
        assert_eq!(rotating.instances().get("alpha").await.unwrap().unwrap(), before);
        assert_eq!(rotating.instances().reseal().await.unwrap(), 1);
        assert_eq!(rotating.instances().reseal().await.unwrap(), 0);
        drop(rotating);

        let new_only = db.open_with(StoreOptions::with_sealer(Sealer::new(key(8)))).await;
        let after = new_only.instances().get("alpha").await.unwrap().unwrap();
        assert_eq!(after.config, before.config);
        assert_eq!(after.gateway_key, before.gateway_key);
    }
}
