//! [`Receiver`]: a real HTTP endpoint that records what is posted to it, for tests of
//! anything that sends webhooks (the fakes themselves, the bridge's outbound webhooks).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use tokio::sync::Notify;

use crate::Faults;
use crate::server::{self, FakeRequest, Reply, Running, Shared, empty};

/// A recording webhook endpoint on `127.0.0.1:0`. Answers `200` unless told otherwise.
#[derive(Debug)]
pub struct Receiver {
    inner: Arc<Inner>,
    shared: Arc<Shared>,
    running: Running,
}

/// Extra response headers and body.
type ExtraReply = (Vec<(String, String)>, Vec<u8>);

#[derive(Debug, Default)]
struct Inner {
    received: Mutex<Vec<FakeRequest>>,
    status: AtomicU16,
    reply: Mutex<ExtraReply>,
    notify: Notify,
}

impl Receiver {
    /// Starts a receiver.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            status: AtomicU16::new(200),
            ..Inner::default()
        });
        let shared = Arc::new(Shared::new(false));
        let handler_inner = Arc::clone(&inner);
        let handler: server::Handler = Arc::new(move |req| {
            let inner = Arc::clone(&handler_inner);
            Box::pin(async move {
                if let Ok(mut received) = inner.received.lock() {
                    received.push(req);
                }
                inner.notify.notify_waiters();
                let status = StatusCode::from_u16(inner.status.load(Ordering::SeqCst))
                    .unwrap_or(StatusCode::OK);
                let mut response = empty(status);
                if let Ok(reply) = inner.reply.lock() {
                    for (name, value) in &reply.0 {
                        if let (Ok(name), Ok(value)) = (
                            http::HeaderName::from_bytes(name.as_bytes()),
                            http::HeaderValue::from_str(value),
                        ) {
                            response.headers_mut().append(name, value);
                        }
                    }
                    *response.body_mut() =
                        http_body_util::Full::new(bytes::Bytes::from(reply.1.clone()));
                }
                Reply::Send(response)
            })
        });
        let running = server::serve(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            Arc::clone(&shared),
            handler,
        )
        .await?;
        Ok(Self {
            inner,
            shared,
            running,
        })
    }

    /// The URL to post to (any path is accepted).
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.running.addr)
    }

    /// The status answered from now on (e.g. 500 to simulate an outage, 410 to unsubscribe).
    pub fn set_status(&self, status: u16) {
        self.inner.status.store(status, Ordering::SeqCst);
    }

    /// Adds these headers and this body to every answer from now on (a `Location` for a
    /// redirect, a `Retry-After`, an oversized body).
    pub fn set_reply(&self, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) {
        if let Ok(mut reply) = self.inner.reply.lock() {
            *reply = (
                headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
                body.into(),
            );
        }
    }

    /// Failure injection (latency, resets, down mode).
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Everything received so far (including requests answered with an error status).
    #[must_use]
    pub fn received(&self) -> Vec<FakeRequest> {
        self.inner
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Waits until at least `count` requests arrived; returns them, or `None` on timeout.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Option<Vec<FakeRequest>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.notify.notified();
            let received = self.received();
            if received.len() >= count {
                return Some(received);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let received = self.received();
                return (received.len() >= count).then_some(received);
            }
        }
    }
}
