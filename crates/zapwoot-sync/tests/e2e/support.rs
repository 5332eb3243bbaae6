//! The harness: store + fakes + engine + webhook pumps.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Mutex, broadcast};
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeGowa, FakeGowaConfig, FakeInbox, FakeWuzapi,
    FakeWuzapiConfig, Receiver, WuzapiMessage,
};
use zapwoot_gateway::gowa::GowaClient;
use zapwoot_gateway::wuzapi::WuzapiClient;
use zapwoot_gateway::{Gateway, GatewayKind, Jid};
use zapwoot_signing::{Keyring, Secret};
use zapwoot_store::{
    EventStatus, NewInstance, Sealer, SealingKey, SecretString, Store, StoreOptions,
};
use zapwoot_sync::ingest::{self, WebhookHeaders};
use zapwoot_sync::{
    Activity, ActivityBus, ChatwootApi, Engine, InstanceOptions, InstanceRuntime, RetryPolicy,
    webhooks,
};

pub const CUSTOMER: &str = "5511987654321@s.whatsapp.net";
pub const OWN: &str = "5511900000000@s.whatsapp.net";

pub use zapwoot_testkit::Db;

pub enum FakeGateway {
    Wuzapi(FakeWuzapi),
    Gowa(FakeGowa),
}

/// Everything a test drives.
pub struct Harness {
    pub _db: Db,
    pub store: Store,
    pub engine: Arc<Engine>,
    pub chatwoot: FakeChatwoot,
    pub inbox: FakeInbox,
    pub gateway: FakeGateway,
    pub kind: GatewayKind,
    pub instance_id: i64,
    cw_receiver: Receiver,
    gw_receiver: Receiver,
    cursors: Mutex<(usize, usize)>,
    pub options: InstanceOptions,
    /// The store's clock: a test moves it (typing going stale) instead of sleeping.
    pub clock: zapwoot_store::ManualClock,
    /// Every activity record the engine publishes, checked against its schema.
    emitted: std::sync::Mutex<broadcast::Receiver<Activity>>,
    /// The records checked so far.
    checked: std::sync::Mutex<Vec<Activity>>,
}

/// How long a customer's typing stays in Chatwoot without a "paused" in the tests.
pub const TYPING_TIMEOUT: Duration = Duration::from_millis(400);

/// Big enough that no test's records fall out before they are checked.
const BUS_CAPACITY: usize = 1 << 16;

impl Drop for Harness {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.check_emitted();
        }
    }
}

pub async fn harness(db: Db, kind: GatewayKind) -> Harness {
    harness_with(
        db,
        kind,
        InstanceOptions::default(),
        FakeChatwootConfig::default(),
    )
    .await
}

pub fn fast_policy() -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    policy.base = Duration::from_millis(20);
    policy.max_delay = Duration::from_millis(200);
    policy.max_attempts = 5;
    policy.wait_delay = Duration::from_millis(40);
    policy
}

/// How the fake gateway delivers its webhooks.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatewayTweaks {
    pub order: zapwoot_fakes::WebhookOrder,
    pub duplicate_every: Option<u32>,
}

pub async fn harness_with(
    db: Db,
    kind: GatewayKind,
    options: InstanceOptions,
    cw_config: FakeChatwootConfig,
) -> Harness {
    harness_tweaked(db, kind, options, cw_config, GatewayTweaks::default()).await
}

pub async fn harness_tweaked(
    db: Db,
    kind: GatewayKind,
    options: InstanceOptions,
    cw_config: FakeChatwootConfig,
    tweaks: GatewayTweaks,
) -> Harness {
    let clock = zapwoot_store::ManualClock::new();
    let mut store_options =
        StoreOptions::with_sealer(Sealer::new(SealingKey::from_bytes(&[3; 32]).unwrap()));
    store_options.clock = Some(Arc::new(clock.clone()));
    let store = Store::open(&db.url(), store_options).await.unwrap();
    let cw_receiver = Receiver::start().await.unwrap();
    let gw_receiver = Receiver::start().await.unwrap();
    let chatwoot = FakeChatwoot::start(cw_config).await.unwrap();
    let inbox = chatwoot.add_api_inbox("WhatsApp", Some(&cw_receiver.url()));
    let (gateway, client): (FakeGateway, Arc<dyn Gateway>) = match kind {
        GatewayKind::Gowa => {
            let mut config = FakeGowaConfig::default();
            config.order = tweaks.order;
            config.duplicate_every = tweaks.duplicate_every;
            let fake = FakeGowa::start(config).await.unwrap();
            fake.set_webhook(&gw_receiver.url());
            let client = GowaClient::builder(fake.url())
                .basic_auth("admin", "gowa-password")
                .device_id(OWN)
                .build()
                .unwrap();
            (FakeGateway::Gowa(fake), Arc::new(client))
        }
        _ => {
            let mut config = FakeWuzapiConfig::default();
            config.hmac_key = Some("h".repeat(32));
            config.order = tweaks.order;
            config.duplicate_every = tweaks.duplicate_every;
            config.history = 1000;
            let fake = FakeWuzapi::start(config).await.unwrap();
            fake.set_webhook(&gw_receiver.url(), &["All"]);
            let client = WuzapiClient::new(&fake.url(), fake.token()).unwrap();
            (FakeGateway::Wuzapi(fake), Arc::new(client))
        }
    };
    let mut new = NewInstance::new("alpha", kind, "http://gateway.invalid", chatwoot.url(), 1);
    new.secrets.insert(
        "chatwoot_api_token".into(),
        SecretString::new(chatwoot.admin_token()),
    );
    new.chatwoot_inbox_id = Some(i64::try_from(inbox.id).unwrap());
    let instance = store.instances().create(new).await.unwrap();
    let api = zapwoot_chatwoot::Client::builder(chatwoot.url(), chatwoot.admin_token())
        .build()
        .unwrap()
        .account(1);
    let mut runtime = InstanceRuntime::new(
        instance.id,
        "alpha",
        kind,
        Arc::new(api) as Arc<dyn ChatwootApi>,
        client,
        inbox.id,
        options.clone(),
    );
    // Short, so that draining (which waits for the time-out's task) stays quick.
    runtime.typing_timeout = TYPING_TIMEOUT;
    runtime.chatwoot_keys = Some(Keyring::new(
        &Secret::from_bytes(inbox.secret.clone()).unwrap(),
    ));
    runtime.gateway_keys = Some(Keyring::new(
        &Secret::from_bytes(match kind {
            GatewayKind::Gowa => "secret".to_owned(),
            _ => "h".repeat(32),
        })
        .unwrap(),
    ));
    runtime.own_jid = Some(Jid::parse(OWN).unwrap());
    let engine = Engine::with_policy(store.clone(), ActivityBus::new(BUS_CAPACITY), fast_policy());
    engine.set_runtime(runtime);
    let emitted = std::sync::Mutex::new(engine.activity().subscribe());
    Harness {
        _db: db,
        store,
        engine,
        chatwoot,
        inbox,
        gateway,
        kind,
        instance_id: instance.id,
        cw_receiver,
        gw_receiver,
        cursors: Mutex::new((0, 0)),
        options,
        clock,
        emitted,
        checked: std::sync::Mutex::new(Vec::new()),
    }
}

impl Harness {
    /// Moves newly posted webhooks into the store through `ingest`, like the HTTP layer.
    pub async fn pump(&self) -> usize {
        let runtime = self.engine.runtime(self.instance_id).unwrap();
        let mut cursors = self.cursors.lock().await;
        let mut moved = 0;
        let gw = self.gw_receiver.received();
        for request in gw.iter().skip(cursors.1) {
            let signature = request
                .headers
                .get("x-hmac-signature")
                .or_else(|| request.headers.get("x-hub-signature-256"))
                .map(|v| v.as_bytes());
            let mut headers = WebhookHeaders::default();
            headers.content_type = request.header("content-type").unwrap_or_default();
            headers.gateway_signature = signature;
            let prepared = ingest::prepare_gateway(&runtime, headers, &request.body).unwrap();
            self.store.events().record(prepared.event).await.unwrap();
            moved += 1;
        }
        cursors.1 = gw.len();
        let cw = self.cw_receiver.received();
        for request in cw.iter().skip(cursors.0) {
            let mut headers = WebhookHeaders::default();
            headers.content_type = "application/json";
            headers.chatwoot_signature = request
                .headers
                .get("x-chatwoot-signature")
                .map(|v| v.as_bytes());
            headers.chatwoot_timestamp = request
                .headers
                .get("x-chatwoot-timestamp")
                .map(|v| v.as_bytes());
            let event = ingest::prepare_chatwoot(&runtime, &self.store, headers, &request.body)
                .await
                .unwrap();
            self.store.events().record(event).await.unwrap();
            moved += 1;
        }
        cursors.0 = cw.len();
        moved
    }

    pub async fn webhooks_idle(&self) {
        assert!(
            self.chatwoot
                .wait_for_webhooks(Duration::from_secs(10))
                .await
        );
        match &self.gateway {
            FakeGateway::Wuzapi(f) => assert!(f.wait_for_webhooks(Duration::from_secs(10)).await),
            FakeGateway::Gowa(f) => assert!(f.wait_for_webhooks(Duration::from_secs(10)).await),
        }
    }

    /// Waits for the fakes to post what they have queued and throws it away, as if the bridge
    /// had been down (Chatwoot never posts a webhook again; gateways give up).
    pub async fn drop_webhooks(&self) {
        self.webhooks_idle().await;
        let mut cursors = self.cursors.lock().await;
        *cursors = (
            self.cw_receiver.received().len(),
            self.gw_receiver.received().len(),
        );
    }

    /// Ingests every Chatwoot webhook posted so far again, from the first (late and repeated
    /// deliveries); returns how many were new events.
    pub async fn redeliver_chatwoot_webhooks(&self) -> usize {
        self.webhooks_idle().await;
        let runtime = self.engine.runtime(self.instance_id).unwrap();
        let mut new = 0;
        for request in self.cw_receiver.received() {
            let mut headers = WebhookHeaders::default();
            headers.content_type = "application/json";
            headers.chatwoot_signature = request
                .headers
                .get("x-chatwoot-signature")
                .map(|v| v.as_bytes());
            headers.chatwoot_timestamp = request
                .headers
                .get("x-chatwoot-timestamp")
                .map(|v| v.as_bytes());
            let event = ingest::prepare_chatwoot(&runtime, &self.store, headers, &request.body)
                .await
                .unwrap();
            if !self.store.events().record(event).await.unwrap().duplicate {
                new += 1;
            }
        }
        new
    }

    /// Ingests every gateway webhook posted so far again (late and repeated deliveries);
    /// returns how many were new events.
    pub async fn redeliver_gateway_webhooks(&self) -> usize {
        self.webhooks_idle().await;
        let runtime = self.engine.runtime(self.instance_id).unwrap();
        let mut new = 0;
        for request in self.gw_receiver.received() {
            let mut headers = WebhookHeaders::default();
            headers.content_type = request.header("content-type").unwrap_or_default();
            headers.gateway_signature = request
                .headers
                .get("x-hmac-signature")
                .or_else(|| request.headers.get("x-hub-signature-256"))
                .map(|v| v.as_bytes());
            let prepared = ingest::prepare_gateway(&runtime, headers, &request.body).unwrap();
            if !self
                .store
                .events()
                .record(prepared.event)
                .await
                .unwrap()
                .duplicate
            {
                new += 1;
            }
        }
        new
    }

    /// Waits for the fakes to post what they have queued, then pumps it into the store.
    pub async fn deliver(&self) -> usize {
        self.webhooks_idle().await;
        self.pump().await
    }

    /// Pumps and processes until nothing moves and no event is waiting.
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut quiet = 0;
        while quiet < 3 {
            if tokio::time::Instant::now() >= deadline {
                let events = self
                    .store
                    .events()
                    .list(zapwoot_store::EventFilter::new().limit(50))
                    .await
                    .unwrap();
                let stuck: Vec<_> = events
                    .iter()
                    .filter(|e| !matches!(e.status, EventStatus::Done | EventStatus::Ignored))
                    .map(|e| {
                        (
                            e.id,
                            e.kind.clone(),
                            e.dedupe_key.clone(),
                            e.status,
                            e.attempts,
                            e.last_error.clone(),
                            e.lease_owner.clone(),
                        )
                    })
                    .collect();
                panic!("did not settle: {stuck:#?}");
            }
            self.webhooks_idle().await;
            let moved = self.pump().await;
            let processed = self.engine.drain().await;
            let open = self.due_open_events().await;
            if moved == 0 && processed == 0 && open == 0 {
                quiet += 1;
            } else {
                quiet = 0;
                if processed == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    /// How many events are running or due within two seconds (retries of the fast policy are;
    /// one scheduled further out — a session settle check — waits for the test to move the
    /// clock).
    pub async fn due_open_events(&self) -> usize {
        use zapwoot_store::Clock as _;
        let horizon = self.clock.now_ms() + 2_000;
        let mut open = 0;
        for status in [
            EventStatus::Pending,
            EventStatus::Running,
            EventStatus::Failed,
        ] {
            let events = self
                .store
                .events()
                .list(
                    zapwoot_store::EventFilter::new()
                        .status(status)
                        .limit(10_000),
                )
                .await
                .unwrap();
            open += events
                .iter()
                .filter(|e| status == EventStatus::Running || e.next_attempt_at_ms <= horizon)
                .count();
        }
        open
    }

    /// A customer message from `from`.
    pub fn customer_text(&self, from: &str, text: &str) -> String {
        self.customer_text_named(from, "Maria Silva", text)
    }

    /// A customer message from `from` under push name `name`.
    pub fn customer_text_named(&self, from: &str, name: &str, text: &str) -> String {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => {
                let mut m = WuzapiMessage::text(from, text);
                m.push_name = name.into();
                f.emit_message(m)
            }
            FakeGateway::Gowa(f) => {
                let mut payload = f.message_payload(from);
                payload.insert("body".into(), json!(text));
                payload.insert("from_name".into(), json!(name));
                let id = payload["id"].as_str().unwrap().to_owned();
                f.emit(OWN, "message", payload);
                id
            }
        }
    }

    /// Emits a message in the gateway's own shape. `wuzapi`: the `Message` proto and extra
    /// envelope keys; `gowa`: extra payload fields. Returns the message id.
    fn emit(
        &self,
        from: &str,
        configure_wuzapi: impl FnOnce(&mut WuzapiMessage),
        gowa_fields: &Value,
    ) -> String {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => {
                let mut m = WuzapiMessage::text(from, "");
                m.push_name = "Maria Silva".into();
                configure_wuzapi(&mut m);
                f.emit_message(m)
            }
            FakeGateway::Gowa(f) => {
                let mut payload = f.message_payload(from);
                payload.insert("from_name".into(), json!("Maria Silva"));
                for (k, v) in gowa_fields.as_object().into_iter().flatten() {
                    let (k, v) = (k.clone(), v.clone());
                    payload.insert(k, v);
                }
                let id = payload["id"].as_str().unwrap().to_owned();
                let event = payload
                    .remove("_event")
                    .and_then(|e| e.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "message".into());
                f.emit(OWN, &event, payload);
                id
            }
        }
    }

    /// A captioned image from the customer.
    pub fn customer_image(&self, bytes: &[u8], caption: &str) -> String {
        match &self.gateway {
            FakeGateway::Wuzapi(_) => {
                let b64 = base64_encode(bytes);
                self.emit(CUSTOMER, |m| {
                    m.message = json!({ "imageMessage": { "mimetype": "image/jpeg", "caption": caption, "directPath": "/x", "fileLength": bytes.len() } });
                    m.envelope.insert("base64".into(), json!(b64));
                    m.envelope.insert("mimeType".into(), json!("image/jpeg"));
                }, &json!({}))
            }
            FakeGateway::Gowa(f) => f.emit_media(
                CUSTOMER,
                "image",
                "1781787734-9a8b.jpg",
                bytes,
                "image/jpeg",
                Some(caption),
            ),
        }
    }

    /// A captioned PDF from the customer.
    pub fn customer_document(&self, bytes: &[u8], name: &str, caption: &str) -> String {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => {
                let mut keys = f.store_media(bytes, "application/pdf");
                keys["fileName"] = json!(name);
                keys["caption"] = json!(caption);
                self.emit(
                    CUSTOMER,
                    |m| m.message = json!({ "documentMessage": keys }),
                    &json!({}),
                )
            }
            FakeGateway::Gowa(f) => f.emit_media(
                CUSTOMER,
                "document",
                name,
                bytes,
                "application/pdf",
                Some(caption),
            ),
        }
    }

    /// The payloads (`data`) of every activity record of type `kind` published so far, each
    /// checked against its schema.
    pub fn emitted(&self, kind: &str) -> Vec<Value> {
        self.check_emitted();
        self.checked
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.name() == kind)
            .map(|a| Value::Object(a.data()))
            .collect()
    }

    /// A voice note from the customer (GOWA: with the `; codecs=opus` file name bug).
    pub fn customer_voice(&self, bytes: &[u8]) -> String {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => {
                let keys = f.store_media(bytes, "audio/ogg; codecs=opus");
                self.emit(
                    CUSTOMER,
                    |m| {
                        let mut audio = keys.clone();
                        audio["PTT"] = json!(true);
                        m.message = json!({ "audioMessage": audio });
                    },
                    &json!({}),
                )
            }
            FakeGateway::Gowa(f) => f.emit_media(
                CUSTOMER,
                "audio",
                "1781787735-cd84.ogg; codecs=opus",
                bytes,
                "audio/ogg",
                None,
            ),
        }
    }

    /// A media message whose file the gateway no longer has.
    pub fn customer_lost_media(&self, caption: &str) -> String {
        self.emit(CUSTOMER, |m| {
            m.message = json!({ "documentMessage": { "mimetype": "application/pdf", "caption": caption, "fileName": "nota.pdf", "directPath": "/gone.enc", "URL": "https://mmg.whatsapp.net/gone.enc" } });
        }, &json!({ "body": caption, "document": { "path": "statics/media/gone.pdf", "caption": caption } }))
    }

    /// The customer reacts to `target` (`""` removes).
    pub fn customer_reaction(&self, target: &str, emoji: &str) -> String {
        self.emit(CUSTOMER, |m| {
            m.message = json!({ "reactionMessage": { "key": { "remoteJID": OWN, "fromMe": false, "ID": target }, "text": emoji } });
        }, &json!({ "_event": "message.reaction", "reaction": emoji, "reacted_message_id": target }))
    }

    /// The customer edits their message `target`.
    pub fn customer_edit(&self, target: &str, text: &str) -> String {
        self.emit(CUSTOMER, |m| {
            m.message = json!({ "protocolMessage": { "key": { "remoteJID": CUSTOMER, "fromMe": true, "ID": target }, "type": 14, "editedMessage": { "conversation": text } } });
        }, &json!({ "_event": "message.edited", "original_message_id": target, "body": text }))
    }

    /// The customer deletes their message `target` for everyone.
    pub fn customer_revoke(&self, target: &str) -> String {
        self.emit(CUSTOMER, |m| {
            m.message = json!({ "protocolMessage": { "key": { "remoteJID": CUSTOMER, "fromMe": true, "ID": target }, "type": 0 } });
        }, &json!({ "_event": "message.revoked", "revoked_message_id": target, "revoked_from_me": true }))
    }

    /// A message typed on the bridged phone itself, to the customer.
    pub fn phone_typed_text(&self, text: &str) -> String {
        self.emit(
            CUSTOMER,
            |m| {
                m.sender = OWN.into();
                m.from_me = true;
                m.message = json!({ "conversation": text });
            },
            &json!({ "is_from_me": true, "from": OWN, "body": text }),
        )
    }

    /// A customer replying to `quoted` (a WhatsApp id).
    pub fn customer_reply(&self, quoted: &str, text: &str) -> String {
        self.emit(CUSTOMER, |m| {
            m.message = json!({ "extendedTextMessage": { "text": text, "contextInfo": { "stanzaID": quoted, "participant": OWN } } });
        }, &json!({ "body": text, "replied_to_id": quoted }))
    }

    /// A group message by `sender` (phone JID) with push name `name`.
    pub fn group_text(&self, group: &str, sender: &str, name: &str, text: &str) -> String {
        self.emit(
            group,
            |m| {
                m.sender = sender.into();
                m.push_name = name.into();
                m.message = json!({ "conversation": text });
            },
            &json!({ "chat_id": group, "from": sender, "from_name": name, "body": text }),
        )
    }

    /// A membership change in `group`: `action` (`join`, `leave`, `promote`, `demote`) of
    /// `who`, made by `by` (wuzapi says who; GOWA does not).
    pub fn group_change(&self, group: &str, by: &str, action: &str, who: &[&str]) {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => {
                let mut key = action.to_owned();
                key[..1].make_ascii_uppercase();
                f.emit_group_info(group, by, &key, who);
            }
            FakeGateway::Gowa(f) => f.emit_group_participants(group, action, who),
        }
    }

    /// The customer calls (a video call where the gateway tells); returns the call id.
    pub fn customer_call(&self, video: bool) -> String {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.emit_call_offer(CUSTOMER, video),
            FakeGateway::Gowa(f) => f.emit_call_offer(CUSTOMER),
        }
    }

    /// The calls the gateway was asked to decline: caller and call id.
    pub fn rejected_calls(&self) -> Vec<(String, String)> {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.rejected_calls(),
            FakeGateway::Gowa(f) => f.rejected_calls(),
        }
    }

    /// A DM known only by LID (the phone not resolved yet).
    pub fn lid_text(&self, lid: &str, text: &str) -> String {
        self.emit(
            lid,
            |m| {
                m.message = json!({ "conversation": text });
            },
            &json!({ "chat_id": lid, "chat_lid": lid, "from": lid, "from_lid": lid, "body": text }),
        )
    }

    /// A DM carrying both the phone JID and the LID.
    pub fn phone_and_lid_text(&self, phone: &str, lid: &str, text: &str) -> String {
        self.emit(lid, |m| {
            m.sender_alt = phone.into();
            m.message = json!({ "conversation": text });
        }, &json!({ "chat_id": phone, "chat_lid": lid, "from": phone, "from_lid": lid, "body": text }))
    }

    /// A customer text with a chosen message id.
    pub fn customer_text_with_id(&self, id: &str, text: &str) -> String {
        self.emit(
            CUSTOMER,
            |m| {
                m.id = id.into();
                m.message = json!({ "conversation": text });
            },
            &json!({ "id": id, "body": text }),
        )
    }

    /// Any kind of message (`wuzapi` proto and `gowa` fields given separately).
    pub fn customer_raw(&self, wuzapi_message: Value, gowa_fields: &Value) -> String {
        self.emit(CUSTOMER, |m| m.message = wuzapi_message, gowa_fields)
    }

    /// Failure injection on the gateway.
    pub fn gateway_faults(&self) -> &zapwoot_fakes::Faults {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.faults(),
            FakeGateway::Gowa(f) => f.faults(),
        }
    }

    /// The send endpoint path prefix for texts.
    pub fn text_endpoint(&self) -> &'static str {
        match self.kind {
            GatewayKind::Gowa => "/send/message",
            _ => "/chat/send/text",
        }
    }

    /// The fake wuzapi (wuzapi-only tests).
    pub fn wuzapi(&self) -> &FakeWuzapi {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f,
            FakeGateway::Gowa(_) => panic!("wuzapi only"),
        }
    }

    /// Stops the gateway: connections are refused from now on.
    pub fn stop_gateway(&self) {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.shutdown(),
            FakeGateway::Gowa(f) => f.shutdown(),
        }
    }

    /// Logs the gateway session out or back in.
    pub fn set_gateway_logged_in(&self, logged_in: bool) {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.set_logged_in(logged_in),
            FakeGateway::Gowa(f) => f.set_logged_in("org_1", logged_in),
        }
    }

    /// A fresh engine on the same store, as after a process restart.
    pub fn restart_engine(&mut self) {
        self.check_emitted();
        let old = self.engine.runtime(self.instance_id).unwrap();
        let runtime = rebuild(&old, self);
        self.engine = Engine::with_policy(
            self.store.clone(),
            ActivityBus::new(BUS_CAPACITY),
            fast_policy(),
        );
        self.engine.set_runtime(runtime);
        *self.emitted.lock().unwrap() = self.engine.activity().subscribe();
    }

    /// The instance's session as the store records it (`None` before any).
    pub async fn session_record(&self) -> Option<zapwoot_store::ConnectionRecord> {
        self.store
            .connections()
            .get(self.instance_id)
            .await
            .unwrap()
    }

    /// A second engine on the same store (another replica of the bridge).
    pub fn replica(&self) -> Arc<Engine> {
        let old = self.engine.runtime(self.instance_id).unwrap();
        let engine = Engine::with_policy(
            self.store.clone(),
            ActivityBus::new(BUS_CAPACITY),
            fast_policy(),
        );
        engine.set_runtime(rebuild(&old, self));
        engine
    }

    /// Checks every activity record published since the last check against its schema (as
    /// the webhook body subscribers get).
    pub fn check_emitted(&self) {
        let mut receiver = self.emitted.lock().unwrap();
        let mut seen = self.checked.lock().unwrap();
        loop {
            match receiver.try_recv() {
                Ok(activity) => {
                    let body: Value = serde_json::from_str(&webhooks::payload(&activity)).unwrap();
                    zapwoot_testkit::events::assert_valid_webhook_body(&body);
                    seen.push(activity);
                }
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    panic!("{n} activity records were not checked")
                }
                Err(_) => return,
            }
        }
    }

    /// Texts the gateway was asked to send (text sends only).
    pub fn sent_texts(&self) -> Vec<String> {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f
                .sends()
                .iter()
                .filter(|s| s.endpoint == "/chat/send/text")
                .map(|s| s.body["Body"].as_str().unwrap_or_default().to_owned())
                .collect(),
            FakeGateway::Gowa(f) => f
                .sends()
                .iter()
                .filter(|s| s.endpoint == "/send/message")
                .map(|s| s.fields["message"].as_str().unwrap_or_default().to_owned())
                .collect(),
        }
    }

    /// Every send endpoint the gateway got, in order.
    pub fn sent_endpoints(&self) -> Vec<String> {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.sends().iter().map(|s| s.endpoint.clone()).collect(),
            FakeGateway::Gowa(f) => f.sends().iter().map(|s| s.endpoint.clone()).collect(),
        }
    }

    /// The ids the gateway answered for sends.
    pub fn sent_ids(&self) -> Vec<String> {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.sends().iter().map(|s| s.id.clone()).collect(),
            FakeGateway::Gowa(f) => f.sends().iter().map(|s| s.message_id.clone()).collect(),
        }
    }

    /// A read receipt from the customer for `ids`.
    pub fn customer_read(&self, ids: &[&str]) {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.emit_receipt(CUSTOMER, ids, "Read"),
            FakeGateway::Gowa(f) => f.emit_ack(CUSTOMER, ids, "read"),
        }
    }

    /// The typing indicators the gateway was asked to show in the customer's chat, as
    /// `true` (typing) / `false` (stopped), in order.
    pub fn typing_shown(&self) -> Vec<bool> {
        let calls: Vec<(String, String)> = match &self.gateway {
            FakeGateway::Wuzapi(f) => f.presences(),
            FakeGateway::Gowa(f) => f.presences(),
        };
        calls
            .into_iter()
            .map(|(chat, state)| {
                assert_eq!(chat, CUSTOMER);
                matches!(state.as_str(), "composing" | "start")
            })
            .collect()
    }

    /// The customer types (`composing`) or stops (`paused`) on WhatsApp.
    pub fn customer_typing(&self, state: &str) {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.emit_chat_presence(CUSTOMER, state, false),
            FakeGateway::Gowa(f) => f.emit_chat_presence(CUSTOMER, state),
        }
    }

    /// The customer's messages read on the bridged phone itself (a `ReadSelf` receipt).
    pub fn read_on_phone(&self, ids: &[&str]) {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f.emit_receipt(CUSTOMER, ids, "ReadSelf"),
            FakeGateway::Gowa(f) => f.emit_ack(CUSTOMER, ids, "read-self"),
        }
    }

    /// The WhatsApp ids the gateway was asked to mark read, in order (wuzapi
    /// `POST /chat/markread` takes a list, GOWA `POST /message/{id}/read` one each), each
    /// checked to be for the customer's chat.
    pub fn read_marks(&self) -> Vec<String> {
        match &self.gateway {
            FakeGateway::Wuzapi(f) => f
                .read_marks()
                .into_iter()
                .flat_map(|(chat, ids)| {
                    assert_eq!(chat, CUSTOMER);
                    ids
                })
                .collect(),
            FakeGateway::Gowa(f) => f
                .read_marks()
                .into_iter()
                .map(|(chat, id)| {
                    assert_eq!(chat, CUSTOMER);
                    id
                })
                .collect(),
        }
    }

    /// All Chatwoot messages (REST shape), by conversation.
    pub fn cw_messages(&self) -> Vec<Value> {
        self.chatwoot.all_messages()
    }

    pub fn assert_clean(&self) {
        self.check_emitted();
        let unexpected = self.chatwoot.unexpected_requests();
        assert!(
            unexpected.is_empty(),
            "unexpected Chatwoot calls: {unexpected:?}"
        );
        let bad: Vec<_> = self
            .chatwoot
            .requests()
            .into_iter()
            .filter(|r| {
                r.status
                    // Injected 429s are the fake's doing; any other 4xx but 404 lookups is a bug.
                    .is_some_and(|s| (400..500).contains(&s) && s != 404 && s != 429)
            })
            .collect();
        assert!(
            bad.is_empty(),
            "Chatwoot refused engine requests: {:?}",
            bad.iter()
                .map(|r| (&r.request.path, r.status))
                .collect::<Vec<_>>()
        );
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rebuild(old: &InstanceRuntime, h: &Harness) -> InstanceRuntime {
    let api = zapwoot_chatwoot::Client::builder(h.chatwoot.url(), h.chatwoot.admin_token())
        .build()
        .unwrap()
        .account(1);
    let mut runtime = InstanceRuntime::new(
        h.instance_id,
        "alpha",
        h.kind,
        Arc::new(api) as Arc<dyn ChatwootApi>,
        Arc::clone(&old.gateway),
        h.inbox.id,
        h.options.clone(),
    );
    runtime.chatwoot_keys.clone_from(&old.chatwoot_keys);
    runtime.gateway_keys.clone_from(&old.gateway_keys);
    runtime.own_jid.clone_from(&old.own_jid);
    runtime.typing_timeout = old.typing_timeout;
    runtime
}

/// Defines each test for SQLite and PostgreSQL, with wuzapi and GOWA.
macro_rules! matrix {
    ($(async fn $name:ident($h:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($h: crate::support::Harness) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite_wuzapi() { run(crate::support::harness(crate::support::Db::sqlite(), zapwoot_gateway::GatewayKind::Wuzapi).await).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite_gowa() { run(crate::support::harness(crate::support::Db::sqlite(), zapwoot_gateway::GatewayKind::Gowa).await).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres_wuzapi() { run(crate::support::harness(crate::support::Db::postgres(), zapwoot_gateway::GatewayKind::Wuzapi).await).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres_gowa() { run(crate::support::harness(crate::support::Db::postgres(), zapwoot_gateway::GatewayKind::Gowa).await).await }
            }
        )*
    };
}
