//! The shapes inside webhook bodies (Chatwoot v4.15, `Message#webhook_data`,
//! `Conversations::EventDataPresenter#webhook_data`, `Contact#webhook_data`).

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::models::{Attachment, ConversationStatus, MessageType, Time};

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

fn null_as_empty_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `{id, name}` of an account or inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamedRef {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The body of `message_created` / `message_updated`: string `message_type`, ISO
/// `created_at`, the whole conversation, and **no** `status` field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct WebhookMessage {
    /// Message id.
    pub id: u64,
    /// Text (raw markdown, hard breaks as newlines).
    #[serde(default)]
    pub content: Option<String>,
    /// `text`, `input_csat`, …
    #[serde(default)]
    pub content_type: Option<String>,
    /// `in_reply_to`, `deleted`, `external_error`, custom keys.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content_attributes: Map<String, Value>,
    /// `incoming`, `outgoing` or `template` (a string here).
    pub message_type: MessageType,
    /// Private note.
    #[serde(default)]
    pub private: bool,
    /// The creator's `source_id` (null for agent messages from the dashboard).
    #[serde(default)]
    pub source_id: Option<String>,
    /// ISO-8601 with milliseconds.
    #[serde(default)]
    pub created_at: Option<Time>,
    /// Who wrote it; `None` for automation templates.
    #[serde(default)]
    pub sender: Option<Sender>,
    /// The conversation.
    #[serde(default)]
    pub conversation: Option<WebhookConversation>,
    /// The inbox.
    #[serde(default)]
    pub inbox: Option<NamedRef>,
    /// The account.
    #[serde(default)]
    pub account: Option<NamedRef>,
    /// Attachments (the key is absent when there are none).
    #[serde(default, deserialize_with = "null_as_empty_vec")]
    pub attachments: Vec<Attachment>,
    /// Additional attributes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub additional_attributes: Map<String, Value>,
    /// Fields this library does not model, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WebhookMessage {
    /// The conversation's display id.
    #[must_use]
    pub fn conversation_id(&self) -> Option<u64> {
        self.conversation.as_ref().map(|c| c.id)
    }

    /// `content_attributes.in_reply_to`.
    #[must_use]
    pub fn in_reply_to(&self) -> Option<u64> {
        self.content_attributes
            .get("in_reply_to")
            .and_then(Value::as_u64)
    }

    /// `content_attributes.deleted == true`.
    #[must_use]
    pub fn is_deleted(&self) -> bool {
        self.content_attributes
            .get("deleted")
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// `content_attributes.external_error`, set when delivery failed.
    #[must_use]
    pub fn external_error(&self) -> Option<&str> {
        self.content_attributes
            .get("external_error")
            .and_then(Value::as_str)
    }
}

/// Who wrote a message or is typing. Contact payloads carry **no** `type` key
/// (removed upstream in 2023), so an untyped sender is a contact.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Sender {
    /// An agent (`type: "user"`).
    User {
        /// User id.
        id: u64,
        /// Name.
        name: Option<String>,
        /// Email.
        email: Option<String>,
    },
    /// An agent bot.
    AgentBot {
        /// Bot id.
        id: u64,
        /// Name.
        name: Option<String>,
    },
    /// A Captain assistant (enterprise).
    CaptainAssistant {
        /// Assistant id.
        id: u64,
        /// Name.
        name: Option<String>,
    },
    /// The contact.
    Contact(Box<WebhookContact>),
    /// A sender type this library does not know.
    Other {
        /// The `type` value.
        kind: String,
        /// The whole object.
        raw: Value,
    },
}

impl Sender {
    /// The sender's id.
    #[must_use]
    pub fn id(&self) -> Option<u64> {
        match self {
            Self::User { id, .. }
            | Self::AgentBot { id, .. }
            | Self::CaptainAssistant { id, .. } => Some(*id),
            Self::Contact(contact) => Some(contact.id),
            Self::Other { raw, .. } => raw.get("id").and_then(Value::as_u64),
        }
    }

    /// The sender's display name.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::User { name, .. }
            | Self::AgentBot { name, .. }
            | Self::CaptainAssistant { name, .. } => name.as_deref(),
            Self::Contact(contact) => contact.name.as_deref(),
            Self::Other { raw, .. } => raw.get("name").and_then(Value::as_str),
        }
    }

    /// `true` for human agents.
    #[must_use]
    pub fn is_agent(&self) -> bool {
        matches!(self, Self::User { .. })
    }
}

impl<'de> Deserialize<'de> for Sender {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let raw = Value::deserialize(deserializer)?;
        let id = || {
            raw.get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| D::Error::missing_field("id"))
        };
        let name = || raw.get("name").and_then(Value::as_str).map(str::to_owned);
        match raw.get("type").and_then(Value::as_str) {
            None | Some("contact") => WebhookContact::deserialize(raw)
                .map(|c| Self::Contact(Box::new(c)))
                .map_err(D::Error::custom),
            Some("user") => Ok(Self::User {
                id: id()?,
                name: name(),
                email: raw.get("email").and_then(Value::as_str).map(str::to_owned),
            }),
            Some("agent_bot") => Ok(Self::AgentBot {
                id: id()?,
                name: name(),
            }),
            Some("captain_assistant") => Ok(Self::CaptainAssistant {
                id: id()?,
                name: name(),
            }),
            Some(other) => Ok(Self::Other {
                kind: other.to_owned(),
                raw: raw.clone(),
            }),
        }
    }
}

/// A contact as webhooks carry it (`Contact#webhook_data` / push data).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct WebhookContact {
    /// Contact id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// E.164 phone.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Identifier.
    #[serde(default)]
    pub identifier: Option<String>,
    /// Thumbnail URL.
    #[serde(default)]
    pub thumbnail: Option<String>,
    /// Blocked.
    #[serde(default)]
    pub blocked: Option<bool>,
    /// Additional attributes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub additional_attributes: Map<String, Value>,
    /// Custom attributes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub custom_attributes: Map<String, Value>,
    /// On `contact_updated`: what changed.
    #[serde(default)]
    pub changed_attributes: Option<Value>,
    /// Fields this library does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A conversation as webhooks carry it: `id` is the display id, times are unix ints
/// (`updated_at` a float), `messages[0]` the last chat message with an **integer** type.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct WebhookConversation {
    /// Display id.
    pub id: u64,
    /// Inbox.
    #[serde(default)]
    pub inbox_id: Option<u64>,
    /// Status after the change.
    pub status: ConversationStatus,
    /// `Channel::Api`, …
    #[serde(default)]
    pub channel: Option<String>,
    /// The contact inbox (its `source_id` is the contact's address in the inbox).
    #[serde(default)]
    pub contact_inbox: Option<ContactInboxRef>,
    /// Sender, assignee, team.
    #[serde(default)]
    pub meta: ConversationMeta,
    /// The last non-activity, non-private message.
    #[serde(default, deserialize_with = "null_as_empty_vec")]
    pub messages: Vec<PushMessage>,
    /// Labels.
    #[serde(default, deserialize_with = "null_as_empty_vec")]
    pub labels: Vec<String>,
    /// Whether agents can still reply.
    #[serde(default)]
    pub can_reply: Option<bool>,
    /// Additional attributes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub additional_attributes: Map<String, Value>,
    /// Custom attributes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub custom_attributes: Map<String, Value>,
    /// Created (unix).
    #[serde(default)]
    pub created_at: Option<Time>,
    /// Updated (unix, float).
    #[serde(default)]
    pub updated_at: Option<Time>,
    /// Last activity (unix).
    #[serde(default)]
    pub last_activity_at: Option<Time>,
    /// `conversation_updated`: `[{attr: {previous_value, current_value}}]`;
    /// `conversation_status_changed`: in practice `null`.
    #[serde(default)]
    pub changed_attributes: Option<Vec<Map<String, Value>>>,
    /// Fields this library does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `contact_inbox` of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ContactInboxRef {
    /// The contact's address in the inbox.
    #[serde(default)]
    pub source_id: Option<String>,
    /// Contact id.
    #[serde(default)]
    pub contact_id: Option<u64>,
    /// Inbox id.
    #[serde(default)]
    pub inbox_id: Option<u64>,
}

/// A conversation's `meta`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ConversationMeta {
    /// The contact (push data, with `type: "contact"`).
    #[serde(default)]
    pub sender: Option<Sender>,
    /// Assignee (user or bot push data).
    #[serde(default)]
    pub assignee: Option<Value>,
    /// `User`, `AgentBot` or null.
    #[serde(default)]
    pub assignee_type: Option<String>,
}

/// A message as nested in a conversation (push data: integer `message_type`, unix
/// `created_at`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct PushMessage {
    /// Message id.
    pub id: u64,
    /// Text.
    #[serde(default)]
    pub content: Option<String>,
    /// Type (an integer here).
    pub message_type: MessageType,
    /// Content attributes.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content_attributes: Map<String, Value>,
    /// Private.
    #[serde(default)]
    pub private: bool,
    /// `sent`, `delivered`, `read`, `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `source_id`.
    #[serde(default)]
    pub source_id: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: Option<Time>,
    /// Sender (push data with `type`).
    #[serde(default)]
    pub sender: Option<Sender>,
    /// Attachments.
    #[serde(default, deserialize_with = "null_as_empty_vec")]
    pub attachments: Vec<Attachment>,
}

/// `conversation_typing_on` / `conversation_typing_off`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Typing {
    /// Who types: an agent or the contact.
    #[serde(default)]
    pub user: Option<Sender>,
    /// The conversation.
    pub conversation: WebhookConversation,
    /// Typing a private note.
    #[serde(default)]
    pub is_private: bool,
}

/// `webwidget_triggered` (web widget inboxes only).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct WidgetTriggered {
    /// Contact inbox id.
    #[serde(default)]
    pub id: Option<u64>,
    /// The contact's source id.
    #[serde(default)]
    pub source_id: Option<String>,
    /// The contact.
    #[serde(default)]
    pub contact: Option<Value>,
    /// The inbox.
    #[serde(default)]
    pub inbox: Option<Value>,
    /// Browser information.
    #[serde(default)]
    pub event_info: Option<Value>,
}
