//! Outbound webhooks: the engine's activity reaches subscribers signed, once per webhook-id,
//! in lane order, on a retry schedule driven by a test clock; 410 and days of failures
//! disable an endpoint; untrusted targets are refused; a crash anywhere loses nothing.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use zapwoot_fakes::{FakeRequest, Receiver};
use zapwoot_signing::{Keyring, Secret};
use zapwoot_store::{
    Delivery, DeliveryFilter, DeliveryState, NewSubscription, SecretString, Store,
};
use zapwoot_sync::webhooks::{Clock as _, ManualClock, WebhookDispatcher, WebhookPolicy};

use super::support::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER: &str = "5511976543210@s.whatsapp.net";

/// Defines each test for SQLite and PostgreSQL (wuzapi; the gateway does not matter here).
macro_rules! both_dbs {
    ($($tests:tt)*) => {
        zapwoot_testkit::on_both_databases! {
            @with |db| crate::support::harness(db, zapwoot_gateway::GatewayKind::Wuzapi),
                crate::support::Harness;
            $($tests)*
        }
    };
}

async fn subscribe(store: &Store, url: &str, events: &[&str], allow_private: bool) -> i64 {
    let mut new = NewSubscription::new(
        url,
        events.iter().map(|e| (*e).to_owned()).collect(),
        SecretString::new(SECRET),
    );
    new.allow_private_network = allow_private;
    new.headers.insert("X-Tenant".to_owned(), "acme".to_owned());
    new.headers
        .insert("Webhook-Id".to_owned(), "spoofed".to_owned());
    store.subscriptions().create(new).await.unwrap().id
}

fn dispatcher(h: &Harness, clock: &ManualClock) -> Arc<WebhookDispatcher> {
    WebhookDispatcher::with_clock(
        h.store.clone(),
        h.engine.activity().clone(),
        WebhookPolicy::default(),
        Arc::new(clock.clone()),
    )
    .unwrap()
}

fn keyring(secret: &str) -> Keyring {
    Keyring::new(&Secret::from_standard(secret).unwrap())
}

fn verify(keys: &Keyring, r: &FakeRequest) -> Result<(), zapwoot_signing::VerifyError> {
    keys.verify_standard(
        r.headers.get("webhook-id").map(|v| v.as_bytes()),
        r.headers.get("webhook-timestamp").map(|v| v.as_bytes()),
        r.headers.get("webhook-signature").map(|v| v.as_bytes()),
        &r.body,
    )
}

fn body(r: &FakeRequest) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

async fn deliveries(store: &Store, subscription: i64) -> Vec<Delivery> {
    let mut all = store
        .deliveries()
        .list(DeliveryFilter::subscription(subscription))
        .await
        .unwrap();
    all.reverse();
    all
}

/// Moves the clock to each failed delivery's next attempt and runs them, `rounds` times.
async fn retry_rounds(
    store: &Store,
    d: &WebhookDispatcher,
    clock: &ManualClock,
    sub: i64,
    rounds: usize,
) {
    for _ in 0..rounds {
        let next = deliveries(store, sub)
            .await
            .iter()
            .filter(|d| d.state == DeliveryState::Failed)
            .map(|d| d.next_attempt_at_ms)
            .min();
        let Some(next) = next else { return };
        let wait = next - clock.now_ms();
        if wait > 0 {
            clock.advance(Duration::from_millis(u64::try_from(wait).unwrap()));
        }
        d.drain().await;
    }
}

both_dbs! {
    async fn deliveries_are_signed_ordered_and_survive_rotation(h) {
        let receiver = Receiver::start().await.unwrap();
        let sub = subscribe(&h.store, &receiver.url(), &["message.*"], true).await;
        let clock = ManualClock::new();
        let d = dispatcher(&h, &clock);
        let first = h.customer_text(CUSTOMER, "um");
        let second = h.customer_text(CUSTOMER, "dois");
        h.settle().await;
        d.drain().await;
        let got = receiver.received();
        assert_eq!(got.len(), 2);
        let keys = keyring(SECRET);
        for r in &got {
            verify(&keys, r).unwrap();
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(r.header("x-tenant"), Some("acme"), "custom headers are sent");
            assert!(r.header("webhook-id").unwrap().starts_with("msg_"), "custom headers cannot replace webhook-id");
        }
        let bodies: Vec<Value> = got.iter().map(body).collect();
        assert_eq!(bodies[0]["type"], "message.received");
        assert_eq!(bodies[0]["data"]["instance"], "alpha");
        assert_eq!(bodies[0]["data"]["wa_message_id"], first.as_str());
        assert_eq!(bodies[1]["data"]["wa_message_id"], second.as_str());
        assert_eq!(bodies[0]["data"]["kind"], "text");
        assert!(bodies[0]["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(bodies[0]["data"]["chatwoot_message_id"].is_u64());

        // Rotation: both signatures are sent; receivers on either secret verify.
        let new_secret = Secret::generate().unwrap().expose_standard();
        h.store.subscriptions().rotate_secret(sub, SecretString::new(new_secret.clone()), Duration::from_secs(3600)).await.unwrap();
        h.customer_text(CUSTOMER, "três");
        h.settle().await;
        d.drain().await;
        let last = receiver.received().pop().unwrap();
        assert_eq!(last.header("webhook-signature").unwrap().split(' ').count(), 2);
        verify(&keyring(SECRET), &last).unwrap();
        verify(&keyring(&new_secret), &last).unwrap();
        assert!(verify(&keyring("whsec_dW5yZWxhdGVkIHNlY3JldCBrZXkgaGVyZQ=="), &last).is_err());
        // After the overlap only the new secret signs.
        clock.advance(Duration::from_secs(3601));
        h.customer_text(CUSTOMER, "quatro");
        h.settle().await;
        d.drain().await;
        let last = receiver.received().pop().unwrap();
        assert_eq!(last.header("webhook-signature").unwrap().split(' ').count(), 1);
        verify(&keyring(&new_secret), &last).unwrap();
        assert!(verify(&keyring(SECRET), &last).is_err());
        let all = deliveries(&h.store, sub).await;
        assert!(all.iter().all(|d| d.state == DeliveryState::Done && d.history.len() == 1));
        assert_eq!(all[0].history[0].status_code, Some(200));
    }

    async fn retries_follow_the_schedule_then_give_up(h) {
        let receiver = Receiver::start().await.unwrap();
        receiver.set_status(500);
        let sub = subscribe(&h.store, &receiver.url(), &["*"], true).await;
        let clock = ManualClock::new();
        let d = dispatcher(&h, &clock);
        h.customer_text(CUSTOMER, "olá");
        h.settle().await;
        assert_eq!(d.drain().await, 1);
        let schedule = WebhookPolicy::default().schedule;
        for (i, base) in schedule.iter().enumerate() {
            let delivery = deliveries(&h.store, sub).await.remove(0);
            assert_eq!(delivery.state, DeliveryState::Failed);
            let last = delivery.history.last().unwrap();
            let gap = Duration::from_millis(u64::try_from(delivery.next_attempt_at_ms - last.attempted_at_ms).unwrap());
            assert!(gap >= base.mul_f64(0.8) && gap <= base.mul_f64(1.2), "retry {i}: {gap:?} vs {base:?}");
            // Not early (a second before it is due), and on time.
            let due_in = u64::try_from(delivery.next_attempt_at_ms - clock.now_ms()).unwrap();
            clock.advance(Duration::from_millis(due_in) - Duration::from_secs(1));
            assert_eq!(d.drain().await, 0, "retry {i} ran early");
            clock.advance(Duration::from_secs(1));
            assert_eq!(d.drain().await, 1, "retry {i} did not run when due");
        }
        let delivery = deliveries(&h.store, sub).await.remove(0);
        assert_eq!(delivery.state, DeliveryState::Dead);
        assert_eq!(delivery.history.len(), schedule.len() + 1);
        assert!(delivery.history.iter().all(|a| a.status_code == Some(500)));
        assert_eq!(receiver.received().len(), schedule.len() + 1);
        let ids: HashSet<_> = receiver.received().iter().map(|r| r.header("webhook-id").unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 1, "one webhook-id across every retry");
        clock.advance(Duration::from_secs(7 * 24 * 3600));
        assert_eq!(d.drain().await, 0, "given up");
    }

    async fn a_subscriber_down_for_a_while_gets_everything_in_order(h) {
        let receiver = Receiver::start().await.unwrap();
        receiver.faults().set_down(true);
        let sub = subscribe(&h.store, &receiver.url(), &["message.received"], true).await;
        let clock = ManualClock::new();
        let d = dispatcher(&h, &clock);
        let mut sent: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for i in 0..6 {
            for chat in [CUSTOMER, OTHER] {
                sent.entry(chat).or_default().push(h.customer_text(chat, &format!("msg {i}")));
            }
        }
        h.settle().await;
        d.drain().await;
        retry_rounds(&h.store, &d, &clock, sub, 4).await;
        let failing = h.store.subscriptions().get(sub).await.unwrap().unwrap();
        assert!(failing.enabled && failing.failing_since_ms.is_some());
        let attempted = deliveries(&h.store, sub).await.iter().filter(|d| d.attempts > 0).count();
        assert_eq!(attempted, 2, "ordered: only each chat's first message is tried while down");

        receiver.faults().set_down(false);
        retry_rounds(&h.store, &d, &clock, sub, 5).await;
        d.drain().await;
        let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in receiver.received() {
            let b = body(&r);
            got.entry(b["data"]["chat"].as_str().unwrap().to_owned()).or_default().push(b["data"]["wa_message_id"].as_str().unwrap().to_owned());
        }
        for (chat, ids) in &sent {
            assert_eq!(&got[*chat], ids, "chat {chat}: every message once, in order");
        }
        assert!(deliveries(&h.store, sub).await.iter().all(|d| d.state == DeliveryState::Done));
        assert_eq!(h.store.subscriptions().get(sub).await.unwrap().unwrap().failing_since_ms, None);
    }

    async fn gone_disables_the_subscription_and_says_so(h) {
        let gone = Receiver::start().await.unwrap();
        gone.set_status(410);
        let watcher = Receiver::start().await.unwrap();
        let sub = subscribe(&h.store, &gone.url(), &["*"], true).await;
        let watch = subscribe(&h.store, &watcher.url(), &["endpoint.*"], true).await;
        let mut activity = h.engine.activity().subscribe();
        let clock = ManualClock::new();
        let d = dispatcher(&h, &clock);
        h.customer_text(CUSTOMER, "olá");
        h.settle().await;
        d.drain().await;
        let s = h.store.subscriptions().get(sub).await.unwrap().unwrap();
        assert!(!s.enabled);
        assert_eq!(s.disabled_reason.as_deref(), Some("the receiver answered 410 Gone"));
        d.drain().await;
        let notice = watcher.received();
        assert_eq!(notice.len(), 1);
        let b = body(&notice[0]);
        assert_eq!(b["type"], "endpoint.disabled");
        assert_eq!(b["data"]["subscription_id"], sub);
        assert!(b["data"].get("instance").is_none());
        verify(&keyring(SECRET), &notice[0]).unwrap();
        let mut announced = false;
        while let Ok(a) = activity.try_recv() {
            announced |= a.name() == "endpoint.disabled";
        }
        assert!(announced, "on the activity stream too");
        // Nothing more goes to a disabled subscription.
        h.customer_text(CUSTOMER, "de novo");
        h.settle().await;
        clock.advance(Duration::from_secs(86_400));
        d.drain().await;
        assert_eq!(gone.received().len(), 1);
        assert_eq!(deliveries(&h.store, watch).await.len(), 1);
    }

    async fn five_days_of_failures_disable_the_subscription(h) {
        let receiver = Receiver::start().await.unwrap();
        receiver.set_status(503);
        let sub = subscribe(&h.store, &receiver.url(), &["message.received"], true).await;
        let mut activity = h.engine.activity().subscribe();
        let clock = ManualClock::new();
        let d = dispatcher(&h, &clock);
        h.customer_text(CUSTOMER, "day 0");
        h.settle().await;
        d.drain().await;
        retry_rounds(&h.store, &d, &clock, sub, 20).await;
        assert_eq!(deliveries(&h.store, sub).await[0].state, DeliveryState::Dead);
        assert!(h.store.subscriptions().get(sub).await.unwrap().unwrap().enabled, "3 days of failures: still on");

        // A day later another message fails too; at day 5 without a success the endpoint goes.
        clock.advance(Duration::from_secs(24 * 3600));
        h.customer_text(CUSTOMER, "day 4");
        h.settle().await;
        d.drain().await;
        assert!(h.store.subscriptions().get(sub).await.unwrap().unwrap().enabled);
        retry_rounds(&h.store, &d, &clock, sub, 20).await;
        let s = h.store.subscriptions().get(sub).await.unwrap().unwrap();
        assert!(!s.enabled);
        assert!(s.disabled_reason.unwrap().contains("5.0 days"));
        let mut announced = 0;
        while let Ok(a) = activity.try_recv() {
            if a.name() == "endpoint.disabled" {
                announced += 1;
                assert_eq!(a.data()["subscription_id"], sub);
            }
        }
        assert_eq!(announced, 1);
        let last = deliveries(&h.store, sub).await.pop().unwrap();
        assert_eq!(last.state, DeliveryState::Failed, "held, not lost: resumes if re-enabled");
        receiver.set_status(200);
        h.store.subscriptions().set_enabled(sub, true).await.unwrap();
        retry_rounds(&h.store, &d, &clock, sub, 1).await;
        assert_eq!(deliveries(&h.store, sub).await.pop().unwrap().state, DeliveryState::Done);
    }

    async fn untrusted_targets_are_refused_and_redirects_not_followed(h) {
        let receiver = Receiver::start().await.unwrap();
        let port = receiver.url().rsplit(':').next().unwrap().to_owned();
        let by_name = subscribe(&h.store, &format!("http://localhost:{port}"), &["*"], false).await;
        let literal = subscribe(&h.store, &receiver.url(), &["*"], false).await;
        let metadata = subscribe(&h.store, "http://169.254.169.254/latest/meta-data", &["*"], true).await;
        let target = Receiver::start().await.unwrap();
        let redirecting = Receiver::start().await.unwrap();
        redirecting.set_status(302);
        redirecting.set_reply(&[("location", &target.url())], vec![b'x'; 256 * 1024]);
        let redirect = subscribe(&h.store, &redirecting.url(), &["*"], true).await;
        let clock = ManualClock::new();
        let d = dispatcher(&h, &clock);
        h.customer_text(CUSTOMER, "olá");
        h.settle().await;
        d.drain().await;
        assert!(receiver.received().is_empty(), "no request reached a private target");
        for (sub, expected) in [(by_name, "allow_private_network"), (literal, "allow_private_network"), (metadata, "link-local")] {
            let attempt = deliveries(&h.store, sub).await[0].history[0].clone();
            assert_eq!(attempt.status_code, None);
            let error = attempt.error.unwrap();
            assert!(error.contains(expected), "{error}");
        }
        assert_eq!(redirecting.received().len(), 1);
        assert!(target.received().is_empty(), "redirect not followed");
        let attempt = deliveries(&h.store, redirect).await[0].history[0].clone();
        assert_eq!(attempt.status_code, Some(302));
        let excerpt = attempt.response.unwrap();
        assert!(excerpt.len() <= 1024 + 3, "response excerpt capped: {}", excerpt.len());
        assert_eq!(deliveries(&h.store, redirect).await[0].state, DeliveryState::Failed);
    }

    async fn a_crash_between_activity_and_delivery_loses_nothing(h) {
        let receiver = Receiver::start().await.unwrap();
        let sub = subscribe(&h.store, &receiver.url(), &["message.received"], true).await;
        let clock = ManualClock::new();
        // The engine records deliveries with its outcomes; no dispatcher runs yet (the process
        // dies before sending anything).
        let ids: Vec<String> = (0..5).map(|i| h.customer_text(CUSTOMER, &format!("m{i}"))).collect();
        h.settle().await;
        assert_eq!(deliveries(&h.store, sub).await.len(), 5);

        // A dispatcher dies mid-request: the request went out, its outcome was never recorded.
        receiver.faults().set_latency(Duration::from_secs(2));
        let dying = dispatcher(&h, &clock);
        let attempt = tokio::spawn(async move { dying.run_once().await });
        assert!(receiver.faults().wait_applied(1, Duration::from_secs(10)).await, "the request never went out");
        attempt.abort();
        let _ = attempt.await;
        receiver.faults().set_latency(Duration::ZERO);
        let states: Vec<DeliveryState> = deliveries(&h.store, sub).await.iter().map(|d| d.state).collect();
        assert_eq!(states[0], DeliveryState::Running, "cut off mid-attempt: {states:?}");

        // A new process: the lease runs out and everything is delivered, in order.
        let d = dispatcher(&h, &clock);
        assert_eq!(d.drain().await, 0, "leased by the dead dispatcher");
        clock.advance(WebhookPolicy::default().timeout + Duration::from_secs(11));
        d.drain().await;
        let mut seen = Vec::new();
        for r in receiver.received() {
            let id = r.header("webhook-id").unwrap().to_owned();
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        assert_eq!(seen.len(), 5, "every delivery arrived (the interrupted one maybe twice, same webhook-id)");
        let got: Vec<String> = seen.iter().map(|id| {
            let r = receiver.received().into_iter().find(|r| r.header("webhook-id") == Some(id)).unwrap();
            body(&r)["data"]["wa_message_id"].as_str().unwrap().to_owned()
        }).collect();
        assert_eq!(got, ids);
        assert!(deliveries(&h.store, sub).await.iter().all(|d| d.state == DeliveryState::Done));
    }
}
