//! Embeds the zapwoot sync engine in your own Rust service, without the `zapwoot` binary:
//! open a `zapwoot-store` (SQLite here; `postgres://…` works the same), register an instance,
//! run the engine's workers, and from your own HTTP handlers verify + persist each webhook
//! *before* answering it. The engine then relays it exactly once, in order, and survives
//! restarts: whatever was persisted is processed after a crash.
//!
//! ```sh
//! DATABASE_URL=sqlite://embedded.db cargo run -p zapwoot-examples --example embed_engine
//! ```

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use zapwoot_store::{GatewayKind, NewInstance, Sealer, SealingKey, Store, StoreOptions};
use zapwoot_sync::ingest::{self, IngestError, WebhookHeaders};
use zapwoot_sync::{ActivityBus, Engine, InstanceRuntime};

/// A running engine for one instance.
#[derive(Debug)]
pub struct Embedded {
    /// The store (shared with your code: audit log, `retry`, …).
    pub store: Store,
    /// The engine.
    pub engine: Arc<Engine>,
    runtime: Arc<InstanceRuntime>,
    stop: watch::Sender<bool>,
    workers: JoinHandle<()>,
}

impl Embedded {
    /// Opens `database_url`, creates `instance` unless one with its name exists, and starts
    /// the workers. `key` seals the stored secrets: keep it stable across restarts.
    ///
    /// # Errors
    /// Store errors; an instance that cannot run (no inbox id, no token…).
    pub async fn start(
        database_url: &str,
        key: SealingKey,
        instance: NewInstance,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let store = Store::open(database_url, StoreOptions::with_sealer(Sealer::new(key))).await?;
        let stored = match store.instances().get(&instance.name).await? {
            Some(existing) => existing,
            None => store.instances().create(instance).await?,
        };
        let engine = Engine::new(store.clone(), ActivityBus::default());
        engine.set_runtime(InstanceRuntime::connect(&stored)?);
        let runtime = engine.runtime(stored.id).ok_or("instance not running")?;
        let (stop, stopped) = watch::channel(false);
        let workers = tokio::spawn(Arc::clone(&engine).run(stopped));
        Ok(Self {
            store,
            engine,
            runtime,
            stop,
            workers,
        })
    }

    /// Call from your gateway webhook handler with the raw body; answer 200 only on `Ok`
    /// (401 for `Unauthorized`, 400 for `Malformed`, 503 for `Store`). Returns the event id.
    ///
    /// # Errors
    /// See above.
    pub async fn accept_gateway_webhook(
        &self,
        content_type: &str,
        signature: Option<&[u8]>,
        body: &[u8],
    ) -> Result<i64, IngestError> {
        let mut headers = WebhookHeaders::default();
        headers.content_type = content_type;
        headers.gateway_signature = signature;
        let prepared = ingest::prepare_gateway(&self.runtime, headers, body)?;
        let recorded = self.store.events().record(prepared.event).await?;
        self.engine.notify();
        Ok(recorded.id)
    }

    /// Call from your Chatwoot webhook handler, as [`accept_gateway_webhook`](Self::accept_gateway_webhook).
    ///
    /// # Errors
    /// As [`accept_gateway_webhook`](Self::accept_gateway_webhook).
    pub async fn accept_chatwoot_webhook(
        &self,
        signature: Option<&[u8]>,
        timestamp: Option<&[u8]>,
        body: &[u8],
    ) -> Result<i64, IngestError> {
        let mut headers = WebhookHeaders::default();
        headers.content_type = "application/json";
        headers.chatwoot_signature = signature;
        headers.chatwoot_timestamp = timestamp;
        let event = ingest::prepare_chatwoot(&self.runtime, &self.store, headers, body).await?;
        let recorded = self.store.events().record(event).await?;
        self.engine.notify();
        Ok(recorded.id)
    }

    /// Stops the workers after the events in hand.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.workers.await;
    }
}

#[allow(dead_code, clippy::print_stdout)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    // The key must be the same on every start (it opens the stored tokens).
    let key = SealingKey::from_base64(&var("SECRET_KEY", ""))
        .map_err(|_| "SECRET_KEY: 32 bytes in base64 (`openssl rand -base64 32`)")?;
    let mut instance = NewInstance::new(
        "alpha",
        GatewayKind::Wuzapi,
        var("WUZAPI_URL", "http://127.0.0.1:8080"),
        var("CHATWOOT_URL", "http://127.0.0.1:3000"),
        1,
    );
    instance.chatwoot_inbox_id = Some(var("CHATWOOT_INBOX", "1").parse()?);
    instance.secrets.insert(
        "chatwoot_api_token".into(),
        var("CHATWOOT_TOKEN", "").into(),
    );
    instance
        .secrets
        .insert("gateway_token".into(), var("WUZAPI_TOKEN", "").into());
    let embedded =
        Embedded::start(&var("DATABASE_URL", "sqlite://embedded.db"), key, instance).await?;
    println!(
        "engine running; wire accept_gateway_webhook/accept_chatwoot_webhook into your routes"
    );
    tokio::signal::ctrl_c().await?;
    embedded.shutdown().await;
    Ok(())
}
