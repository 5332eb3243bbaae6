//! A fake wuzapi (asternic/wuzapi) instance on `127.0.0.1:0`.
//!
//! It checks the `Token` header (or `?token=`), decodes bodies the way Go does (JSON keys
//! matched case-insensitively), validates what the real handlers validate and answers with their
//! `{code, error, success}` bodies; it records sends and answers `{Details, Timestamp, Id}` with
//! fresh `3EB0…` ids; it serves `/chat/download*` for media it emitted; it keeps a message
//! history when `history` is above 0 (`GET /chat/history`); and it posts webhooks to
//! the URL set through `PUT /webhook` (`active: true`) or `POST /webhook` (`webhookurl`), only for
//! subscribed event types, form-encoded or JSON (or the legacy `jsonData`+`token` form), signed
//! with `x-hmac-signature` when an HMAC key is configured.

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

mod history;
mod routes;

use crate::dispatch::{DispatchOptions, Dispatcher, Post, WebhookOrder};
use crate::random;
use crate::server::{self, FakeRequest, Reply, Running, Shared, json as json_response};
use history::{History, Row};
use routes::{envelope, fail, handle};

/// How the fake encodes webhooks (`WEBHOOK_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WuzapiFormat {
    /// `application/x-www-form-urlencoded` with `instanceName`, `jsonData`, `userID` (default).
    #[default]
    Form,
    /// `application/json`, keys sorted, `instanceName` and `userID` at the top level.
    Json,
    /// Old builds: form with `jsonData` and `token` only.
    LegacyForm,
}

/// How to run a [`FakeWuzapi`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FakeWuzapiConfig {
    /// Address to bind.
    pub addr: SocketAddr,
    /// The instance's user token.
    pub token: String,
    /// The instance id (`userID`).
    pub user_id: String,
    /// The instance name (`instanceName`).
    pub instance_name: String,
    /// The session's own JID.
    pub own_jid: String,
    /// Webhook encoding.
    pub format: WuzapiFormat,
    /// HMAC key (≥ 32 characters) to sign webhooks with; `None` = unsigned.
    pub hmac_key: Option<String>,
    /// Webhook ordering (wuzapi: one goroutine per event, so `Concurrent` is the realistic one).
    pub order: WebhookOrder,
    /// Send every Nth webhook twice (wuzapi retries after slow answers).
    pub duplicate_every: Option<u32>,
    /// Delay before each webhook.
    pub delay: Duration,
    /// Keep every request in the log.
    pub log_requests: bool,
    /// Messages kept per chat for `/chat/history` (wuzapi's `history`; 0 = off, the default).
    pub history: u64,
    /// Start logged out and disconnected, as a new wuzapi user: `POST /session/connect`
    /// starts pairing.
    pub unpaired: bool,
}

impl Default for FakeWuzapiConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: "wuzapi-user-token".to_owned(),
            user_id: "bd4d8ab9e54f4b5fb0a1c2d3e4f5a6b7".to_owned(),
            instance_name: "alpha".to_owned(),
            own_jid: "5511900000000@s.whatsapp.net".to_owned(),
            format: WuzapiFormat::Form,
            hmac_key: None,
            order: WebhookOrder::InOrder,
            duplicate_every: None,
            delay: Duration::ZERO,
            log_requests: true,
            history: 0,
            unpaired: false,
        }
    }
}

/// A send the fake accepted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WuzapiSend {
    /// Endpoint path (`/chat/send/text`…).
    pub endpoint: String,
    /// The `Phone` as given.
    pub phone: String,
    /// The decoded body.
    pub body: Value,
    /// The id answered.
    pub id: String,
    /// When it arrived, unix seconds.
    pub at: f64,
}

/// A message to emit as a `Message` webhook (whatsmeow `events.Message`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WuzapiMessage {
    /// Message id (generated when empty).
    pub id: String,
    /// `Info.Chat`.
    pub chat: String,
    /// `Info.Sender`.
    pub sender: String,
    /// `Info.SenderAlt`.
    pub sender_alt: String,
    /// `Info.RecipientAlt`.
    pub recipient_alt: String,
    /// `Info.IsFromMe`.
    pub from_me: bool,
    /// `Info.PushName`.
    pub push_name: String,
    /// The `Message` proto as JSON.
    pub message: Value,
    /// Extra envelope keys (`base64`, `mimeType`, `fileName`, `s3`…).
    pub envelope: Map<String, Value>,
}

impl WuzapiMessage {
    /// A text message from `from` (a customer JID) in the 1:1 chat with them.
    #[must_use]
    pub fn text(from: &str, text: &str) -> Self {
        Self::new(from, json!({ "conversation": text }))
    }

    /// A message from `from` carrying `message`.
    #[must_use]
    pub fn new(from: &str, message: Value) -> Self {
        Self {
            id: String::new(),
            chat: from.to_owned(),
            sender: from.to_owned(),
            sender_alt: String::new(),
            recipient_alt: String::new(),
            from_me: false,
            push_name: "Customer".to_owned(),
            message,
            envelope: Map::new(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    webhook: String,
    /// `s3_config.media_delivery` (`""` as wuzapi gives fresh users: no media in webhooks).
    media_delivery: String,
    s3_enabled: bool,
    events: Vec<String>,
    connected: bool,
    logged_in: bool,
    sends: Vec<WuzapiSend>,
    /// `/chat/markread` calls: the chat and the message ids, in order.
    read_marks: Vec<(String, Vec<String>)>,
    /// `/chat/presence` calls: the chat and the state (`composing` / `paused`), in order.
    presences: Vec<(String, String)>,
    /// `/call/reject` calls: the caller and the call id.
    rejected_calls: Vec<(String, String)>,
    media: HashMap<String, (Vec<u8>, String)>,
    avatars: HashMap<String, String>,
    not_on_whatsapp: Vec<String>,
    history: History,
    webhooks_lost: bool,
    pairing: crate::pairing::Pairing,
}

#[derive(Debug)]
struct Core {
    config: FakeWuzapiConfig,
    state: Mutex<State>,
    webhooks: Dispatcher,
}

impl Core {
    fn state(&self) -> MutexGuard<'_, State> {
        crate::server::lock(&self.state)
    }

    /// Posts a webhook of `event_type` when it is subscribed.
    fn emit(&self, event_type: &str, event: Value, envelope: Map<String, Value>) {
        let (url, subscribed) = {
            let state = self.state();
            let subscribed = state.events.iter().any(|e| e == event_type || e == "All");
            (state.webhook.clone(), subscribed && !state.webhooks_lost)
        };
        if url.is_empty() || !subscribed {
            return;
        }
        let config = &self.config;
        let mut post_map = envelope;
        post_map.insert("type".into(), json!(event_type));
        post_map.insert("event".into(), event);
        let json_data = crate::server::go_sorted(&Value::Object(post_map));
        let (content_type, body) = match config.format {
            WuzapiFormat::Json => {
                let mut top = json_data.as_object().cloned().unwrap_or_default();
                top.insert("instanceName".into(), json!(config.instance_name));
                top.insert("userID".into(), json!(config.user_id));
                (
                    "application/json",
                    crate::server::go_sorted(&Value::Object(top)).to_string(),
                )
            }
            WuzapiFormat::Form | WuzapiFormat::LegacyForm => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                if config.format == WuzapiFormat::Form {
                    form.append_pair("instanceName", &config.instance_name);
                    form.append_pair("jsonData", &json_data.to_string());
                    form.append_pair("userID", &config.user_id);
                } else {
                    form.append_pair("jsonData", &json_data.to_string());
                    form.append_pair("token", &config.token);
                }
                ("application/x-www-form-urlencoded", form.finish())
            }
        };
        let mut headers = vec![("content-type".to_owned(), content_type.to_owned())];
        if let Some(key) = config
            .hmac_key
            .as_deref()
            .and_then(|k| Secret::from_bytes(k).ok())
        {
            headers.push((
                "x-hmac-signature".to_owned(),
                Keyring::new(&key).sign_plain_hex(body.as_bytes()),
            ));
        }
        self.webhooks.post(Post {
            url,
            event: event_type.to_owned(),
            headers,
            body: Bytes::from(body),
            on_failure: None,
        });
    }

    /// The `QR` webhook: `event` is the string `"code"`, the image a sibling of `type`.
    fn emit_qr(&self, code: &str) {
        let mut envelope = Map::new();
        envelope.insert(
            "qrCodeBase64".into(),
            json!(format!(
                "data:image/png;base64,{}",
                STANDARD.encode(crate::pairing::png(code))
            )),
        );
        self.emit("QR", json!("code"), envelope);
    }
}

/// A running fake wuzapi instance. Stops when dropped.
#[derive(Debug)]
pub struct FakeWuzapi {
    core: Arc<Core>,
    shared: Arc<Shared>,
    running: Running,
}

impl FakeWuzapi {
    crate::server::common_fake_api!();

    fn dispatcher(&self) -> &Dispatcher {
        &self.core.webhooks
    }

    /// Starts the fake: connected and logged in (unless [`FakeWuzapiConfig::unpaired`]), no
    /// webhook configured.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(config: FakeWuzapiConfig) -> std::io::Result<Self> {
        let core = Arc::new(Core {
            webhooks: Dispatcher::start(DispatchOptions {
                order: config.order,
                duplicate_every: config.duplicate_every,
                delay: config.delay,
                timeout: Duration::from_secs(30),
            }),
            state: Mutex::new(State {
                connected: !config.unpaired,
                logged_in: !config.unpaired,
                history: History::new(config.history),
                ..State::default()
            }),
            config: config.clone(),
        });
        let shared = Arc::new(Shared::new(config.log_requests));
        let handler_core = Arc::clone(&core);
        let handler: server::Handler = Arc::new(move |req| {
            let core = Arc::clone(&handler_core);
            Box::pin(async move { handle(&core, &req) })
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

    /// The instance token.
    #[must_use]
    pub fn token(&self) -> &str {
        &self.core.config.token
    }

    /// Sends and message actions (react, edit, delete) accepted so far; read marks and typing
    /// are in [`Self::read_marks`] and [`Self::presences`].
    #[must_use]
    pub fn sends(&self) -> Vec<WuzapiSend> {
        self.core.state().sends.clone()
    }

    /// `POST /chat/presence` calls accepted so far: the chat and the state.
    #[must_use]
    pub fn presences(&self) -> Vec<(String, String)> {
        self.core.state().presences.clone()
    }

    /// `POST /call/reject` calls accepted so far: the caller and the call id.
    #[must_use]
    pub fn rejected_calls(&self) -> Vec<(String, String)> {
        self.core.state().rejected_calls.clone()
    }

    /// Emits a `GroupInfo` webhook (whatsmeow `events.GroupInfo`): `by` (`Sender`) added
    /// (`Join`), removed (`Leave`), promoted or demoted the participants of `action`
    /// (`"Join"`, `"Leave"`, `"Promote"`, `"Demote"`), or, with `action` `"Name"`, set the
    /// subject to `participants[0]`.
    pub fn emit_group_info(&self, group: &str, by: &str, action: &str, participants: &[&str]) {
        let mut event = json!({
            "JID": group, "Notify": "", "Sender": by, "SenderPN": "",
            "Timestamp": crate::time::rfc3339(crate::time::now()),
            "Join": null, "Leave": null, "Promote": null, "Demote": null, "Name": null, "Topic": null,
        });
        if let Value::Object(map) = &mut event {
            if action == "Name" {
                map.insert(
                    "Name".into(),
                    json!({ "Name": participants.first().copied().unwrap_or_default(), "NameSetAt": crate::time::rfc3339(crate::time::now()), "NameSetBy": by }),
                );
            } else {
                map.insert(action.to_owned(), json!(participants));
            }
        }
        self.emit("GroupInfo", event, Map::new());
    }

    /// Emits a `CallOffer` webhook (whatsmeow `events.CallOffer`: the call meta flattened and
    /// the offer node, with a `video` child for video calls); returns the call id.
    pub fn emit_call_offer(&self, from: &str, video: bool) -> String {
        let call_id = random::hex(16).to_uppercase();
        let mut content = vec![
            json!({ "Tag": "audio", "Attrs": { "enc": "opus", "rate": "16000" }, "Content": null }),
        ];
        if video {
            content.push(json!({ "Tag": "video", "Attrs": { "enc": "vp8" }, "Content": null }));
        }
        let event = json!({
            "From": from, "Timestamp": crate::time::rfc3339(crate::time::now()),
            "CallCreator": from, "CallID": call_id, "RemotePlatform": "android",
            "RemoteVersion": "2.24.1.1",
            "Data": { "Tag": "offer", "Attrs": { "call-id": call_id, "call-creator": from }, "Content": content },
        });
        self.emit("CallOffer", event, Map::new());
        call_id
    }

    /// `POST /chat/markread` calls accepted so far: the chat and the message ids.
    #[must_use]
    pub fn read_marks(&self) -> Vec<(String, Vec<String>)> {
        self.core.state().read_marks.clone()
    }

    /// The webhook URL and subscribed events as configured through the API.
    #[must_use]
    pub fn webhook(&self) -> (String, Vec<String>) {
        let state = self.core.state();
        (state.webhook.clone(), state.events.clone())
    }

    /// Points webhooks at `url` for `events` (as an operator would).
    pub fn set_webhook(&self, url: &str, events: &[&str]) {
        let mut state = self.core.state();
        state.webhook = url.to_owned();
        state.events = events.iter().map(|e| (*e).to_owned()).collect();
    }

    /// Logs the session in or out (`false`: sends fail with `no session`).
    pub fn set_logged_in(&self, logged_in: bool) {
        let mut state = self.core.state();
        state.logged_in = logged_in;
        state.connected = logged_in;
    }

    /// Gives `jid` a profile picture URL.
    pub fn set_avatar(&self, jid: &str, url: &str) {
        self.core
            .state()
            .avatars
            .insert(jid.to_owned(), url.to_owned());
    }

    /// Makes `phone` (digits) unknown to WhatsApp for `/user/check`.
    pub fn set_not_on_whatsapp(&self, phone: &str) {
        self.core.state().not_on_whatsapp.push(phone.to_owned());
    }

    /// Stores media and returns the `<kind>Message` keys object that downloads it through
    /// `/chat/download{kind}`.
    pub fn store_media(&self, bytes: &[u8], mime: &str) -> Value {
        let direct_path = format!("/v/t62.7118-24/{}.enc", random::base58(20));
        self.core
            .state()
            .media
            .insert(direct_path.clone(), (bytes.to_vec(), mime.to_owned()));
        json!({
            "URL": format!("https://mmg.whatsapp.net{direct_path}"),
            "directPath": direct_path,
            "mediaKey": STANDARD.encode(random::base58(32)),
            "fileEncSHA256": STANDARD.encode(random::base58(32)),
            "fileSHA256": STANDARD.encode(random::base58(32)),
            "fileLength": bytes.len(),
            "mimetype": mime,
        })
    }

    /// `s3_config.media_delivery` as configured (`""` until set, like a fresh wuzapi user).
    pub fn media_delivery(&self) -> String {
        self.core.state().media_delivery.clone()
    }

    /// Emits a `Message` webhook (and keeps it in the history when that is on); returns its id.
    pub fn emit_message(&self, message: WuzapiMessage) -> String {
        let now = crate::time::now();
        let (id, event) = self.message_event(&message, now);
        if let Some(row) = Row::from_event(&event, &message.envelope, now) {
            self.core.state().history.save(row);
        }
        self.emit("Message", event, message.envelope);
        id
    }

    /// Keeps a text from `from` sent at `secs` (unix seconds) in the history only, with no
    /// webhook (a message from before the bridge was connected, or whose webhook was lost);
    /// returns its id. Nothing is kept while history is off.
    pub fn keep_text_at(&self, from: &str, text: &str, secs: i64) -> String {
        let message = WuzapiMessage::text(from, text);
        let (id, event) = self.message_event(&message, secs);
        if let Some(row) = Row::from_event(&event, &message.envelope, secs) {
            self.core.state().history.save(row);
        }
        id
    }

    /// While `lost`, events happen (and are kept in the history) but their webhooks are never
    /// posted: wuzapi gave up on them.
    pub fn lose_webhooks(&self, lost: bool) {
        self.core.state().webhooks_lost = lost;
    }

    /// Sets wuzapi's `history` (messages kept per chat; 0 = off).
    pub fn set_history(&self, keep: u64) {
        self.core.state().history.keep = keep;
    }

    /// The whatsmeow `events.Message` for `message`, sent at `secs`, and its id.
    fn message_event(&self, message: &WuzapiMessage, secs: i64) -> (String, Value) {
        let id = if message.id.is_empty() {
            format!("3EB0{}", random::hex(10))
        } else {
            message.id.clone()
        };
        let is_group = message.chat.ends_with("@g.us");
        let info = json!({
            "Chat": message.chat, "Sender": message.sender, "IsFromMe": message.from_me, "IsGroup": is_group,
            "AddressingMode": if message.sender.ends_with("@lid") { "lid" } else { "pn" },
            "SenderAlt": message.sender_alt, "RecipientAlt": message.recipient_alt,
            "BroadcastListOwner": "", "BroadcastRecipients": null, "ID": id, "ServerID": 0,
            "Type": "text", "PushName": message.push_name, "Timestamp": crate::time::rfc3339(secs), "Category": "",
            "Multicast": false, "MediaType": "", "Edit": "", "VerifiedName": null, "DeviceSentMeta": null,
        });
        let event = json!({
            "Info": info, "Message": message.message, "IsEphemeral": false, "IsViewOnce": false,
            "IsViewOnceV2": false, "IsViewOnceV2Extension": false, "IsDocumentWithCaption": false,
            "IsLottieSticker": false, "IsBotInvoke": false, "IsEdit": false, "SourceWebMsg": null,
            "UnavailableRequestID": "", "RetryCount": 0, "NewsletterMeta": null, "RawMessage": message.message,
        });
        (id, event)
    }

    /// Emits a `ChatPresence` webhook: `chat` (a direct chat) typing (`composing`), recording
    /// (`composing` with `audio`) or stopped (`paused`). whatsmeow's `events.ChatPresence`
    /// carries the message source, `State` and `Media`, and no time.
    pub fn emit_chat_presence(&self, chat: &str, state: &str, audio: bool) {
        let event = json!({
            "Chat": chat, "Sender": chat, "IsFromMe": false, "IsGroup": chat.ends_with("@g.us"),
            "AddressingMode": "", "SenderAlt": "", "RecipientAlt": "", "BroadcastListOwner": "",
            "State": state, "Media": if audio { "audio" } else { "" },
        });
        self.emit("ChatPresence", event, Map::new());
    }

    /// Emits a `ReadReceipt` webhook (`state` `Read`, `ReadSelf` or `Delivered`).
    pub fn emit_receipt(&self, chat: &str, message_ids: &[&str], state: &str) {
        let event = json!({
            "Chat": chat, "Sender": chat, "IsFromMe": false, "IsGroup": chat.ends_with("@g.us"),
            "AddressingMode": "", "SenderAlt": "", "RecipientAlt": "", "BroadcastListOwner": "",
            "BroadcastRecipients": null, "MessageIDs": message_ids, "Timestamp": crate::time::rfc3339(crate::time::now()),
            "Type": if state == "Read" { "read" } else { "" }, "MessageSender": "",
        });
        let mut envelope = Map::new();
        envelope.insert("state".into(), json!(state));
        self.emit("ReadReceipt", event, envelope);
    }

    /// Emits any event type with a whatsmeow event body and extra envelope keys.
    pub fn emit(&self, event_type: &str, event: Value, envelope: Map<String, Value>) {
        self.core.emit(event_type, event, envelope);
    }

    /// Whether the session is logged in (paired).
    #[must_use]
    pub fn logged_in(&self) -> bool {
        self.core.state().logged_in
    }

    /// The text of the QR code on show while pairing (read it from the image with
    /// [`crate::code_in_png`]).
    #[must_use]
    pub fn current_qr(&self) -> Option<String> {
        self.core.state().pairing.qr.clone()
    }

    /// How many QR codes this pairing has shown.
    #[must_use]
    pub fn qr_generation(&self) -> u32 {
        self.core.state().pairing.generation
    }

    /// WhatsApp replaces the QR code (every 20 s): a new code and its `QR` webhook. Does
    /// nothing unless pairing.
    pub fn rotate_qr(&self) {
        let code = {
            let mut state = self.core.state();
            if state.pairing.qr.is_none() {
                return;
            }
            state.pairing.next_qr()
        };
        self.core.emit_qr(&code);
    }

    /// The phone scans the QR code (or types the linking code): logged in and connected,
    /// `PairSuccess` and `Connected` webhooks. Returns whether pairing was under way.
    pub fn scan(&self) -> bool {
        {
            let mut state = self.core.state();
            if !state.pairing.active() {
                return false;
            }
            state.pairing.stop();
            state.logged_in = true;
            state.connected = true;
        }
        let jid = self.core.config.own_jid.clone();
        self.core.emit(
            "PairSuccess",
            json!({ "ID": jid, "BusinessName": "", "Platform": "android" }),
            Map::new(),
        );
        self.core.emit("Connected", json!({}), Map::new());
        true
    }

    /// The linking code handed out by `/session/pairphone`, and for which phone.
    #[must_use]
    pub fn pair_code(&self) -> Option<(String, String)> {
        self.core.state().pairing.pair_code.clone()
    }

    /// The device is removed on the phone: logged out, `LoggedOut` webhook.
    pub fn log_out_from_phone(&self) {
        {
            let mut state = self.core.state();
            state.logged_in = false;
            state.connected = false;
            state.pairing.stop();
        }
        self.core.emit(
            "LoggedOut",
            json!({ "OnConnect": false, "Reason": 401 }),
            Map::new(),
        );
    }

    /// WhatsApp bans the number for a while: disconnected, `TemporaryBan` webhook.
    pub fn ban(&self) {
        self.core.state().connected = false;
        self.core.emit(
            "TemporaryBan",
            json!({ "Code": 101, "Expire": 86_400 }),
            Map::new(),
        );
    }

    /// The connection drops (`Disconnected`) or comes back (`Connected`).
    pub fn set_connected(&self, connected: bool) {
        self.core.state().connected = connected;
        let kind = if connected {
            "Connected"
        } else {
            "Disconnected"
        };
        self.core.emit(kind, json!({}), Map::new());
    }

    /// Stops serving: new connections are refused.
    pub fn shutdown(&self) {
        self.running.shutdown();
    }
}

impl Reply {
    /// The response inside a reply.
    pub(crate) fn into_response(self) -> http::Response<http_body_util::Full<Bytes>> {
        match self {
            Self::Send(r) | Self::Unrouted(r) => r,
        }
    }
}
