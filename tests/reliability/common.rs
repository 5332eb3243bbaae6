//! What the reliability tests share: a bridge on a fixed port (so upstreams keep reaching it
//! across restarts), signed webhooks captured from the fake gateway, upstream-style
//! redelivery, and the exactly-once / in-order checks.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::Value;
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeRequest, FakeWuzapi, FakeWuzapiConfig, Receiver,
    WuzapiMessage,
};

use crate::support::{Bridge, Db, HMAC_KEY, add_instance, wuzapi_doc};

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the bridge on `port` (its public URL stays the same across restarts).
pub fn start_on(db: &Db, port: u16, extra_env: &[(&str, &str)]) -> Bridge {
    let url = format!("http://127.0.0.1:{port}");
    let mut env = vec![("ZAPWOOT_PUBLIC_URL", url.as_str())];
    env.extend_from_slice(extra_env);
    let addr = format!("127.0.0.1:{port}");
    // A port released by a killed process can take a moment to be free again.
    for _ in 0..50 {
        if std::net::TcpListener::bind(&addr).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Bridge::start_args(db, &env, &["serve", "--listen", &addr])
}

/// The fakes and a bridge with one provisioned wuzapi instance `alpha`.
pub struct World {
    pub chatwoot: FakeChatwoot,
    pub wuzapi: FakeWuzapi,
    pub port: u16,
    /// The gateway webhook URL of `alpha`.
    pub gateway_url: String,
    /// The Chatwoot webhook URL of `alpha`.
    pub chatwoot_url: String,
}

pub async fn world(db: &Db) -> (World, Bridge) {
    world_with(
        db,
        FakeChatwootConfig::default(),
        FakeWuzapiConfig::default(),
    )
    .await
}

/// [`world`] with these fakes (the wuzapi one signs with [`HMAC_KEY`]).
pub async fn world_with(
    db: &Db,
    chatwoot: FakeChatwootConfig,
    mut wuzapi: FakeWuzapiConfig,
) -> (World, Bridge) {
    let chatwoot = FakeChatwoot::start(chatwoot).await.unwrap();
    wuzapi.hmac_key = Some(HMAC_KEY.to_owned());
    let wuzapi = FakeWuzapi::start(wuzapi).await.unwrap();
    let port = free_port();
    let bridge = start_on(db, port, &[]);
    let doc = add_instance(&bridge, &wuzapi_doc("alpha", &wuzapi, &chatwoot)).await;
    // Provisioning opens zapwoot's own conversation in Chatwoot: every case starts once that
    // is done and quiet.
    zapwoot_testkit::chatwoot::welcomed(&bridge, &chatwoot).await;
    let gateway_url = doc["webhooks"]["gateway"].as_str().unwrap().to_owned();
    let chatwoot_url = doc["webhooks"]["chatwoot"].as_str().unwrap().to_owned();
    (
        World {
            chatwoot,
            wuzapi,
            port,
            gateway_url,
            chatwoot_url,
        },
        bridge,
    )
}

/// The customer's phone JID of chat `i`.
pub fn chat(i: usize) -> String {
    format!("55117{i:08}@s.whatsapp.net")
}

/// Real signed wuzapi webhooks for `messages` (`(from, text)`), captured without delivering
/// them.
pub async fn captured(wuzapi: &FakeWuzapi, messages: &[(String, String)]) -> Vec<FakeRequest> {
    let receiver = Receiver::start().await.unwrap();
    let (previous, _) = wuzapi.webhook();
    wuzapi.set_webhook(&receiver.url(), &["All"]);
    for (from, text) in messages {
        wuzapi.emit_message(WuzapiMessage::text(from, text));
    }
    let captured = receiver
        .wait_for(messages.len(), Duration::from_secs(60))
        .await
        .unwrap();
    wuzapi.set_webhook(&previous, &["All"]);
    captured
}

/// Posts a captured webhook once; the status, or `None` when nothing answered.
pub async fn post(http: &reqwest::Client, url: &str, request: &FakeRequest) -> Option<u16> {
    let mut builder = http
        .post(url)
        .body(request.body.clone())
        .timeout(Duration::from_secs(10));
    for name in ["content-type", "x-hmac-signature"] {
        if let Some(v) = request.header(name) {
            builder = builder.header(name, v);
        }
    }
    builder.send().await.ok().map(|r| r.status().as_u16())
}

/// Posts until the bridge accepts (200), as an upstream that retries would.
pub async fn deliver(http: &reqwest::Client, url: &str, request: &FakeRequest) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        if post(http, url, request).await == Some(200) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never accepted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Incoming Chatwoot messages (the customers').
pub fn incoming(chatwoot: &FakeChatwoot) -> Vec<Value> {
    chatwoot
        .all_messages()
        .into_iter()
        .filter(|m| m["message_type"] == serde_json::json!(0))
        .collect()
}

/// Checks that Chatwoot holds each of `expected` (per chat, in order) exactly once, in that
/// order; `chat_of` maps a content back to its chat.
pub fn assert_in_chatwoot_once_in_order(
    chatwoot: &FakeChatwoot,
    expected: &BTreeMap<String, Vec<String>>,
) {
    let contents: Vec<String> = incoming(chatwoot)
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    let unique: HashSet<&String> = contents.iter().collect();
    let total: usize = expected.values().map(Vec::len).sum();
    assert_eq!(
        unique.len(),
        contents.len(),
        "a message doubled in Chatwoot"
    );
    assert_eq!(
        contents.len(),
        total,
        "a message lost on the way to Chatwoot"
    );
    for texts in expected.values() {
        let order: Vec<&String> = contents.iter().filter(|c| texts.contains(c)).collect();
        assert_eq!(
            order,
            texts.iter().collect::<Vec<_>>(),
            "out of order in Chatwoot"
        );
    }
}

/// Texts the fake wuzapi was asked to send, by WhatsApp id (a resend under the same id is
/// one WhatsApp message), in first-send order.
pub fn sent_once(wuzapi: &FakeWuzapi) -> Vec<(String, String, String)> {
    let mut seen = HashSet::new();
    wuzapi
        .sends()
        .into_iter()
        .filter(|s| s.endpoint == "/chat/send/text")
        .filter(|s| seen.insert(s.id.clone()))
        .map(|s| {
            (
                s.id,
                s.phone,
                s.body["Body"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Checks that WhatsApp got each of `expected` (per chat phone, in order) exactly once.
pub fn assert_on_whatsapp_once_in_order(
    wuzapi: &FakeWuzapi,
    expected: &BTreeMap<String, Vec<String>>,
) {
    let sent = sent_once(wuzapi);
    let texts: Vec<&String> = sent.iter().map(|(_, _, t)| t).collect();
    let unique: HashSet<&&String> = texts.iter().collect();
    let total: usize = expected.values().map(Vec::len).sum();
    assert_eq!(
        unique.len(),
        texts.len(),
        "a message went to WhatsApp twice (under two ids)"
    );
    assert_eq!(texts.len(), total, "a message lost on the way to WhatsApp");
    for want in expected.values() {
        let order: Vec<&String> = texts.iter().copied().filter(|t| want.contains(t)).collect();
        assert_eq!(
            order,
            want.iter().collect::<Vec<_>>(),
            "out of order on WhatsApp"
        );
    }
}

/// Polls until `check` holds or `limit` passes; returns whether it held.
pub async fn until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !check() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// The conversation of chat `jid` in the fake Chatwoot, waiting for it up to `limit`.
pub async fn conversation_of(chatwoot: &FakeChatwoot, jid: &str, limit: Duration) -> u64 {
    let phone = format!("+{}", jid.split('@').next().unwrap_or_default());
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let found = chatwoot.conversations().iter().find_map(|conv| {
            (conv["meta"]["sender"]["phone_number"].as_str() == Some(phone.as_str()))
                .then(|| conv["id"].as_u64())
                .flatten()
        });
        if let Some(id) = found {
            return id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no conversation for {jid} ({} conversations)",
            chatwoot.conversations().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A small deterministic random source (xorshift), so a failing run can be repeated.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
