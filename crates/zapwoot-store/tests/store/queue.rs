//! Durable ingest and queue semantics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use zapwoot_store::{
    Direction, Effect, EventFilter, EventStatus, MessageState, NewEvent, NewMessage, ReceiptLevel,
    Source, Store, StoreError,
};

use crate::support::instance_id;

const LEASE: Duration = Duration::from_secs(60);

fn event(instance: i64, key: &str, lane: &str) -> NewEvent {
    let mut e = NewEvent::new(
        instance,
        Source::Gateway,
        key,
        lane,
        format!("{{\"id\":\"{key}\"}}"),
    );
    e.kind = "message".to_owned();
    e.content_type = "application/json".to_owned();
    e
}

/// Claims until the queue is drained, `workers` tasks at once over the given stores, and
/// checks that no lane ever has two events in flight and each lane runs in id order.
async fn drain_concurrently(stores: Vec<Store>, workers: usize) -> BTreeMap<String, Vec<i64>> {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let order: Arc<Mutex<BTreeMap<String, Vec<i64>>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let store = stores[w % stores.len()].clone();
        let in_flight = Arc::clone(&in_flight);
        let order = Arc::clone(&order);
        tasks.push(tokio::spawn(async move {
            let owner = format!("worker-{w}");
            let mut idle = 0;
            while idle < 20 {
                let claimed = store.events().claim(&owner, 3, LEASE).await.unwrap();
                if claimed.is_empty() {
                    idle += 1;
                    tokio::task::yield_now().await;
                    continue;
                }
                idle = 0;
                for c in claimed {
                    let lane = c.event.lane.clone();
                    assert!(
                        in_flight.lock().unwrap().insert(lane.clone()),
                        "two events of lane {lane} ran at once"
                    );
                    order
                        .lock()
                        .unwrap()
                        .entry(lane.clone())
                        .or_default()
                        .push(c.event.id);
                    tokio::task::yield_now().await;
                    in_flight.lock().unwrap().remove(&lane);
                    store.events().complete(&c.lease, Vec::new()).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(order).unwrap().into_inner().unwrap()
}

async fn fill_lanes(
    store: &Store,
    instance: i64,
    lanes: usize,
    per_lane: usize,
) -> HashMap<String, Vec<i64>> {
    let mut expected: HashMap<String, Vec<i64>> = HashMap::new();
    // Interleave lanes so ids of one lane are not contiguous.
    for i in 0..per_lane {
        for l in 0..lanes {
            let lane = format!("lane-{l}@s.whatsapp.net");
            let r = store
                .events()
                .record(event(instance, &format!("m-{l}-{i}"), &lane))
                .await
                .unwrap();
            expected.entry(lane).or_default().push(r.id);
        }
    }
    expected
}

both_backends! {
    async fn recorded_events_are_durable_and_complete(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let mut e = event(instance, "wamid-1", "5511@s.whatsapp.net");
        e.body = b"form=a+b%2Bc&x=\x00\xff".to_vec();
        let r = store.events().record(e.clone()).await.unwrap();
        assert!(!r.duplicate);
        drop(store);

        // A new process sees it, byte for byte.
        let store = db.open().await;
        let stored = store.events().get(r.id).await.unwrap().unwrap();
        assert_eq!(stored.body.as_deref(), Some(&e.body[..]));
        assert_eq!(stored.status, EventStatus::Pending);
        assert_eq!(stored.kind, "message");
        assert_eq!(stored.content_type, "application/json");
        assert_eq!(stored.source, Source::Gateway);
        assert_eq!(stored.attempts, 0);
    }

    async fn duplicate_ingest_returns_the_existing_event(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let first = store.events().record(event(instance, "k", "lane")).await.unwrap();
        let again = store.events().record(event(instance, "k", "lane")).await.unwrap();
        assert_eq!(again, zapwoot_store::Recorded { id: first.id, duplicate: true });

        // Same key from the other source, or another instance, is a different event.
        let mut other_source = event(instance, "k", "lane");
        other_source.source = Source::Chatwoot;
        assert!(!store.events().record(other_source).await.unwrap().duplicate);
        let beta = instance_id(&store, "beta").await;
        assert!(!store.events().record(event(beta, "k", "lane")).await.unwrap().duplicate);

        // 64 concurrent deliveries of one webhook: exactly one is new.
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move { store.events().record(event(instance, "burst", "lane")).await.unwrap() }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
        assert!(results.iter().all(|r| r.id == results[0].id));
        let counts = store.events().count_by_status(Some(instance)).await.unwrap();
        assert_eq!(counts[&EventStatus::Pending], 3);
    }

    async fn event_counts_group_by_instance_source_kind_and_status(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        for i in 0..3 {
            store.events().record(event(instance, &format!("m{i}"), "lane")).await.unwrap();
        }
        let mut receipt = event(instance, "r1", "lane-2");
        receipt.kind = "receipt".to_owned();
        store.events().record(receipt).await.unwrap();
        let mut outbound = NewEvent::new(instance, Source::Chatwoot, "c1", "lane-3", "{}");
        outbound.kind = "message_created".to_owned();
        store.events().record(outbound).await.unwrap();
        let claimed = store.events().claim("w", 1, LEASE).await.unwrap();
        store.events().complete(&claimed[0].lease, Vec::new()).await.unwrap();
        let mut counts: Vec<_> = store
            .events().counts()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.instance_id, c.source, c.kind, c.status, c.count))
            .collect();
        counts.sort_by(|a, b| (a.1.as_str(), &a.2, a.3).cmp(&(b.1.as_str(), &b.2, b.3)));
        assert_eq!(
            counts,
            vec![
                (instance, Source::Chatwoot, "message_created".to_owned(), EventStatus::Pending, 1),
                (instance, Source::Gateway, "message".to_owned(), EventStatus::Pending, 2),
                (instance, Source::Gateway, "message".to_owned(), EventStatus::Done, 1),
                (instance, Source::Gateway, "receipt".to_owned(), EventStatus::Pending, 1),
            ]
        );
        store.check_writable().await.unwrap();
    }

    async fn expired_leases_are_claimable_at_once(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        store.events().record(event(instance, "crashy", "lane")).await.unwrap();
        let claimed = store.events().claim("dead-worker", 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(store.events().claim("new-worker", 10, LEASE).await.unwrap().is_empty(), "leased");
        assert_eq!(store.expire_leases().await.unwrap(), 1);
        let again = store.events().claim("new-worker", 10, LEASE).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].lease.attempt, 2);
        // The dead worker's late completion is refused.
        assert!(matches!(store.events().complete(&claimed[0].lease, Vec::new()).await, Err(StoreError::LeaseLost(_))));
        store.events().complete(&again[0].lease, Vec::new()).await.unwrap();
        assert_eq!(store.expire_leases().await.unwrap(), 0);
    }

    async fn outcomes_written_together_keep_their_own_answers(db) {
        // Workers finishing at the same moment share a commit (group commit); each outcome
        // still stands alone: a lost lease fails only its own, the others and their effects land.
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        for i in 0..40 {
            store.events().record(event(instance, &format!("k{i}"), &format!("lane-{i}"))).await.unwrap();
        }
        let claimed = store.events().claim("worker", 40, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 40);
        let stale = claimed[7].lease.clone();
        store.events().complete(&stale, Vec::new()).await.unwrap();
        let mut tasks = Vec::new();
        for (i, c) in claimed.iter().enumerate() {
            let store = store.clone();
            let lease = c.lease.clone();
            let effect = Effect::Message(mapping(instance, &format!("wamid-{i}")));
            tasks.push(tokio::spawn(async move { store.events().complete(&lease, vec![effect]).await }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            let result = task.await.unwrap();
            let mapped = store.mappings().messages_by_wa_id(instance, &format!("wamid-{i}")).await.unwrap();
            if i == 7 {
                assert!(matches!(result, Err(StoreError::LeaseLost(_))), "{result:?}");
                assert!(mapped.is_empty(), "a refused outcome writes none of its effects");
            } else {
                result.unwrap();
                assert_eq!(mapped.len(), 1, "wamid-{i}");
                assert_eq!(store.events().get(claimed[i].event.id).await.unwrap().unwrap().status, EventStatus::Done);
            }
        }
    }

    async fn a_renewed_lease_outlives_its_first_term(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        store.events().record(event(instance, "slow", "lane")).await.unwrap();
        let claimed = store.events().claim("worker", 10, Duration::from_millis(300)).await.unwrap();
        store.events().renew(&claimed[0].lease, Duration::from_secs(60)).await.unwrap();
        db.clock.advance(Duration::from_millis(400));
        assert!(store.events().claim("thief", 10, LEASE).await.unwrap().is_empty(), "renewed lease taken");
        store.events().complete(&claimed[0].lease, Vec::new()).await.unwrap();
        // A lease that is gone cannot be renewed.
        assert!(matches!(store.events().renew(&claimed[0].lease, LEASE).await, Err(StoreError::LeaseLost(_))));
    }

    async fn concurrent_ingest_keeps_every_event(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let mut tasks = Vec::new();
        for w in 0..32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    store.events().record(event(instance, &format!("w{w}-{i}"), &format!("lane-{}", i % 5))).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let counts = store.events().count_by_status(None).await.unwrap();
        assert_eq!(counts[&EventStatus::Pending], 800);
    }

    async fn lanes_run_in_order_one_at_a_time_under_concurrent_claimers(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let expected = fill_lanes(&store, instance, 8, 25).await;
        let order = drain_concurrently(vec![store.clone()], 8).await;
        assert_eq!(order.len(), 8);
        for (lane, ids) in &expected {
            assert_eq!(&order[lane], ids, "lane {lane} out of order");
        }
        assert_eq!(store.events().count_by_status(None).await.unwrap()[&EventStatus::Done], 200);
    }

    async fn two_stores_on_one_database_never_run_a_lane_twice(db) {
        let a = db.open().await;
        let b = db.open().await;
        let instance = instance_id(&a, "alpha").await;
        let expected = fill_lanes(&a, instance, 6, 20).await;
        let order = drain_concurrently(vec![a.clone(), b.clone()], 8).await;
        for (lane, ids) in &expected {
            assert_eq!(&order[lane], ids, "lane {lane} out of order");
        }
        assert_eq!(b.events().count_by_status(None).await.unwrap()[&EventStatus::Done], 120);
    }

    async fn an_expired_lease_is_claimed_again_and_the_old_worker_writes_nothing(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let id = store.events().record(event(instance, "k", "lane")).await.unwrap().id;
        store.events().record(event(instance, "k2", "lane")).await.unwrap();

        // Worker A takes the head with a lease that has already run out, then "crashes".
        let a = store.events().claim("worker-a", 10, Duration::ZERO).await.unwrap();
        assert_eq!(a.len(), 1, "only the lane head is handed out");
        assert_eq!(a[0].event.id, id);
        assert_eq!(a[0].lease.attempt, 1);

        let b = store.events().claim("worker-b", 10, LEASE).await.unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].event.id, id, "the expired head is claimed again, not skipped");
        assert_eq!(b[0].lease.attempt, 2);
        assert!(store.events().claim("worker-c", 10, LEASE).await.unwrap().is_empty(), "lane busy while B holds it");

        // A wakes up and tries to finish: refused, and its effects are not written.
        let effect = Effect::Message(mapping(instance, "wamid-A"));
        let err = store.events().complete(&a[0].lease, vec![effect]).await.unwrap_err();
        assert!(matches!(err, StoreError::LeaseLost(x) if x == id), "{err:?}");
        assert!(store.mappings().messages_by_wa_id(instance, "wamid-A").await.unwrap().is_empty());
        assert!(matches!(store.events().fail(&a[0].lease, "x", None, Vec::new()).await, Err(StoreError::LeaseLost(_))));

        store.events().complete(&b[0].lease, vec![Effect::Message(mapping(instance, "wamid-B"))]).await.unwrap();
        assert_eq!(store.mappings().messages_by_wa_id(instance, "wamid-B").await.unwrap().len(), 1);
        assert_eq!(store.events().get(id).await.unwrap().unwrap().status, EventStatus::Done);
        // Now the next event of the lane is free.
        assert_eq!(store.events().claim("worker-c", 10, LEASE).await.unwrap().len(), 1);
    }

    async fn retry_dead_letter_and_replay(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let head = store.events().record(event(instance, "a1", "lane-a")).await.unwrap().id;
        let behind = store.events().record(event(instance, "a2", "lane-a")).await.unwrap().id;
        let other = store.events().record(event(instance, "b1", "lane-b")).await.unwrap().id;

        let claimed = store.events().claim("w", 10, LEASE).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|c| c.event.id).collect();
        assert_eq!(ids, vec![head, other]);
        let head_lease = claimed[0].lease.clone();
        store.events().complete(&claimed[1].lease, Vec::new()).await.unwrap();

        // A retry in an hour: the lane waits (the event behind is not handed out)...
        let later = SystemTime::now() + Duration::from_secs(3600);
        assert_eq!(store.events().fail(&head_lease, "chatwoot 503", Some(later), Vec::new()).await.unwrap(), EventStatus::Failed);
        let stored = store.events().get(head).await.unwrap().unwrap();
        assert_eq!(stored.status, EventStatus::Failed);
        assert_eq!(stored.last_error.as_deref(), Some("chatwoot 503"));
        assert!(stored.lease_owner.is_none());
        store.events().record(event(instance, "b2", "lane-b")).await.unwrap();
        let claimed = store.events().claim("w", 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 1, "only lane b moves while lane a waits");
        assert_eq!(claimed[0].event.lane, "lane-b");
        store.events().complete(&claimed[0].lease, Vec::new()).await.unwrap();

        // Replay brings it back at once, with a fresh schedule.
        assert!(store.events().retry(head).await.unwrap());
        let claimed = store.events().claim("w", 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].event.id, head);
        assert_eq!(claimed[0].lease.attempt, 1);

        // Retry due now: claimable again, attempts count up.
        store.events().fail(&claimed[0].lease, "timeout", Some(SystemTime::now()), Vec::new()).await.unwrap();
        let claimed = store.events().claim("w", 10, LEASE).await.unwrap();
        assert_eq!(claimed[0].event.id, head);
        assert_eq!(claimed[0].lease.attempt, 2);

        // Running events cannot be replayed from under their worker.
        assert!(matches!(store.events().retry(head).await, Err(StoreError::Conflict(_))));

        // Dead-lettered: no longer blocks the lane.
        assert_eq!(store.events().fail(&claimed[0].lease, "gave up", None, Vec::new()).await.unwrap(), EventStatus::Dead);
        let dead = store.events().get(head).await.unwrap().unwrap();
        assert_eq!(dead.status, EventStatus::Dead);
        assert!(dead.finished_at_ms.is_some());
        let claimed = store.events().claim("w", 10, LEASE).await.unwrap();
        assert_eq!(claimed.iter().map(|c| c.event.id).collect::<Vec<_>>(), vec![behind]);
        store.events().ignore(&claimed[0].lease, "echo of our own message", Vec::new()).await.unwrap();
        assert_eq!(store.events().get(behind).await.unwrap().unwrap().status, EventStatus::Ignored);

        // A dead event can be replayed.
        assert!(store.events().retry(head).await.unwrap());
        assert_eq!(store.events().get(head).await.unwrap().unwrap().status, EventStatus::Pending);
        assert!(!store.events().retry(987_654).await.unwrap());
    }

    async fn listing_counting_and_lag(db) {
        let store = db.open().await;
        let alpha = instance_id(&store, "alpha").await;
        let beta = instance_id(&store, "beta").await;
        for i in 0..7 {
            store.events().record(event(alpha, &format!("a{i}"), &format!("l{i}"))).await.unwrap();
        }
        let mut cw = event(beta, "c1", "l");
        cw.source = Source::Chatwoot;
        store.events().record(cw).await.unwrap();

        // Keyset pagination, newest first, bodies left out.
        let mut filter = EventFilter::new().instance(alpha).limit(3);
        let mut seen = Vec::new();
        loop {
            let page = store.events().list(filter.clone()).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.iter().all(|e| e.body.is_none() && e.instance_id == alpha));
            filter = filter.before_id(page.last().unwrap().id);
            seen.extend(page.into_iter().map(|e| e.id));
        }
        assert_eq!(seen.len(), 7);
        assert!(seen.windows(2).all(|w| w[0] > w[1]));

        let chatwoot = store
            .events().list(EventFilter::new().source(Source::Chatwoot))
            .await
            .unwrap();
        assert_eq!(chatwoot.len(), 1);
        assert_eq!(chatwoot[0].instance_id, beta);
        let future = store
            .events().list(EventFilter::new().since_ms(i64::MAX / 2))
            .await
            .unwrap();
        assert!(future.is_empty());

        let claimed = store.events().claim("w", 2, LEASE).await.unwrap();
        store.events().complete(&claimed[0].lease, Vec::new()).await.unwrap();
        let counts = store.events().count_by_status(Some(alpha)).await.unwrap();
        assert_eq!(counts[&EventStatus::Done], 1);
        assert_eq!(counts[&EventStatus::Running], 1);
        assert_eq!(counts[&EventStatus::Pending], 5);
        assert_eq!(counts[&EventStatus::Dead], 0);
        let done = store
            .events().list(EventFilter::new().status(EventStatus::Done))
            .await
            .unwrap();
        assert_eq!(done.len(), 1);

        let lag = store.events().oldest_unprocessed_age().await.unwrap();
        assert_eq!(lag.len(), 2);
        assert!(lag[&alpha] < Duration::from_secs(60));
    }

    async fn prune_drops_bodies_then_rows_of_finished_events_only(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        let done = store.events().record(event(instance, "done", "l1")).await.unwrap().id;
        let dead = store.events().record(event(instance, "dead", "l2")).await.unwrap().id;
        let failed = store.events().record(event(instance, "failed", "l3")).await.unwrap().id;
        let pending = store.events().record(event(instance, "pending", "l4")).await.unwrap().id;
        let claimed = store.events().claim("w", 3, LEASE).await.unwrap();
        store.events().complete(&claimed[0].lease, Vec::new()).await.unwrap();
        store.events().fail(&claimed[1].lease, "x", None, Vec::new()).await.unwrap();
        store.events().fail(&claimed[2].lease, "x", Some(SystemTime::now() + LEASE), Vec::new()).await.unwrap();
        db.clock.advance(Duration::from_millis(5));

        let report = store.prune(Duration::ZERO, Duration::from_secs(3600)).await.unwrap();
        assert_eq!(report.bodies_cleared, 1);
        assert_eq!(report.events_deleted, 0);
        assert!(store.events().get(done).await.unwrap().unwrap().body.is_none());
        for kept in [dead, failed, pending] {
            assert!(store.events().get(kept).await.unwrap().unwrap().body.is_some());
        }
        assert!(matches!(store.events().retry(done).await, Err(StoreError::Conflict(_))), "a pruned body cannot be replayed");

        let report = store.prune(Duration::ZERO, Duration::ZERO).await.unwrap();
        assert_eq!(report.events_deleted, 1);
        assert!(store.events().get(done).await.unwrap().is_none());
        for kept in [dead, failed, pending] {
            assert!(store.events().get(kept).await.unwrap().is_some());
        }
    }

    async fn complete_writes_effects_in_the_same_transaction(db) {
        let store = db.open().await;
        let instance = instance_id(&store, "alpha").await;
        store.events().record(event(instance, "k", "lane")).await.unwrap();
        let claimed = store.events().claim("w", 1, LEASE).await.unwrap();
        let mut done = mapping(instance, "wamid-1");
        done.chatwoot_message_id = Some(501);
        done.state = MessageState::Done;
        store
            .events().complete(&claimed[0].lease, vec![
                Effect::Message(done),
                Effect::Delivery { instance_id: instance, wa_message_id: "wamid-1".to_owned(), status: ReceiptLevel::Delivered },
            ])
            .await
            .unwrap();
        let maps = store.mappings().messages_by_wa_id(instance, "wamid-1").await.unwrap();
        assert_eq!(maps.len(), 1);
        assert_eq!(maps[0].message.chatwoot_message_id, Some(501));
        assert_eq!(maps[0].delivery, ReceiptLevel::Delivered);
        assert_eq!(maps[0].message.state, MessageState::Done);

        // A failing effect rolls the whole completion back: the event stays running.
        store.events().record(event(instance, "k2", "lane")).await.unwrap();
        let claimed = store.events().claim("w", 1, LEASE).await.unwrap();
        let mut clash = mapping(instance, "wamid-2");
        clash.chatwoot_message_id = Some(501); // already mapped to wamid-1, part 0
        let err = store.events().complete(&claimed[0].lease, vec![Effect::Message(clash)]).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        assert_eq!(store.events().get(claimed[0].event.id).await.unwrap().unwrap().status, EventStatus::Running);
        assert!(store.mappings().messages_by_wa_id(instance, "wamid-2").await.unwrap().is_empty());
    }
}

fn mapping(instance: i64, wa: &str) -> NewMessage {
    let mut m = NewMessage::intent(instance, "5511@s.whatsapp.net", Direction::Incoming);
    m.wa_message_id = Some(wa.to_owned());
    m
}
