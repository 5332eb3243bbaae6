//! Posting webhooks from a fake: one queue, configurable order (in order, shuffled,
//! concurrent), optional duplicates and delay, no retries, and a log of every attempt.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use crate::random::XorShift;

/// In what order a fake posts its webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WebhookOrder {
    /// One at a time, in the order the changes happened (deterministic tests).
    #[default]
    InOrder,
    /// Shuffled in small batches (upstreams give no ordering guarantee).
    Shuffled,
    /// All at once, each in its own task (wuzapi: one goroutine per event).
    Concurrent,
}

/// A webhook delivery attempt a fake made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// Target URL.
    pub url: String,
    /// Event name.
    pub event: String,
    /// Request headers (name, value).
    pub headers: Vec<(String, String)>,
    /// The body as posted.
    pub body: Bytes,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// The transport error or non-2xx reason, when it failed.
    pub error: Option<String>,
}

impl WebhookDelivery {
    /// A header's value.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

type OnFailure = Box<dyn FnOnce(String) + Send>;

/// One webhook to post.
pub(crate) struct Post {
    pub(crate) url: String,
    pub(crate) event: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    /// Called once with the failure reason when the (first) attempt fails.
    pub(crate) on_failure: Option<OnFailure>,
}

/// How a dispatcher behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DispatchOptions {
    pub(crate) order: WebhookOrder,
    pub(crate) duplicate_every: Option<u32>,
    pub(crate) delay: Duration,
    pub(crate) timeout: Duration,
}

/// The queue and its worker.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    tx: mpsc::UnboundedSender<Post>,
    pending: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<WebhookDelivery>>>,
}

impl Dispatcher {
    pub(crate) fn start(options: DispatchOptions) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Post>();
        let pending = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (worker_pending, worker_log) = (Arc::clone(&pending), Arc::clone(&log));
        tokio::spawn(async move {
            let http = Arc::new(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());
            let mut rng = XorShift::seeded();
            let mut count: u64 = 0;
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                if options.order == WebhookOrder::Shuffled {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    while let Ok(next) = rx.try_recv() {
                        batch.push(next);
                    }
                    rng.shuffle(&mut batch);
                }
                for post in batch {
                    count += 1;
                    let copies = if options
                        .duplicate_every
                        .is_some_and(|n| n > 0 && count.is_multiple_of(u64::from(n)))
                    {
                        2
                    } else {
                        1
                    };
                    let (http, log, pending) = (
                        Arc::clone(&http),
                        Arc::clone(&worker_log),
                        Arc::clone(&worker_pending),
                    );
                    let job = async move {
                        if !options.delay.is_zero() {
                            tokio::time::sleep(options.delay).await;
                        }
                        let mut on_failure = post.on_failure;
                        for _ in 0..copies {
                            let record = deliver(
                                &http,
                                &post.url,
                                &post.event,
                                &post.headers,
                                post.body.clone(),
                                options.timeout,
                            )
                            .await;
                            if let (Some(error), Some(callback)) =
                                (record.error.clone(), on_failure.take())
                            {
                                callback(error);
                            }
                            if let Ok(mut log) = log.lock() {
                                log.push(record);
                            }
                        }
                        pending.fetch_sub(1, Ordering::SeqCst);
                    };
                    if options.order == WebhookOrder::Concurrent {
                        tokio::spawn(job);
                    } else {
                        job.await;
                    }
                }
            }
        });
        Self { tx, pending, log }
    }

    pub(crate) fn post(&self, post: Post) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(post).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub(crate) async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.pending.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }
}

async fn deliver(
    http: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    event: &str,
    headers: &[(String, String)],
    body: Bytes,
    timeout: Duration,
) -> WebhookDelivery {
    let mut request = Request::post(url);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let outcome = match request.body(Full::new(body.clone())) {
        Err(e) => Err(e.to_string()),
        Ok(request) => {
            let send = async {
                let response = http.request(request).await.map_err(|e| e.to_string())?;
                let status = response.status().as_u16();
                let _ = response.into_body().collect().await;
                Ok::<u16, String>(status)
            };
            tokio::time::timeout(timeout, send)
                .await
                .unwrap_or_else(|_| Err("execution expired".to_owned()))
        }
    };
    let (status, error) = match outcome {
        Ok(status) if (200..300).contains(&status) => (Some(status), None),
        Ok(status) => {
            let reason = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            (Some(status), Some(format!("{status} {reason}")))
        }
        Err(e) => (None, Some(e)),
    };
    WebhookDelivery {
        url: url.to_owned(),
        event: event.to_owned(),
        headers: headers.to_vec(),
        body,
        status,
        error,
    }
}
