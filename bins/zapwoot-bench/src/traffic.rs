//! Load: real signed wuzapi webhooks (made by a fake wuzapi in this process, signed with the
//! key the bridge knows), posted by concurrent clients; progress read from the fakes process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use serde_json::Value;
use zapwoot_fakes::{FakeWuzapi, FakeWuzapiConfig, Receiver, WuzapiFormat, WuzapiMessage};

use crate::fakes::HMAC_KEY;

/// A webhook ready to post: body and headers.
#[derive(Clone)]
pub(crate) struct Webhook {
    pub(crate) text: String,
    pub(crate) body: Bytes,
    pub(crate) content_type: String,
    pub(crate) signature: String,
}

/// `count` customer texts over `chats` chats (`"{tag} {i}"`), as signed webhooks.
pub(crate) async fn webhooks(tag: &str, count: usize, chats: usize) -> Result<Vec<Webhook>> {
    let mut config = FakeWuzapiConfig::default();
    config.hmac_key = Some(HMAC_KEY.to_owned());
    config.log_requests = false;
    config.format = WuzapiFormat::Json;
    let wuzapi = FakeWuzapi::start(config).await?;
    let receiver = Receiver::start().await?;
    wuzapi.set_webhook(&receiver.url(), &["All"]);
    for i in 0..count {
        let from = format!("55116{:08}@s.whatsapp.net", i % chats.max(1));
        wuzapi.emit_message(WuzapiMessage::text(&from, &format!("{tag} {i}")));
    }
    let received = receiver
        .wait_for(count, Duration::from_secs(300))
        .await
        .unwrap_or_default();
    anyhow::ensure!(
        received.len() >= count,
        "captured {} of {count} webhooks",
        received.len()
    );
    // Each webhook's text, read back from its body.
    let mut out = Vec::with_capacity(count);
    for r in received {
        let text = serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| {
                v.pointer("/event/Message/conversation")?
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        out.push(Webhook {
            text,
            body: r.body.clone(),
            content_type: r.header("content-type").unwrap_or_default().to_owned(),
            signature: r.header("x-hmac-signature").unwrap_or_default().to_owned(),
        });
    }
    Ok(out)
}

/// Posts `webhooks` to `url` from `clients` concurrent clients, `rate` per second in total
/// (`None`: as fast as answered). Returns each webhook's text, send time (unix seconds),
/// answer time and whether it was accepted.
pub(crate) async fn post_all(
    url: &str,
    webhooks: Vec<Webhook>,
    clients: usize,
    rate: Option<f64>,
) -> Vec<(String, f64, Duration, bool)> {
    let http = crate::http_client();
    let queue = Arc::new(tokio::sync::Mutex::new(webhooks.into_iter().enumerate()));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients.max(1) {
        let (http, url, queue) = (http.clone(), url.to_owned(), Arc::clone(&queue));
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let Some((i, w)) = queue.lock().await.next() else {
                    break;
                };
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let sent = Instant::now();
                let sent_unix = now_unix();
                let ok = http
                    .post(&url)
                    .header("content-type", &w.content_type)
                    .header("x-hmac-signature", &w.signature)
                    .body(w.body.clone())
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                done.push((w.text, sent_unix, sent.elapsed(), ok));
            }
            done
        });
    }
    let mut all = Vec::new();
    while let Some(Ok(mut part)) = tasks.join_next().await {
        all.append(&mut part);
    }
    all
}

/// The fakes' control API.
pub(crate) struct Control {
    pub(crate) base: String,
    http: reqwest::Client,
}

impl Control {
    pub(crate) fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: crate::http_client(),
        }
    }

    async fn get(&self, path: &str) -> Value {
        match self.http.get(format!("{}{path}", self.base)).send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    /// `(content, unix seconds)` of incoming Chatwoot messages created after `skip`
    /// messages of any type.
    pub(crate) async fn created(&self, skip: usize) -> Vec<(String, f64, u64)> {
        self.get(&format!("/created?skip={skip}"))
            .await
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                (
                    v[0].as_str().unwrap_or_default().to_owned(),
                    v[1].as_f64().unwrap_or(0.0),
                    v[2].as_u64().unwrap_or(9),
                )
            })
            .collect()
    }

    /// `(text, unix seconds)` of texts sent through wuzapi after `skip`.
    pub(crate) async fn sends(&self, skip: usize) -> Vec<(String, f64)> {
        self.get(&format!("/sends?skip={skip}"))
            .await
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                (
                    v[0].as_str().unwrap_or_default().to_owned(),
                    v[1].as_f64().unwrap_or(0.0),
                )
            })
            .collect()
    }

    pub(crate) async fn conversations(&self) -> Vec<u64> {
        self.get("/conversations")
            .await
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect()
    }

    pub(crate) async fn set_latency(&self, ms: u64) {
        let _ = self.get(&format!("/latency?ms={ms}")).await;
    }

    pub(crate) async fn set_gateway_latency(&self, ms: u64) {
        let _ = self.get(&format!("/gateway_latency?ms={ms}")).await;
    }

    /// Agents write `per` replies in each conversation (paced at `rate` a second when given,
    /// in the background); the number written or planned.
    pub(crate) async fn agents(
        &self,
        conversations: &[u64],
        per: usize,
        prefix: &str,
        rate: Option<f64>,
    ) -> usize {
        let body = serde_json::json!({ "conversations": conversations, "per": per, "prefix": prefix, "rate": rate });
        match self
            .http
            .post(format!("{}/agents", self.base))
            .json(&body)
            .send()
            .await
        {
            Ok(r) => r
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v["created"].as_u64())
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0),
            Err(_) => 0,
        }
    }
}

/// Unix seconds now.
pub(crate) fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
