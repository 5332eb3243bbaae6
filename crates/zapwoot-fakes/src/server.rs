//! The HTTP plumbing every fake shares: a hyper 1 server on `127.0.0.1:0`, requests collected
//! whole, a request log, and fault injection before the fake's own handler.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Faults;

/// Largest request body a fake accepts (multipart uploads included).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A request as a fake's handler sees it: fully read.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FakeRequest {
    /// Method.
    pub method: Method,
    /// Path, without the query.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl FakeRequest {
    /// A header as text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of query parameter `name`, percent-decoded.
    #[must_use]
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key) == name).then(|| decode(value))
        })
    }
}

pub(crate) fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One logged request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// The request.
    pub request: FakeRequest,
    /// The status answered (`None`: connection reset).
    pub status: Option<u16>,
    /// The fake had no route for it.
    pub unexpected: bool,
}

/// What a handler decided.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Send this response.
    Send(Response<Full<Bytes>>),
    /// No such route: answer this response and flag the request as unexpected.
    Unrouted(Response<Full<Bytes>>),
}

pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(FakeRequest) -> HandlerFuture + Send + Sync>;

/// The request log and faults of a running fake.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) faults: Faults,
    pub(crate) log: Mutex<Vec<LoggedRequest>>,
    log_requests: bool,
}

impl Shared {
    /// Every request logged, in order.
    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub(crate) fn new(log_requests: bool) -> Self {
        Self {
            log_requests,
            ..Self::default()
        }
    }

    fn record(&self, request: FakeRequest, status: Option<u16>, unexpected: bool) {
        if !self.log_requests && !unexpected {
            return;
        }
        if let Ok(mut log) = self.log.lock() {
            log.push(LoggedRequest {
                request,
                status,
                unexpected,
            });
        }
    }
}

/// A running server; stops when dropped or on [`Running::shutdown`].
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Running {
    pub(crate) fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts serving on `127.0.0.1:0` (or `addr`).
pub(crate) async fn serve(
    addr: SocketAddr,
    shared: Arc<Shared>,
    handler: Handler,
) -> std::io::Result<Running> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        let builder = auto::Builder::new(TokioExecutor::new());
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let shared = Arc::clone(&shared);
                    let handler = Arc::clone(&handler);
                    let service = service_fn(move |req| respond(Arc::clone(&shared), Arc::clone(&handler), req));
                    let conn = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                _ = stopped.changed() => break,
            }
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
        }
    });
    Ok(Running { addr, stop })
}

#[derive(Debug)]
struct ConnectionReset;

impl std::fmt::Display for ConnectionReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injected: connection reset")
    }
}

impl std::error::Error for ConnectionReset {}

async fn respond(
    shared: Arc<Shared>,
    handler: Handler,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ConnectionReset> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ));
        }
    };
    let request = FakeRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body,
    };
    if shared.faults.is_down() {
        shared.record(request, None, false);
        return Err(ConnectionReset);
    }
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let target = match &request.query {
        Some(query) => format!("{}?{query}", request.path),
        None => request.path.clone(),
    };
    match shared.faults.take(&request.method, &target) {
        Some(crate::FaultAction::Reset) => {
            shared.record(request, None, false);
            return Err(ConnectionReset);
        }
        Some(crate::FaultAction::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            shared.record(request, Some(code), false);
            let body = if code == 429 {
                "Retry later"
            } else {
                "injected failure"
            };
            return Ok(plain(status, body));
        }
        Some(crate::FaultAction::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(crate::FaultAction::ResetAfter) => {
            let logged = request.clone();
            let _ = handler(request).await;
            shared.record(logged, None, false);
            return Err(ConnectionReset);
        }
        None => {}
    }
    let logged = shared.log_requests.then(|| request.clone());
    let (method, path) = (request.method.clone(), request.path.clone());
    let (response, unexpected) = match handler(request).await {
        Reply::Send(response) => (response, false),
        Reply::Unrouted(response) => (response, true),
    };
    if logged.is_some() || unexpected {
        let logged = logged.unwrap_or_else(|| FakeRequest {
            method,
            path,
            query: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        });
        shared.record(logged, Some(response.status().as_u16()), unexpected);
    }
    Ok(response)
}

/// A plain-text response.
pub(crate) fn plain(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An empty response.
pub(crate) fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// The inspection and fault-injection methods every fake has. The fake must have a `shared`
/// field and a `dispatcher()` method.
macro_rules! common_fake_api {
    () => {
        /// Failure injection.
        #[must_use]
        pub fn faults(&self) -> &crate::Faults {
            &self.shared.faults
        }

        /// Every request received, in order.
        #[must_use]
        pub fn requests(&self) -> Vec<crate::LoggedRequest> {
            self.shared.requests()
        }

        /// Requests no route matched (a test usually asserts there are none).
        #[must_use]
        pub fn unexpected_requests(&self) -> Vec<crate::LoggedRequest> {
            self.requests()
                .into_iter()
                .filter(|r| r.unexpected)
                .collect()
        }

        /// Webhook deliveries attempted so far.
        #[must_use]
        pub fn webhook_deliveries(&self) -> Vec<crate::WebhookDelivery> {
            self.dispatcher().deliveries()
        }

        /// Waits until every queued webhook has been attempted; `false` on timeout.
        pub async fn wait_for_webhooks(&self, timeout: std::time::Duration) -> bool {
            self.dispatcher().wait_idle(timeout).await
        }
    };
}
pub(crate) use common_fake_api;

/// Locks a fake's state. A panic while it was held leaves data consistent enough for a test
/// double, so a poisoned lock is taken over rather than propagated.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `value` with every object's keys sorted, as Go marshals maps (serde_json keeps insertion
/// order): both gateways are Go servers.
pub(crate) fn go_sorted(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), go_sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(go_sorted).collect()),
        other => other.clone(),
    }
}
