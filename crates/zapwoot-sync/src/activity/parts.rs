//! The objects inside message payloads: who sent it, what it carried, what it quoted.
//! `docs/events/*.schema.json` documents each; fields are added, never renamed or removed.

use serde::Serialize;

/// Who wrote a message (the participant in groups; the bridged number when `from_me`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MessageSender {
    /// The sender's JID as the gateway gave it: the phone JID, else the LID.
    pub jid: Option<String>,
    /// E.164 digits without `+`, only when the phone is known (a LID's digits never are).
    pub phone: Option<String>,
    /// The sender's `@lid` JID, when known.
    pub lid: Option<String>,
    /// The WhatsApp push name, else the Chatwoot contact name.
    pub name: Option<String>,
}

/// A one-to-one chat or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatType {
    /// A one-to-one chat.
    Direct,
    /// A group.
    Group,
}

/// The group a message was written in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupInfo {
    /// The group JID.
    pub jid: String,
    /// The group's name, when the bridge knows it.
    pub name: Option<String>,
}

/// The message a message quotes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QuotedMessage {
    /// The quoted WhatsApp message.
    pub wa_message_id: String,
    /// Its Chatwoot message, when it was bridged.
    pub chatwoot_message_id: Option<u64>,
}

/// A file a message carried.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MediaInfo {
    /// MIME type.
    pub mime: String,
    /// File name.
    pub file_name: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: Option<String>,
    /// Where a subscriber can fetch the file: the Chatwoot attachment URL.
    pub url: Option<String>,
}

impl MediaInfo {
    /// A file of type `mime`.
    #[must_use]
    pub fn new(mime: impl Into<String>) -> Self {
        Self {
            mime: mime.into(),
            ..Self::default()
        }
    }
}

/// A shared location.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LocationInfo {
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
    /// Place name.
    pub name: Option<String>,
    /// Address.
    pub address: Option<String>,
}

/// A shared contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ContactInfo {
    /// Display name.
    pub name: String,
    /// The vCard.
    pub vcard: String,
}

/// A poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PollInfo {
    /// The question.
    pub question: String,
    /// The options.
    pub options: Vec<String>,
}

/// How a message reached WhatsApp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SentVia {
    /// An agent, bot or automation in Chatwoot.
    Chatwoot,
    /// The send API.
    Api,
    /// Typed on the bridged phone (also reported as `message.received` with `from_me`).
    Phone,
}

/// Who in Chatwoot sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// An agent (a Chatwoot user).
    User,
    /// An agent bot.
    AgentBot,
    /// A Captain assistant.
    CaptainAssistant,
}

/// The Chatwoot agent or bot that sent a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AgentInfo {
    /// Its Chatwoot id.
    pub id: u64,
    /// Its name.
    pub name: Option<String>,
    /// Agent, bot or assistant.
    #[serde(rename = "type")]
    pub kind: AgentKind,
}
