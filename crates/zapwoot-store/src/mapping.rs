//! Mappings between WhatsApp and Chatwoot: identities, conversations, messages.

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// WhatsApp → Chatwoot.
    Incoming,
    /// Chatwoot (or the phone) → WhatsApp.
    Outgoing,
}

impl Direction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outgoing => "outgoing",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        if text == "outgoing" {
            Self::Outgoing
        } else {
            Self::Incoming
        }
    }
}

/// How far a WhatsApp message got by its receipts (sent, delivered, read, played), ordered:
/// a message only ever moves up. "Delivery" in this crate means an outbound webhook row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReceiptLevel {
    /// No receipt yet.
    Unknown = 0,
    /// Accepted by WhatsApp.
    Sent = 1,
    /// Delivered to the recipient's device.
    Delivered = 2,
    /// Read.
    Read = 3,
    /// Played (voice/video).
    Played = 4,
}

impl ReceiptLevel {
    pub(crate) fn rank(self) -> i32 {
        self as i32
    }

    pub(crate) fn from_rank(rank: i32) -> Self {
        match rank {
            1 => Self::Sent,
            2 => Self::Delivered,
            3 => Self::Read,
            4 => Self::Played,
            _ => Self::Unknown,
        }
    }
}

/// Progress of the effect a mapping stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// About to call upstream: an interrupted attempt must be resumed (look upstream first),
    /// not repeated blindly.
    Intended,
    /// Upstream has the message.
    Done,
    /// Given up.
    Failed,
}

impl MessageState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Intended => "intended",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => Self::Intended,
        }
    }

    /// `Done` is final; `Failed` may still become `Done` (a late success); `Intended` never
    /// overwrites a later state.
    pub(crate) fn merge(self, next: Self) -> Self {
        match (self, next) {
            (Self::Done, _) | (_, Self::Done) => Self::Done,
            (Self::Failed, _) | (_, Self::Failed) => Self::Failed,
            _ => Self::Intended,
        }
    }
}

/// A message mapping to write. `None` fields keep what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewMessage {
    /// Instance.
    pub instance_id: i64,
    /// Chat JID.
    pub chat_jid: String,
    /// Direction.
    pub direction: Direction,
    /// WhatsApp message id, once known.
    pub wa_message_id: Option<String>,
    /// Chatwoot conversation id.
    pub chatwoot_conversation_id: Option<i64>,
    /// Chatwoot message id, once known.
    pub chatwoot_message_id: Option<i64>,
    /// Part number: one Chatwoot message with three attachments is three WhatsApp messages.
    pub part: i32,
    /// Effect state.
    pub state: MessageState,
}

impl NewMessage {
    /// An intent (state [`MessageState::Intended`]) for part 0 with no ids yet.
    #[must_use]
    pub fn intent(instance_id: i64, chat_jid: impl Into<String>, direction: Direction) -> Self {
        Self {
            instance_id,
            chat_jid: chat_jid.into(),
            direction,
            wa_message_id: None,
            chatwoot_conversation_id: None,
            chatwoot_message_id: None,
            part: 0,
            state: MessageState::Intended,
        }
    }
}

/// A stored message mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageMap {
    /// Store id.
    pub id: i64,
    /// The mapping's fields.
    pub message: NewMessage,
    /// Highest delivery status seen.
    pub delivery: ReceiptLevel,
    /// Created, unix milliseconds.
    pub created_at_ms: i64,
    /// Updated, unix milliseconds.
    pub updated_at_ms: i64,
}

/// A CSAT survey the bridge relayed to WhatsApp, waiting for the customer's rating.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsatSurvey {
    /// The conversation's UUID (what Chatwoot's survey link and public CSAT API name).
    pub conversation_uuid: String,
    /// When it was sent, unix milliseconds (the store's clock).
    pub sent_at_ms: i64,
}

impl CsatSurvey {
    /// A survey for conversation `conversation_uuid`, sent at `sent_at_ms`.
    #[must_use]
    pub fn new(conversation_uuid: impl Into<String>, sent_at_ms: i64) -> Self {
        Self {
            conversation_uuid: conversation_uuid.into(),
            sent_at_ms,
        }
    }
}

/// The WhatsApp addresses one person (or group) is known by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityKeys {
    /// Phone JID (`5511…@s.whatsapp.net`) or group JID (`…@g.us`).
    pub phone_jid: Option<String>,
    /// The other Brazilian 9th-digit form of the phone JID.
    pub phone_variant_jid: Option<String>,
    /// Linked-identity JID (`…@lid`); its digits are not a phone number.
    pub lid: Option<String>,
}

impl IdentityKeys {
    /// Keys from the given addresses.
    #[must_use]
    pub fn new(
        phone_jid: Option<String>,
        phone_variant_jid: Option<String>,
        lid: Option<String>,
    ) -> Self {
        Self {
            phone_jid,
            phone_variant_jid,
            lid,
        }
    }
}

/// An identity to insert (`id: None`) or update (`id: Some`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentityRecord {
    /// Store id; `None` to insert.
    pub id: Option<i64>,
    /// Instance.
    pub instance_id: i64,
    /// A group rather than a person.
    pub is_group: bool,
    /// Addresses.
    pub keys: IdentityKeys,
    /// Chatwoot contact id.
    pub chatwoot_contact_id: Option<i64>,
    /// Chatwoot contact-inbox `source_id`.
    pub contact_source_id: Option<String>,
    /// Display name (push name or group subject).
    pub display_name: Option<String>,
    /// An agent edited the name in Chatwoot: do not overwrite it with push names.
    pub name_locked: bool,
    /// When the avatar was last synced, unix milliseconds.
    pub avatar_synced_at_ms: Option<i64>,
}

impl IdentityRecord {
    /// A new identity of `instance_id` with `keys`.
    #[must_use]
    pub fn new(instance_id: i64, keys: IdentityKeys) -> Self {
        Self {
            instance_id,
            keys,
            ..Self::default()
        }
    }
}

/// A stored identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identity {
    /// Store id.
    pub id: i64,
    /// Fields (`record.id` is `Some(id)`).
    pub record: IdentityRecord,
    /// Created, unix milliseconds.
    pub created_at_ms: i64,
    /// Updated, unix milliseconds.
    pub updated_at_ms: i64,
}

impl Identity {
    /// An identity value from a record known to be stored under `id` (times unknown: 0).
    #[must_use]
    pub fn from_record(id: i64, mut record: IdentityRecord) -> Self {
        record.id = Some(id);
        Self {
            id,
            record,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }
}

/// A conversation mapping to write.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewConversation {
    /// Instance.
    pub instance_id: i64,
    /// Canonical chat JID.
    pub chat_jid: String,
    /// The person or group.
    pub identity_id: Option<i64>,
    /// Chatwoot conversation id.
    pub chatwoot_conversation_id: i64,
    /// Chatwoot status as last seen (`open`, `resolved`, `pending`, `snoozed`).
    pub status: String,
}

impl NewConversation {
    /// A mapping of `chat_jid` to `chatwoot_conversation_id` with `status`.
    #[must_use]
    pub fn new(
        instance_id: i64,
        chat_jid: impl Into<String>,
        chatwoot_conversation_id: i64,
        status: impl Into<String>,
    ) -> Self {
        Self {
            instance_id,
            chat_jid: chat_jid.into(),
            identity_id: None,
            chatwoot_conversation_id,
            status: status.into(),
        }
    }
}

/// A stored conversation mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConversationMap {
    /// Store id.
    pub id: i64,
    /// Fields.
    pub conversation: NewConversation,
    /// Highest Chatwoot message id the bridge has seen in it.
    pub last_chatwoot_message_id: Option<i64>,
    /// Created, unix milliseconds.
    pub created_at_ms: i64,
    /// Updated, unix milliseconds.
    pub updated_at_ms: i64,
    /// The CSAT survey sent in it and not answered yet.
    pub csat_survey: Option<CsatSurvey>,
}
