//! A fake go-whatsapp-web-multidevice (GOWA) server on `127.0.0.1:0`.
//!
//! Basic auth (except `/statics/*` and `/health`), device scoping by `X-Device-Id` (id or JID),
//! upstream's `{code, message, results}` envelopes and error codes (`VALIDATION_ERROR`,
//! `DEVICE_ID_REQUIRED`, `DEVICE_NOT_FOUND`, `AUTHENTICATION_ERROR`…), JSON and multipart
//! sends, message actions, lookups, public media under `/statics`, and webhooks in the chosen
//! generation (flat ≤ v7, envelope v8.0, current) signed with `X-Hub-Signature-256`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};
use zapwoot_signing::{Keyring, Secret};

use crate::dispatch::{DispatchOptions, Dispatcher, Post, WebhookOrder};
use crate::random;
use crate::server::{self, FakeRequest, Reply, Running, Shared, json as json_response, plain};

mod history;
mod routes;
use history::{HistoryRow, chat_messages, chats};
use routes::handle;

/// Which webhook layout the fake emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GowaGeneration {
    /// ≤ v7.x: flat message bodies (`from`, `message{text,id,…}`, `pushname`, media objects).
    V7Flat,
    /// v8.0–v8.1: envelope, media as `{media_path, mime_type, caption}`.
    V8_0,
    /// ≥ v8.3.1: envelope, media as a path or `{path, caption}`, caption copied to `body`.
    #[default]
    Current,
}

/// How to run a [`FakeGowa`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FakeGowaConfig {
    /// Address to bind.
    pub addr: SocketAddr,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// Devices as `(id, jid)`.
    pub devices: Vec<(String, String)>,
    /// Webhook secret (upstream default: the literal `secret`).
    pub webhook_secret: String,
    /// Webhook layout.
    pub generation: GowaGeneration,
    /// Per-device webhooks (`PATCH /devices/{id}/webhook`, GOWA ≥ 8.10); `false` answers that
    /// route 404 like older servers.
    pub device_webhooks: bool,
    /// Webhook ordering.
    pub order: WebhookOrder,
    /// Send every Nth webhook twice.
    pub duplicate_every: Option<u32>,
    /// Delay before each webhook.
    pub delay: Duration,
    /// Keep every request in the log.
    pub log_requests: bool,
}

impl Default for FakeGowaConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            username: "admin".to_owned(),
            password: "gowa-password".to_owned(),
            devices: vec![(
                "org_1".to_owned(),
                "5511900000000@s.whatsapp.net".to_owned(),
            )],
            webhook_secret: "secret".to_owned(),
            generation: GowaGeneration::Current,
            device_webhooks: true,
            order: WebhookOrder::InOrder,
            duplicate_every: None,
            delay: Duration::ZERO,
            log_requests: true,
        }
    }
}

/// A send or action the fake accepted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GowaSend {
    /// Endpoint path.
    pub endpoint: String,
    /// The device it was sent from.
    pub device: String,
    /// The fields (multipart text fields or JSON).
    pub fields: Map<String, Value>,
    /// Uploaded file: (field, file name, content type, bytes).
    pub file: Option<(String, String, String, Vec<u8>)>,
    /// The message id answered.
    pub message_id: String,
}

#[derive(Debug, Default)]
struct State {
    webhook_url: Option<String>,
    /// Device JID → its own webhook URL and secret (override the global ones).
    device_webhooks: HashMap<String, (String, Option<String>)>,
    logged_out: Vec<String>,
    sends: Vec<GowaSend>,
    /// `POST /message/{id}/read` calls: the `phone` (chat) and the message id, in order.
    read_marks: Vec<(String, String)>,
    /// `POST /send/chat-presence` calls: the `phone` and the `action` (`start` / `stop`).
    presences: Vec<(String, String)>,
    /// `POST /call/reject` calls: the caller and the call id.
    rejected_calls: Vec<(String, String)>,
    statics: HashMap<String, (Vec<u8>, String)>,
    downloads: HashMap<String, String>,
    /// Every `message` the session saw (GOWA's chat storage), oldest first.
    history: Vec<HistoryRow>,
    /// Webhooks are given up on (GOWA stops retrying after ~30 s): not posted at all.
    webhooks_lost: bool,
    /// Device id → where its pairing is (GOWA reports pairing only on its websocket: the
    /// bridge sees it by polling the status).
    pairing: HashMap<String, crate::pairing::Pairing>,
}

#[derive(Debug)]
struct Core {
    config: FakeGowaConfig,
    state: Mutex<State>,
    webhooks: Dispatcher,
}

impl Core {
    fn state(&self) -> MutexGuard<'_, State> {
        crate::server::lock(&self.state)
    }
}

/// A running fake GOWA. Stops when dropped.
#[derive(Debug)]
pub struct FakeGowa {
    core: Arc<Core>,
    shared: Arc<Shared>,
    running: Running,
}

impl FakeGowa {
    crate::server::common_fake_api!();

    fn dispatcher(&self) -> &Dispatcher {
        &self.core.webhooks
    }

    /// Starts the fake with every device logged in.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(config: FakeGowaConfig) -> std::io::Result<Self> {
        let core = Arc::new(Core {
            webhooks: Dispatcher::start(DispatchOptions {
                order: config.order,
                duplicate_every: config.duplicate_every,
                delay: config.delay,
                timeout: Duration::from_secs(10),
            }),
            state: Mutex::new(State::default()),
            config: config.clone(),
        });
        let shared = Arc::new(Shared::new(config.log_requests));
        let handler_core = Arc::clone(&core);
        let handler: server::Handler = Arc::new(move |req| {
            let core = Arc::clone(&handler_core);
            Box::pin(async move { handle(&core, req).await })
        });
        let running = server::serve(config.addr, Arc::clone(&shared), handler).await?;
        Ok(Self {
            core,
            shared,
            running,
        })
    }

    /// Base URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// The text of the QR code `device_id` shows while pairing.
    #[must_use]
    pub fn current_qr(&self, device_id: &str) -> Option<String> {
        self.core
            .state()
            .pairing
            .get(device_id)
            .and_then(|p| p.qr.clone())
    }

    /// How many times a login call (re)started `device_id`'s QR flow.
    #[must_use]
    pub fn login_calls(&self, device_id: &str) -> u32 {
        self.core
            .state()
            .pairing
            .get(device_id)
            .map_or(0, |p| p.generation)
    }

    /// The linking code handed out for `device_id`, and for which phone.
    #[must_use]
    pub fn pair_code(&self, device_id: &str) -> Option<(String, String)> {
        self.core
            .state()
            .pairing
            .get(device_id)
            .and_then(|p| p.pair_code.clone())
    }

    /// The phone scans `device_id`'s QR code (or types its code): logged in. Returns whether
    /// pairing was under way.
    pub fn scan(&self, device_id: &str) -> bool {
        let mut state = self.core.state();
        if !state
            .pairing
            .get(device_id)
            .is_some_and(crate::pairing::Pairing::active)
        {
            return false;
        }
        state.pairing.remove(device_id);
        state.logged_out.retain(|d| d != device_id);
        true
    }

    /// Sends and message actions accepted; read marks and typing are in [`Self::read_marks`]
    /// and [`Self::presences`].
    #[must_use]
    pub fn sends(&self) -> Vec<GowaSend> {
        self.core.state().sends.clone()
    }

    /// `POST /send/chat-presence` calls accepted: the chat (`phone`) and the `action`.
    #[must_use]
    pub fn presences(&self) -> Vec<(String, String)> {
        self.core.state().presences.clone()
    }

    /// `POST /call/reject` calls accepted: the caller and the call id.
    #[must_use]
    pub fn rejected_calls(&self) -> Vec<(String, String)> {
        self.core.state().rejected_calls.clone()
    }

    /// Emits a `group.participants` event: `action` (`join`, `leave`, `promote`, `demote`) for
    /// `jids` in `group` (GOWA says nothing about who did it).
    pub fn emit_group_participants(&self, group: &str, action: &str, jids: &[&str]) {
        let payload = json!({ "chat_id": group, "type": action, "jids": jids });
        if let Value::Object(payload) = payload {
            let device = self.device_jid();
            self.emit(&device, "group.participants", payload);
        }
    }

    /// Emits a `call.offer` event from `from`; returns the call id.
    pub fn emit_call_offer(&self, from: &str) -> String {
        let call_id = random::hex(16).to_uppercase();
        let payload = json!({ "call_id": call_id, "from": from, "auto_rejected": false, "remote_platform": "android" });
        if let Value::Object(payload) = payload {
            let device = self.device_jid();
            self.emit(&device, "call.offer", payload);
        }
        call_id
    }

    /// `POST /message/{id}/read` calls accepted: the chat (`phone`) and the message id.
    #[must_use]
    pub fn read_marks(&self) -> Vec<(String, String)> {
        self.core.state().read_marks.clone()
    }

    /// Where webhooks go (`--webhook`).
    pub fn set_webhook(&self, url: &str) {
        self.core.state().webhook_url = Some(url.to_owned());
    }

    /// Logs a device out (`AUTHENTICATION_ERROR` on its calls) or back in.
    pub fn set_logged_in(&self, device_id: &str, logged_in: bool) {
        let mut state = self.core.state();
        state.logged_out.retain(|d| d != device_id);
        if !logged_in {
            state.logged_out.push(device_id.to_owned());
        }
    }

    /// Stores a file under `statics/media/` with `name` (e.g. `x.ogg; codecs=opus`); returns
    /// the path as webhooks carry it.
    pub fn add_static(&self, name: &str, bytes: &[u8], mime: &str) -> String {
        let path = format!("statics/media/{name}");
        self.core
            .state()
            .statics
            .insert(path.clone(), (bytes.to_vec(), mime.to_owned()));
        path
    }

    /// Emits a webhook of `event` with `payload` (envelope generations; `message` events are
    /// rewritten to the flat layout in [`GowaGeneration::V7Flat`]).
    pub fn emit(&self, device_jid: &str, event: &str, payload: Map<String, Value>) {
        if event == "message"
            && let Some(row) = HistoryRow::from_payload(&payload)
        {
            self.core.state().history.push(row);
        }
        if self.core.state().webhooks_lost {
            return;
        }
        let (url, device_secret) = {
            let state = self.core.state();
            match state.device_webhooks.get(device_jid) {
                Some((url, secret)) => (Some(url.clone()), secret.clone()),
                None => (state.webhook_url.clone(), None),
            }
        };
        let Some(url) = url else {
            return;
        };
        let generation = self.core.config.generation;
        let body = if generation == GowaGeneration::V7Flat && event == "message" {
            flat(&payload)
        } else {
            let mut top = Map::new();
            top.insert("device_id".into(), json!(device_jid));
            top.insert("event".into(), json!(event));
            top.insert("payload".into(), Value::Object(payload));
            if !event.starts_with("message") || event == "message.ack" {
                top.insert("timestamp".into(), json!(rfc3339_now()));
            }
            Value::Object(top)
        };
        let body = crate::server::go_sorted(&body).to_string();
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        let secret = device_secret.unwrap_or_else(|| self.core.config.webhook_secret.clone());
        if let Ok(secret) = Secret::from_bytes(secret.as_bytes()) {
            headers.push((
                "x-hub-signature-256".to_owned(),
                Keyring::new(&secret).sign_hub(body.as_bytes()),
            ));
        }
        self.core.webhooks.post(Post {
            url,
            event: event.to_owned(),
            headers,
            body: Bytes::from(body),
            on_failure: None,
        });
    }

    /// The per-device webhook URL of device `jid`, when one was set.
    pub fn device_webhook(&self, jid: &str) -> Option<String> {
        self.core
            .state()
            .device_webhooks
            .get(jid)
            .map(|(url, _)| url.clone())
    }

    /// From now on webhooks are lost (`true`): events still reach the chat storage, as when
    /// GOWA gave up retrying a bridge that was away.
    pub fn lose_webhooks(&self, lost: bool) {
        self.core.state().webhooks_lost = lost;
    }

    /// Emits a text `message` from `from` sent at `secs` (unix seconds); returns its id.
    pub fn emit_text_at(&self, from: &str, text: &str, secs: i64) -> String {
        let mut payload = self.message_payload(from);
        payload.insert("body".into(), json!(text));
        payload.insert("timestamp".into(), json!(crate::time::rfc3339(secs)));
        let id = payload
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.emit(&self.device_jid(), "message", payload);
        id
    }

    /// Stores a text from `from` sent at `secs` in the chat storage only, with no webhook (a
    /// message from before the bridge was connected); returns its id.
    pub fn keep_text_at(&self, from: &str, text: &str, secs: i64) -> String {
        let mut payload = self.message_payload(from);
        payload.insert("body".into(), json!(text));
        payload.insert("timestamp".into(), json!(crate::time::rfc3339(secs)));
        let row = HistoryRow::from_payload(&payload);
        let id = row.as_ref().map(|r| r.id.clone()).unwrap_or_default();
        if let Some(row) = row {
            self.core.state().history.push(row);
        }
        id
    }

    /// Emits a text `message` from `from` in the 1:1 chat; returns its id.
    pub fn emit_text(&self, from: &str, text: &str) -> String {
        let mut payload = self.message_payload(from);
        payload.insert("body".into(), json!(text));
        let id = payload
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.emit(&self.device_jid(), "message", payload);
        id
    }

    /// Emits a media `message` (`kind`: image, video, audio, document, sticker) whose file is
    /// served under `/statics`; returns its id.
    pub fn emit_media(
        &self,
        from: &str,
        kind: &str,
        name: &str,
        bytes: &[u8],
        mime: &str,
        caption: Option<&str>,
    ) -> String {
        let path = self.add_static(name, bytes, mime);
        let mut payload = self.message_payload(from);
        let id = payload
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.core.state().downloads.insert(id.clone(), path.clone());
        let media = match (self.core.config.generation, caption) {
            (GowaGeneration::Current, Some(c)) => {
                payload.insert("body".into(), json!(c));
                json!({ "path": path, "caption": c })
            }
            (GowaGeneration::Current, None) => json!(path),
            (_, c) => {
                json!({ "media_path": path, "mime_type": mime, "caption": c.unwrap_or_default() })
            }
        };
        payload.insert(kind.to_owned(), media);
        self.emit(&self.device_jid(), "message", payload);
        id
    }

    /// Emits a `chat_presence` event (GOWA ≥ v8.3.4): `chat` typing (`composing`) or stopped
    /// (`paused`), from the fake's device.
    pub fn emit_chat_presence(&self, chat: &str, state: &str) {
        let payload = json!({
            "from": chat, "chat_id": chat, "state": state, "media": "",
            "is_group": chat.ends_with("@g.us"),
        });
        let Value::Object(payload) = payload else {
            return;
        };
        let device = self.device_jid();
        self.emit(&device, "chat_presence", payload);
    }

    /// Emits a `message.ack` (`receipt_type` `delivered`, `read` or `read-self`).
    pub fn emit_ack(&self, chat: &str, ids: &[&str], receipt_type: &str) {
        let payload = json!({ "ids": ids, "chat_id": chat, "from": chat, "receipt_type": receipt_type, "receipt_type_description": receipt_type });
        self.emit(
            &self.device_jid(),
            "message.ack",
            payload.as_object().cloned().unwrap_or_default(),
        );
    }

    /// A payload with the common message fields (`id`, `timestamp`, `chat_id`, `from`, …).
    #[must_use]
    pub fn message_payload(&self, from: &str) -> Map<String, Value> {
        json!({
            "id": format!("3EB0{}", random::hex(10)), "timestamp": rfc3339_now(), "is_from_me": false,
            "chat_id": from, "from": from, "from_name": "Customer", "sender_display_name": "Customer",
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn device_jid(&self) -> String {
        self.core
            .config
            .devices
            .first()
            .map(|d| d.1.clone())
            .unwrap_or_default()
    }

    /// Stops serving: new connections are refused.
    pub fn shutdown(&self) {
        self.running.shutdown();
    }
}

/// The ≤ v7 layout of a message payload.
fn flat(payload: &Map<String, Value>) -> Value {
    let get = |k: &str| payload.get(k).cloned().unwrap_or(Value::Null);
    let chat = payload
        .get("chat_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("from".into(), get("from"));
    out.insert(
        "chat_id".into(),
        json!(chat.split('@').next().unwrap_or(chat)),
    );
    out.insert(
        "sender_id".into(),
        json!(
            payload
                .get("from")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .split('@')
                .next()
        ),
    );
    out.insert("pushname".into(), get("from_name"));
    out.insert("timestamp".into(), get("timestamp"));
    out.insert("message".into(), json!({ "text": payload.get("body").cloned().unwrap_or(json!("")), "id": get("id"), "replied_id": "", "quoted_message": "" }));
    for kind in ["image", "video", "audio", "document", "sticker"] {
        if let Some(media) = payload.get(kind) {
            out.insert(kind.into(), media.clone());
        }
    }
    Value::Object(out)
}

/// The current time as GOWA prints times (`2026-11-21T08:47:41Z`).
fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let iso = crate::chatwoot::iso(secs);
    format!("{}Z", iso.split('.').next().unwrap_or(&iso))
}

fn success(results: &Value) -> Reply {
    Reply::Send(json_response(
        StatusCode::OK,
        &json!({ "code": "SUCCESS", "message": "Success", "results": results }),
    ))
}

fn error(status: StatusCode, code: &str, message: &str) -> Reply {
    Reply::Send(json_response(
        status,
        &json!({ "code": code, "message": message }),
    ))
}

fn authorized(core: &Core, req: &FakeRequest) -> bool {
    let Some(encoded) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
    else {
        return false;
    };
    let expected = format!("{}:{}", core.config.username, core.config.password);
    STANDARD
        .decode(encoded.trim())
        .is_ok_and(|d| d == expected.as_bytes())
}
