//! Pairing a phone and watching its WhatsApp session from the bridge: QR codes and linking
//! codes through the instance's gateway, logout and reconnect, and the status poll that
//! records what the gateway says of the session (GOWA reports pairing and logout to no
//! webhook; wuzapi's webhooks are lost while the bridge is down).
//!
//! A change seen is recorded as an event ([`session::observation_event`]), processed in
//! order with the gateway's own session webhooks; only a first sight, before anything is
//! recorded, is written directly, as the baseline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zapwoot_store::{Instance, ObservedConnection, SessionState, StoreError};
use zapwoot_sync::pairing::ShownQr;
use zapwoot_sync::{InstanceRuntime, session};

use crate::state::State;

/// How often a session that is pairing is polled (the phone may scan at any moment).
pub(crate) const POLL_PAIRING: Duration = Duration::from_secs(3);

/// How often any other session is polled.
pub(crate) const POLL_SLOW: Duration = Duration::from_secs(60);

/// Why a pairing call failed.
#[derive(Debug)]
pub(crate) enum PairingError {
    /// The instance has no runtime (disabled or misconfigured).
    NotRunning,
    /// The session is logged in already.
    AlreadyPaired,
    /// A field of the request is invalid: field, reason.
    Invalid(&'static str, String),
    /// The gateway refused or could not be reached.
    Gateway(zapwoot_gateway::Error),
    /// The store failed.
    Store(StoreError),
}

impl std::fmt::Display for PairingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotRunning => {
                f.write_str("the instance is not running (disabled or misconfigured)")
            }
            Self::AlreadyPaired => f.write_str("the WhatsApp session is paired already"),
            Self::Invalid(field, why) => write!(f, "{field}: {why}"),
            Self::Gateway(e) => write!(f, "the gateway: {e}"),
            Self::Store(e) => write!(f, "the store: {e}"),
        }
    }
}

impl std::error::Error for PairingError {}

impl From<zapwoot_gateway::Error> for PairingError {
    fn from(e: zapwoot_gateway::Error) -> Self {
        match e {
            zapwoot_gateway::Error::AlreadyPaired => Self::AlreadyPaired,
            other => Self::Gateway(other),
        }
    }
}

impl From<StoreError> for PairingError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn runtime(app: &State, instance: &Instance) -> Result<Arc<InstanceRuntime>, PairingError> {
    app.engine
        .runtime(instance.id)
        .ok_or(PairingError::NotRunning)
}

/// The current time, unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    crate::subscriptions::now_ms()
}

/// Records what was seen of a session as an event (a running bridge processes it in order
/// with the gateway's own session webhooks).
pub(crate) async fn record(
    store: &zapwoot_store::Store,
    seen: &ObservedConnection,
) -> Result<(), StoreError> {
    store
        .events()
        .record(session::observation_event(seen, now_ms()))
        .await?;
    Ok(())
}

/// Records what was seen of a session and wakes the workers.
async fn observe(app: &State, seen: &ObservedConnection) -> Result<(), StoreError> {
    record(&app.store, seen).await?;
    app.engine.notify();
    Ok(())
}

/// Records that pairing started, unless the record says so already.
async fn pairing_started(app: &State, instance_id: i64, how: &str) -> Result<(), StoreError> {
    let current = app.store.connections().get(instance_id).await?;
    match zapwoot_sync::pairing::pairing_started(instance_id, current.as_ref(), how) {
        Some(seen) => observe(app, &seen).await,
        None => Ok(()),
    }
}

/// The QR code to scan now (see [`InstanceRuntime::login_qr`]). Records the session as
/// pairing.
pub(crate) async fn qr(app: &State, instance: &Instance) -> Result<ShownQr, PairingError> {
    let runtime = runtime(app, instance)?;
    let shown = runtime.login_qr(now_ms()).await?;
    pairing_started(app, instance.id, "QR code asked for").await?;
    Ok(shown)
}

/// The international digits of a phone number as typed, or why not.
pub(crate) fn phone_digits(phone: &str) -> Result<String, PairingError> {
    zapwoot_sync::pairing::phone_digits(phone)
        .map_err(|e| PairingError::Invalid("phone", e.to_string()))
}

/// A linking code for `phone` (typed on that phone under *Link with phone number
/// instead*). Records the session as pairing.
pub(crate) async fn pair_code(
    app: &State,
    instance: &Instance,
    phone: &str,
) -> Result<zapwoot_gateway::PairCode, PairingError> {
    let digits = phone_digits(phone)?;
    let runtime = runtime(app, instance)?;
    let code = runtime.gateway.pair_code(&digits).await?;
    runtime.forget_qr();
    pairing_started(app, instance.id, "linking code asked for").await?;
    Ok(code)
}

/// Logs the session out of WhatsApp and records it.
pub(crate) async fn logout(app: &State, instance: &Instance) -> Result<(), PairingError> {
    let runtime = runtime(app, instance)?;
    runtime.gateway.logout().await?;
    runtime.forget_qr();
    observe(
        app,
        &zapwoot_sync::pairing::logged_out(instance.id, "zapwoot"),
    )
    .await?;
    Ok(())
}

/// Drops and re-opens the session's connection (the pairing stays); the next poll records
/// what came of it.
pub(crate) async fn reconnect(app: &State, instance: &Instance) -> Result<(), PairingError> {
    let runtime = runtime(app, instance)?;
    runtime.gateway.reconnect().await?;
    app.poll_now(instance.id);
    Ok(())
}

/// Asks the gateway for the session's status and records what is new.
async fn poll(app: &State, runtime: &InstanceRuntime) -> Result<(), PairingError> {
    let health = runtime.gateway.health().await?;
    let current = app.store.connections().get(runtime.id).await?;
    if let Some(seen) = session::polled(runtime.id, &health, current.as_ref(), now_ms()) {
        if seen.state != SessionState::Pairing {
            runtime.forget_qr();
        }
        if current.is_none() {
            // The first sight is the baseline, not news; a webhook that recorded something
            // meanwhile wins.
            app.store.connections().baseline(seen).await?;
        } else {
            observe(app, &seen).await?;
        }
    }
    Ok(())
}

/// Polls every running instance's session: every [`POLL_PAIRING`] while it is pairing,
/// every [`POLL_SLOW`] otherwise, and at once when asked (`State::poll_now`) — an instance
/// that just started, a reconnect.
pub(crate) async fn poll_loop(
    app: Arc<State>,
    mut requests: tokio::sync::mpsc::UnboundedReceiver<i64>,
) {
    let mut tick = tokio::time::interval(POLL_PAIRING);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: HashMap<i64, Instant> = HashMap::new();
    loop {
        let asked = tokio::select! {
            _ = tick.tick() => None,
            Some(id) = requests.recv() => Some(id),
        };
        let ids = app.engine.instance_ids();
        last.retain(|id, _| ids.binary_search(id).is_ok());
        let pairing: std::collections::HashSet<i64> = app
            .store
            .connections()
            .in_state(SessionState::Pairing)
            .await
            .unwrap_or_default()
            .into_iter()
            .collect();
        for id in ids {
            let every = if pairing.contains(&id) {
                POLL_PAIRING
            } else {
                POLL_SLOW
            };
            let due = asked == Some(id) || last.get(&id).is_none_or(|t| t.elapsed() >= every);
            if !due {
                continue;
            }
            let Some(runtime) = app.engine.runtime(id) else {
                continue;
            };
            last.insert(id, Instant::now());
            if let Err(e) = poll(&app, &runtime).await {
                tracing::debug!(instance = %runtime.name, error = ?e, "session poll failed");
            }
        }
    }
}
