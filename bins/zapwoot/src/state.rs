//! The router state: what request handlers need — the store, the engine, the webhook route
//! table, limits and metrics. Handlers (`http/`) depend on it; it depends on no handler.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Result;
use tokio::sync::watch;
use zapwoot_store::{Instance, SecretString, Store, StoreError};
use zapwoot_sync::webhooks::{WebhookDispatcher, WebhookPolicy};
use zapwoot_sync::{ActivityBus, Engine, InstanceRuntime};

use crate::activity_log::ActivityLog;
use crate::admin_token::AdminToken;
use crate::body_budget::BodyBudget;
use crate::cli::Serve;
use crate::log_throttle::LogThrottle;
use crate::metrics::Metrics;

/// Longest a Chatwoot webhook waits for the start-up reconciliation, and longest that pass
/// holds them (a Chatwoot that is down must not keep the bridge from recording).
pub(crate) const RECONCILE_GATE: Duration = Duration::from_secs(20);

/// Which webhook route a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RouteKind {
    /// `POST /webhooks/gateway/{key}`.
    Gateway,
    /// `POST /webhooks/chatwoot/{key}`.
    Chatwoot,
}

impl RouteKind {
    /// `instance`'s key for this route.
    pub(crate) fn key_of(self, instance: &Instance) -> &SecretString {
        match self {
            Self::Gateway => &instance.gateway_key,
            Self::Chatwoot => &instance.chatwoot_key,
        }
    }

    /// The instance whose key for this route is `key`, from the store.
    pub(crate) async fn lookup(
        self,
        store: &Store,
        key: &str,
    ) -> Result<Option<Instance>, StoreError> {
        match self {
            Self::Gateway => store.instances().by_gateway_key(key).await,
            Self::Chatwoot => store.instances().by_chatwoot_key(key).await,
        }
    }
}

/// Where a webhook route key leads.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) gateway_url: String,
}

impl Route {
    pub(crate) fn of(instance: &Instance) -> Self {
        Self {
            id: instance.id,
            name: instance.config.name.clone(),
            gateway_url: instance.config.gateway_url.clone(),
        }
    }
}

fn route_hash(key: &str) -> [u8; 32] {
    let mut hash = [0; 32];
    hash.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()).as_ref());
    hash
}

/// Largest accepted bodies, and open connections per client address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) gateway_body: usize,
    pub(crate) chatwoot_body: usize,
    pub(crate) admin_body: usize,
    pub(crate) connections_per_address: usize,
}

/// Everything a request handler needs.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) store: Store,
    pub(crate) engine: Arc<Engine>,
    /// Sends outbound webhooks to subscriptions.
    pub(crate) webhooks: Arc<WebhookDispatcher>,
    pub(crate) admin_token: Option<AdminToken>,
    pub(crate) public_url: String,
    pub(crate) limits: Limits,
    pub(crate) body_budget: BodyBudget,
    /// Throttles the log line of rejected webhook signatures (the metric counts them all).
    pub(crate) signature_log: LogThrottle,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) activity: Arc<ActivityLog>,
    /// Turns true when the server stops (ends live streams).
    pub(crate) stopping: watch::Sender<bool>,
    /// `updated_at` of each instance as last applied.
    seen: std::sync::Mutex<HashMap<i64, i64>>,
    /// Last upstream check per instance id: the `instance test` report and when it ran.
    pub(crate) probes: std::sync::Mutex<HashMap<i64, (serde_json::Value, i64)>>,
    /// Asks the prober to check an instance now.
    pub(crate) probe_now: tokio::sync::mpsc::UnboundedSender<i64>,
    /// Asks the session poll to ask an instance's gateway now.
    poll_now: tokio::sync::mpsc::UnboundedSender<i64>,
    /// Webhook route keys (by SHA-256) of every applied instance, so a webhook needs no
    /// database read or secret unsealing to find its instance.
    routes: RwLock<HashMap<(RouteKind, [u8; 32]), Route>>,
    /// GOWA multi-device routing: `(gateway base URL, device id)` → instance id.
    devices: RwLock<HashMap<(String, String), i64>>,
    /// Instances with an import running in this process.
    pub(crate) importing: std::sync::Mutex<std::collections::HashSet<i64>>,
    /// The console chart's counts of minutes that have passed.
    pub(crate) console_chart: std::sync::Mutex<crate::console::chart::Settled>,
    /// API keys as last read, with their rate limits.
    pub(crate) keys: crate::access::KeyCache,
    /// Turns true once the start-up Chatwoot reconciliation is over (or gave up waiting).
    pub(crate) reconciled: watch::Sender<bool>,
}

impl State {
    /// The state over an open store; starts numbering activity. `probe_now` asks the probe
    /// loop to check an instance at once, `poll_now` the session poll.
    pub(crate) fn new(
        store: Store,
        serve: &Serve,
        public_url: String,
        probe_now: tokio::sync::mpsc::UnboundedSender<i64>,
        poll_now: tokio::sync::mpsc::UnboundedSender<i64>,
    ) -> Result<Arc<Self>> {
        let bus = ActivityBus::default();
        let metrics = Arc::new(Metrics::default());
        let activity = ActivityLog::start(&bus, 1024, Arc::clone(&metrics));
        let webhooks =
            WebhookDispatcher::new(store.clone(), bus.clone(), WebhookPolicy::default())?;
        Ok(Arc::new(Self {
            webhooks,
            engine: Engine::new(store.clone(), bus),
            store,
            admin_token: AdminToken::new(serve.admin_token.as_deref()),
            public_url,
            limits: Limits {
                gateway_body: serve.max_gateway_body,
                chatwoot_body: serve.max_chatwoot_body,
                admin_body: 1024 * 1024,
                connections_per_address: serve.max_connections_per_address,
            },
            body_budget: BodyBudget::new(
                serve.max_inflight_body,
                serve.max_gateway_body.max(serve.max_chatwoot_body),
            ),
            signature_log: LogThrottle::new(Duration::from_secs(60)),
            metrics,
            activity,
            stopping: watch::channel(false).0,
            seen: std::sync::Mutex::new(HashMap::new()),
            probes: std::sync::Mutex::new(HashMap::new()),
            probe_now,
            poll_now,
            routes: RwLock::new(HashMap::new()),
            devices: RwLock::new(HashMap::new()),
            importing: std::sync::Mutex::new(std::collections::HashSet::new()),
            console_chart: std::sync::Mutex::default(),
            keys: crate::access::KeyCache::default(),
            reconciled: watch::channel(false).0,
        }))
    }

    /// Waits (at most [`RECONCILE_GATE`]) until the start-up Chatwoot reconciliation has
    /// recorded what was missed while the bridge was down.
    pub(crate) async fn wait_until_reconciled(&self) {
        let mut ready = self.reconciled.subscribe();
        let _ = tokio::time::timeout(RECONCILE_GATE, ready.wait_for(|done| *done)).await;
    }

    /// Starts, replaces or stops the worker runtime of `instance` after a change. Returns why
    /// it cannot run, if it cannot.
    pub(crate) fn apply_instance(&self, instance: &Instance) -> Option<String> {
        let config = &instance.config;
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(instance.id, instance.updated_at_ms);
        }
        if let Ok(mut routes) = self.routes.write() {
            routes.retain(|_, r| r.id != instance.id);
            for kind in [RouteKind::Gateway, RouteKind::Chatwoot] {
                let hash = route_hash(kind.key_of(instance).expose());
                routes.insert((kind, hash), Route::of(instance));
            }
        }
        if let Ok(mut devices) = self.devices.write() {
            devices.retain(|_, id| *id != instance.id);
            if let Some(device) = &config.gateway_device_id {
                devices.insert((config.gateway_url.clone(), device.clone()), instance.id);
            }
        }
        if !config.enabled {
            self.engine.remove_runtime(instance.id);
            return Some("disabled".to_owned());
        }
        match InstanceRuntime::connect(instance) {
            Ok(mut runtime) => {
                crate::metered::meter(&mut runtime, &self.metrics);
                self.engine.set_runtime(runtime);
                let _ = self.probe_now.send(instance.id);
                self.poll_now(instance.id);
                None
            }
            Err(e) => {
                self.engine.remove_runtime(instance.id);
                Some(e.to_string())
            }
        }
    }

    /// Asks the session poll to ask the instance's gateway now.
    pub(crate) fn poll_now(&self, id: i64) {
        let _ = self.poll_now.send(id);
    }

    /// Forgets a deleted instance.
    pub(crate) fn forget_instance(&self, id: i64) {
        self.engine.remove_runtime(id);
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(&id);
        }
        if let Ok(mut probes) = self.probes.lock() {
            probes.remove(&id);
        }
        if let Ok(mut routes) = self.routes.write() {
            routes.retain(|_, r| r.id != id);
        }
        if let Ok(mut devices) = self.devices.write() {
            devices.retain(|_, v| *v != id);
        }
    }

    /// Where `key` leads, from the applied instances (`None`: ask the store).
    pub(crate) fn route(&self, kind: RouteKind, key: &str) -> Option<Route> {
        let hash = route_hash(key);
        self.routes
            .read()
            .ok()
            .and_then(|r| r.get(&(kind, hash)).cloned())
    }

    /// The instance serving GOWA device `device` on the server at `gateway_url`.
    pub(crate) fn device_instance(&self, gateway_url: &str, device: &str) -> Option<i64> {
        self.devices
            .read()
            .ok()
            .and_then(|d| d.get(&(gateway_url.to_owned(), device.to_owned())).copied())
    }

    /// Brings the running instances in line with the store: starts new and changed ones,
    /// stops deleted ones.
    pub(crate) async fn sync_instances(&self) -> Result<()> {
        // Only what changed is read (and its secrets unsealed): a bridge with thousands of
        // instances compares ids and versions every few seconds.
        let versions = self.store.instances().versions().await?;
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        let current: HashMap<i64, i64> = versions.iter().copied().collect();
        for id in seen.keys().filter(|id| !current.contains_key(id)) {
            self.forget_instance(*id);
        }
        let changed: std::collections::HashSet<i64> = versions
            .iter()
            .filter(|(id, at)| seen.get(id) != Some(at))
            .map(|(id, _)| *id)
            .collect();
        let instances = if changed.len() > 64 {
            // Starting up: one read of everything beats thousands of lookups.
            let mut all = self.store.instances().list().await?;
            all.retain(|i| changed.contains(&i.id));
            all
        } else {
            let mut some = Vec::with_capacity(changed.len());
            for id in changed {
                some.extend(self.store.instances().by_id(id).await?);
            }
            some
        };
        for instance in &instances {
            if let Some(reason) = self.apply_instance(instance) {
                tracing::warn!(instance = %instance.config.name, %reason, "instance not running");
            } else {
                tracing::info!(instance = %instance.config.name, "instance running");
            }
        }
        Ok(())
    }
}
