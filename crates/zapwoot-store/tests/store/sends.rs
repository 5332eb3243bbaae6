//! The send API's messages: accepted with their send event at once, idempotent by key (also
//! under concurrent requests), and their outcome recorded.

use std::time::Duration;

use zapwoot_store::{Effect, EventStatus, NewApiMessage, NewEvent, Source};

use crate::support::instance_id;

const CHAT: &str = "5511987654321@s.whatsapp.net";

fn send_event(instance: i64) -> NewEvent {
    let mut e = NewEvent::new(
        instance,
        Source::Api,
        "",
        CHAT,
        br#"{"to":"5511987654321"}"#.to_vec(),
    );
    e.kind = "send".to_owned();
    e.content_type = "application/json".to_owned();
    e
}

fn keyed(instance: i64, key: &str, digest: &str) -> NewApiMessage {
    let mut m = NewApiMessage::new(instance, CHAT, digest);
    m.idempotency_key = Some(key.to_owned());
    m
}

both_backends! {
    async fn api_messages_go_with_their_send_event_and_keys_last_a_day(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let sent = store.sends().accept(keyed(instance, "order-1", "d1"), send_event(instance)).await.unwrap().message;
        let failed = store.sends().accept(keyed(instance, "order-2", "d2"), send_event(instance)).await.unwrap().message;
        let queued = store.sends().accept(keyed(instance, "order-3", "d3"), send_event(instance)).await.unwrap().message;
        // One chat, one lane: claimed one after the other.
        let next = |id: Option<i64>| {
            let store = store.clone();
            async move {
                let claimed = store.events().claim("w", 10, Duration::from_secs(30)).await.unwrap();
                assert_eq!(claimed.len(), 1);
                assert_eq!(Some(claimed[0].event.id), id);
                claimed[0].lease.clone()
            }
        };
        store.events().complete(&next(sent.event_id).await, Vec::new()).await.unwrap();
        store.events().fail(&next(failed.event_id).await, "refused", None, Vec::new()).await.unwrap();
        store.events().fail(&next(queued.event_id).await, "later", Some(std::time::SystemTime::now() + Duration::from_secs(3600)), Vec::new()).await.unwrap();
        db.clock.advance(Duration::from_secs(3600));

        // Events go at once, but a key is kept a day.
        let report = store.prune(Duration::ZERO, Duration::ZERO).await.unwrap();
        assert_eq!(report.events_deleted, 1);
        assert_eq!(report.api_messages_deleted, 0);
        assert_eq!(store.sends().by_key(instance, "order-1").await.unwrap().unwrap().id, sent.id);

        db.clock.advance(Duration::from_secs(24 * 3600));
        let report = store.prune(Duration::ZERO, Duration::ZERO).await.unwrap();
        assert_eq!(report.api_messages_deleted, 1, "the sent one, whose event is gone");
        assert!(store.sends().get(sent.id).await.unwrap().is_none());
        assert!(store.sends().by_key(instance, "order-1").await.unwrap().is_none());
        for kept in [&failed, &queued] {
            assert!(store.sends().get(kept.id).await.unwrap().is_some(), "kept with its dead or waiting event");
        }
    }

    async fn a_message_and_its_send_event_are_accepted_together(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let a = store.sends().accept(NewApiMessage::new(instance, CHAT, "d1"), send_event(instance)).await.unwrap();
        let b = store.sends().accept(NewApiMessage::new(instance, CHAT, "d1"), send_event(instance)).await.unwrap();
        assert!(!a.duplicate && !b.duplicate, "without a key every request is a new message");
        assert_ne!(a.message.id, b.message.id);
        let event = store.events().get(a.message.event_id.unwrap()).await.unwrap().unwrap();
        assert_eq!(event.source, Source::Api);
        assert_eq!(event.dedupe_key, format!("send:{}", a.message.id));
        assert_eq!(event.lane, CHAT);
        assert_eq!(store.sends().by_event(event.id).await.unwrap().unwrap(), a.message);
        assert_eq!(store.sends().queued(instance).await.unwrap(), 2);

        assert!(store.sends().record_sent(a.message.id, "3EB0AA").await.unwrap());
        assert_eq!(store.sends().get(a.message.id).await.unwrap().unwrap().wa_message_id.as_deref(), Some("3EB0AA"));
        // The send event finishes: the mirror is recorded by effects in the same transaction.
        let claimed = store.events().claim("w", 10, Duration::from_secs(30)).await.unwrap();
        let first = claimed.iter().find(|c| c.event.id == event.id).unwrap();
        let mut mirror = NewEvent::new(instance, Source::Api, format!("mirror:{}", a.message.id), format!("mirror:{CHAT}"), b"{}".to_vec());
        mirror.kind = "mirror".to_owned();
        store.events().complete(&first.lease, vec![
            Effect::Enqueue(mirror.clone()),
            Effect::Enqueue(mirror),
            Effect::ApiMirrored { id: a.message.id, chatwoot_conversation_id: 7, chatwoot_message_id: 70 },
        ]).await.unwrap();
        let done = store.sends().get(a.message.id).await.unwrap().unwrap();
        assert_eq!((done.chatwoot_conversation_id, done.chatwoot_message_id), (Some(7), Some(70)));
        let events = store.events().list(zapwoot_store::EventFilter::new().limit(50)).await.unwrap();
        let mirrors: Vec<_> = events.iter().filter(|e| e.kind == "mirror").collect();
        assert_eq!(mirrors.len(), 1, "an enqueued event is idempotent by its dedupe key");
        assert_eq!(mirrors[0].status, EventStatus::Pending);
        assert_eq!(store.sends().queued(instance).await.unwrap(), 1, "one send left");
    }

    async fn one_idempotency_key_is_one_message_even_under_concurrent_requests(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.sends().accept(keyed(instance, "order-42", "d1"), send_event(instance)).await.unwrap()
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let first = results.iter().find(|r| !r.duplicate).expect("one request wins");
        assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
        assert!(results.iter().all(|r| r.message.id == first.message.id), "every request answers the same id");
        let events = store.events().list(zapwoot_store::EventFilter::new().limit(50)).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.source == Source::Api).count(), 1, "one send event");
        // The digest of the first request is kept, so another body under the key can be told apart.
        let again = store.sends().accept(keyed(instance, "order-42", "d2"), send_event(instance)).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.message.request_digest, "d1");
        // Keys are per instance.
        let other = instance_id(&store, "beta").await;
        assert!(!store.sends().accept(keyed(other, "order-42", "d1"), send_event(other)).await.unwrap().duplicate);
    }
}
