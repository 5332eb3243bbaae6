//! [`Engine`]: claims stored events lane by lane and turns them into effects.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use zapwoot_store::{ClaimedEvent, Effect, NewEvent, Source, Store};

use crate::error::Failure;
use crate::media::MediaFetcher;
use crate::step::{Ctx, Outcome};
use crate::{
    Activity, ActivityBus, InstanceRuntime, RetryPolicy, inbound, integration, outbound, send,
};

/// How long a claimed event is reserved for its worker; renewed every third of it while the
/// worker is busy, so it only runs out when the worker is gone.
const LEASE: Duration = Duration::from_secs(30);

/// The sync engine. Cheap to share (`Arc`); runs any number of workers.
#[derive(Debug)]
pub struct Engine {
    store: Store,
    runtimes: RwLock<HashMap<i64, Arc<InstanceRuntime>>>,
    activity: ActivityBus,
    policy: RetryPolicy,
    owner: String,
    wake: Notify,
    batch: usize,
    lease: Duration,
    media: MediaFetcher,
    /// Best-effort work the steps left behind (avatar sync), awaited by `run` and `drain`.
    background: std::sync::Mutex<JoinSet<()>>,
}

impl Engine {
    /// An engine over `store`, publishing to `activity`.
    #[must_use]
    pub fn new(store: Store, activity: ActivityBus) -> Arc<Self> {
        Self::with_policy(store, activity, RetryPolicy::default())
    }

    /// An engine with a custom retry policy.
    #[must_use]
    pub fn with_policy(store: Store, activity: ActivityBus, policy: RetryPolicy) -> Arc<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Arc::new(Self {
            store,
            runtimes: RwLock::new(HashMap::new()),
            activity,
            policy,
            owner: format!("engine-{}-{nanos:x}", std::process::id()),
            wake: Notify::new(),
            batch: 64,
            lease: LEASE,
            media: MediaFetcher::default(),
            background: std::sync::Mutex::new(JoinSet::new()),
        })
    }

    /// The activity bus.
    #[must_use]
    pub fn activity(&self) -> &ActivityBus {
        &self.activity
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Media downloads and the process-wide media budget.
    pub(crate) fn media(&self) -> &MediaFetcher {
        &self.media
    }

    /// Adds or replaces an instance's runtime (workers use it from their next event).
    pub fn set_runtime(&self, runtime: InstanceRuntime) {
        if let Ok(mut map) = self.runtimes.write() {
            map.insert(runtime.id, Arc::new(runtime));
        }
        self.wake.notify_waiters();
    }

    /// Removes an instance's runtime; its events wait until it is back.
    pub fn remove_runtime(&self, instance_id: i64) {
        if let Ok(mut map) = self.runtimes.write() {
            map.remove(&instance_id);
        }
    }

    /// The runtime of an instance.
    #[must_use]
    pub fn runtime(&self, instance_id: i64) -> Option<Arc<InstanceRuntime>> {
        self.runtimes
            .read()
            .ok()
            .and_then(|m| m.get(&instance_id).cloned())
    }

    /// The ids of the instances with a runtime (running in this process), ascending.
    #[must_use]
    pub fn instance_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .runtimes
            .read()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Loads every enabled instance of the store and connects its clients; returns how many.
    /// Instances that cannot be connected are skipped with a warning.
    ///
    /// # Errors
    /// Store errors.
    pub async fn load_instances(&self) -> Result<usize, crate::SyncError> {
        let mut loaded = 0;
        for instance in self.store.instances().list().await? {
            if !instance.config.enabled {
                self.remove_runtime(instance.id);
                continue;
            }
            match InstanceRuntime::connect(&instance) {
                Ok(runtime) => {
                    self.set_runtime(runtime);
                    loaded += 1;
                }
                Err(e) => {
                    tracing::warn!(instance = %instance.config.name, error = %e, "instance not started")
                }
            }
        }
        Ok(loaded)
    }

    /// Tells idle workers new events are waiting.
    pub fn notify(&self) {
        self.wake.notify_waiters();
    }

    /// Runs workers until `shutdown` turns true; in-flight events finish first.
    ///
    /// Up to `batch` events are in flight; as they finish, more are claimed (once half of
    /// the slots is free, so a claim, which is a write, serves several events) — a slow event
    /// does not hold the others back.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let refill = (self.batch / 2).max(1);
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut more = true;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Listening before the claim: an event recorded while the claim runs (and found
            // nothing) still wakes this loop at once instead of at the next poll.
            let wake = self.wake.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            let free = self.batch - tasks.len();
            if more && (free >= refill || tasks.is_empty()) {
                let claimed = match self
                    .store
                    .events()
                    .claim(&self.owner, free, self.lease)
                    .await
                {
                    Ok(claimed) => claimed,
                    Err(e) => {
                        tracing::warn!(error = %e, "claim failed");
                        Vec::new()
                    }
                };
                more = claimed.len() == free;
                for event in claimed {
                    let engine = Arc::clone(&self);
                    tasks.spawn(async move { engine.process(event).await });
                }
                if more {
                    continue;
                }
            }
            // Wait for a finished event (its lane's next one may be claimable now), a new
            // event, the poll, or shutdown.
            tokio::select! {
                Some(_) = tasks.join_next(), if !tasks.is_empty() => more = true,
                () = wake => more = true,
                () = tokio::time::sleep(Duration::from_millis(100)) => more = true,
                _ = shutdown.changed() => {}
            }
        }
        while tasks.join_next().await.is_some() {}
        self.finish_background().await;
    }

    fn in_background(&self, work: Vec<crate::step::Background>) {
        if work.is_empty() {
            return;
        }
        if let Ok(mut set) = self.background.lock() {
            // Reap what finished, so the set does not grow with the work done.
            while set.try_join_next().is_some() {}
            for job in work {
                set.spawn(job);
            }
        }
    }

    /// Waits for the background work started so far.
    async fn finish_background(&self) {
        let Ok(mut set) = self.background.lock().map(|mut s| std::mem::take(&mut *s)) else {
            return;
        };
        while set.join_next().await.is_some() {}
    }

    /// Claims one batch and processes it; returns how many events were handled. Best-effort
    /// work the events leave runs on in the background ([`Self::drain`] waits for it).
    pub async fn run_once(self: &Arc<Self>) -> usize {
        let claimed = match self
            .store
            .events()
            .claim(&self.owner, self.batch, self.lease)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claim failed");
                return 0;
            }
        };
        let count = claimed.len();
        let mut tasks = JoinSet::new();
        for event in claimed {
            let engine = Arc::clone(self);
            tasks.spawn(async move { engine.process(event).await });
        }
        while tasks.join_next().await.is_some() {}
        count
    }

    /// Processes events until none is claimable, then waits for the best-effort work they
    /// left (avatar syncs, typing time-outs) (tests and one-shot tools).
    pub async fn drain(self: &Arc<Self>) -> usize {
        let mut total = 0;
        loop {
            let n = self.run_once().await;
            if n == 0 {
                break;
            }
            total += n;
        }
        self.finish_background().await;
        total
    }

    async fn process(&self, claimed: ClaimedEvent) {
        let event = &claimed.event;
        let lease = &claimed.lease;
        let Some(runtime) = self.runtime(event.instance_id) else {
            let retry = SystemTime::now() + Duration::from_secs(5);
            let _ = self
                .store
                .events()
                .fail(lease, "instance not running", Some(retry), Vec::new())
                .await;
            return;
        };
        let waits = event.waits;
        let mut ctx = Ctx::new(
            &self.store,
            &runtime,
            &self.policy,
            (event.id, lease.attempt, waits, event.received_at_ms),
            &self.media,
        );
        let body = event.body.clone().unwrap_or_default();
        let work = async move {
            let result = match event.source {
                Source::Gateway if event.content_type == integration::RECONCILE_CONTENT_TYPE => {
                    self.reconcile_run(&mut ctx, &body).await
                }
                Source::Gateway if integration::handles(&event.content_type) => {
                    integration::handle(&mut ctx, &event.content_type, &body).await
                }
                Source::Gateway => inbound::handle(&mut ctx, &event.content_type, &body).await,
                Source::Chatwoot => outbound::handle(&mut ctx, &body).await,
                Source::Api => send::handle(&mut ctx, &event.kind, &body).await,
            };
            let (activities, background) = ctx.finish();
            (result, activities, background)
        };
        // Keep the lease while working (slow uploads, a slow Chatwoot): leases stay short, so
        // the events of a worker that died are taken over within one lease.
        tokio::pin!(work);
        let (result, activities, background) = loop {
            tokio::select! {
                result = &mut work => break result,
                () = tokio::time::sleep(self.lease / 3) => {
                    if let Err(e) = self.store.events().renew(lease, self.lease).await {
                        tracing::warn!(event = event.id, error = %e, "could not renew the lease");
                    }
                }
            }
        };
        self.in_background(background);
        let notes = notifications(&runtime, &claimed, &activities);
        let stored = match result {
            Ok(Outcome::Done(mut effects)) => {
                effects.extend(notes);
                self.store.events().complete(lease, effects).await
            }
            Ok(Outcome::Ignored(reason)) => self.store.events().ignore(lease, &reason, notes).await,
            Err(Failure::Wait { reason }) => self.defer(&claimed, waits, &reason, notes).await,
            Err(Failure::Retry {
                reason,
                retry_after,
            }) => {
                let next = self.policy.next_attempt(lease.attempt, retry_after);
                self.store
                    .events()
                    .fail(lease, &reason, next, notes)
                    .await
                    .map(drop)
            }
            Err(Failure::Permanent { reason }) => self
                .store
                .events()
                .fail(lease, &reason, None, notes)
                .await
                .map(drop),
        };
        match stored {
            Ok(()) => {
                for activity in activities {
                    self.activity.publish(activity);
                }
            }
            Err(e) => {
                tracing::warn!(event = event.id, error = %e, "could not record the outcome; the event will be retried")
            }
        }
    }

    /// Re-queues the event behind later events of its lane, after a short delay, and closes
    /// this copy: a receipt or reaction that came before its message lets the message pass.
    async fn defer(
        &self,
        claimed: &ClaimedEvent,
        waits: i32,
        reason: &str,
        effects: Vec<Effect>,
    ) -> Result<(), zapwoot_store::StoreError> {
        let event = &claimed.event;
        let delay = self
            .policy
            .wait_delay
            .saturating_mul(u32::try_from(waits + 1).unwrap_or(1));
        let not_before = SystemTime::now() + delay;
        let mut copy = NewEvent::new(
            event.instance_id,
            event.source,
            event.dedupe_key.clone(),
            event.lane.clone(),
            event.body.clone().unwrap_or_default(),
        );
        copy.waits = waits + 1;
        copy.kind.clone_from(&event.kind);
        copy.content_type.clone_from(&event.content_type);
        copy.not_before_ms = Some(
            i64::try_from(
                not_before
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis()),
            )
            .unwrap_or(i64::MAX),
        );
        self.store.events().record(copy).await?;
        self.store
            .events()
            .ignore(&claimed.lease, &format!("deferred: {reason}"), effects)
            .await
    }
}

/// The outbound-webhook notifications of an outcome's activities, written with it. Ids are
/// stable for this outcome (event, attempt, position), so a receiver dedupes retries by them;
/// each event's activities keep their order within the chat's lane.
fn notifications(
    runtime: &InstanceRuntime,
    claimed: &ClaimedEvent,
    activities: &[Activity],
) -> Vec<Effect> {
    activities
        .iter()
        .enumerate()
        .map(|(i, activity)| {
            Effect::Notify(crate::webhooks::notification(
                activity,
                Some(runtime.id),
                format!("msg_{}_{}_{i}", claimed.event.id, claimed.lease.attempt),
                format!("{}/{}", runtime.id, claimed.event.lane),
            ))
        })
        .collect()
}
