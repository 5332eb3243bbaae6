//! The normalized inbound model: what the engine needs, whichever gateway sent it.

use crate::Jid;

/// Who and where, as the gateway reported it. The chat and sender are in phone form when the
/// gateway knew it; the `@lid` forms are kept beside them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Origin {
    /// The chat: phone JID (or `@lid` when the phone is unknown), or the group JID.
    pub chat: Option<Jid>,
    /// The chat's `@lid` JID, when the chat was LID-addressed.
    pub chat_lid: Option<Jid>,
    /// The sender (participant in groups): phone JID when known.
    pub sender: Option<Jid>,
    /// The sender's `@lid` JID, when known.
    pub sender_lid: Option<Jid>,
    /// Sent from the bridged number itself (typed on the phone or another linked device).
    pub from_me: bool,
    /// A group chat.
    pub is_group: bool,
    /// The sender's push name.
    pub push_name: Option<String>,
    /// Event time, unix seconds.
    pub timestamp: Option<i64>,
}

impl Origin {
    /// The ordering lane: the chat in phone form when known (else as given).
    #[must_use]
    pub fn lane(&self) -> String {
        self.chat
            .as_ref()
            .or(self.chat_lid.as_ref())
            .map_or_else(|| "unknown".to_owned(), |j| j.to_non_device().to_string())
    }

    /// The person who wrote (the chat for 1:1 messages from the customer).
    #[must_use]
    pub fn author(&self) -> Option<&Jid> {
        self.sender.as_ref().or(self.sender_lid.as_ref())
    }
}

/// One inbound event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InboundEvent {
    /// A message (any kind).
    Message(Box<Message>),
    /// Delivery/read receipts for messages the bridged number sent.
    Receipt(Receipt),
    /// A reaction added or removed.
    Reaction(Reaction),
    /// A message edited by its author.
    Edit(Edit),
    /// A message deleted for everyone.
    Revoke(Revoke),
    /// A message deleted on our own devices only.
    DeleteForMe(DeleteForMe),
    /// Group membership changes.
    GroupParticipants(GroupParticipants),
    /// A group's subject (name) changed.
    GroupSubject(GroupSubject),
    /// Someone is calling the bridged number.
    Call(Call),
    /// Typing / online presence.
    Presence(Presence),
    /// Session connection state.
    Connection(Connection),
    /// Anything else, by the gateway's name for it.
    Unknown {
        /// The gateway's event name.
        kind: String,
    },
}

impl InboundEvent {
    /// A stable key for deduplication: the same upstream event delivered twice (gateway retries)
    /// gives the same key.
    #[must_use]
    pub fn dedupe_key(&self) -> String {
        match self {
            Self::Message(m) => format!("msg:{}", m.id),
            Self::Receipt(r) => format!(
                "receipt:{}:{}:{}",
                r.status.as_str(),
                r.origin
                    .author()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                r.message_ids.join(",")
            ),
            Self::Reaction(r) => format!("reaction:{}", r.id),
            Self::Edit(e) => format!("edit:{}", e.id),
            Self::Revoke(r) => format!("revoke:{}:{}", r.id, r.target_id),
            Self::DeleteForMe(d) => format!("deleteforme:{}", d.target_id),
            Self::GroupParticipants(g) => format!(
                "group:{}:{}:{}:{}",
                g.group,
                g.action.as_str(),
                g.timestamp.unwrap_or_default(),
                g.participants
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Self::GroupSubject(g) => format!(
                "group-subject:{}:{}:{}",
                g.group,
                g.timestamp.unwrap_or_default(),
                g.name
            ),
            Self::Call(c) => format!("call:{}", c.call_id),
            Self::Presence(p) => format!(
                "presence:{}:{}:{}",
                p.origin.lane(),
                p.state.as_str(),
                p.origin.timestamp.unwrap_or_default()
            ),
            Self::Connection(c) => format!(
                "connection:{}:{}",
                c.state.as_str(),
                c.timestamp.unwrap_or_default()
            ),
            Self::Unknown { kind } => format!("unknown:{kind}"),
        }
    }

    /// The ordering lane (canonical chat) of the event.
    #[must_use]
    pub fn lane(&self) -> String {
        match self {
            Self::Message(m) => m.origin.lane(),
            Self::Receipt(r) => r.origin.lane(),
            Self::Reaction(r) => r.origin.lane(),
            Self::Edit(e) => e.origin.lane(),
            Self::Revoke(r) => r.origin.lane(),
            Self::DeleteForMe(d) => d
                .chat
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |c| c.to_non_device().to_string()),
            Self::GroupParticipants(g) => g.group.to_string(),
            Self::GroupSubject(g) => g.group.to_string(),
            Self::Call(c) => c.origin.lane(),
            Self::Presence(p) => p.origin.lane(),
            Self::Connection(_) | Self::Unknown { .. } => "_session".to_owned(),
        }
    }

    /// A short name for logs and audit (`message`, `receipt`, …).
    #[must_use]
    pub fn kind(&self) -> &str {
        match self {
            Self::Message(_) => "message",
            Self::Receipt(_) => "receipt",
            Self::Reaction(_) => "reaction",
            Self::Edit(_) => "edit",
            Self::Revoke(_) => "revoke",
            Self::DeleteForMe(_) => "delete_for_me",
            Self::GroupParticipants(_) => "group_participants",
            Self::GroupSubject(_) => "group_subject",
            Self::Call(_) => "call",
            Self::Presence(_) => "presence",
            Self::Connection(_) => "connection",
            Self::Unknown { kind } => kind,
        }
    }
}

/// A message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// WhatsApp message id.
    pub id: String,
    /// Chat, sender, direction, time.
    pub origin: Origin,
    /// What it carries.
    pub content: Content,
    /// The message it replies to.
    pub quote: Option<Quote>,
    /// Forwarded.
    pub forwarded: bool,
    /// Sent as view-once (already unwrapped).
    pub view_once: bool,
    /// Sent in a disappearing-messages chat (already unwrapped).
    pub ephemeral: bool,
}

/// The quoted message of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quote {
    /// Quoted message id.
    pub id: String,
    /// Its author (groups), when given.
    pub participant: Option<Jid>,
    /// Its text, when given.
    pub text: Option<String>,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Content {
    /// Text (WhatsApp markup).
    Text {
        /// The text.
        body: String,
    },
    /// An image.
    Image {
        /// The file.
        media: Media,
        /// Caption.
        caption: Option<String>,
    },
    /// A video (or GIF).
    Video {
        /// The file.
        media: Media,
        /// Caption.
        caption: Option<String>,
        /// Plays as a GIF.
        gif: bool,
    },
    /// Audio; `voice` for push-to-talk notes.
    Audio {
        /// The file.
        media: Media,
        /// A voice note (PTT).
        voice: bool,
    },
    /// A document with its real file name.
    Document {
        /// The file.
        media: Media,
        /// Caption.
        caption: Option<String>,
    },
    /// A sticker.
    Sticker {
        /// The file (usually `image/webp`).
        media: Media,
        /// Animated.
        animated: bool,
    },
    /// A (live) location.
    Location {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// Place name.
        name: Option<String>,
        /// Address.
        address: Option<String>,
        /// Live location.
        live: bool,
    },
    /// One or more contact cards.
    Contacts {
        /// The cards.
        contacts: Vec<ContactCard>,
    },
    /// A poll.
    Poll {
        /// Question.
        question: String,
        /// Options.
        options: Vec<String>,
        /// How many options may be chosen (0 = any).
        selectable: u32,
    },
    /// A kind the bridge does not render; shown as a placeholder.
    Unsupported {
        /// The gateway's name for it.
        kind: String,
    },
}

impl Content {
    /// The media, for media kinds.
    #[must_use]
    pub fn media(&self) -> Option<&Media> {
        match self {
            Self::Image { media, .. }
            | Self::Video { media, .. }
            | Self::Audio { media, .. }
            | Self::Document { media, .. }
            | Self::Sticker { media, .. } => Some(media),
            _ => None,
        }
    }

    /// The text or caption.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text { body } => Some(body),
            Self::Image { caption, .. }
            | Self::Video { caption, .. }
            | Self::Document { caption, .. } => caption.as_deref(),
            _ => None,
        }
    }
}

/// A contact card.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContactCard {
    /// Display name.
    pub display_name: String,
    /// The vCard text.
    pub vcard: String,
}

/// A media file and where to get it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Media {
    /// Where the bytes are.
    pub source: MediaSource,
    /// MIME type as declared by the sender (preferred over sniffed ones).
    pub mime_type: Option<String>,
    /// The sender's file name (documents), else a name the gateway made up.
    pub file_name: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
}

/// Where a media file's bytes can be had.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaSource {
    /// Already in the webhook (wuzapi base64).
    Inline(Vec<u8>),
    /// A URL that serves the plain file (wuzapi S3).
    Url(String),
    /// wuzapi `/chat/download{kind}` with the message's media keys (the webhook's media object).
    WuzapiDownload {
        /// `image`, `video`, `audio`, `document` or `sticker`.
        kind: String,
        /// The `<kind>Message` object, posted as is.
        keys: serde_json::Value,
    },
    /// A GOWA `statics/…` path, exactly as sent (may end in `; codecs=opus`).
    GowaPath(String),
    /// GOWA `GET /message/{id}/download?phone={chat}` (auto-download off or too old).
    GowaDownload {
        /// Message id.
        message_id: String,
        /// Chat JID.
        chat: String,
    },
    /// The gateway could not get the file.
    Unavailable,
}

/// Receipt status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ReceiptStatus {
    /// Delivered to the recipient's device.
    Delivered,
    /// Read by the recipient.
    Read,
    /// Read by our own other device (the agent read it on the phone).
    ReadSelf,
    /// Voice/video played.
    Played,
}

impl ReceiptStatus {
    /// Stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::ReadSelf => "read_self",
            Self::Played => "played",
        }
    }
}

/// Receipts for one or more messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Receipt {
    /// Chat and reader.
    pub origin: Origin,
    /// The messages.
    pub message_ids: Vec<String>,
    /// Status.
    pub status: ReceiptStatus,
}

/// A reaction to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reaction {
    /// Id of the reaction message itself.
    pub id: String,
    /// Chat and reactor.
    pub origin: Origin,
    /// The message reacted to.
    pub target_id: String,
    /// The emoji; `None` when the reaction was removed.
    pub emoji: Option<String>,
}

/// An edit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Edit {
    /// Id of the edit event.
    pub id: String,
    /// Chat and editor.
    pub origin: Origin,
    /// The edited message.
    pub target_id: String,
    /// The new text (`None` for caption edits some gateways do not report).
    pub text: Option<String>,
}

/// A delete-for-everyone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revoke {
    /// Id of the revoke event.
    pub id: String,
    /// Chat and revoker.
    pub origin: Origin,
    /// The deleted message.
    pub target_id: String,
}

/// A delete-for-me done on one of our own devices.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteForMe {
    /// The deleted message.
    pub target_id: String,
    /// Its chat, when known.
    pub chat: Option<Jid>,
}

/// Group membership action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupAction {
    /// Joined / added.
    Join,
    /// Left / removed.
    Leave,
    /// Made admin.
    Promote,
    /// Admin removed.
    Demote,
    /// Another action.
    Other(String),
}

impl GroupAction {
    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "join" | "add" => Self::Join,
            "leave" | "remove" => Self::Leave,
            "promote" => Self::Promote,
            "demote" => Self::Demote,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Stable name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Join => "join",
            Self::Leave => "leave",
            Self::Promote => "promote",
            Self::Demote => "demote",
            Self::Other(s) => s,
        }
    }
}

/// Participants joined, left, were promoted or demoted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupParticipants {
    /// The group.
    pub group: Jid,
    /// What happened.
    pub action: GroupAction,
    /// To whom.
    pub participants: Vec<Jid>,
    /// Who did it (an admin adding or removing someone), when the gateway says (wuzapi does,
    /// GOWA does not).
    pub by: Option<Jid>,
    /// When, unix seconds.
    pub timestamp: Option<i64>,
}

/// A group's subject (name) changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupSubject {
    /// The group.
    pub group: Jid,
    /// The new subject.
    pub name: String,
    /// Who changed it, when known.
    pub by: Option<Jid>,
    /// When, unix seconds.
    pub timestamp: Option<i64>,
}

/// An incoming call offer (voice or video).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Call {
    /// The caller (chat) and when.
    pub origin: Origin,
    /// The call id (to reject it).
    pub call_id: String,
    /// A video call (`Some(true)`), a voice call (`Some(false)`), or not said (GOWA).
    pub video: Option<bool>,
    /// The gateway already rejected it on its own (GOWA's `auto_rejected`).
    pub auto_rejected: bool,
}

/// Presence state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PresenceState {
    /// Typing.
    Composing,
    /// Recording audio.
    Recording,
    /// Stopped typing.
    Paused,
    /// Online.
    Online,
    /// Offline.
    Offline,
}

impl PresenceState {
    /// Stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Composing => "composing",
            Self::Recording => "recording",
            Self::Paused => "paused",
            Self::Online => "online",
            Self::Offline => "offline",
        }
    }
}

/// Typing or online presence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Presence {
    /// Chat and person.
    pub origin: Origin,
    /// State.
    pub state: PresenceState,
}

/// Session connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Connected and logged in.
    Connected,
    /// Connection lost (will reconnect).
    Disconnected,
    /// Logged out: needs a new QR scan.
    LoggedOut,
    /// Waiting for a QR scan or pairing.
    Pairing,
    /// Banned by WhatsApp (temporarily or for good).
    Banned,
}

impl ConnectionState {
    /// Stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::LoggedOut => "logged_out",
            Self::Pairing => "pairing",
            Self::Banned => "banned",
        }
    }
}

/// A change of the session's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Connection {
    /// New state.
    pub state: ConnectionState,
    /// The gateway's own name for the event.
    pub detail: String,
    /// When, unix seconds.
    pub timestamp: Option<i64>,
    /// The account's own JID, when the event names it (`PairSuccess`).
    pub jid: Option<Jid>,
    /// The account's WhatsApp name, when the event names it.
    pub push_name: Option<String>,
    /// Why, in words (a logout or ban reason, a connect failure), when the gateway says.
    pub reason: Option<String>,
}

impl Connection {
    /// A change to `state`, as the gateway named it (`detail`).
    #[must_use]
    pub fn new(state: ConnectionState, detail: impl Into<String>) -> Self {
        Self {
            state,
            detail: detail.into(),
            timestamp: None,
            jid: None,
            push_name: None,
            reason: None,
        }
    }
}
