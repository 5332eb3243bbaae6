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
    statics: HashMap<String, (Vec<u8>, String)>,
    downloads: HashMap<String, String>,
    /// Every `message` the session saw (GOWA's chat storage), oldest first.
    history: Vec<HistoryRow>,
    /// Webhooks are given up on (GOWA stops retrying after ~30 s): not posted at all.
    webhooks_lost: bool,
}

/// One message of the chat storage behind `/chats` and `/chat/{jid}/messages`.
#[derive(Debug, Clone)]
struct HistoryRow {
    id: String,
    chat: String,
    sender: String,
    name: String,
    content: Option<String>,
    secs: i64,
    from_me: bool,
    media_type: Option<String>,
    filename: Option<String>,
}

impl HistoryRow {
    fn from_payload(payload: &Map<String, Value>) -> Option<Self> {
        let get = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_owned);
        let media_type = ["image", "video", "audio", "document", "sticker"]
            .into_iter()
            .find(|k| payload.get(*k).is_some_and(|v| !v.is_null()))
            .map(str::to_owned);
        let filename = media_type.as_ref().and_then(|k| {
            let media = payload.get(k)?;
            media
                .as_str()
                .or_else(|| media.get("path").and_then(Value::as_str))
                .or_else(|| media.get("media_path").and_then(Value::as_str))
                .and_then(|p| p.rsplit('/').next())
                .map(str::to_owned)
        });
        Some(Self {
            id: get("id")?,
            chat: get("chat_id")?,
            sender: get("from").unwrap_or_default(),
            name: get("from_name").unwrap_or_default(),
            content: get("body"),
            secs: get("timestamp").and_then(|t| parse_rfc3339(&t))?,
            from_me: payload
                .get("is_from_me")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            media_type,
            filename,
        })
    }

    /// GOWA's `MessageInfo`.
    fn to_json(&self) -> Value {
        let stamp = crate::time::rfc3339(self.secs);
        json!({
            "id": self.id, "chat_jid": self.chat, "sender_jid": self.sender,
            "sender_display_name": self.name, "content": self.content.clone().unwrap_or_default(),
            "timestamp": stamp, "is_from_me": self.from_me,
            "media_type": self.media_type.clone().unwrap_or_default(),
            "filename": self.filename.clone().unwrap_or_default(),
            "url": self.media_type.as_ref().map(|_| format!("https://mmg.whatsapp.net/v/fake/{}.enc", self.id)).unwrap_or_default(),
            "file_length": 0, "created_at": stamp, "updated_at": stamp,
        })
    }
}

#[derive(Debug)]
struct Core {
    config: FakeGowaConfig,
    state: Mutex<State>,
    webhooks: Dispatcher,
}

impl Core {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    /// Sends and actions accepted.
    #[must_use]
    pub fn sends(&self) -> Vec<GowaSend> {
        self.core.state().sends.clone()
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
        let body = sorted(&body).to_string();
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

/// Unix seconds as GOWA prints times (`2026-11-21T08:47:41Z`).
/// `YYYY-MM-DDTHH:MM:SS` + `Z` or `±HH:MM` (fractions ignored) → unix seconds.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.len() < 19 {
        return None; // a date alone is not a time
    }
    let instant = text.parse::<jiff::Timestamp>().ok().or_else(|| {
        // No offset: UTC.
        text.parse::<jiff::civil::DateTime>()
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })?;
    Some(instant.as_second())
}

/// `GET /chats`: chats of the storage, most recent first, paged.
fn chats(core: &Core, req: &FakeRequest) -> Reply {
    let (limit, offset) = paging(req, 25);
    let state = core.state();
    let mut latest: HashMap<&str, &HistoryRow> = HashMap::new();
    for row in &state.history {
        let entry = latest.entry(row.chat.as_str()).or_insert(row);
        if row.secs >= entry.secs {
            *entry = row;
        }
    }
    let mut list: Vec<&HistoryRow> = latest.into_values().collect();
    list.sort_by(|a, b| b.secs.cmp(&a.secs).then_with(|| a.chat.cmp(&b.chat)));
    let total = list.len();
    let data: Vec<Value> = list
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|r| {
            let t = crate::time::rfc3339(r.secs);
            json!({ "jid": r.chat, "name": r.name, "last_message_time": t, "ephemeral_expiration": 0, "created_at": t, "updated_at": t, "archived": false })
        })
        .collect();
    success(
        &json!({ "data": data, "pagination": { "limit": limit, "offset": offset, "total": total } }),
    )
}

/// `GET /chat/{jid}/messages`: newest first, `limit` at most 100, `start_time`/`end_time`
/// (RFC 3339) bound the timestamps.
fn chat_messages(core: &Core, req: &FakeRequest, jid: &str) -> Reply {
    let (limit, offset) = paging(req, 50);
    // `Err(name)`: that bound is not a time.
    let bound = |name: &'static str| -> Result<Option<i64>, &'static str> {
        match req.query_param(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => parse_rfc3339(&v).map(Some).ok_or(name),
        }
    };
    let (start, end) = match (bound("start_time"), bound("end_time")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(name), _) | (_, Err(name)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                &format!("{name}: invalid time"),
            );
        }
    };
    let state = core.state();
    // Newest first; of one second, the last stored first.
    let mut rows: Vec<&HistoryRow> = state
        .history
        .iter()
        .rev()
        .filter(|r| r.chat == jid)
        .filter(|r| start.is_none_or(|s| r.secs >= s) && end.is_none_or(|e| r.secs <= e))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.secs));
    let total = rows.len();
    let data: Vec<Value> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(HistoryRow::to_json)
        .collect();
    success(
        &json!({ "data": data, "pagination": { "limit": limit, "offset": offset, "total": total }, "chat_info": { "jid": jid } }),
    )
}

fn paging(req: &FakeRequest, default: usize) -> (usize, usize) {
    let limit = req
        .query_param("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
        .clamp(1, 100);
    let offset = req
        .query_param("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    (limit, offset)
}

fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let iso = crate::chatwoot::iso(secs);
    format!("{}Z", iso.split('.').next().unwrap_or(&iso))
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
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

/// `PATCH /devices/{id}/webhook {webhook_url, webhook_secret?}` (id or JID; `""` clears).
fn device_webhook(core: &Core, rest: &str, req: &FakeRequest) -> Reply {
    let Some(asked) = rest.strip_suffix("/webhook").map(percent_decode) else {
        return Reply::Send(plain(StatusCode::NOT_FOUND, "Cannot PATCH"));
    };
    if !core.config.device_webhooks {
        return Reply::Send(plain(StatusCode::NOT_FOUND, "Cannot PATCH"));
    }
    let Some((_, jid)) = core
        .config
        .devices
        .iter()
        .find(|(id, jid)| *id == asked || *jid == asked)
    else {
        return error(
            StatusCode::NOT_FOUND,
            "DEVICE_NOT_FOUND",
            &format!("device {asked} not found"),
        );
    };
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let Some(url) = body.get("webhook_url").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "webhook_url: cannot be blank.",
        );
    };
    let secret = body
        .get("webhook_secret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let mut state = core.state();
    if url.is_empty() {
        state.device_webhooks.remove(jid);
    } else {
        state
            .device_webhooks
            .insert(jid.clone(), (url.to_owned(), secret));
    }
    success(&json!({ "device_id": jid, "webhook_url": url }))
}

/// `X-Device-Id` (or `device_id` query): id or JID; defaults to the only device.
// The error is the finished reply; a fake can afford the large variant.
#[allow(clippy::result_large_err)]
fn resolve_device(core: &Core, req: &FakeRequest) -> Result<String, Reply> {
    let asked = req
        .header("x-device-id")
        .map(str::to_owned)
        .or_else(|| req.query_param("device_id"));
    let devices = &core.config.devices;
    let device = match asked.filter(|a| !a.is_empty()) {
        Some(a) => devices
            .iter()
            .find(|(id, jid)| *id == a || *jid == a)
            .ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    "DEVICE_NOT_FOUND",
                    &format!("device {a} not found"),
                )
            })?,
        None if devices.len() == 1 => devices
            .first()
            .ok_or_else(|| error(StatusCode::NOT_FOUND, "DEVICE_NOT_FOUND", "no device"))?,
        None => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "DEVICE_ID_REQUIRED",
                "device_id is required",
            ));
        }
    };
    if core.state().logged_out.contains(&device.0) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "you are not logged in",
        ));
    }
    Ok(device.0.clone())
}

/// GOWA's phone validation: international digits (no leading 0, no `+`) or a full JID.
#[allow(clippy::result_large_err)]
fn check_phone(phone: Option<&str>) -> Result<String, Reply> {
    let phone = phone.filter(|p| !p.is_empty()).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "phone: cannot be blank.",
        )
    })?;
    let user = phone.split('@').next().unwrap_or(phone);
    if user.starts_with('0') {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "phone: phone number must be in international format without leading 0.",
        ));
    }
    if user.starts_with('+') || !user.chars().all(|c| c.is_ascii_digit() || c == '-') {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "INVALID_JID",
            &format!("invalid JID {phone}"),
        ));
    }
    Ok(phone.to_owned())
}

async fn handle(core: &Core, req: FakeRequest) -> Reply {
    let path = req.path.trim_end_matches('/').to_owned();
    if req.method == Method::GET && path == "/health" {
        return success(&json!({ "status": "ok" }));
    }
    if req.method == Method::GET && path.starts_with("/statics/") {
        let key = percent_decode(path.trim_start_matches('/'));
        return match core.state().statics.get(&key) {
            Some((bytes, mime)) => {
                let mut response =
                    http::Response::new(http_body_util::Full::new(Bytes::from(bytes.clone())));
                if let Ok(v) = http::HeaderValue::from_str(mime) {
                    response.headers_mut().insert(http::header::CONTENT_TYPE, v);
                }
                Reply::Send(response)
            }
            None => Reply::Send(plain(StatusCode::NOT_FOUND, "Cannot GET")),
        };
    }
    if !authorized(core, &req) {
        return Reply::Send(plain(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    if req.method == Method::GET {
        match path.as_str() {
            "/app/devices" => {
                return success(&Value::Array(
                    core.config
                        .devices
                        .iter()
                        .map(|(id, jid)| json!({ "name": id, "device": jid, "jid": jid }))
                        .collect(),
                ));
            }
            "/app/info" => {
                return success(
                    &json!({ "version": "v9.2.0", "os": "linux", "base_path": "", "max_file_size": 52_428_800, "max_video_size": 104_857_600, "max_image_size": 20_971_520, "chatwoot_enabled": false }),
                );
            }
            _ => {}
        }
    }
    if req.method == Method::PATCH
        && let Some(rest) = path.strip_prefix("/devices/")
    {
        return device_webhook(core, rest, &req);
    }
    let device = match resolve_device(core, &req) {
        Ok(d) => d,
        Err(reply) => return reply,
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method.clone(), segments.as_slice()) {
        (Method::GET, ["app", "status"]) => {
            let jid = core
                .config
                .devices
                .iter()
                .find(|d| d.0 == device)
                .map(|d| d.1.clone())
                .unwrap_or_default();
            success(
                &json!({ "is_connected": true, "is_logged_in": true, "device_id": jid, "jid": jid }),
            )
        }
        (Method::GET, ["chats"]) => chats(core, &req),
        (Method::GET, ["chat", jid, "messages"]) => chat_messages(core, &req, &percent_decode(jid)),
        (Method::GET, ["user", "info"]) => match check_phone(req.query_param("phone").as_deref()) {
            Ok(phone) => success(
                &json!({ "data": [{ "name": "Customer", "verified_name": "", "status": "", "picture_id": "", "devices": [] }], "resolved_phone": phone }),
            ),
            Err(reply) => reply,
        },
        (Method::GET, ["user", "check"]) => {
            match check_phone(req.query_param("phone").as_deref()) {
                Ok(_) => success(&json!({ "is_on_whatsapp": true })),
                Err(reply) => reply,
            }
        }
        (Method::GET, ["user", "avatar"]) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "no avatar found",
        ),
        (Method::GET, ["message", id, "download"]) => {
            let path = core.state().downloads.get(*id).cloned();
            match path {
                Some(path) => success(
                    &json!({ "message_id": id, "status": "downloaded", "media_type": "", "filename": path.rsplit('/').next(), "file_path": path, "file_size": 0 }),
                ),
                None => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_SERVER_ERROR",
                    "message not found in chat storage",
                ),
            }
        }
        (Method::POST, ["send", kind]) => send(core, &req, &device, kind).await,
        (Method::POST, ["message", id, action]) => message_action(core, &req, &device, id, action),
        _ => Reply::Unrouted(
            error(StatusCode::NOT_FOUND, "NOT_FOUND", "route not found").into_response(),
        ),
    }
}

/// The fields of a JSON or multipart body, and the uploaded file.
async fn fields(
    req: &FakeRequest,
) -> Result<
    (
        Map<String, Value>,
        Option<(String, String, String, Vec<u8>)>,
    ),
    Reply,
> {
    let content_type = req.header("content-type").unwrap_or_default().to_owned();
    if content_type.starts_with("multipart/form-data") {
        let bad = |e: &dyn std::fmt::Display| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                &e.to_string(),
            )
        };
        let boundary = multer::parse_boundary(&content_type).map_err(|e| bad(&e))?;
        let body = req.body.clone();
        let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut map = Map::new();
        let mut file = None;
        while let Some(field) = multipart.next_field().await.map_err(|e| bad(&e))? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let part_type = field.content_type().map_or_else(
                || "application/octet-stream".to_owned(),
                ToString::to_string,
            );
            let data = field.bytes().await.map_err(|e| bad(&e))?;
            match file_name {
                Some(file_name) => file = Some((name, file_name, part_type, data.to_vec())),
                None => {
                    map.insert(name, json!(String::from_utf8_lossy(&data)));
                }
            }
        }
        return Ok((map, file));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok((map, None)),
        // GOWA answers malformed JSON with a 500.
        _ => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "failed to parse body",
        )),
    }
}

async fn send(core: &Core, req: &FakeRequest, device: &str, kind: &str) -> Reply {
    let (fields, file) = match fields(req).await {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Err(reply) = check_phone(text("phone")) {
        return reply;
    }
    let blank = |k: &str| {
        error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            &format!("{k}: cannot be blank."),
        )
    };
    match kind {
        "message" if text("message").is_none() => return blank("message"),
        "image" | "video" | "audio" | "file" | "sticker" => {
            let has_file = file.as_ref().is_some_and(|f| f.0 == kind);
            if !has_file && text(&format!("{kind}_url")).is_none() {
                return blank(kind);
            }
        }
        "location" => {
            for k in ["latitude", "longitude"] {
                if text(k).and_then(|v| v.parse::<f64>().ok()).is_none() {
                    return blank(k);
                }
            }
        }
        "contact" => {
            for k in ["contact_name", "contact_phone"] {
                if text(k).is_none() {
                    return blank(k);
                }
            }
        }
        "message" | "link" | "poll" | "chat-presence" => {}
        _ => {
            return Reply::Unrouted(
                error(StatusCode::NOT_FOUND, "NOT_FOUND", "route not found").into_response(),
            );
        }
    }
    let message_id = format!("3EB0{}", random::hex(10));
    core.state().sends.push(GowaSend {
        endpoint: format!("/send/{kind}"),
        device: device.to_owned(),
        fields: fields.clone(),
        file,
        message_id: message_id.clone(),
    });
    success(
        &json!({ "message_id": message_id, "status": format!("Message sent to {} (server timestamp: {})", text("phone").unwrap_or_default(), rfc3339_now()) }),
    )
}

fn message_action(core: &Core, req: &FakeRequest, device: &str, id: &str, action: &str) -> Reply {
    if ![
        "reaction", "revoke", "update", "read", "delete", "star", "unstar",
    ]
    .contains(&action)
    {
        return Reply::Unrouted(
            error(StatusCode::NOT_FOUND, "NOT_FOUND", "route not found").into_response(),
        );
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "failed to parse body",
        );
    };
    if let Err(reply) = check_phone(body.get("phone").and_then(Value::as_str)) {
        return reply;
    }
    if action == "update"
        && body
            .get("message")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "message: cannot be blank.",
        );
    }
    let message_id = format!("3EB0{}", random::hex(10));
    core.state().sends.push(GowaSend {
        endpoint: format!("/message/{id}/{action}"),
        device: device.to_owned(),
        fields: body,
        file: None,
        message_id: message_id.clone(),
    });
    success(&json!({ "message_id": message_id, "status": format!("{action} success") }))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
