//! The typed payload of each activity kind: the `data` object of stream records and outbound
//! webhooks. Fields are added, never renamed or removed; `tests/golden` pins each shape.

use serde::Serialize;

use super::parts::{
    AgentInfo, ChatType, ContactInfo, GroupInfo, LocationInfo, MediaInfo, MessageSender, PollInfo,
    QuotedMessage, SentVia,
};

/// What happened, with its details: one variant per activity type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ActivityKind {
    /// `message.received`: a WhatsApp message reached Chatwoot.
    MessageReceived(Box<MessageReceived>),
    /// `message.sent`: an agent's message (one part of it) reached WhatsApp.
    MessageSent(MessageSent),
    /// `message.status`: WhatsApp reported a receipt for a message.
    MessageStatus(MessageStatusChange),
    /// `message.deleted`: a message was deleted for everyone.
    MessageDeleted(MessageDeleted),
    /// `message.edited`: a WhatsApp message was edited.
    MessageEdited(MessageEdited),
    /// `reaction`: a reaction was added or removed.
    Reaction(Reaction),
    /// `conversation.status`: a bridged conversation changed status in Chatwoot.
    ConversationStatus(ConversationStatus),
    /// `instance.status`: the WhatsApp session changed state.
    InstanceStatus(InstanceStatus),
    /// `delivery.failed`: an agent's message could not be sent to WhatsApp.
    DeliveryFailed(DeliveryFailed),
    /// `group.participants`: people joined, left, were promoted or demoted in a group.
    GroupParticipants(GroupParticipantsChange),
    /// `reconciled`: a reconciliation pass ended.
    Reconciled(ReconciledPass),
    /// `import`: a history import made progress.
    Import(ImportProgress),
    /// `endpoint.test`: a test event for one subscription.
    EndpointTest(EndpointTest),
    /// `endpoint.disabled`: a subscription was disabled after failing too long.
    EndpointDisabled(EndpointDisabled),
}

impl ActivityKind {
    /// The activity type, as it appears in `type`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::MessageReceived(_) => "message.received",
            Self::MessageSent(_) => "message.sent",
            Self::MessageStatus(_) => "message.status",
            Self::MessageDeleted(_) => "message.deleted",
            Self::MessageEdited(_) => "message.edited",
            Self::Reaction(_) => "reaction",
            Self::ConversationStatus(_) => "conversation.status",
            Self::InstanceStatus(_) => "instance.status",
            Self::DeliveryFailed(_) => "delivery.failed",
            Self::GroupParticipants(_) => "group.participants",
            Self::Reconciled(_) => "reconciled",
            Self::Import(_) => "import",
            Self::EndpointTest(_) => "endpoint.test",
            Self::EndpointDisabled(_) => "endpoint.disabled",
        }
    }
}

/// `message.received`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MessageReceived {
    /// The WhatsApp message id.
    pub wa_message_id: String,
    /// The chat (its ordering lane: phone JID, LID or group JID).
    pub chat: String,
    /// The Chatwoot conversation it went to.
    pub chatwoot_conversation_id: u64,
    /// The Chatwoot message created for it.
    pub chatwoot_message_id: u64,
    /// Sent from the bridged number itself (typed on the phone).
    pub from_me: bool,
    /// `text`, `image`, `video`, `audio`, `document`, `sticker`, `location`, `contacts`,
    /// `poll`, or `unsupported`.
    pub kind: String,
    /// The text, or the caption of media, with WhatsApp formatting as received.
    pub text: Option<String>,
    /// Who wrote it.
    pub sender: MessageSender,
    /// A direct chat or a group.
    pub chat_type: ChatType,
    /// The group, for group messages.
    pub group: Option<GroupInfo>,
    /// The WhatsApp time of the message (RFC 3339).
    pub timestamp: Option<String>,
    /// The quoted message.
    pub reply_to: Option<QuotedMessage>,
    /// The file.
    pub media: Option<MediaInfo>,
    /// A shared location.
    pub location: Option<LocationInfo>,
    /// Shared contact cards.
    pub contacts: Option<Vec<ContactInfo>>,
    /// A poll.
    pub poll: Option<PollInfo>,
}

/// `message.sent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MessageSent {
    /// The Chatwoot message (`None` for an API message not mirrored yet, or not at all).
    pub chatwoot_message_id: Option<u64>,
    /// Which part of it (a text with several attachments is several WhatsApp messages).
    pub part: i32,
    /// The WhatsApp message id the gateway gave the part.
    pub wa_message_id: String,
    /// The chat.
    pub chat: String,
    /// The Chatwoot conversation, when known.
    pub chatwoot_conversation_id: Option<u64>,
    /// The text of this part (WhatsApp formatting), or its caption.
    pub text: Option<String>,
    /// The file of this part.
    pub media: Option<MediaInfo>,
    /// How it was sent.
    pub via: SentVia,
    /// The Chatwoot agent or bot that sent it.
    pub agent: Option<AgentInfo>,
    /// The send API's message id.
    pub api_message_id: Option<String>,
    /// The API request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// `message.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MessageStatusChange {
    /// The WhatsApp message id.
    pub wa_message_id: String,
    /// `sent`, `delivered`, `read` or `played`.
    pub status: String,
    /// The chat, when known.
    pub chat: Option<String>,
    /// The Chatwoot conversation, when known.
    pub chatwoot_conversation_id: Option<u64>,
    /// The Chatwoot message, when known.
    pub chatwoot_message_id: Option<u64>,
}

/// Who deleted a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletedBy {
    /// An agent, in Chatwoot.
    Agent,
    /// The customer or the phone, on WhatsApp.
    Whatsapp,
}

/// `message.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MessageDeleted {
    /// The WhatsApp message id.
    pub wa_message_id: String,
    /// Where it was deleted.
    pub by: DeletedBy,
    /// The chat, when known.
    pub chat: Option<String>,
    /// The Chatwoot conversation, when known.
    pub chatwoot_conversation_id: Option<u64>,
    /// The Chatwoot message, when known.
    pub chatwoot_message_id: Option<u64>,
}

/// `message.edited`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MessageEdited {
    /// The WhatsApp id of the edited message.
    pub target: String,
    /// The new text.
    pub text: Option<String>,
    /// The chat, when known.
    pub chat: Option<String>,
    /// The Chatwoot conversation, when known.
    pub chatwoot_conversation_id: Option<u64>,
    /// The Chatwoot message, when known.
    pub chatwoot_message_id: Option<u64>,
}

/// `reaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Reaction {
    /// The WhatsApp id of the message reacted to.
    pub target: String,
    /// The emoji; `None` when the reaction was removed.
    pub emoji: Option<String>,
    /// Reacted from the bridged number itself.
    pub from_me: bool,
    /// The chat, when known.
    pub chat: Option<String>,
    /// The Chatwoot conversation, when known.
    pub chatwoot_conversation_id: Option<u64>,
    /// The Chatwoot message reacted to, when known.
    pub chatwoot_message_id: Option<u64>,
}

/// `conversation.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConversationStatus {
    /// The Chatwoot conversation.
    pub chatwoot_conversation_id: u64,
    /// `open`, `resolved`, `pending` or `snoozed`.
    pub status: String,
}

/// `instance.status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InstanceStatus {
    /// `connected`, `disconnected`, `pairing`, `logged_out`, `banned` (held for 10 s: shorter
    /// flaps are not announced).
    pub state: String,
    /// What the gateway said about it (its event name, or `status poll`).
    pub detail: String,
    /// The account's JID, when known.
    pub jid: Option<String>,
    /// The account's phone number, when the JID is a phone JID.
    pub phone: Option<String>,
    /// The account's WhatsApp name, when known.
    pub push_name: Option<String>,
    /// Why (a logout or ban reason, a connect failure), when the gateway said.
    pub reason: Option<String>,
    /// Since when the state holds (RFC 3339).
    pub since: String,
}

/// `delivery.failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeliveryFailed {
    /// The Chatwoot message that was not sent (`None` for a message sent through the API).
    pub chatwoot_message_id: Option<u64>,
    /// Why, in words an agent understands.
    pub reason: String,
    /// The chat it was for.
    pub chat: Option<String>,
    /// The Chatwoot conversation of the message, when it came from Chatwoot.
    pub chatwoot_conversation_id: Option<u64>,
    /// Where the message came from: `chatwoot` or `api`.
    pub via: SentVia,
    /// The send API's message id, for a message sent through the API.
    pub api_message_id: Option<String>,
    /// Its `Idempotency-Key`, when it had one.
    pub idempotency_key: Option<String>,
}

/// `group.participants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupParticipantsChange {
    /// The group's JID (the chat).
    pub chat: String,
    /// `join`, `leave`, `promote` or `demote`.
    pub action: String,
    /// Whom it concerns (JIDs).
    pub participants: Vec<String>,
    /// Who did it (an admin adding or removing), when the gateway says (wuzapi does, GOWA
    /// does not).
    pub by: Option<String>,
    /// The group's Chatwoot conversation.
    pub chatwoot_conversation_id: u64,
}

/// `reconciled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReconciledPass {
    /// `whatsapp_to_chatwoot` or `chatwoot_to_whatsapp`.
    pub direction: String,
    /// Messages looked at.
    pub scanned: usize,
    /// Messages that were missing on the other side.
    pub candidates: usize,
    /// Missing messages queued to be bridged.
    pub recorded: usize,
}

/// `import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImportProgress {
    /// The import job.
    pub job_id: i64,
    /// `running`, `done`, `failed`, …
    pub state: String,
    /// Days of history asked for.
    pub days: i32,
    /// Chats imported so far.
    pub chats_done: i32,
    /// Chats to import.
    pub chats_total: usize,
    /// Messages found in the gateway's history.
    pub messages_found: i32,
    /// Messages queued to be bridged.
    pub messages_queued: i32,
    /// Why the job failed.
    pub error: Option<String>,
}

/// `endpoint.test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EndpointTest {
    /// The subscription tested.
    pub subscription_id: i64,
    /// A fixed text.
    pub message: String,
}

/// `endpoint.disabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EndpointDisabled {
    /// The subscription disabled.
    pub subscription_id: i64,
    /// Its URL, credentials masked.
    pub url: String,
    /// The last failure.
    pub reason: String,
    /// When it started failing (RFC 3339).
    pub failing_since: Option<String>,
}
