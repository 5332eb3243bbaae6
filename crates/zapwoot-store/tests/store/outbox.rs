//! The outbox: deliveries recorded with the change that causes them, claimed per lane,
//! finished with their attempts, replayed, and the subscription's failure window.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zapwoot_store::{
    DeliveryAttempt, DeliveryFilter, DeliveryNext, DeliveryState, Effect, NewEvent,
    NewSubscription, Notification, ReplayRange, SecretString, Source, Store, StoreError,
};

use crate::support::instance_id;

const LEASE: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

async fn subscribe(
    store: &Store,
    events: &[&str],
    instances: Option<&[&str]>,
    ordered: bool,
) -> i64 {
    let mut new = NewSubscription::new(
        "https://crm.example/hook",
        events.iter().map(|e| (*e).to_owned()).collect(),
        SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    );
    new.instances = instances.map(|i| i.iter().map(|n| (*n).to_owned()).collect());
    new.ordered = ordered;
    store.subscriptions().create(new).await.unwrap().id
}

fn note(id: &str, kind: &str, instance: i64, lane: &str) -> Notification {
    Notification::new(id, kind, format!("{{\"type\":\"{kind}\",\"id\":\"{id}\"}}"))
        .for_instance(instance, "alpha")
        .in_lane(lane)
}

fn attempt(status: Option<u16>) -> DeliveryAttempt {
    let mut a = DeliveryAttempt::new(now_ms(), 12);
    a.status_code = status;
    if status.is_none() {
        a.error = Some("connection refused".to_owned());
    }
    a
}

async fn of(store: &Store, subscription: i64) -> Vec<zapwoot_store::Delivery> {
    let mut all = store
        .deliveries()
        .list(DeliveryFilter::subscription(subscription))
        .await
        .unwrap();
    all.reverse();
    all
}

both_backends! {
    async fn notifications_fan_out_in_the_events_transaction(db) {
        let store = db.open().await;
        let alpha = instance_id(&store, "alpha").await;
        let messages_alpha = subscribe(&store, &["message.*"], Some(&["alpha"]), true).await;
        let everything = subscribe(&store, &["*"], None, true).await;
        let beta_only = subscribe(&store, &["*"], Some(&["beta"]), true).await;
        let disabled = subscribe(&store, &["*"], None, true).await;
        assert!(store.subscriptions().set_enabled(disabled, false).await.unwrap());

        store.events().record(NewEvent::new(alpha, Source::Gateway, "m1", "chat-1", "{}")).await.unwrap();
        let claimed = store.events().claim("w", 1, LEASE).await.unwrap();
        let effects = vec![
            Effect::Notify(note("msg_1_1_0", "message.received", alpha, "alpha/chat-1")),
            Effect::Notify(note("msg_1_1_1", "reaction", alpha, "alpha/chat-1")),
        ];
        store.events().complete(&claimed[0].lease, effects).await.unwrap();

        let kinds = |d: Vec<zapwoot_store::Delivery>| d.into_iter().map(|d| d.event_type).collect::<Vec<_>>();
        assert_eq!(kinds(of(&store, messages_alpha).await), ["message.received"]);
        assert_eq!(kinds(of(&store, everything).await), ["message.received", "reaction"]);
        assert!(of(&store, beta_only).await.is_empty());
        assert!(of(&store, disabled).await.is_empty());

        // The same notification id again records nothing new.
        assert_eq!(store.deliveries().notify(vec![note("msg_1_1_0", "message.received", alpha, "alpha/chat-1")]).await.unwrap(), 0);
        assert_eq!(of(&store, everything).await.len(), 2);

        // A completion that loses its lease writes no delivery either.
        store.events().record(NewEvent::new(alpha, Source::Gateway, "m2", "chat-1", "{}")).await.unwrap();
        let claimed = store.events().claim("w", 1, LEASE).await.unwrap();
        assert!(store.events().retry(claimed[0].event.id).await.is_err(), "running: not replayable");
        let mut stale = claimed[0].lease.clone();
        stale.attempt += 1;
        let lost = store.events().complete(&stale, vec![Effect::Notify(note("msg_2_1_0", "message.received", alpha, "alpha/chat-1"))]).await;
        assert!(matches!(lost, Err(StoreError::LeaseLost(_))));
        assert_eq!(of(&store, everything).await.len(), 2);
    }

    async fn ordered_subscriptions_send_one_delivery_per_lane_at_a_time(db) {
        let store = db.open().await;
        let alpha = instance_id(&store, "alpha").await;
        let ordered = subscribe(&store, &["*"], None, true).await;
        let unordered = subscribe(&store, &["*"], None, false).await;
        let notes = vec![
            note("x1", "message.received", alpha, "x"),
            note("x2", "message.received", alpha, "x"),
            note("y1", "message.received", alpha, "y"),
            note("x3", "message.received", alpha, "x"),
        ];
        assert_eq!(store.deliveries().notify(notes).await.unwrap(), 8);

        let now = now_ms();
        let claimed = store.deliveries().claim("w", 100, LEASE, now).await.unwrap();
        let ids = |sub: i64| claimed.iter().filter(|c| c.subscription.id == sub).map(|c| c.delivery.message_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(ordered), ["x1", "y1"], "lane heads only");
        assert_eq!(ids(unordered), ["x1", "x2", "y1", "x3"], "everything at once");
        assert!(store.deliveries().claim("w2", 100, LEASE, now).await.unwrap().is_empty(), "leased");

        // x1 fails with a retry later: lane x waits, nothing overtakes it.
        let x1 = claimed.iter().find(|c| c.subscription.id == ordered && c.delivery.message_id == "x1").unwrap();
        let health = store.deliveries().finish(&x1.lease, attempt(Some(503)), DeliveryNext::RetryAt(now + 60_000)).await.unwrap();
        assert!(health.enabled);
        assert!(health.failing_since_ms.is_some());
        for c in claimed.iter().filter(|c| c.lease != x1.lease) {
            store.deliveries().finish(&c.lease, attempt(Some(200)), DeliveryNext::Done).await.unwrap();
        }
        assert!(store.deliveries().claim("w", 100, LEASE, now + 1_000).await.unwrap().is_empty());

        // When the retry is due, x1 goes again (attempt 2), then x2, then x3.
        let mut order = Vec::new();
        let mut at = now + 60_000;
        loop {
            let claimed = store.deliveries().claim("w", 100, LEASE, at).await.unwrap();
            if claimed.is_empty() {
                break;
            }
            assert_eq!(claimed.len(), 1);
            order.push((claimed[0].delivery.message_id.clone(), claimed[0].lease.attempt));
            let health = store.deliveries().finish(&claimed[0].lease, attempt(Some(204)), DeliveryNext::Done).await.unwrap();
            assert_eq!(health.failing_since_ms, None, "a success ends the run of failures");
            at += 1;
        }
        assert_eq!(order, [("x1".to_owned(), 2), ("x2".to_owned(), 1), ("x3".to_owned(), 1)]);

        let x1 = of(&store, ordered).await.into_iter().next().unwrap();
        assert_eq!(x1.state, DeliveryState::Done);
        assert_eq!(x1.history.iter().map(|a| a.status_code).collect::<Vec<_>>(), [Some(503), Some(204)]);
        assert!(x1.finished_at_ms.is_some());
    }

    async fn dead_deliveries_release_their_lane_and_can_be_replayed(db) {
        let store = db.open().await;
        let alpha = instance_id(&store, "alpha").await;
        let sub = subscribe(&store, &["*"], None, true).await;
        store.deliveries().notify(vec![note("a", "message.sent", alpha, "x"), note("b", "message.sent", alpha, "x")]).await.unwrap();
        let now = now_ms();
        let claimed = store.deliveries().claim("w", 10, LEASE, now).await.unwrap();
        assert_eq!(claimed.len(), 1);
        store.deliveries().finish(&claimed[0].lease, attempt(None), DeliveryNext::Dead).await.unwrap();
        let a = claimed[0].delivery.id;
        assert_eq!(store.deliveries().get(a).await.unwrap().unwrap().last_error.as_deref(), Some("connection refused"));

        let claimed = store.deliveries().claim("w", 10, LEASE, now).await.unwrap();
        assert_eq!(claimed[0].delivery.message_id, "b", "a dead delivery no longer blocks its lane");
        assert!(matches!(store.deliveries().replay(claimed[0].delivery.id).await, Err(StoreError::Conflict(_))));
        store.deliveries().finish(&claimed[0].lease, attempt(Some(200)), DeliveryNext::Done).await.unwrap();

        // Replay one: same webhook-id, fresh schedule, history kept.
        assert!(store.deliveries().replay(a).await.unwrap());
        assert!(!store.deliveries().replay(987_654).await.unwrap());
        let claimed = store.deliveries().claim("w", 10, LEASE, now_ms()).await.unwrap();
        assert_eq!((claimed[0].delivery.message_id.as_str(), claimed[0].lease.attempt), ("a", 1));
        store.deliveries().finish(&claimed[0].lease, attempt(Some(200)), DeliveryNext::Done).await.unwrap();
        assert_eq!(store.deliveries().get(a).await.unwrap().unwrap().history.len(), 2);

        // Replay a range: failed and dead only, unless done ones are asked for too.
        let range = ReplayRange::failed(now - 60_000, now_ms() + 1);
        assert_eq!(store.deliveries().replay_all(sub, range).await.unwrap(), 0);
        let mut all = range;
        all.include_done = true;
        assert_eq!(store.deliveries().replay_all(sub, all).await.unwrap(), 2);
        assert_eq!(store.deliveries().replay_all(sub, ReplayRange::failed(0, now - 60_000)).await.unwrap(), 0);
        assert_eq!(store.deliveries().claim("w", 10, LEASE, now_ms()).await.unwrap().len(), 1, "ordered: a then b");
    }

    async fn disabled_subscriptions_hold_their_deliveries(db) {
        let store = db.open().await;
        let alpha = instance_id(&store, "alpha").await;
        let sub = subscribe(&store, &["*"], None, true).await;
        store.deliveries().notify(vec![note("a", "message.sent", alpha, "x")]).await.unwrap();
        let now = now_ms();
        let claimed = store.deliveries().claim("w", 10, LEASE, now).await.unwrap();
        let health = store.deliveries().finish(&claimed[0].lease, attempt(Some(410)), DeliveryNext::RetryAt(now)).await.unwrap();
        let since = health.failing_since_ms.unwrap();
        assert!(store.subscriptions().disable(sub, "the receiver answered 410 Gone").await.unwrap());
        assert!(!store.subscriptions().disable(sub, "again").await.unwrap(), "announced once");
        let s = store.subscriptions().get(sub).await.unwrap().unwrap();
        assert!(!s.enabled);
        assert_eq!(s.disabled_reason.as_deref(), Some("the receiver answered 410 Gone"));
        assert_eq!(s.failing_since_ms, Some(since));
        assert!(store.deliveries().claim("w", 10, LEASE, now + 1).await.unwrap().is_empty());
        // New notifications are not recorded for a disabled subscription.
        assert_eq!(store.deliveries().notify(vec![note("b", "message.sent", alpha, "x")]).await.unwrap(), 0);

        // Enabling resumes where it stopped, with a clean record.
        assert!(store.subscriptions().set_enabled(sub, true).await.unwrap());
        let s = store.subscriptions().get(sub).await.unwrap().unwrap();
        assert_eq!((s.failing_since_ms, s.disabled_reason), (None, None));
        let claimed = store.deliveries().claim("w", 10, LEASE, now + 1).await.unwrap();
        assert_eq!(claimed[0].delivery.message_id, "a");
        assert_eq!(claimed[0].lease.attempt, 2);

        // A crashed worker's lease is expired at start-up and the delivery is claimable again.
        assert!(store.expire_leases().await.unwrap() >= 1);
        let again = store.deliveries().claim("w2", 10, LEASE, now_ms()).await.unwrap();
        assert_eq!(again[0].delivery.id, claimed[0].delivery.id);
        let stale = store.deliveries().finish(&claimed[0].lease, attempt(Some(200)), DeliveryNext::Done).await;
        assert!(matches!(stale, Err(StoreError::LeaseLost(_))), "the first worker lost it");
        store.deliveries().finish(&again[0].lease, attempt(Some(200)), DeliveryNext::Done).await.unwrap();

        // Finished deliveries go with the events' retention.
        db.clock.advance(Duration::from_millis(30));
        let report = store.prune(Duration::ZERO, Duration::ZERO).await.unwrap();
        assert_eq!(report.deliveries_deleted, 1);
        assert!(of(&store, sub).await.is_empty());
    }

    async fn rotation_keeps_the_previous_secret_for_a_while(db) {
        let store = db.open().await;
        let sub = subscribe(&store, &["*"], None, true).await;
        let rotated = store
            .subscriptions().rotate_secret(sub, SecretString::new("whsec_bmV3IHNlY3JldCBmb3Igcm90YXRpb24="), Duration::from_secs(3600))
            .await.unwrap().unwrap();
        assert_eq!(rotated.config.secret.expose(), "whsec_bmV3IHNlY3JldCBmb3Igcm90YXRpb24=");
        assert_eq!(rotated.previous_secret.as_ref().unwrap().expose(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let until = rotated.previous_secret_until_ms.unwrap();
        assert_eq!(rotated.signing_secrets(until - 1).len(), 2);
        assert_eq!(rotated.signing_secrets(until).len(), 1);
        assert!(store.subscriptions().rotate_secret(987_654, SecretString::new("whsec_eA=="), Duration::ZERO).await.unwrap().is_none());

        // Deliver a test event regardless of filters; unknown subscriptions answer None.
        let id = store.deliveries().deliver_to(sub, Notification::new("msg_test_1", "endpoint.test", "{}")).await.unwrap().unwrap();
        assert_eq!(store.deliveries().get(id).await.unwrap().unwrap().event_type, "endpoint.test");
        assert!(store.deliveries().deliver_to(987_654, Notification::new("msg_test_2", "endpoint.test", "{}")).await.unwrap().is_none());
    }
}
