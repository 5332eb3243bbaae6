//! A fake Chatwoot (v4.15 API-channel behaviour) on `127.0.0.1:0`.
//!
//! It validates what upstream validates (token, account, admin-only routes, E.164 phones,
//! `incoming` only in API inboxes, 15 attachments, flood limit, JSON and multipart bodies),
//! answers with upstream's shapes and error bodies, stores attachments and serves them behind
//! an ActiveStorage-like redirect, and — like real Chatwoot — posts every change back to the
//! inbox `webhook_url`, echoes of its own client's calls included.

mod render;
pub(crate) use render::iso;
mod routes;
mod state;
mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use self::state::{Attachment, Message, Role, SenderRef, State, User, now};
use crate::dispatch::{DispatchOptions, Dispatcher, WebhookOrder};
use crate::random;
use crate::server::{self, Running, Shared};

/// How to run a [`FakeChatwoot`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FakeChatwootConfig {
    /// Address to bind (default `127.0.0.1:0`).
    pub addr: SocketAddr,
    /// The one account's id.
    pub account_id: u64,
    /// The account's name.
    pub account_name: String,
    /// Token of an administrator.
    pub admin_token: String,
    /// Token of a plain agent (no inbox administration).
    pub agent_token: String,
    /// Sign webhooks with the inbox secret and show it to admins (Chatwoot ≥ 4.13); `false` =
    /// an older Chatwoot, which has neither.
    pub sign_webhooks: bool,
    /// Webhook ordering.
    pub webhook_order: WebhookOrder,
    /// Send every Nth webhook twice (upstream issue #11901).
    pub duplicate_every: Option<u32>,
    /// Messages per conversation per minute (upstream default 200); `None` = no limit.
    pub flood_limit: Option<u32>,
    /// Webhook request timeout (upstream default 5 s).
    pub webhook_timeout: Duration,
    /// Keep every request in the log (tests); turn off for long benchmarks.
    pub log_requests: bool,
}

impl Default for FakeChatwootConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            account_id: 1,
            account_name: "Acme Support".to_owned(),
            admin_token: "admin-token-fake-chatwoot".to_owned(),
            agent_token: "agent-token-fake-chatwoot".to_owned(),
            sign_webhooks: true,
            webhook_order: WebhookOrder::InOrder,
            duplicate_every: None,
            flood_limit: Some(200),
            webhook_timeout: Duration::from_secs(5),
            log_requests: true,
        }
    }
}

/// An inbox created through the test API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeInbox {
    /// Inbox id.
    pub id: u64,
    /// Webhook signing secret.
    pub secret: String,
}

/// Message fields as the create endpoint receives them.
#[derive(Debug, Clone, Default)]
pub(crate) struct MessageParams {
    pub(crate) content: Option<String>,
    pub(crate) message_type: u8,
    pub(crate) private: bool,
    pub(crate) content_type: String,
    pub(crate) content_attributes: Map<String, Value>,
    pub(crate) source_id: Option<String>,
    pub(crate) echo_id: Option<Value>,
    pub(crate) external_created_at: Option<Value>,
    pub(crate) is_voice_message: bool,
    pub(crate) attachments: Vec<(String, String, Bytes)>,
}

/// Upstream's error: status and JSON body.
pub(crate) type ApiError = (http::StatusCode, Value);

pub(crate) fn error(status: http::StatusCode, message: &str) -> ApiError {
    (status, json!({ "error": message }))
}

pub(crate) fn not_found() -> ApiError {
    error(http::StatusCode::NOT_FOUND, "Resource could not be found")
}

/// Shared state of a running fake.
#[derive(Debug)]
pub(crate) struct Core {
    state: Mutex<State>,
    config: FakeChatwootConfig,
    base: OnceLock<String>,
    webhooks: Dispatcher,
    this: OnceLock<std::sync::Weak<Self>>,
}

impl Core {
    /// Whether events of `inbox_id` go anywhere (rendering a webhook body is not free).
    fn posts_webhooks(&self, state: &State, inbox_id: u64) -> bool {
        state
            .inboxes
            .get(&inbox_id)
            .is_some_and(|i| i.webhook_url.as_deref().is_some_and(|u| !u.is_empty()))
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough data for a test double.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn base(&self) -> &str {
        self.base.get().map_or("", String::as_str)
    }

    fn enqueue(
        &self,
        state: &State,
        inbox_id: u64,
        event: &str,
        body: &Value,
        message_id: Option<u64>,
    ) {
        let Some(inbox) = state.inboxes.get(&inbox_id) else {
            return;
        };
        let Some(url) = inbox.webhook_url.clone().filter(|u| !u.is_empty()) else {
            return;
        };
        let secret = self.config.sign_webhooks.then_some(inbox.secret.as_str());
        let core = self.this.get().cloned().unwrap_or_default();
        self.webhooks.post(webhooks::post(
            core,
            url,
            secret,
            event,
            body.to_string().into_bytes(),
            message_id,
        ));
    }

    pub(crate) fn emit_message(&self, state: &State, message_id: u64, event: &str) {
        let Some(m) = state.messages.get(&message_id) else {
            return;
        };
        if m.message_type == 2 || !self.posts_webhooks(state, m.inbox_id) {
            return; // activity messages are never posted
        }
        let body = render::message_webhook(state, self.base(), m, event);
        self.enqueue(state, m.inbox_id, event, &body, Some(message_id));
    }

    pub(crate) fn emit_conversation(
        &self,
        state: &State,
        conversation_id: u64,
        event: &str,
        changed: Option<Value>,
    ) {
        let Some(c) = state.conversations.get(&conversation_id) else {
            return;
        };
        let mut body = render::conversation_webhook(state, self.base(), c);
        if let Value::Object(map) = &mut body {
            map.insert("event".into(), json!(event));
            if event != "conversation_created" {
                map.insert("changed_attributes".into(), changed.unwrap_or(Value::Null));
            }
        }
        self.enqueue(state, c.inbox_id, event, &body, None);
    }

    pub(crate) fn emit_typing(
        &self,
        state: &State,
        conversation_id: u64,
        user: &User,
        on: bool,
        private: bool,
    ) {
        let Some(c) = state.conversations.get(&conversation_id) else {
            return;
        };
        let event = if on {
            "conversation_typing_on"
        } else {
            "conversation_typing_off"
        };
        let body = json!({
            "event": event,
            "user": render::user_webhook(user),
            "conversation": render::conversation_webhook(state, self.base(), c),
            "is_private": private,
        });
        self.enqueue(state, c.inbox_id, event, &body, None);
    }

    /// Sets a conversation's status, emitting `conversation_status_changed` (with
    /// `changed_attributes: null`, as upstream) and `conversation_updated`.
    pub(crate) fn set_status(&self, state: &mut State, conversation_id: u64, status: &str) {
        let Some(c) = state.conversations.get_mut(&conversation_id) else {
            return;
        };
        if c.status == status {
            return;
        }
        let previous = std::mem::replace(&mut c.status, status.to_owned());
        c.updated_at = now();
        self.emit_conversation(state, conversation_id, "conversation_status_changed", None);
        let changed =
            json!([{ "status": { "previous_value": previous, "current_value": status } }]);
        self.emit_conversation(
            state,
            conversation_id,
            "conversation_updated",
            Some(changed),
        );
    }

    /// Creates a message like `MessageBuilder`: validation, reply resolution, reopening.
    pub(crate) fn create_message(
        &self,
        conversation_id: u64,
        params: MessageParams,
        sender: SenderRef,
    ) -> Result<u64, ApiError> {
        let mut state = self.state();
        let state = &mut *state;
        let conversation = state
            .conversations
            .get(&conversation_id)
            .cloned()
            .ok_or_else(not_found)?;
        let inbox_api = state
            .inboxes
            .get(&conversation.inbox_id)
            .is_some_and(|i| i.api);
        let unprocessable = |m: &str| error(http::StatusCode::UNPROCESSABLE_ENTITY, m);
        if params.message_type == 0 && !inbox_api {
            return Err(unprocessable(
                "Incoming messages are only allowed in Api inboxes",
            ));
        }
        if params.attachments.len() > 15 {
            return Err(unprocessable(
                "Validation failed: Attachments exceed the limit of 15",
            ));
        }
        if params
            .content
            .as_deref()
            .is_some_and(|c| c.chars().count() > 150_000)
        {
            return Err(unprocessable(
                "Validation failed: Content is too long (maximum is 150000 characters)",
            ));
        }
        if state.flood_exceeded(conversation_id, self.config.flood_limit) {
            return Err(unprocessable("Validation failed: Too many messages"));
        }
        let mut attributes = params.content_attributes;
        resolve_reply(state, conversation_id, &mut attributes);
        if let Some(at) = params.external_created_at {
            attributes.insert("external_created_at".into(), at);
        }
        let sender = match (params.message_type, sender) {
            (0, _) => SenderRef::Contact(conversation.contact_id),
            (_, s) => s,
        };
        let id = state.next_id();
        let mut attachment_ids = Vec::new();
        for (file_name, content_type, bytes) in params.attachments {
            let attachment_id = state.next_id();
            let blob_key = format!("{}--{}", random::base58(28), attachment_id);
            state.blobs.insert(blob_key.clone(), attachment_id);
            let file_type = state::file_type(&content_type).to_owned();
            state.attachments.insert(
                attachment_id,
                Attachment {
                    id: attachment_id,
                    message_id: id,
                    voice: params.is_voice_message && file_type == "audio",
                    file_type,
                    content_type,
                    file_name,
                    blob_key,
                    bytes,
                },
            );
            attachment_ids.push(attachment_id);
        }
        let t = now();
        state.insert_message(Message {
            id,
            conversation_id,
            inbox_id: conversation.inbox_id,
            content: params.content,
            message_type: params.message_type,
            content_type: if params.content_type.is_empty() {
                "text".into()
            } else {
                params.content_type
            },
            content_attributes: attributes,
            private: params.private,
            status: "sent".into(),
            source_id: params.source_id,
            echo_id: params.echo_id,
            sender,
            created_at: t,
            attachment_ids,
        });
        if let Some(c) = state.conversations.get_mut(&conversation_id) {
            c.last_activity_at = t;
            c.updated_at = t;
        }
        self.emit_message(state, id, "message_created");
        if params.message_type == 0
            && matches!(conversation.status.as_str(), "resolved" | "snoozed")
        {
            self.set_status(state, conversation_id, "open");
        }
        Ok(id)
    }

    /// What upstream does when an API-inbox message webhook fails.
    pub(crate) fn mark_delivery_failed(&self, message_id: u64, error: &str) {
        let mut state = self.state();
        let Some(m) = state.messages.get_mut(&message_id) else {
            return;
        };
        if m.status == "failed" {
            return;
        }
        m.status = "failed".into();
        m.content_attributes
            .insert("external_error".into(), json!(error));
        self.emit_message(&state, message_id, "message_updated");
    }
}

/// `Messages::InReplyToMessageBuilder`: resolves `in_reply_to` ⇄ `in_reply_to_external_id`
/// within the conversation; unknown → both null.
fn resolve_reply(state: &State, conversation_id: u64, attributes: &mut Map<String, Value>) {
    let in_conversation = |pred: &dyn Fn(&Message) -> bool| {
        state
            .conversation_messages
            .get(&conversation_id)
            .and_then(|ids| {
                ids.iter()
                    .filter_map(|id| state.messages.get(id))
                    .find(|m| pred(m))
            })
    };
    let by_id = attributes.get("in_reply_to").and_then(Value::as_u64);
    let by_external = attributes
        .get("in_reply_to_external_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if by_id.is_none() && by_external.is_none() {
        return;
    }
    let target = match (by_id, by_external) {
        (Some(id), _) => in_conversation(&|m| m.id == id),
        (None, Some(ext)) => in_conversation(&|m| m.source_id.as_deref() == Some(&ext)),
        _ => None,
    };
    attributes.insert(
        "in_reply_to".into(),
        target.map_or(Value::Null, |m| json!(m.id)),
    );
    attributes.insert(
        "in_reply_to_external_id".into(),
        target
            .and_then(|m| m.source_id.clone())
            .map_or(Value::Null, Value::from),
    );
}

/// A running fake Chatwoot. Stops when dropped.
#[derive(Debug)]
pub struct FakeChatwoot {
    core: Arc<Core>,
    shared: Arc<Shared>,
    running: Running,
}

impl FakeChatwoot {
    crate::server::common_fake_api!();

    fn dispatcher(&self) -> &Dispatcher {
        &self.core.webhooks
    }

    /// Starts a fake with `config`.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(config: FakeChatwootConfig) -> std::io::Result<Self> {
        let mut state = State {
            account_id: config.account_id,
            account_name: config.account_name.clone(),
            ..State::default()
        };
        for (name, token, role) in [
            ("Admin Alice", &config.admin_token, Role::Administrator),
            ("Agent Bob", &config.agent_token, Role::Agent),
        ] {
            let id = state.next_id();
            state.users.push(User {
                id,
                name: name.to_owned(),
                email: format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
                token: token.clone(),
                role,
            });
        }
        let core = Arc::new(Core {
            state: Mutex::new(state),
            base: OnceLock::new(),
            webhooks: Dispatcher::start(DispatchOptions {
                order: config.webhook_order,
                duplicate_every: config.duplicate_every,
                delay: Duration::ZERO,
                timeout: config.webhook_timeout,
            }),
            this: OnceLock::new(),
            config: config.clone(),
        });
        let _ = core.this.set(Arc::downgrade(&core));
        let shared = Arc::new(Shared::new(config.log_requests));
        let handler_core = Arc::clone(&core);
        let handler: server::Handler = Arc::new(move |req| {
            let core = Arc::clone(&handler_core);
            Box::pin(async move { routes::handle(&core, req).await })
        });
        let running = server::serve(config.addr, Arc::clone(&shared), handler).await?;
        let _ = core.base.set(format!("http://{}", running.addr));
        Ok(Self {
            core,
            shared,
            running,
        })
    }

    /// Base URL, `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        self.core.base().to_owned()
    }

    /// The administrator's token.
    #[must_use]
    pub fn admin_token(&self) -> &str {
        &self.core.config.admin_token
    }

    /// The plain agent's token.
    #[must_use]
    pub fn agent_token(&self) -> &str {
        &self.core.config.agent_token
    }

    /// The account id.
    #[must_use]
    pub fn account_id(&self) -> u64 {
        self.core.config.account_id
    }

    /// Creates an API inbox (as an admin would in the dashboard).
    pub fn add_api_inbox(&self, name: &str, webhook_url: Option<&str>) -> FakeInbox {
        let mut state = self.core.state();
        let id = state.next_id();
        let secret = random::base58(24);
        state.inboxes.insert(
            id,
            state::Inbox {
                id,
                name: name.to_owned(),
                api: true,
                webhook_url: webhook_url.map(str::to_owned),
                secret: secret.clone(),
                identifier: random::base58(24),
                lock_to_single_conversation: false,
            },
        );
        FakeInbox { id, secret }
    }

    /// Creates a web-widget inbox (not an API inbox).
    pub fn add_widget_inbox(&self, name: &str) -> u64 {
        let mut state = self.core.state();
        let id = state.next_id();
        state.inboxes.insert(
            id,
            state::Inbox {
                id,
                name: name.to_owned(),
                api: false,
                webhook_url: None,
                secret: random::base58(24),
                identifier: random::base58(24),
                lock_to_single_conversation: false,
            },
        );
        id
    }

    /// Seeds a contact (with a contact inbox `source_id` in `inbox_id`) and an open
    /// conversation, as if created earlier; posts no webhooks. Returns `(contact, conversation)`.
    pub fn add_conversation(&self, inbox_id: u64, source_id: &str, name: &str) -> (u64, u64) {
        let mut state = self.core.state();
        let t = now();
        let contact_id = state.next_id();
        state.contacts.insert(
            contact_id,
            state::Contact {
                id: contact_id,
                name: name.to_owned(),
                phone_number: None,
                email: None,
                identifier: None,
                blocked: false,
                additional_attributes: Map::new(),
                custom_attributes: Map::new(),
                created_at: t,
            },
        );
        let contact_inbox_id = state.next_id();
        state.contact_inboxes.push(state::ContactInbox {
            id: contact_inbox_id,
            contact_id,
            inbox_id,
            source_id: source_id.to_owned(),
            created_at: t,
        });
        let conversation_id = state.conversations.keys().next_back().map_or(1, |k| k + 1);
        state.conversations.insert(
            conversation_id,
            state::Conversation {
                id: conversation_id,
                inbox_id,
                contact_id,
                contact_inbox_id,
                status: "open".to_owned(),
                additional_attributes: Map::new(),
                custom_attributes: Map::new(),
                created_at: t,
                updated_at: t,
                last_activity_at: t,
            },
        );
        (contact_id, conversation_id)
    }

    /// An agent (the administrator) replies from the dashboard: an outgoing message with
    /// `source_id: null`, posted to the inbox webhook like upstream.
    ///
    /// # Errors
    /// Upstream's status and body when the message is refused.
    pub fn agent_reply(
        &self,
        conversation_id: u64,
        content: &str,
        attachments: Vec<(String, String, Vec<u8>)>,
    ) -> Result<u64, (u16, Value)> {
        self.agent_message(conversation_id, content, false, attachments)
    }

    /// An agent writes a private note.
    ///
    /// # Errors
    /// As [`agent_reply`](Self::agent_reply).
    pub fn agent_note(&self, conversation_id: u64, content: &str) -> Result<u64, (u16, Value)> {
        self.agent_message(conversation_id, content, true, Vec::new())
    }

    fn agent_message(
        &self,
        conversation_id: u64,
        content: &str,
        private: bool,
        attachments: Vec<(String, String, Vec<u8>)>,
    ) -> Result<u64, (u16, Value)> {
        let admin = self.core.state().users.first().map_or(0, |u| u.id);
        let params = MessageParams {
            content: (!content.is_empty()).then(|| content.to_owned()),
            message_type: 1,
            private,
            attachments: attachments
                .into_iter()
                .map(|(n, t, b)| (n, t, Bytes::from(b)))
                .collect(),
            ..MessageParams::default()
        };
        self.core
            .create_message(conversation_id, params, SenderRef::User(admin))
            .map_err(|(status, body)| (status.as_u16(), body))
    }

    /// An automation sends a template (greeting, out-of-office, CSAT): `message_type`
    /// `template` and **no sender** (`sender: null` in the webhook).
    ///
    /// # Errors
    /// As [`agent_reply`](Self::agent_reply).
    pub fn automation_template(
        &self,
        conversation_id: u64,
        content: &str,
    ) -> Result<u64, (u16, Value)> {
        let params = MessageParams {
            content: Some(content.to_owned()),
            message_type: 3,
            ..MessageParams::default()
        };
        self.core
            .create_message(conversation_id, params, SenderRef::None)
            .map_err(|(status, body)| (status.as_u16(), body))
    }

    /// An agent deletes a message in the dashboard (same effect as the DELETE endpoint).
    pub fn agent_delete(&self, message_id: u64) -> bool {
        routes::delete_message(&self.core, message_id)
    }

    /// An agent sets a conversation's status in the dashboard.
    pub fn agent_set_status(&self, conversation_id: u64, status: &str) {
        let mut state = self.core.state();
        self.core.set_status(&mut state, conversation_id, status);
    }

    /// Messages of a conversation in REST shape, oldest first.
    #[must_use]
    pub fn messages(&self, conversation_id: u64) -> Vec<Value> {
        let state = self.core.state();
        state
            .conversation_messages
            .get(&conversation_id)
            .into_iter()
            .flatten()
            .filter_map(|id| state.messages.get(id))
            .map(|m| render::message_rest(&state, self.core.base(), m))
            .collect()
    }

    /// Every message, REST shape, in creation order.
    #[must_use]
    pub fn all_messages(&self) -> Vec<Value> {
        let state = self.core.state();
        state
            .messages
            .values()
            .map(|m| render::message_rest(&state, self.core.base(), m))
            .collect()
    }

    /// `(content, creation time in unix seconds)` of the messages after the first `skip`, in
    /// creation order: cheap progress and latency readings for load tests.
    #[must_use]
    pub fn created_since(&self, skip: usize) -> Vec<(String, f64, u8)> {
        let state = self.core.state();
        state
            .messages
            .values()
            .skip(skip)
            .map(|m| {
                (
                    m.content.clone().unwrap_or_default(),
                    m.created_at,
                    m.message_type,
                )
            })
            .collect()
    }

    /// Every conversation, REST shape.
    #[must_use]
    pub fn conversations(&self) -> Vec<Value> {
        let state = self.core.state();
        state
            .conversations
            .values()
            .map(|c| render::conversation_rest(&state, self.core.base(), c))
            .collect()
    }

    /// Every contact, REST shape with contact inboxes.
    #[must_use]
    pub fn contacts(&self) -> Vec<Value> {
        let state = self.core.state();
        state
            .contacts
            .values()
            .map(|c| render::contact_rest(&state, c, true))
            .collect()
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        self.running.shutdown();
    }
}
