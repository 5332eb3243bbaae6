//! The running bridge: the accept loop, the background loops and graceful shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use zapwoot_store::Store;
use zapwoot_sync::ActivityKind;

use crate::cli::{Global, Serve};
use crate::connections::ConnectionLimit;
use crate::state::{RECONCILE_GATE, State};

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long in-flight requests and events get to finish after SIGTERM/Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often instance changes made elsewhere (CLI, other replicas) are picked up.
const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// How often the retention runs.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How often each instance's upstreams are checked.
const PROBE_EVERY: Duration = Duration::from_secs(60);
/// How often conversations active in the last [`RECONCILE_WINDOW`] are reconciled.
const RECONCILE_EVERY: Duration = Duration::from_secs(600);
const RECONCILE_WINDOW: Duration = Duration::from_secs(3600);
/// At start (after a bridge outage of unknown length), the look-back for resolved
/// conversations; every open one is looked at anyway.
const RECONCILE_AT_START: Duration = Duration::from_secs(24 * 3600);

/// How long processed events keep their bodies and rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retention {
    pub(crate) bodies: Duration,
    pub(crate) events: Duration,
}

/// The running bridge: the router [`State`] and what only the background loops own.
pub(crate) struct App {
    /// What request handlers share.
    pub(crate) state: Arc<State>,
    /// How long event bodies and rows are kept (the prune loop).
    retention: Retention,
    /// Requests to check an instance's upstreams now (the probe loop).
    probe_requests: tokio::sync::mpsc::UnboundedReceiver<i64>,
    /// Requests to poll an instance's session now (the session poll).
    poll_requests: tokio::sync::mpsc::UnboundedReceiver<i64>,
}

impl App {
    /// Builds the state over an open store and starts numbering activity.
    pub(crate) fn new(store: Store, serve: &Serve, public_url: String) -> Result<Self> {
        let (probe_now, probe_requests) = tokio::sync::mpsc::unbounded_channel();
        let (poll_now, poll_requests) = tokio::sync::mpsc::unbounded_channel();
        let state = State::new(store, serve, public_url, probe_now, poll_now)?;
        Ok(Self {
            state,
            retention: Retention {
                bodies: Duration::from_secs(u64::from(serve.retain_bodies_days) * 86_400),
                events: Duration::from_secs(u64::from(serve.retain_events_days) * 86_400),
            },
            probe_requests,
            poll_requests,
        })
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// `zapwoot serve`.
pub(crate) async fn serve(
    global: &Global,
    serve: Serve,
    declared: Vec<serde_json::Value>,
) -> Result<()> {
    let store = crate::sealing::open_store(global).await?;
    for doc in &declared {
        let name = doc
            .get("name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let exists = !name.is_empty() && store.instances().get(name).await?.is_some();
        let result = if exists {
            crate::instances::update(&store, name, doc).await
        } else {
            crate::instances::create(&store, doc).await
        };
        result.map_err(|e| anyhow::anyhow!("instance {name:?} of the configuration file: {e}"))?;
        tracing::info!(instance = %name, "instance from the configuration file applied");
    }
    let listener = TcpListener::bind(serve.listen)
        .await
        .with_context(|| format!("binding {}", serve.listen))?;
    let addr: SocketAddr = listener.local_addr()?;
    let public_url = serve
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    // One bridge per SQLite file: whatever is still leased was in flight when the previous
    // process died; hand it to this one now rather than when the leases run out.
    if store.backend() == zapwoot_store::Backend::Sqlite {
        let expired = store.expire_leases().await?;
        if expired > 0 {
            tracing::warn!(
                events = expired,
                "resuming events left in flight by a previous process"
            );
        }
    }
    let app = App::new(store, &serve, public_url)?;
    if app.state.admin_token.is_none() {
        tracing::warn!("ZAPWOOT_ADMIN_TOKEN not set: the admin API (/api/v1) is off");
    }
    tracing::info!(%addr, backend = ?app.state.store.backend(), "zapwoot listening");
    println!("zapwoot listening on http://{addr}");
    run(app, listener, shutdown_signal()).await
}

/// Serves `listener` and runs the workers until `stop` completes; then stops accepting,
/// lets open requests finish and in-flight events complete, each within [`SHUTDOWN_GRACE`].
pub(crate) async fn run(
    app: App,
    listener: TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let App {
        state: app,
        retention,
        probe_requests,
        poll_requests,
    } = app;
    app.sync_instances().await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = tokio::spawn(Arc::clone(&app.engine).run(stop_rx.clone()));
    let webhooks = tokio::spawn(Arc::clone(&app.webhooks).run(stop_rx.clone()));
    let reloader = tokio::spawn(reload_loop(Arc::clone(&app), stop_rx));
    let prober = tokio::spawn(probe_loop(Arc::clone(&app), probe_requests));
    let poller = tokio::spawn(crate::pairing::poll_loop(Arc::clone(&app), poll_requests));
    let pruner = tokio::spawn(prune_loop(Arc::clone(&app), retention));
    let reconciler = tokio::spawn(reconcile_loop(Arc::clone(&app)));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A client gets HEADER_TIMEOUT to send a request's headers (slowloris); bodies have their
    // own idle timeout (http::body).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let connections = ConnectionLimit::new(app.limits.connections_per_address);
    crate::sd_notify::notify("READY=1\nSTATUS=listening");
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(counted) = connections.admit(peer.ip()) else {
                    tracing::debug!(peer = %peer.ip(), "too many connections from one address: closed");
                    drop(stream);
                    continue;
                };
                let app = Arc::clone(&app);
                let service = hyper::service::service_fn(move |req| {
                    let app = Arc::clone(&app);
                    async move {
                        Ok::<_, std::convert::Infallible>(crate::http::route(app, req, peer.ip()).await)
                    }
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    let _counted = counted;
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut stop => break,
        }
    }
    tracing::info!("shutting down: no new connections; finishing requests and events");
    crate::sd_notify::notify("STOPPING=1");
    drop(listener);
    let _ = app.stopping.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish in time");
    }
    let _ = stop_tx.send(true);
    let both = async {
        let _ = workers.await;
        let _ = webhooks.await;
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, both).await.is_err() {
        tracing::warn!(
            "workers did not finish in time; their leases expire and the events are retried"
        );
    }
    reloader.abort();
    prober.abort();
    poller.abort();
    pruner.abort();
    reconciler.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Checks each running instance's upstreams (Chatwoot profile and inbox, gateway session)
/// once per [`PROBE_EVERY`], spread evenly over it (thousands of instances make a steady
/// trickle, not a burst a minute), and at once when an instance starts; `/readyz` and
/// `/metrics` report the results.
async fn probe_loop(app: Arc<State>, mut requests: tokio::sync::mpsc::UnboundedReceiver<i64>) {
    let mut round: std::collections::VecDeque<i64> = std::collections::VecDeque::new();
    let mut gap = PROBE_EVERY;
    let next = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(next);
    loop {
        tokio::select! {
            () = &mut next => {
                if round.is_empty() {
                    round = app
                        .store
                        .instances()
                        .versions()
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(id, _)| id)
                        .collect();
                    let n = u32::try_from(round.len()).unwrap_or(u32::MAX).max(1);
                    gap = PROBE_EVERY / n;
                }
                if let Some(id) = round.pop_front() {
                    probe(&app, id).await;
                }
                next.as_mut().reset(tokio::time::Instant::now() + gap);
            }
            Some(id) = requests.recv() => probe(&app, id).await,
        }
    }
}

/// Checks one instance's upstreams, if it runs, and keeps the report.
async fn probe(app: &State, id: i64) {
    if app.engine.runtime(id).is_none() {
        return;
    }
    let Ok(Some(instance)) = app.store.instances().by_id(id).await else {
        return;
    };
    let (report, _) = crate::instances::test(&instance).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    if let Ok(mut probes) = app.probes.lock() {
        probes.insert(id, (report, now));
    }
}

/// Applies the retention at start and then every [`PRUNE_EVERY`]. Only done and ignored
/// events are touched; failed and dead ones stay for inspection and replay.
async fn prune_loop(app: Arc<State>, retention: Retention) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tick.tick().await;
        match app.store.prune(retention.bodies, retention.events).await {
            Ok(report)
                if report.bodies_cleared
                    + report.events_deleted
                    + report.deliveries_deleted
                    + report.api_messages_deleted
                    > 0 =>
            {
                tracing::info!(
                    bodies_cleared = report.bodies_cleared,
                    events_deleted = report.events_deleted,
                    deliveries_deleted = report.deliveries_deleted,
                    api_messages_deleted = report.api_messages_deleted,
                    "retention applied"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention failed"),
        }
    }
}

/// Recovers what upstreams never posted: at start for every open conversation and the last
/// day of WhatsApp chats (the bridge may have been down for a while), every
/// [`RECONCILE_EVERY`] for recent activity, and when a gateway session reconnects (webhooks
/// of the time it was away are lost).
async fn reconcile_loop(app: Arc<State>) {
    let mut activity = app.engine.activity().subscribe();
    // Chatwoot first, while its webhooks wait: missed agent messages are recorded before
    // newer ones, so each chat keeps its order.
    let since = std::time::SystemTime::now() - RECONCILE_AT_START;
    let chatwoot_first = async {
        for instance in app.store.instances().list().await.unwrap_or_default() {
            if app.engine.runtime(instance.id).is_some()
                && let Err(e) = app.engine.reconcile_chatwoot(instance.id, since).await
            {
                tracing::warn!(instance = %instance.config.name, error = %e, "start-up reconciliation failed");
            }
        }
    };
    if tokio::time::timeout(RECONCILE_GATE, chatwoot_first)
        .await
        .is_err()
    {
        tracing::warn!(
            "start-up reconciliation with Chatwoot is slow; accepting Chatwoot webhooks meanwhile"
        );
    }
    app.reconciled.send_replace(true);
    // Then WhatsApp (Chatwoot was just done).
    for instance in app.store.instances().list().await.unwrap_or_default() {
        if app.engine.runtime(instance.id).is_some()
            && let Err(e) = app.engine.reconcile_gateway(instance.id, since).await
        {
            tracing::warn!(instance = %instance.config.name, error = %e, "start-up reconciliation failed");
        }
    }
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    tick.tick().await;
    let mut reconnected: HashMap<String, tokio::time::Instant> = HashMap::new();
    loop {
        tokio::select! {
            _ = tick.tick() => reconcile_all(&app, RECONCILE_WINDOW).await,
            received = activity.recv() => {
                let Ok(a) = received else { continue };
                let connected = matches!(&a.kind, ActivityKind::InstanceStatus(s) if s.state == "connected");
                let recent = reconnected
                    .get(&a.instance)
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(60));
                if !connected || recent {
                    continue;
                }
                reconnected.insert(a.instance.clone(), tokio::time::Instant::now());
                if let Ok(Some(instance)) = app.store.instances().get(&a.instance).await {
                    let since = std::time::SystemTime::now() - RECONCILE_AT_START;
                    if let Err(e) = crate::instances::reconcile(&app.engine, &instance, since).await {
                        tracing::warn!(instance = %a.instance, error = %e, "reconciliation after reconnect failed");
                    }
                }
            }
        }
    }
}

async fn reconcile_all(app: &State, window: Duration) {
    for instance in app.store.instances().list().await.unwrap_or_default() {
        if app.engine.runtime(instance.id).is_none() {
            continue;
        }
        let since = std::time::SystemTime::now() - window;
        if let Err(e) = crate::instances::reconcile(&app.engine, &instance, since).await {
            tracing::warn!(instance = %instance.config.name, error = %e, "reconciliation failed");
        }
    }
}

/// Picks up instance changes made by other processes (the CLI, other replicas).
async fn reload_loop(app: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(RELOAD_EVERY) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = app.sync_instances().await {
            tracing::warn!(error = %e, "reloading instances failed");
        }
    }
}
