//! What a relayed WhatsApp message said, as the `message.received` payload tells subscribers:
//! text, sender, chat, quote, file, location, contacts, poll.

use zapwoot_chatwoot::Message as CwMessage;
use zapwoot_gateway::{Content, Jid, Message};

use crate::activity::{
    ChatType, ContactInfo, GroupInfo, LocationInfo, MediaInfo, MessageReceived, MessageSender,
    PollInfo, QuotedMessage,
};
use crate::identity::Party;

/// The Chatwoot side of a relayed message.
pub(super) struct Relayed<'a> {
    pub(super) conversation: u64,
    pub(super) message: &'a CwMessage,
    pub(super) party: &'a Party,
    /// The file as relayed (size and digest of the bytes), when there was one.
    pub(super) media: Option<MediaInfo>,
    /// The quoted message's Chatwoot id, when it was bridged.
    pub(super) quoted_chatwoot_id: Option<u64>,
}

/// The `message.received` payload of `m`.
pub(super) fn received(m: &Message, relayed: Relayed<'_>, kind: &str) -> MessageReceived {
    let is_group = m.origin.is_group || relayed.party.chat.is_group();
    MessageReceived {
        wa_message_id: m.id.clone(),
        chat: m.origin.lane(),
        chatwoot_conversation_id: relayed.conversation,
        chatwoot_message_id: relayed.message.id,
        from_me: m.origin.from_me,
        kind: kind.to_owned(),
        text: text_of(&m.content),
        sender: sender(m, relayed.party, is_group),
        chat_type: if is_group {
            ChatType::Group
        } else {
            ChatType::Direct
        },
        group: is_group.then(|| GroupInfo {
            jid: relayed.party.chat.to_string(),
            name: None,
        }),
        timestamp: m
            .origin
            .timestamp
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map(|t| t.to_string()),
        reply_to: m.quote.as_ref().map(|q| QuotedMessage {
            wa_message_id: q.id.clone(),
            chatwoot_message_id: relayed.quoted_chatwoot_id,
        }),
        media: media(m, relayed.media, relayed.message),
        location: match &m.content {
            Content::Location {
                latitude,
                longitude,
                name,
                address,
                ..
            } => Some(LocationInfo {
                latitude: *latitude,
                longitude: *longitude,
                name: name.clone(),
                address: address.clone(),
            }),
            _ => None,
        },
        contacts: match &m.content {
            Content::Contacts { contacts } => Some(
                contacts
                    .iter()
                    .map(|c| ContactInfo {
                        name: c.display_name.clone(),
                        vcard: c.vcard.clone(),
                    })
                    .collect(),
            ),
            _ => None,
        },
        poll: match &m.content {
            Content::Poll {
                question, options, ..
            } => Some(PollInfo {
                question: question.clone(),
                options: options.clone(),
            }),
            _ => None,
        },
    }
}

fn text_of(content: &Content) -> Option<String> {
    content.text().filter(|t| !t.is_empty()).map(str::to_owned)
}

/// E.164 digits of a phone JID; `None` for LIDs, groups and anything not all digits.
fn phone_digits(jid: &Jid) -> Option<String> {
    jid.to_e164().map(|p| p.trim_start_matches('+').to_owned())
}

fn sender(m: &Message, party: &Party, is_group: bool) -> MessageSender {
    let origin = &m.origin;
    let mut jid = origin.sender.clone();
    let mut lid = origin.sender_lid.clone();
    if jid.as_ref().is_some_and(Jid::is_lid) {
        lid = lid.or_else(|| jid.clone());
    }
    // A customer in a direct chat is the chat's identity: what it knows of them counts.
    let customer = !is_group && !origin.from_me;
    if customer {
        let keys = &party.identity.record.keys;
        jid = jid.or_else(|| {
            keys.phone_jid
                .as_deref()
                .or(keys.lid.as_deref())
                .and_then(|j| Jid::parse(j).ok())
        });
        lid = lid.or_else(|| keys.lid.as_deref().and_then(|j| Jid::parse(j).ok()));
    }
    let phone = jid
        .as_ref()
        .filter(|j| !j.is_lid())
        .and_then(phone_digits)
        .or_else(|| {
            customer
                .then_some(party.identity.record.keys.phone_jid.as_deref())
                .flatten()
                .and_then(|j| Jid::parse(j).ok())
                .as_ref()
                .and_then(phone_digits)
        });
    let name = origin
        .push_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| {
            customer
                .then(|| party.identity.record.display_name.clone())
                .flatten()
        });
    MessageSender {
        jid: jid.map(|j| j.to_non_device().to_string()),
        phone,
        lid: lid.map(|j| j.to_non_device().to_string()),
        name,
    }
}

/// The file: as relayed when the bytes passed through the bridge, else as the gateway
/// described it; its URL is the Chatwoot attachment's.
fn media(m: &Message, relayed: Option<MediaInfo>, message: &CwMessage) -> Option<MediaInfo> {
    let described = m.content.media()?;
    let mut info = relayed.unwrap_or_else(|| {
        let mut info = MediaInfo::new(
            described
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
        );
        info.file_name.clone_from(&described.file_name);
        info.size = described.size;
        info
    });
    info.url = message.attachments.first().and_then(|a| a.data_url.clone());
    Some(info)
}
