//! Inboxes (API channel).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An inbox as returned by `GET/POST/PATCH …/inboxes`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Inbox {
    /// Inbox id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `Channel::Api` for API inboxes.
    #[serde(default)]
    pub channel_type: String,
    /// Channel id.
    #[serde(default)]
    pub channel_id: Option<u64>,
    /// API inbox callback URL.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Public-API identifier (API inboxes).
    #[serde(default)]
    pub inbox_identifier: Option<String>,
    /// Webhook signing secret (API inboxes, Chatwoot ≥ 4.13, **admins only**).
    #[serde(default)]
    pub secret: Option<InboxSecret>,
    /// Whether new conversations are refused in favour of the last one.
    #[serde(default)]
    pub lock_to_single_conversation: bool,
}

impl Inbox {
    /// `true` for API-channel inboxes.
    #[must_use]
    pub fn is_api(&self) -> bool {
        self.channel_type == "Channel::Api"
    }
}

/// An inbox's webhook signing secret. Prints `[redacted]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct InboxSecret(String);

impl InboxSecret {
    /// The secret; use its bytes as the HMAC key for `X-Chatwoot-Signature`.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InboxSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Body of `POST …/inboxes` for an API-channel inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewApiInbox {
    /// Inbox name.
    pub name: String,
    /// The channel.
    pub channel: ApiChannel,
    /// Keep one conversation per contact forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_to_single_conversation: Option<bool>,
}

/// The `channel` object of [`NewApiInbox`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ApiChannel {
    /// Always `api`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where Chatwoot posts the inbox's events.
    pub webhook_url: String,
}

impl NewApiInbox {
    /// An API inbox named `name` posting its events to `webhook_url`.
    #[must_use]
    pub fn new(name: impl Into<String>, webhook_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            channel: ApiChannel {
                kind: "api".to_owned(),
                webhook_url: webhook_url.into(),
            },
            lock_to_single_conversation: None,
        }
    }
}
