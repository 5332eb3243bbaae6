//! Instances: CRUD, route keys, cascade.

use zapwoot_store::{NewEvent, ObservedConnection, SecretString, SessionState, Source, StoreError};

use crate::support::new_instance;

both_backends! {
    async fn versions_name_every_instance_and_change_when_it_changes(db) {
        let store = db.open().await;
        let alpha = store.instances().create(new_instance("alpha")).await.unwrap();
        let beta = store.instances().create(new_instance("beta")).await.unwrap();
        let before = store.instances().versions().await.unwrap();
        assert_eq!(before, vec![(alpha.id, alpha.updated_at_ms), (beta.id, beta.updated_at_ms)]);
        let mut config = beta.config.clone();
        config.enabled = false;
        let updated = store.instances().update("beta", config).await.unwrap().unwrap();
        let after = store.instances().versions().await.unwrap();
        assert_eq!(after[0], before[0], "alpha did not change");
        assert_eq!(after[1], (beta.id, updated.updated_at_ms));
        assert_eq!(
            store.instances().names().await.unwrap(),
            vec![(alpha.id, "alpha".to_owned()), (beta.id, "beta".to_owned())]
        );
        store.instances().delete("alpha").await.unwrap();
        assert_eq!(store.instances().versions().await.unwrap(), vec![(beta.id, updated.updated_at_ms)]);
    }

    async fn sessions_are_found_by_state(db) {
        let store = db.open().await;
        let alpha = store.instances().create(new_instance("alpha")).await.unwrap();
        let beta = store.instances().create(new_instance("beta")).await.unwrap();
        for (id, state) in [(alpha.id, SessionState::Pairing), (beta.id, SessionState::Connected)] {
            store.connections().baseline(ObservedConnection::new(id, state, "test")).await.unwrap();
        }
        assert_eq!(store.connections().in_state(SessionState::Pairing).await.unwrap(), vec![alpha.id]);
        assert_eq!(store.connections().in_state(SessionState::Connected).await.unwrap(), vec![beta.id]);
        assert!(store.connections().in_state(SessionState::Banned).await.unwrap().is_empty());
    }

    async fn an_online_backup_is_a_database_of_its_own_on_sqlite_and_refused_on_postgres(db) {
        let store = db.open().await;
        store.instances().create(new_instance("alpha")).await.unwrap();
        let dir = std::env::temp_dir().join(format!("zapwoot-store-backup-{}-{}", std::process::id(), store.now_ms()));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join("copy.db");
        match db.sqlite_path() {
            Some(_) => {
                store.backup_to(&copy).await.unwrap();
                // Written after the backup: not in the copy.
                store.instances().create(new_instance("beta")).await.unwrap();
                let restored = zapwoot_store::Store::open(
                    &format!("sqlite://{}", copy.display()),
                    zapwoot_store::StoreOptions::with_sealer(crate::support::sealer()),
                ).await.unwrap();
                let names: Vec<String> = restored.instances().list().await.unwrap().into_iter().map(|i| i.config.name).collect();
                assert_eq!(names, vec!["alpha"]);
                let alpha = restored.instances().get("alpha").await.unwrap().unwrap();
                assert_eq!(alpha.config.secrets["gateway_token"].expose(), "tok-alpha-SECRET");
                // Never over an existing file.
                let err = store.backup_to(&copy).await.unwrap_err();
                assert!(matches!(&err, StoreError::Backup { .. }), "{err:?}");
                assert_eq!(restored.instances().list().await.unwrap().len(), 1);
            }
            None => {
                let err = store.backup_to(&copy).await.unwrap_err();
                assert!(matches!(&err, StoreError::Backup { .. }), "{err:?}");
                assert!(err.to_string().contains("pg_dump"), "{err}");
                assert!(!copy.exists());
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    async fn an_unknown_stored_gateway_kind_is_an_error_naming_the_instance(db) {
        let store = db.open().await;
        store.instances().create(new_instance("alpha")).await.unwrap();
        crate::support::execute_raw(&db, "UPDATE instances SET gateway_kind = 'whatsmeow'");
        let err = store.instances().get("alpha").await.unwrap_err();
        assert!(matches!(&err, zapwoot_store::StoreError::UnknownGatewayKind { instance, kind } if instance == "alpha" && kind == "whatsmeow"), "{err:?}");
        assert!(err.to_string().contains("alpha"), "{err}");
    }

    async fn create_read_update_delete(db) {
        let store = db.open().await;
        let mut config = new_instance("alpha");
        config.gateway_device_id = Some("628123@s.whatsapp.net".to_owned());
        config.chatwoot_inbox_id = Some(7);
        config.options = serde_json::from_value(serde_json::json!({"conversation": "reopen", "groups": false, "own_jid": "628@s.whatsapp.net"})).unwrap();
        let created = store.instances().create(config.clone()).await.unwrap();
        assert_eq!(created.config, config);
        assert_ne!(created.gateway_key, created.chatwoot_key);
        assert_eq!(created.gateway_key.expose().len(), 43);

        let read = store.instances().get("alpha").await.unwrap().unwrap();
        assert_eq!(read, created);
        assert_eq!(store.instances().by_id(created.id).await.unwrap().unwrap(), created);
        assert!(store.instances().get("nope").await.unwrap().is_none());

        // Route keys find the instance by kind, and only by kind.
        let by_gw = store.instances().by_gateway_key(created.gateway_key.expose()).await.unwrap();
        assert_eq!(by_gw.unwrap().id, created.id);
        let by_cw = store.instances().by_chatwoot_key(created.chatwoot_key.expose()).await.unwrap();
        assert_eq!(by_cw.unwrap().id, created.id);
        assert!(store.instances().by_chatwoot_key(created.gateway_key.expose()).await.unwrap().is_none());
        assert!(store.instances().by_gateway_key("guess").await.unwrap().is_none());

        // Duplicate names conflict.
        let err = store.instances().create(new_instance("alpha")).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

        // Update (with rename) keeps id and route keys.
        let mut changed = config.clone();
        changed.name = "alpha-2".to_owned();
        changed.enabled = false;
        changed.secrets.insert("hmac_key".to_owned(), SecretString::new("k".repeat(32)));
        let updated = store.instances().update("alpha", changed.clone()).await.unwrap().unwrap();
        assert_eq!(updated.id, created.id);
        assert_eq!(updated.config, changed);
        assert_eq!(updated.gateway_key, created.gateway_key);
        assert!(store.instances().get("alpha").await.unwrap().is_none());
        assert!(store.instances().update("ghost", changed).await.unwrap().is_none());

        store.instances().create(new_instance("beta")).await.unwrap();
        let names: Vec<String> = store.instances().list().await.unwrap().into_iter().map(|i| i.config.name).collect();
        assert_eq!(names, vec!["alpha-2", "beta"]);

        // Deleting removes its events too.
        store.events().record(NewEvent::new(created.id, Source::Gateway, "k", "l", "{}")).await.unwrap();
        assert!(store.instances().delete("alpha-2").await.unwrap());
        assert!(!store.instances().delete("alpha-2").await.unwrap());
        assert_eq!(store.events().count_by_status(Some(created.id)).await.unwrap().values().sum::<i64>(), 0);
    }

    async fn events_of_an_unknown_instance_are_refused(db) {
        let store = db.open().await;
        let err = store.events().record(NewEvent::new(424_242, Source::Gateway, "k", "l", "{}")).await.unwrap_err();
        assert!(matches!(err, StoreError::Query(_)), "{err:?}");
        assert_eq!(store.events().count_by_status(None).await.unwrap().values().sum::<i64>(), 0);
    }
}
