//! A CRM sending through zapwoot's send API: one WhatsApp message per order, with the order as
//! its `Idempotency-Key` — so a retry after a timeout, a 429 or a crash of the CRM itself never
//! sends it twice — then waiting on its own signed subscription until WhatsApp reports it
//! `delivered` (or zapwoot reports `delivery.failed`). The message also shows in the customer's
//! Chatwoot conversation, so agents see what the CRM said.
//!
//! ```sh
//! ZAPWOOT_URL=http://127.0.0.1:8080 ZAPWOOT_ADMIN_TOKEN=<token> INSTANCE=alpha \
//!   TO=5511987654321 ORDER=12345 LISTEN=127.0.0.1:8092 HOOK_URL=http://127.0.0.1:8092/ \
//!   cargo run -p zapwoot-examples --example crm_send
//! ```

/// The signed receiver of `examples/subscriber.rs`.
#[allow(dead_code, unreachable_pub)]
#[path = "subscriber.rs"]
pub mod subscriber;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

pub use subscriber::{Delivery, Subscriber};

/// Attempts of one send before giving up (each with the same idempotency key).
const ATTEMPTS: u32 = 6;

/// What went wrong talking to zapwoot.
#[derive(Debug)]
pub enum CrmError {
    /// zapwoot refused the request (4xx): it will not succeed by retrying.
    Refused {
        /// The HTTP status.
        status: u16,
        /// zapwoot's `{"error": {"code", "message", "field"?}}`.
        body: Value,
    },
    /// zapwoot could not be reached, or kept answering 429/5xx.
    Unavailable(String),
}

impl std::fmt::Display for CrmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused { status, body } => write!(f, "zapwoot answered {status}: {body}"),
            Self::Unavailable(why) => write!(f, "zapwoot unavailable: {why}"),
        }
    }
}

impl std::error::Error for CrmError {}

/// The bridge's admin API.
#[derive(Debug, Clone)]
pub struct Zapwoot {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Zapwoot {
    /// The bridge at `base` (`http://127.0.0.1:8080`) with an admin token.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base: &str, token: &str) -> Result<Self, reqwest::Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .build()?,
        })
    }

    /// Subscribes `url` to what a CRM follows of its messages, signed with `secret`.
    ///
    /// # Errors
    /// [`CrmError`].
    pub async fn subscribe(
        &self,
        url: &str,
        secret: &str,
        allow_private_network: bool,
    ) -> Result<(), CrmError> {
        let document = json!({
            "url": url,
            "events": ["message.sent", "message.status", "delivery.failed"],
            "secret": secret,
            "allow_private_network": allow_private_network,
        });
        let response = self
            .http
            .post(format!("{}/api/v1/subscriptions", self.base))
            .bearer_auth(&self.token)
            .json(&document)
            .send()
            .await
            .map_err(|e| CrmError::Unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        if status == 201 {
            return Ok(());
        }
        Err(CrmError::Refused {
            status,
            body: response.json().await.unwrap_or(Value::Null),
        })
    }

    /// Sends `text` to `to` through `instance` under `key`; returns the message id. Retries
    /// what may succeed later (no answer, 429 after its `Retry-After`, 5xx) with the same key,
    /// so zapwoot sends it once however often this asks.
    ///
    /// # Errors
    /// [`CrmError::Refused`] for bad input (the `field` says which), [`CrmError::Unavailable`]
    /// after [`ATTEMPTS`].
    pub async fn send(
        &self,
        instance: &str,
        to: &str,
        text: &str,
        key: &str,
    ) -> Result<String, CrmError> {
        let url = format!("{}/api/v1/instances/{instance}/messages", self.base);
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
            }
            let response = self
                .http
                .post(&url)
                .bearer_auth(&self.token)
                .header("idempotency-key", key)
                .json(&json!({ "to": to, "text": text }))
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            match status {
                202 => {
                    return body
                        .get("id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| CrmError::Unavailable("202 without an id".into()));
                }
                429 => {
                    last = "429".into();
                    tokio::time::sleep(Duration::from_secs(retry_after.unwrap_or(1).min(60))).await;
                }
                500.. => last = format!("{status}: {body}"),
                _ => return Err(CrmError::Refused { status, body }),
            }
        }
        Err(CrmError::Unavailable(last))
    }
}

/// How a message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// WhatsApp delivered it (or it was read).
    Delivered {
        /// Its WhatsApp id.
        wa_message_id: String,
    },
    /// zapwoot could not send it.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Follows verified `events` until message `id` is delivered or failed. `message.sent` names
/// the WhatsApp id of an API message (`api_message_id`); `message.status` then follows that
/// WhatsApp id. Statuses are kept until their `message.sent` is seen, in case they come first.
pub async fn wait_for_delivery(
    events: &mut UnboundedReceiver<Delivery>,
    id: &str,
) -> Option<Outcome> {
    let mut wa_id: Option<String> = None;
    let mut early: HashMap<String, String> = HashMap::new();
    while let Some(event) = events.recv().await {
        let data = event.body.get("data").unwrap_or(&Value::Null);
        let text = |field: &str| data[field].as_str().map(str::to_owned);
        match event.kind.as_str() {
            "message.sent" if data["api_message_id"] == id => {
                let wa = text("wa_message_id")?;
                if early
                    .get(&wa)
                    .is_some_and(|s| s == "delivered" || s == "read")
                {
                    return Some(Outcome::Delivered { wa_message_id: wa });
                }
                wa_id = Some(wa);
            }
            "message.status" => {
                let (Some(wa), Some(status)) = (text("wa_message_id"), text("status")) else {
                    continue;
                };
                let delivered = status == "delivered" || status == "read";
                match &wa_id {
                    Some(mine) if *mine == wa && delivered => {
                        return Some(Outcome::Delivered { wa_message_id: wa });
                    }
                    None => {
                        early.insert(wa, status);
                    }
                    _ => {}
                }
            }
            "delivery.failed" if data["api_message_id"] == id => {
                return Some(Outcome::Failed {
                    reason: text("reason").unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    None
}

/// Starts the signed receiver on `listener`; its verified events come out of the receiver.
///
/// # Errors
/// A secret that is not `whsec_` + base64.
pub fn listen(
    listener: tokio::net::TcpListener,
    secret: &str,
) -> Result<UnboundedReceiver<Delivery>, zapwoot_signing::SecretError> {
    let (subscriber, events) = Subscriber::new(secret)?;
    tokio::spawn(subscriber::serve(listener, Arc::new(subscriber)));
    Ok(events)
}

#[allow(dead_code, clippy::print_stdout)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is required"));
    let zapwoot = Zapwoot::new(
        &std::env::var("ZAPWOOT_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into()),
        &env("ZAPWOOT_ADMIN_TOKEN")?,
    )?;
    let listen_on = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8092".into());
    let hook_url = std::env::var("HOOK_URL").unwrap_or_else(|_| format!("http://{listen_on}/"));
    let secret = zapwoot_signing::Secret::generate()?.expose_standard();
    let mut events = listen(tokio::net::TcpListener::bind(&listen_on).await?, &secret)?;
    zapwoot.subscribe(&hook_url, &secret, true).await?;
    let order = env("ORDER")?;
    let id = zapwoot
        .send(
            &env("INSTANCE")?,
            &env("TO")?,
            &format!("Your order *{order}* has shipped"),
            &format!("order-{order}"),
        )
        .await?;
    println!("message {id} queued");
    match wait_for_delivery(&mut events, &id).await {
        Some(Outcome::Delivered { wa_message_id }) => println!("delivered ({wa_message_id})"),
        Some(Outcome::Failed { reason }) => println!("not sent: {reason}"),
        None => println!("the receiver stopped"),
    }
    Ok(())
}
