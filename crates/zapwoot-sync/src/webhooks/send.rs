//! One HTTP attempt of a delivery: signed per Standard Webhooks, redirects not followed,
//! targets vetted, the answer read with a cap.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderName, HeaderValue};
use zapwoot_signing::{Keyring, Secret};
use zapwoot_store::{Delivery, Subscription};

use super::WebhookPolicy;
use super::clock::unix_ms;
use crate::SyncError;
use crate::netguard::{GuardedResolver, url_refusal};

/// What one attempt produced.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer {
    pub(crate) status: Option<u16>,
    pub(crate) latency_ms: i64,
    pub(crate) error: Option<String>,
    pub(crate) response: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) timed_out: bool,
}

/// Two HTTP clients: one refusing private networks, one allowing them (per subscription).
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    strict: reqwest::Client,
    lan: reqwest::Client,
    max_response: usize,
}

/// Headers a subscription's custom headers may not replace.
const RESERVED: [&str; 7] = [
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

impl Sender {
    pub(crate) fn new(policy: &WebhookPolicy) -> Result<Self, SyncError> {
        Ok(Self {
            strict: client(policy, false)?,
            lan: client(policy, true)?,
            max_response: policy.max_response_bytes,
        })
    }

    /// Sends `delivery` to `subscription`, signed with the secrets valid at `now_ms`.
    pub(crate) async fn send(
        &self,
        subscription: &Subscription,
        delivery: &Delivery,
        now_ms: i64,
    ) -> Answer {
        let allow_private = subscription.config.allow_private_network;
        if let Some(refusal) = url_refusal(&subscription.config.url, allow_private) {
            return failed(format!("refused: {refusal}"));
        }
        let secrets: Result<Vec<Secret>, _> = subscription
            .signing_secrets(now_ms)
            .into_iter()
            .map(|s| Secret::from_standard(s.expose()))
            .collect();
        let Some(keyring) = secrets.ok().as_deref().and_then(Keyring::from_secrets) else {
            return failed("the subscription's secret is not a valid whsec_ secret".to_owned());
        };
        // The timestamp is when the request really leaves, whatever clock schedules retries.
        let timestamp = u64::try_from(unix_ms(SystemTime::now()) / 1000).unwrap_or(0);
        let signature = match keyring.sign_standard(
            &delivery.message_id,
            timestamp,
            delivery.payload.as_bytes(),
        ) {
            Ok(s) => s,
            Err(e) => return failed(format!("cannot sign: {e}")),
        };
        let client = if allow_private {
            &self.lan
        } else {
            &self.strict
        };
        let mut request = client
            .post(&subscription.config.url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature);
        for (name, value) in &subscription.config.headers {
            let lower = name.to_ascii_lowercase();
            if RESERVED.contains(&lower.as_str()) {
                continue;
            }
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(lower.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                request = request.header(name, value);
            }
        }
        let started = Instant::now();
        let result = request.body(delivery.payload.clone()).send().await;
        let mut answer = match result {
            Ok(mut response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let (body, read_error) = read_capped(&mut response, self.max_response).await;
                Answer {
                    status: Some(status.as_u16()),
                    error: if status.is_success() {
                        None
                    } else {
                        Some(
                            read_error.unwrap_or_else(|| format!("the receiver answered {status}")),
                        )
                    },
                    response: (!body.is_empty()).then_some(body),
                    retry_after,
                    ..Answer::default()
                }
            }
            Err(e) => Answer {
                timed_out: e.is_timeout(),
                error: Some(describe(&e)),
                ..Answer::default()
            },
        };
        answer.latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        answer
    }
}

fn failed(error: String) -> Answer {
    Answer {
        error: Some(error),
        ..Answer::default()
    }
}

/// Reads at most `cap` bytes of the body (the rest is dropped with the connection).
async fn read_capped(response: &mut reqwest::Response, cap: usize) -> (String, Option<String>) {
    let mut body = Vec::new();
    let mut error = None;
    while body.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap - body.len();
                body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(format!("reading the answer: {}", describe(&e)));
                break;
            }
        }
    }
    (String::from_utf8_lossy(&body).into_owned(), error)
}

/// The error and its causes, without the URL (it may carry a token).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "no answer within the timeout".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    let mut last = String::new();
    while let Some(cause) = source {
        let line = cause.to_string();
        if line != last && !text.ends_with(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        last = line;
        source = cause.source();
    }
    text
}

fn client(policy: &WebhookPolicy, allow_private: bool) -> Result<reqwest::Client, SyncError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(crate::tls::config()?)
        .dns_resolver(GuardedResolver { allow_private })
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(policy.timeout)
        .connect_timeout(policy.connect_timeout)
        .pool_max_idle_per_host(8)
        .user_agent(concat!("zapwoot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SyncError::Client(e.to_string()))
}
