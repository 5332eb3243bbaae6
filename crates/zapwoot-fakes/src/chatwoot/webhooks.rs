//! Posting events to API-inbox `webhook_url`s like Chatwoot: signed when the inbox has a
//! secret, 5 s timeout, **no retries**, and a failed message delivery marks the message
//! `failed` (which emits `message_updated`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::mpsc;
use zapwoot_signing::{Keyring, Secret};

use super::{Core, WebhookOrder};
use crate::random::{XorShift, uuid};

/// One queued delivery.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) url: String,
    pub(crate) secret: Option<String>,
    pub(crate) event: String,
    pub(crate) body: Vec<u8>,
    pub(crate) message_id: Option<u64>,
}

/// A delivery attempt the fake made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// Target URL.
    pub url: String,
    /// Event name.
    pub event: String,
    /// The body as posted.
    pub body: Value,
    /// `X-Chatwoot-Delivery`.
    pub delivery_id: String,
    /// `X-Chatwoot-Signature`, when signed.
    pub signature: Option<String>,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// The transport error, when it did not.
    pub error: Option<String>,
}

pub(crate) fn spawn(
    core: Weak<Core>,
    order: WebhookOrder,
    duplicate_every: Option<u32>,
    timeout: Duration,
) -> mpsc::UnboundedSender<Outgoing> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    tokio::spawn(async move {
        let http = Arc::new(HttpClient {
            inner: Client::builder(TokioExecutor::new()).build_http(),
            timeout,
        });
        let mut rng = XorShift::seeded();
        let mut count: u64 = 0;
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            if order == WebhookOrder::Shuffled {
                tokio::time::sleep(Duration::from_millis(2)).await;
                while let Ok(next) = rx.try_recv() {
                    batch.push(next);
                }
                rng.shuffle(&mut batch);
            }
            for out in batch {
                count += 1;
                let copies = if duplicate_every
                    .is_some_and(|n| n > 0 && count.is_multiple_of(u64::from(n)))
                {
                    2
                } else {
                    1
                };
                let (core, http) = (core.clone(), Arc::clone(&http));
                let job = async move {
                    for _ in 0..copies {
                        deliver(&core, &http, &out).await;
                    }
                    if let Some(core) = core.upgrade() {
                        core.pending.fetch_sub(1, Ordering::SeqCst);
                    }
                };
                if order == WebhookOrder::Concurrent {
                    tokio::spawn(job);
                } else {
                    job.await;
                }
            }
        }
    });
    tx
}

/// Plain-HTTP client for webhook posts (targets are loopback test servers).
pub(crate) struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// Posts `body` with `headers`; the status, or a transport error's text.
    pub(crate) async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, String> {
        let mut request = Request::post(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let send = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let _ = response.into_body().collect().await;
            Ok(status)
        };
        tokio::time::timeout(self.timeout, send)
            .await
            .unwrap_or_else(|_| Err("execution expired".to_owned()))
    }
}

async fn deliver(core: &Weak<Core>, http: &HttpClient, out: &Outgoing) {
    let delivery_id = uuid();
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("accept", "application/json".to_owned()),
        ("x-chatwoot-delivery", delivery_id.clone()),
    ];
    let mut signature = None;
    if let Some(secret) = out
        .secret
        .as_deref()
        .and_then(|s| Secret::from_bytes(s).ok())
    {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let sig = Keyring::new(&secret).sign_chatwoot(ts, &out.body);
        headers.push(("x-chatwoot-timestamp", ts.to_string()));
        headers.push(("x-chatwoot-signature", sig.clone()));
        signature = Some(sig);
    }
    let (status, error) = match http.post(&out.url, &headers, out.body.clone()).await {
        Ok(status) => {
            let ok = (200..300).contains(&status);
            let reason = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            (Some(status), (!ok).then(|| format!("{status} {reason}")))
        }
        Err(e) => (None, Some(e)),
    };
    let Some(core) = core.upgrade() else { return };
    if let Ok(mut log) = core.deliveries.lock() {
        log.push(WebhookDelivery {
            url: out.url.clone(),
            event: out.event.clone(),
            body: serde_json::from_slice(&out.body).unwrap_or(Value::Null),
            delivery_id,
            signature,
            status,
            error: error.clone(),
        });
    }
    if let (Some(error), Some(message_id)) = (error, out.message_id) {
        core.mark_delivery_failed(message_id, &error);
    }
}
