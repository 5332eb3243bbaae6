//! [`Event`] and [`parse`].

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::payload::{
    Sender, Typing, WebhookContact, WebhookConversation, WebhookMessage, WidgetTriggered,
};

/// One webhook delivery. Large payloads are boxed to keep the enum small.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `message_created`.
    MessageCreated(Box<WebhookMessage>),
    /// `message_updated` (no `changed_attributes`: diff against your own state).
    MessageUpdated(Box<WebhookMessage>),
    /// `conversation_created`.
    ConversationCreated(Box<WebhookConversation>),
    /// `conversation_updated`.
    ConversationUpdated(Box<WebhookConversation>),
    /// `conversation_status_changed` (`changed_attributes` is usually `null`).
    ConversationStatusChanged(Box<WebhookConversation>),
    /// `conversation_typing_on`.
    ConversationTypingOn(Box<Typing>),
    /// `conversation_typing_off`.
    ConversationTypingOff(Box<Typing>),
    /// `contact_created` (account webhooks only).
    ContactCreated(Box<WebhookContact>),
    /// `contact_updated` (account webhooks only).
    ContactUpdated(Box<WebhookContact>),
    /// `webwidget_triggered` (web widget inboxes only).
    WebwidgetTriggered(Box<WidgetTriggered>),
    /// Any other event, kept whole.
    Unknown {
        /// The `event` value.
        event: String,
        /// The whole body.
        raw: Value,
    },
}

/// Why a body is not a Chatwoot webhook. Names the problem; never echoes the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Not JSON.
    #[error("body is not valid JSON: {0}")]
    Json(String),
    /// JSON, but not an object.
    #[error("body is not a JSON object")]
    NotAnObject,
    /// No string `event` key.
    #[error("body has no \"event\" field")]
    MissingEvent,
    /// A known event whose fields do not have the expected shape.
    #[error("{event} payload has an unexpected shape: {reason}")]
    Shape {
        /// The event.
        event: String,
        /// What serde said.
        reason: String,
    },
}

/// Parses a webhook body (the raw bytes Chatwoot posted).
///
/// # Errors
/// [`ParseError`] for malformed JSON, a missing `event`, or a known event with a wrong shape.
/// Unknown events are not errors: they come back as [`Event::Unknown`].
pub fn parse(body: &[u8]) -> Result<Event, ParseError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if !value.is_object() {
        return Err(ParseError::NotAnObject);
    }
    let event = value
        .get("event")
        .and_then(Value::as_str)
        .ok_or(ParseError::MissingEvent)?
        .to_owned();
    Ok(match event.as_str() {
        "message_created" => Event::MessageCreated(shape(&event, value)?),
        "message_updated" => Event::MessageUpdated(shape(&event, value)?),
        "conversation_created" => Event::ConversationCreated(shape(&event, value)?),
        "conversation_updated" => Event::ConversationUpdated(shape(&event, value)?),
        "conversation_status_changed" => Event::ConversationStatusChanged(shape(&event, value)?),
        "conversation_typing_on" => Event::ConversationTypingOn(shape(&event, value)?),
        "conversation_typing_off" => Event::ConversationTypingOff(shape(&event, value)?),
        "contact_created" => Event::ContactCreated(shape(&event, value)?),
        "contact_updated" => Event::ContactUpdated(shape(&event, value)?),
        "webwidget_triggered" => Event::WebwidgetTriggered(shape(&event, value)?),
        _ => Event::Unknown { event, raw: value },
    })
}

fn shape<T: DeserializeOwned>(event: &str, value: Value) -> Result<Box<T>, ParseError> {
    let mut value = value;
    // The `event` key is already the enum variant; keep it out of the payloads' `extra`.
    if let Value::Object(map) = &mut value {
        map.remove("event");
    }
    serde_json::from_value(value)
        .map(Box::new)
        .map_err(|e| ParseError::Shape {
            event: event.to_owned(),
            reason: e.to_string(),
        })
}

impl Event {
    /// The `event` name as Chatwoot sends it.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::MessageCreated(_) => "message_created",
            Self::MessageUpdated(_) => "message_updated",
            Self::ConversationCreated(_) => "conversation_created",
            Self::ConversationUpdated(_) => "conversation_updated",
            Self::ConversationStatusChanged(_) => "conversation_status_changed",
            Self::ConversationTypingOn(_) => "conversation_typing_on",
            Self::ConversationTypingOff(_) => "conversation_typing_off",
            Self::ContactCreated(_) => "contact_created",
            Self::ContactUpdated(_) => "contact_updated",
            Self::WebwidgetTriggered(_) => "webwidget_triggered",
            Self::Unknown { event, .. } => event,
        }
    }

    /// The message, for message events.
    #[must_use]
    pub fn message(&self) -> Option<&WebhookMessage> {
        match self {
            Self::MessageCreated(m) | Self::MessageUpdated(m) => Some(m),
            _ => None,
        }
    }

    /// The conversation the event concerns (display id), when it has one.
    #[must_use]
    pub fn conversation_id(&self) -> Option<u64> {
        match self {
            Self::MessageCreated(m) | Self::MessageUpdated(m) => m.conversation_id(),
            Self::ConversationCreated(c)
            | Self::ConversationUpdated(c)
            | Self::ConversationStatusChanged(c) => Some(c.id),
            Self::ConversationTypingOn(t) | Self::ConversationTypingOff(t) => {
                Some(t.conversation.id)
            }
            _ => None,
        }
    }

    /// A key identifying this event's *content*, for deduplication: the same delivery twice
    /// (Chatwoot issue #11901) gives the same key; a real change gives a new one.
    /// `X-Chatwoot-Delivery` cannot serve: it is fresh on every enqueue.
    #[must_use]
    pub fn dedupe_key(&self) -> String {
        match self {
            Self::MessageCreated(m) => format!("message_created:{}", m.id),
            Self::MessageUpdated(m) => format!(
                "message_updated:{}:{:016x}",
                m.id,
                fingerprint(&[
                    m.content.as_deref().unwrap_or(""),
                    &Value::Object(m.content_attributes.clone()).to_string(),
                    &m.attachments.len().to_string(),
                ])
            ),
            Self::ConversationCreated(c) => format!("conversation_created:{}", c.id),
            Self::ConversationUpdated(c) | Self::ConversationStatusChanged(c) => format!(
                "{}:{}:{:016x}",
                self.name(),
                c.id,
                fingerprint(&[
                    c.status.as_str(),
                    &c.updated_at
                        .as_ref()
                        .map(|t| format!("{t:?}"))
                        .unwrap_or_default(),
                ])
            ),
            // Who types where: the same typing twice is the same key. Typing sessions repeat
            // with identical payloads, so a receiver adds a time window to tell them apart.
            Self::ConversationTypingOn(t) | Self::ConversationTypingOff(t) => format!(
                "{}:{}:{}",
                self.name(),
                t.conversation.id,
                match &t.user {
                    Some(Sender::User { id, .. }) => format!("user{id}"),
                    Some(Sender::Contact(c)) => format!("contact{}", c.id),
                    Some(_) => "other".to_owned(),
                    None => "nobody".to_owned(),
                }
            ),
            other => format!(
                "{}:{:016x}",
                other.name(),
                fingerprint(&[&format!("{other:?}")])
            ),
        }
    }
}

/// FNV-1a 64 over the parts (stable across runs and platforms).
fn fingerprint(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
