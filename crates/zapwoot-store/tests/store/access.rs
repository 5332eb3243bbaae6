//! Who may do what: tenants and what belongs to them, API keys found by hash until revoked
//! or expired, pairing links ended by pairing or expiry, the record of actions, and a
//! tenant's subscription hearing only its tenant's instances.

use std::time::{Duration, SystemTime};

use zapwoot_store::Clock as _;
use zapwoot_store::{
    ActionFilter, DeliveryFilter, NewAction, NewApiKey, NewSubscription, Notification,
    SecretString, StoreError,
};

use crate::support::new_instance;

both_backends! {
    async fn tenants_hold_instances_and_are_removed_only_when_empty(db) {
        let store = db.open().await;
        let acme = store.tenants().create("acme", "Acme Ltd").await.unwrap();
        assert_eq!(acme.description, "Acme Ltd");
        assert!(matches!(store.tenants().create("acme", "").await, Err(StoreError::Conflict(_))));
        store.tenants().create("bolt", "").await.unwrap();
        let names: Vec<String> = store.tenants().list().await.unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["acme", "bolt"]);
        let changed = store.tenants().update("acme", "Acme Group").await.unwrap().unwrap();
        assert_eq!(changed.description, "Acme Group");
        assert!(store.tenants().update("nobody", "x").await.unwrap().is_none());

        let mut config = new_instance("alpha");
        config.tenant = Some("acme".to_owned());
        let alpha = store.instances().create(config).await.unwrap();
        assert_eq!(store.instances().get("alpha").await.unwrap().unwrap().config.tenant.as_deref(), Some("acme"));
        assert_eq!(store.tenants().members("acme").await.unwrap().instances, 1);
        assert!(matches!(store.tenants().delete("acme").await, Err(StoreError::Conflict(_))));

        // Taking the instance out of the tenant (a `None` is written, not skipped).
        let mut config = alpha.config.clone();
        config.tenant = None;
        store.instances().update("alpha", config).await.unwrap();
        assert_eq!(store.instances().get("alpha").await.unwrap().unwrap().config.tenant, None);
        assert!(store.tenants().delete("acme").await.unwrap());
        assert!(!store.tenants().delete("acme").await.unwrap());
        assert!(store.tenants().get("acme").await.unwrap().is_none());
    }

    async fn keys_are_found_by_hash_until_revoked_or_expired(db) {
        let store = db.open().await;
        let mut new = NewApiKey::new("crm", "zw_3f9a1c", vec!["messages:send".to_owned()]);
        new.tenant = Some("acme".to_owned());
        new.instances = Some(vec!["alpha".to_owned()]);
        new.rate_per_minute = Some(60);
        new.expires_at = Some(SystemTime::now() + Duration::from_secs(3600));
        let key = store.api_keys().create(&[7u8; 32], &new).await.unwrap();
        assert!(matches!(store.api_keys().create(&[7u8; 32], &new).await, Err(StoreError::Conflict(_))));
        let found = store.api_keys().by_hash(&[7u8; 32]).await.unwrap().unwrap();
        assert_eq!(found, key);
        assert_eq!(found.scopes, ["messages:send"]);
        assert_eq!(found.instances.as_deref(), Some(&["alpha".to_owned()][..]));
        assert_eq!(found.rate_per_minute, Some(60));
        assert!(found.is_active(db.clock.now_ms()));
        assert!(store.api_keys().by_hash(&[8u8; 32]).await.unwrap().is_none());

        store.api_keys().touch(key.id).await.unwrap();
        assert!(store.api_keys().get(key.id).await.unwrap().unwrap().last_used_at_ms.is_some());

        // Expiry is the key's own; revocation is once.
        db.clock.advance(Duration::from_secs(3601));
        assert!(!store.api_keys().get(key.id).await.unwrap().unwrap().is_active(db.clock.now_ms()));
        let other = store.api_keys().create(&[9u8; 32], &NewApiKey::new("ops", "zw_aa", vec!["admin".to_owned()])).await.unwrap();
        assert!(store.api_keys().revoke(other.id).await.unwrap());
        assert!(!store.api_keys().revoke(other.id).await.unwrap());
        let revoked = store.api_keys().by_hash(&[9u8; 32]).await.unwrap().unwrap();
        assert!(revoked.revoked_at_ms.is_some() && !revoked.is_active(db.clock.now_ms()));
        let ids: Vec<i64> = store.api_keys().list().await.unwrap().iter().map(|k| k.id).collect();
        assert_eq!(ids, [other.id, key.id], "newest first");
        store.tenants().create("acme", "").await.unwrap();
        assert!(matches!(store.tenants().delete("acme").await, Err(StoreError::Conflict(_))), "a live key holds it");
    }

    async fn pairing_links_end_when_the_phone_pairs_or_they_expire(db) {
        let store = db.open().await;
        let alpha = store.instances().create(new_instance("alpha")).await.unwrap();
        let soon = SystemTime::now() + Duration::from_secs(1800);
        let a = store.pairing_links().create(&[1u8; 32], alpha.id, "key:4", soon).await.unwrap();
        let b = store.pairing_links().create(&[2u8; 32], alpha.id, "admin", soon).await.unwrap();
        assert_eq!(a.created_by, "key:4");
        let found = store.pairing_links().by_hash(&[1u8; 32]).await.unwrap().unwrap();
        assert_eq!(found, a);
        assert!(found.is_open(db.clock.now_ms()));
        assert!(store.pairing_links().by_hash(&[3u8; 32]).await.unwrap().is_none());

        assert_eq!(store.pairing_links().use_all(alpha.id).await.unwrap(), 2);
        assert_eq!(store.pairing_links().use_all(alpha.id).await.unwrap(), 0);
        let used = store.pairing_links().by_hash(&[2u8; 32]).await.unwrap().unwrap();
        assert_eq!(used.id, b.id);
        assert!(!used.is_open(db.clock.now_ms()));

        let c = store.pairing_links().create(&[4u8; 32], alpha.id, "admin", SystemTime::now() + Duration::from_secs(60)).await.unwrap();
        assert!(c.is_open(db.clock.now_ms()));
        db.clock.advance(Duration::from_secs(61));
        assert!(!store.pairing_links().by_hash(&[4u8; 32]).await.unwrap().unwrap().is_open(db.clock.now_ms()));

        // Deleting the instance takes its links.
        store.instances().delete("alpha").await.unwrap();
        assert!(store.pairing_links().by_hash(&[4u8; 32]).await.unwrap().is_none());
    }

    async fn actions_are_listed_newest_first_by_instance_and_target(db) {
        let store = db.open().await;
        let alpha = store.instances().create(new_instance("alpha")).await.unwrap();
        let beta = store.instances().create(new_instance("beta")).await.unwrap();
        for (actor, action, instance, target) in [
            ("key:1", "message.send", alpha.id, "message:1"),
            ("admin", "event.retry", beta.id, "event:9"),
            ("key:1", "event.retry", alpha.id, "event:9"),
        ] {
            let mut a = NewAction::new(actor, action);
            a.instance_id = Some(instance);
            a.target = Some(target.to_owned());
            store.actions().record(a).await.unwrap();
        }
        let all = store.actions().list(ActionFilter::default()).await.unwrap();
        assert_eq!(all.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(), ["event.retry", "event.retry", "message.send"]);
        let mut only_alpha = ActionFilter::default();
        only_alpha.instances = Some(vec![alpha.id]);
        let listed = store.actions().list(only_alpha).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|a| a.actor == "key:1" && a.instance_id == Some(alpha.id)));
        let mut on_event = ActionFilter::default();
        on_event.target = Some("event:9".to_owned());
        assert_eq!(store.actions().list(on_event).await.unwrap().len(), 2);
    }

    async fn a_tenants_subscription_hears_only_its_instances(db) {
        let store = db.open().await;
        let mut config = new_instance("alpha");
        config.tenant = Some("acme".to_owned());
        let alpha = store.instances().create(config).await.unwrap();
        let beta = store.instances().create(new_instance("beta")).await.unwrap();
        let mut new = NewSubscription::new("https://crm.example/hook", vec!["*".to_owned()], SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        new.tenant = Some("acme".to_owned());
        let tenants = store.subscriptions().create(new).await.unwrap();
        assert_eq!(tenants.config.tenant.as_deref(), Some("acme"));
        let everyone = store.subscriptions().create(NewSubscription::new("https://ops.example/hook", vec!["*".to_owned()], SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))).await.unwrap();
        let notes = vec![
            Notification::new("n1", "message.received", "{}").for_instance(alpha.id, "alpha"),
            Notification::new("n2", "message.received", "{}").for_instance(beta.id, "beta"),
            Notification::new("n3", "subscription.disabled", "{}"),
        ];
        assert_eq!(store.deliveries().notify(notes).await.unwrap(), 4);
        let ids = |list: Vec<zapwoot_store::Delivery>| list.into_iter().map(|d| d.message_id).collect::<Vec<_>>();
        assert_eq!(ids(store.deliveries().list(DeliveryFilter::subscription(tenants.id)).await.unwrap()), ["n1"]);
        assert_eq!(ids(store.deliveries().list(DeliveryFilter::subscription(everyone.id)).await.unwrap()).len(), 3);
    }
}
