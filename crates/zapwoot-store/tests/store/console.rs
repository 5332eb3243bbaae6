//! What the operator console reads and keeps: its sign-in sessions (found by hash, ended by
//! sign-out or expiry) and the per-minute counts and last message times of its overview.

use std::time::{Duration, SystemTime};

use zapwoot_store::{EventStatus, NewEvent, Source};

use crate::support::instance_id;

fn event(instance: i64, source: Source, kind: &str, key: &str) -> NewEvent {
    let mut e = NewEvent::new(instance, source, key, "chat", b"{}".to_vec());
    e.kind = kind.to_owned();
    e
}

both_backends! {
    async fn console_sessions_are_found_by_hash_until_signed_out_or_expired(db) {
        let store = db.open().await;
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let now = SystemTime::now();
        let made = store.console_sessions().create(&a, "admin", now + Duration::from_secs(3600)).await.unwrap();
        assert_eq!(made.principal, "admin");
        store.console_sessions().create(&b, "admin", now + Duration::from_secs(60)).await.unwrap();
        assert_eq!(store.console_sessions().get(&a).await.unwrap(), Some(made));
        assert!(store.console_sessions().get(&[3u8; 32]).await.unwrap().is_none());

        // Signing out ends one session only, once.
        assert!(store.console_sessions().delete(&a).await.unwrap());
        assert!(!store.console_sessions().delete(&a).await.unwrap());
        assert!(store.console_sessions().get(&a).await.unwrap().is_none());
        assert!(store.console_sessions().get(&b).await.unwrap().is_some());

        // Expired: not found, and removed when the next session is made.
        db.clock.advance(Duration::from_secs(61));
        assert!(store.console_sessions().get(&b).await.unwrap().is_none());
        let later = SystemTime::now() + Duration::from_secs(7200);
        store.console_sessions().create(&a, "admin", later).await.unwrap();
        assert!(!store.console_sessions().delete(&b).await.unwrap(), "the expired session was removed");
    }

    async fn per_minute_counts_and_last_received_cover_the_kinds_asked_for(db) {
        let store = db.open().await;
        let alpha = instance_id(&store, "alpha").await;
        let beta = instance_id(&store, "beta").await;
        let start = SystemTime::now() + Duration::from_secs(1);
        db.clock.advance(Duration::from_secs(1));
        store.events().record(event(alpha, Source::Gateway, "Message", "m1")).await.unwrap();
        store.events().record(event(alpha, Source::Gateway, "Message", "m2")).await.unwrap();
        store.events().record(event(alpha, Source::Gateway, "ReadReceipt", "r1")).await.unwrap();
        db.clock.advance(Duration::from_secs(120));
        store.events().record(event(beta, Source::Chatwoot, "message_created", "c1")).await.unwrap();

        let counts = store.events().per_minute(start, &["Message", "message_created"]).await.unwrap();
        let total: i64 = counts.iter().map(|c| c.count).sum();
        assert_eq!(total, 3, "{counts:?}");
        let inbound: Vec<_> = counts.iter().filter(|c| c.source == Source::Gateway).collect();
        assert_eq!(inbound.len(), 1, "both messages in one minute: {counts:?}");
        assert_eq!(inbound[0].count, 2);
        assert_eq!(inbound[0].status, EventStatus::Pending);
        assert_eq!(inbound[0].minute_start_ms % 60_000, 0);
        let outbound: Vec<_> = counts.iter().filter(|c| c.source == Source::Chatwoot).collect();
        assert!(outbound[0].minute_start_ms >= inbound[0].minute_start_ms + 60_000);
        // Nothing before `since`, nothing of other kinds.
        let later = SystemTime::now() + Duration::from_secs(200);
        assert!(store.events().per_minute(later, &["Message"]).await.unwrap().is_empty());
        assert!(store.events().per_minute(start, &[]).await.unwrap().is_empty());

        let last = store.events().last_received(&["Message", "message_created"]).await.unwrap();
        assert_eq!(last.len(), 2);
        assert!(last[&beta] > last[&alpha]);
        assert!(store.events().last_received(&["nothing"]).await.unwrap().is_empty());
    }
}
