//! A fake Chatwoot (v4.15 API-channel behaviour) on `127.0.0.1:0`.
//!
//! It validates what upstream validates (token, account, admin-only routes, E.164 phones,
//! `incoming` only in API inboxes, 15 attachments, flood limit, JSON and multipart bodies),
//! answers with upstream's shapes and error bodies, stores attachments and serves them behind
//! an ActiveStorage-like redirect, and — like real Chatwoot — posts every change back to the
//! inbox `webhook_url`, echoes of its own client's calls included.

mod changes;
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

    /// An agent (the administrator) starts (`on`) or stops typing in the dashboard, in the
    /// reply box or (`private`) a private note: `conversation_typing_on` / `_off` on the inbox
    /// webhook, as upstream. Returns `false` when there is no such conversation.
    pub fn agent_typing(&self, conversation_id: u64, on: bool, private: bool) -> bool {
        let state = self.core.state();
        let Some(admin) = state.users.first().cloned() else {
            return false;
        };
        if !state.conversations.contains_key(&conversation_id) {
            return false;
        }
        self.core
            .emit_typing(&state, conversation_id, &admin, on, private);
        true
    }

    /// The public API's `toggle_typing` calls accepted so far (a contact typing): the
    /// conversation and on/off, in order.
    #[must_use]
    pub fn contact_typing(&self) -> Vec<(u64, bool)> {
        self.core.state().contact_typing.clone()
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

    /// The conversation is resolved with CSAT on: Chatwoot's survey, a `template` message of
    /// `content_type` `input_csat` with no sender, whose webhook content carries the survey
    /// link (`{base}/survey/responses/{conversation uuid}`). Returns its id.
    ///
    /// # Errors
    /// As [`agent_reply`](Self::agent_reply).
    pub fn csat_survey(&self, conversation_id: u64) -> Result<u64, (u16, Value)> {
        let params = MessageParams {
            content: Some("Please rate this conversation".to_owned()),
            message_type: 3,
            content_type: "input_csat".to_owned(),
            ..MessageParams::default()
        };
        self.core
            .create_message(conversation_id, params, SenderRef::None)
            .map_err(|(status, body)| (status.as_u16(), body))
    }

    /// CSAT answers submitted through the public API: conversation and rating, in order.
    #[must_use]
    pub fn csat_responses(&self) -> Vec<(u64, u8)> {
        self.core.state().csat_responses.clone()
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

    /// An agent renames a contact in the dashboard. Returns `false` when there is no such
    /// contact. (`contact_updated` goes to account webhooks only, never to an API inbox.)
    pub fn agent_rename_contact(&self, contact_id: u64, name: &str) -> bool {
        let mut state = self.core.state();
        match state.contacts.get_mut(&contact_id) {
            Some(contact) => {
                contact.name = name.to_owned();
                true
            }
            None => false,
        }
    }

    /// Stops serving.
    pub fn shutdown(&self) {
        self.running.shutdown();
    }
}
