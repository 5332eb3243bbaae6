//! Outbound webhooks for third parties (bots, CRMs, analytics).
//!
//! Every [`Activity`] the engine records becomes a [`Notification`] written in the same
//! transaction as the event's outcome ([`notification`]); the store fans it out to each
//! matching subscription as a delivery row. A [`WebhookDispatcher`] claims due deliveries,
//! sends them signed per Standard Webhooks (`webhook-id` stable across retries,
//! `webhook-timestamp`, `webhook-signature` with both secrets during a rotation), and records
//! every attempt. `2xx` is success; `410 Gone` disables the subscription; anything else (other
//! statuses, redirects, timeouts, refused targets) is retried on [`WebhookPolicy`]'s schedule.
//! A subscription failing for [`WebhookPolicy::disable_after`] without a success is disabled,
//! and an `endpoint.disabled` activity says so.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use zapwoot_store::{
    ClaimedDelivery, DeliveryAttempt, DeliveryNext, Notification, Store, StoreError, Subscription,
};

use crate::activity::{ActivityKind, EndpointDisabled, EndpointTest};
use crate::{Activity, ActivityBus, SyncError};

mod clock;
mod policy;
mod send;

pub use crate::netguard::{address_allowed, url_refusal};
pub use clock::{Clock, ManualClock, SystemClock};
pub use policy::WebhookPolicy;

pub(crate) use clock::rfc3339;
use policy::Setback;
use send::{Answer, Sender};

/// The delivery body of `activity`: `{"type", "timestamp" (RFC 3339), "data": {"instance", …}}`.
#[must_use]
pub fn payload(activity: &Activity) -> String {
    let mut data = activity.data();
    if !activity.instance.is_empty() {
        data.insert("instance".to_owned(), json!(activity.instance));
    }
    json!({
        "type": activity.name(),
        "timestamp": rfc3339(activity.timestamp_ms),
        "data": data,
    })
    .to_string()
}

/// The notification of `activity` (about instance `instance_id`), with webhook id
/// `message_id`, ordered within `lane`.
#[must_use]
pub fn notification(
    activity: &Activity,
    instance_id: Option<i64>,
    message_id: String,
    lane: String,
) -> Notification {
    let mut n = Notification::new(message_id, activity.name(), payload(activity)).in_lane(lane);
    if let Some(id) = instance_id {
        n = n.for_instance(id, activity.instance.clone());
    }
    n
}

/// A test event for one subscription (`endpoint.test`), to check a receiver end to end.
#[must_use]
pub fn test_notification(subscription_id: i64, now_ms: i64) -> Notification {
    let activity = Activity::new(
        "",
        ActivityKind::EndpointTest(EndpointTest {
            subscription_id,
            message: "a test event from zapwoot".to_owned(),
        }),
    )
    .at(now_ms);
    Notification::new(
        format!("msg_test_{subscription_id}_{now_ms}"),
        "endpoint.test",
        payload(&activity),
    )
    .in_lane("endpoint.test")
}

/// Sends due deliveries, retries them on schedule, and disables dead endpoints.
#[derive(Debug)]
pub struct WebhookDispatcher {
    store: Store,
    activity: ActivityBus,
    policy: WebhookPolicy,
    clock: Arc<dyn Clock>,
    sender: Sender,
    owner: String,
    wake: Notify,
}

impl WebhookDispatcher {
    /// A dispatcher on the system clock.
    ///
    /// # Errors
    /// [`SyncError::Client`] when the HTTP client cannot be built.
    pub fn new(
        store: Store,
        activity: ActivityBus,
        policy: WebhookPolicy,
    ) -> Result<Arc<Self>, SyncError> {
        Self::with_clock(store, activity, policy, Arc::new(SystemClock))
    }

    /// A dispatcher scheduling by `clock` (a [`ManualClock`] in tests).
    ///
    /// # Errors
    /// [`SyncError::Client`] when the HTTP client cannot be built.
    pub fn with_clock(
        store: Store,
        activity: ActivityBus,
        policy: WebhookPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, SyncError> {
        let sender = Sender::new(&policy)?;
        let nanos = clock::unix_ms(std::time::SystemTime::now());
        Ok(Arc::new(Self {
            store,
            activity,
            policy,
            clock,
            sender,
            owner: format!("webhooks-{}-{nanos:x}", std::process::id()),
            wake: Notify::new(),
        }))
    }

    /// Tells the dispatcher new deliveries may be due (it also polls every second).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Sends deliveries until `shutdown` turns true; attempts in flight finish first.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut activity = self.activity.subscribe();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if self.run_once().await == 0 {
                tokio::select! {
                    () = self.wake.notified() => {}
                    // New activity may have recorded deliveries: gather a little more
                    // before claiming, so a busy engine costs a few claims a second.
                    _ = activity.recv() => tokio::time::sleep(Duration::from_millis(50)).await,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Claims the deliveries due now and sends them; returns how many were attempted.
    pub async fn run_once(&self) -> usize {
        let now = self.clock.now_ms();
        let claimed = match self
            .store
            .deliveries()
            .claim(
                &self.owner,
                self.policy.concurrency,
                self.policy.lease(),
                now,
            )
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim webhook deliveries");
                return 0;
            }
        };
        let count = claimed.len();
        let mut tasks = JoinSet::new();
        let this = self.shared();
        for claim in claimed {
            let this = Arc::clone(&this);
            tasks.spawn(async move { this.attempt(claim).await });
        }
        while tasks.join_next().await.is_some() {}
        count
    }

    /// Sends until nothing is due at the clock's current time (tests and one-shot tools).
    pub async fn drain(&self) -> usize {
        let mut total = 0;
        loop {
            let n = self.run_once().await;
            if n == 0 {
                return total;
            }
            total += n;
        }
    }

    fn shared(&self) -> Arc<Attempter> {
        Arc::new(Attempter {
            store: self.store.clone(),
            activity: self.activity.clone(),
            policy: self.policy.clone(),
            clock: Arc::clone(&self.clock),
            sender: self.sender.clone(),
        })
    }
}

/// What one attempt needs, shareable with its task.
struct Attempter {
    store: Store,
    activity: ActivityBus,
    policy: WebhookPolicy,
    clock: Arc<dyn Clock>,
    sender: Sender,
}

impl Attempter {
    async fn attempt(&self, claim: ClaimedDelivery) {
        let ClaimedDelivery {
            delivery,
            lease,
            subscription,
            ..
        } = claim;
        let started = self.clock.now_ms();
        let answer = self.sender.send(&subscription, &delivery, started).await;
        let success = answer.status.is_some_and(|s| (200..300).contains(&s));
        let gone = answer.status == Some(410);
        let next = if success {
            DeliveryNext::Done
        } else {
            let setback = if answer.timed_out || answer.status == Some(429) {
                Setback::Overloaded
            } else {
                Setback::Plain
            };
            let retry_after = if matches!(answer.status, Some(429 | 503)) {
                answer.retry_after
            } else {
                None
            };
            match self
                .policy
                .retry_delay(lease.attempt, delivery.id, setback, retry_after)
            {
                Some(delay) => DeliveryNext::RetryAt(
                    started.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
                ),
                None => DeliveryNext::Dead,
            }
        };
        let record = to_attempt(started, answer);
        if let Some(error) = &record.error {
            tracing::debug!(subscription = subscription.id, delivery = delivery.id, attempt = lease.attempt, %error, "webhook delivery failed");
        }
        let health = match self.store.deliveries().finish(&lease, record, next).await {
            Ok(health) => health,
            Err(StoreError::LeaseLost(_)) => return,
            Err(e) => {
                tracing::warn!(delivery = delivery.id, error = %e, "could not record a webhook attempt; it will be retried");
                return;
            }
        };
        if gone {
            self.disable(
                &subscription,
                "the receiver answered 410 Gone",
                health.failing_since_ms,
            )
            .await;
        } else if let Some(since) = health.failing_since_ms
            && health.enabled
        {
            let failing = self.clock.now_ms().saturating_sub(since);
            let limit = i64::try_from(self.policy.disable_after.as_millis()).unwrap_or(i64::MAX);
            if failing >= limit {
                let days = self.policy.disable_after.as_secs_f64() / 86_400.0;
                let reason = format!("every delivery failed for {days:.1} days");
                self.disable(&subscription, &reason, Some(since)).await;
            }
        }
    }

    /// Disables `subscription` and announces it once: on the activity bus and to the other
    /// subscriptions of `endpoint.disabled`.
    async fn disable(&self, subscription: &Subscription, reason: &str, failing_since: Option<i64>) {
        match self
            .store
            .subscriptions()
            .disable(subscription.id, reason)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(subscription = subscription.id, error = %e, "could not disable a failing subscription");
                return;
            }
        }
        let now = self.clock.now_ms();
        tracing::warn!(subscription = subscription.id, %reason, "webhook subscription disabled");
        let activity = Activity::new(
            "",
            ActivityKind::EndpointDisabled(EndpointDisabled {
                subscription_id: subscription.id,
                url: redact_url(&subscription.config.url),
                reason: reason.to_owned(),
                failing_since: failing_since.map(rfc3339),
            }),
        )
        .at(now);
        let n = notification(
            &activity,
            None,
            format!("msg_disabled_{}_{now}", subscription.id),
            "endpoint".to_owned(),
        );
        if let Err(e) = self.store.deliveries().notify(vec![n]).await {
            tracing::warn!(error = %e, "could not record endpoint.disabled deliveries");
        }
        self.activity.publish(activity);
    }
}

impl std::fmt::Debug for Attempter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempter").finish_non_exhaustive()
    }
}

fn to_attempt(started: i64, answer: Answer) -> DeliveryAttempt {
    let mut attempt = DeliveryAttempt::new(started, answer.latency_ms);
    attempt.status_code = answer.status;
    attempt.error = answer.error;
    attempt.response = answer.response;
    attempt
}

/// The URL without its user info and query (they may carry credentials).
fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => String::new(),
    }
}
