//! Conversations.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Contact, ConversationStatus, Message, Time};

/// A conversation (REST shape). `id` is the per-account display id used in every path.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Conversation {
    /// Display id.
    pub id: u64,
    /// Account.
    #[serde(default)]
    pub account_id: Option<u64>,
    /// Inbox.
    pub inbox_id: u64,
    /// Status.
    pub status: ConversationStatus,
    /// Sender (contact), assignee…
    #[serde(default)]
    pub meta: ConversationMeta,
    /// The last message(s), when included.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// Whether agents can still reply (API inboxes: reply window).
    #[serde(default)]
    pub can_reply: Option<bool>,
    /// Additional attributes.
    #[serde(default)]
    pub additional_attributes: Map<String, Value>,
    /// Custom attributes.
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    /// Last activity (unix seconds).
    #[serde(default)]
    pub last_activity_at: Option<Time>,
    /// Creation (unix seconds).
    #[serde(default)]
    pub created_at: Option<Time>,
}

/// The `meta` of a conversation.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ConversationMeta {
    /// The contact.
    #[serde(default)]
    pub sender: Option<Contact>,
    /// The assigned agent, if any.
    #[serde(default)]
    pub assignee: Option<Value>,
}

/// Body of `POST …/conversations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NewConversation {
    /// The contact inbox's `source_id` (found or created with `inbox_id` + `contact_id`).
    pub source_id: String,
    /// Inbox.
    pub inbox_id: u64,
    /// Contact.
    pub contact_id: u64,
    /// Initial status (`open` unless the inbox has a bot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ConversationStatus>,
    /// Additional attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_attributes: Option<Map<String, Value>>,
    /// Custom attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Map<String, Value>>,
}

impl NewConversation {
    /// A conversation of `contact_id` in `inbox_id` through contact inbox `source_id`.
    #[must_use]
    pub fn new(source_id: impl Into<String>, inbox_id: u64, contact_id: u64) -> Self {
        Self {
            source_id: source_id.into(),
            inbox_id,
            contact_id,
            status: None,
            additional_attributes: None,
            custom_attributes: None,
        }
    }
}

/// Result of `toggle_status`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct StatusChange {
    /// Whether it changed.
    #[serde(default)]
    pub success: bool,
    /// Conversation display id.
    pub conversation_id: u64,
    /// The status now.
    pub current_status: ConversationStatus,
    /// Snooze end, unix seconds.
    #[serde(default)]
    pub snoozed_until: Option<Time>,
}
