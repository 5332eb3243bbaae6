//! Receives zapwoot's outbound webhooks (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
//! `webhook-signature`) and verifies them with `zapwoot-signing` before trusting them. Retries
//! reuse the `webhook-id`, so it is the dedupe key; during a secret rotation zapwoot signs with
//! both secrets and either one verifies.
//!
//! ```sh
//! SUBSCRIPTION_SECRET=whsec_… LISTEN=127.0.0.1:8091 \
//!   cargo run -p zapwoot-examples --example subscriber
//! ```

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use zapwoot_signing::{Keyring, Secret};

/// How many recent `webhook-id`s are remembered for deduplication.
const REMEMBERED: usize = 10_000;

/// A verified event: `{"type", "timestamp", "data"}` and its `webhook-id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `webhook-id` (stable across retries).
    pub id: String,
    /// `message.received`, `message.sent`, …
    pub kind: String,
    /// The whole body.
    pub body: Value,
}

/// The receiver's state.
#[derive(Debug)]
pub struct Subscriber {
    keys: Keyring,
    seen: Mutex<(HashSet<String>, VecDeque<String>)>,
    events: mpsc::UnboundedSender<Delivery>,
}

impl Subscriber {
    /// A subscriber for `secret` (`whsec_…`); verified events go to the returned receiver.
    ///
    /// # Errors
    /// A secret that is not `whsec_` + base64.
    pub fn new(
        secret: &str,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Delivery>), zapwoot_signing::SecretError> {
        let (events, receiver) = mpsc::unbounded_channel();
        let keys = Keyring::new(&Secret::from_standard(secret)?);
        Ok((
            Self {
                keys,
                seen: Mutex::default(),
                events,
            },
            receiver,
        ))
    }

    /// Whether `id` is new (and remembers it).
    fn first_time(&self, id: &str) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        let (set, order) = &mut *seen;
        if !set.insert(id.to_owned()) {
            return false;
        }
        order.push_back(id.to_owned());
        if order.len() > REMEMBERED
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        true
    }
}

fn answer(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

async fn handle(subscriber: Arc<Subscriber>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let header = |name: &str| req.headers().get(name).map(|v| v.as_bytes().to_vec());
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let Ok(body) = Limited::new(req.into_body(), 1024 * 1024)
        .collect()
        .await
        .map(|b| b.to_bytes())
    else {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "too large");
    };
    if subscriber
        .keys
        .verify_standard(
            id.as_deref(),
            timestamp.as_deref(),
            signature.as_deref(),
            &body,
        )
        .is_err()
    {
        return answer(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "not JSON");
    };
    let Some(kind) = body.get("type").and_then(Value::as_str).map(str::to_owned) else {
        return answer(StatusCode::BAD_REQUEST, "no type");
    };
    let id = String::from_utf8_lossy(id.as_deref().unwrap_or_default()).into_owned();
    if subscriber.first_time(&id) {
        let _ = subscriber.events.send(Delivery { id, kind, body });
    }
    // 2xx also for a duplicate: zapwoot stops retrying it.
    answer(StatusCode::NO_CONTENT, "")
}

/// Serves on `listener` until the task is dropped.
///
/// # Errors
/// Accept errors.
pub async fn serve(listener: TcpListener, subscriber: Arc<Subscriber>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let subscriber = Arc::clone(&subscriber);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let subscriber = Arc::clone(&subscriber);
                async move { Ok::<_, Infallible>(handle(subscriber, req).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[allow(dead_code, clippy::print_stdout)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("SUBSCRIPTION_SECRET")
        .map_err(|_| "SUBSCRIPTION_SECRET (whsec_…) is required")?;
    let (subscriber, mut events) = Subscriber::new(&secret)?;
    let listener =
        TcpListener::bind(std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8091".into()))
            .await?;
    tokio::spawn(serve(listener, Arc::new(subscriber)));
    while let Some(event) = events.recv().await {
        let data = event.body.get("data").cloned().unwrap_or_default();
        println!("{} {} {data}", event.id, event.kind);
    }
    Ok(())
}
