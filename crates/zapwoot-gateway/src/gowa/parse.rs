//! GOWA webhooks, all three generations:
//! flat (≤ v7.x, no `event` for messages), envelope with media as object/string
//! (v8.0–v8.3.0), and the current envelope (≥ v8.3.1, media `{path, caption}`).

use serde_json::Value;

use crate::event::{
    Call, ContactCard, Content, DeleteForMe, Edit, GroupAction, GroupParticipants, InboundEvent,
    Media, MediaSource, Message, Origin, Presence, PresenceState, Quote, Reaction, Receipt,
    ReceiptStatus, Revoke,
};
use crate::json::{flag, jid, number, rfc3339, text, text_any};
use crate::wuzapi::identities;
use crate::{Jid, ParseError};

/// Which body layout a webhook used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Generation {
    /// ≤ v7.x message bodies: fields at the top level, no `event`.
    Flat,
    /// ≥ v8.0: `{event, device_id, payload}`.
    Envelope,
}

/// A parsed GOWA webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GowaWebhook {
    /// The device the event belongs to (own JID); route multi-device servers by it.
    pub device_id: Option<String>,
    /// GOWA's event name (`message`, `message.ack`, …; `message` for flat bodies).
    pub event_name: String,
    /// Body layout.
    pub generation: Generation,
    /// The normalized events (one, or none for events that carry nothing usable).
    pub events: Vec<InboundEvent>,
}

impl GowaWebhook {
    /// Dedupe key for the whole delivery (device, event, ids).
    #[must_use]
    pub fn dedupe_key(&self) -> String {
        let keys: Vec<String> = self.events.iter().map(InboundEvent::dedupe_key).collect();
        format!(
            "gowa:{}:{}",
            self.device_id.as_deref().unwrap_or(""),
            keys.join("|")
        )
    }
}

/// Parses a GOWA webhook body. `own` is the bridged number, used to tell own messages in
/// flat (≤ v7) bodies, which carry no `is_from_me`.
///
/// # Errors
/// [`ParseError`] for non-JSON bodies, non-objects, or messages without an id.
pub fn parse(body: &[u8], own: Option<&Jid>) -> Result<GowaWebhook, ParseError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    if !value.is_object() {
        return Err(ParseError::NotAnObject);
    }
    let device_id = text(&value, "device_id").map(str::to_owned);
    let (Some(event_name), Some(payload)) = (
        text(&value, "event"),
        value.get("payload").filter(|p| p.is_object()),
    ) else {
        let events = flat(&value, own)?;
        return Ok(GowaWebhook {
            device_id,
            event_name: "message".to_owned(),
            generation: Generation::Flat,
            events,
        });
    };
    let top_timestamp = text(&value, "timestamp").and_then(rfc3339);
    let event = match event_name {
        "message" => Some(message(payload)?),
        "message.reaction" => Some(InboundEvent::Reaction(Reaction {
            id: id(payload)?,
            origin: origin(payload),
            target_id: text(payload, "reacted_message_id")
                .unwrap_or_default()
                .to_owned(),
            emoji: text(payload, "reaction").map(str::to_owned),
        })),
        "message.revoked" => Some(InboundEvent::Revoke(Revoke {
            id: id(payload)?,
            origin: origin(payload),
            target_id: text(payload, "revoked_message_id")
                .unwrap_or_default()
                .to_owned(),
        })),
        "message.edited" => Some(InboundEvent::Edit(Edit {
            id: id(payload)?,
            origin: origin(payload),
            target_id: text(payload, "original_message_id")
                .unwrap_or_default()
                .to_owned(),
            text: text(payload, "body").map(str::to_owned),
        })),
        "message.deleted" => text(payload, "deleted_message_id").map(|target| {
            InboundEvent::DeleteForMe(DeleteForMe {
                target_id: target.to_owned(),
                chat: jid(payload, "chat_id"),
            })
        }),
        "message.ack" => ack(payload, top_timestamp),
        "call.offer" => text(payload, "call_id").and_then(|call_id| {
            let from = text(payload, "from")
                .and_then(|f| Jid::parse(f).ok())
                .map(|j| j.to_non_device())?;
            let (chat, chat_lid) = identities(Some(from), jid(payload, "from_lid"));
            let origin = Origin {
                chat: chat.clone().or_else(|| chat_lid.clone()),
                chat_lid: chat_lid.clone(),
                sender: chat.or(chat_lid.clone()),
                sender_lid: chat_lid,
                push_name: text(payload, "sender_display_name").map(str::to_owned),
                timestamp: top_timestamp,
                ..Origin::default()
            };
            Some(InboundEvent::Call(Call {
                origin,
                call_id: call_id.to_owned(),
                video: None,
                auto_rejected: payload
                    .get("auto_rejected")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }))
        }),
        "group.participants" | "group.joined" => jid(payload, "chat_id").map(|group| {
            InboundEvent::GroupParticipants(GroupParticipants {
                group,
                by: None,
                action: GroupAction::parse(text(payload, "type").unwrap_or("join")),
                participants: payload
                    .get("jids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|j| j.as_str().and_then(|s| Jid::parse(s).ok()))
                    .collect(),
                timestamp: top_timestamp,
            })
        }),
        "chat_presence" => {
            let state = match (text(payload, "state"), text(payload, "media")) {
                (Some("composing"), Some("audio")) => Some(PresenceState::Recording),
                (Some("composing"), _) => Some(PresenceState::Composing),
                (Some("paused"), _) => Some(PresenceState::Paused),
                _ => None,
            };
            state.map(|state| {
                let mut origin = origin(payload);
                origin.timestamp = top_timestamp;
                InboundEvent::Presence(Presence { origin, state })
            })
        }
        other => Some(InboundEvent::Unknown {
            kind: other.to_owned(),
        }),
    };
    Ok(GowaWebhook {
        device_id,
        event_name: event_name.to_owned(),
        generation: Generation::Envelope,
        events: event.into_iter().collect(),
    })
}

fn id(payload: &Value) -> Result<String, ParseError> {
    text(payload, "id")
        .map(str::to_owned)
        .ok_or(ParseError::Missing("payload.id"))
}

/// Chat and sender of a current payload: `chat_id`/`from` in phone form when GOWA resolved
/// them, `chat_lid`/`from_lid` beside.
fn origin(payload: &Value) -> Origin {
    let chat = jid(payload, "chat_id");
    let is_group = chat.as_ref().is_some_and(Jid::is_group);
    let (chat_phone, chat_lid) = identities(chat, jid(payload, "chat_lid"));
    let from = text(payload, "from")
        .map(|f| f.split(" in ").next().unwrap_or(f))
        .and_then(|f| Jid::parse(f).ok())
        .map(|j| j.to_non_device());
    let (sender_phone, sender_lid) = identities(from, jid(payload, "from_lid"));
    Origin {
        chat: chat_phone.or_else(|| chat_lid.clone()),
        chat_lid,
        sender: sender_phone.or_else(|| sender_lid.clone()),
        sender_lid,
        from_me: flag(payload, "is_from_me"),
        is_group,
        push_name: text_any(payload, &["from_name", "pushname"]).map(str::to_owned),
        timestamp: text(payload, "timestamp").and_then(rfc3339),
    }
}

fn message(payload: &Value) -> Result<InboundEvent, ParseError> {
    let id = id(payload)?;
    let origin = origin(payload);
    let body = text(payload, "body").map(str::to_owned);
    let content = content(payload, body.as_deref(), &id, origin.chat.as_ref());
    let quote = text(payload, "replied_to_id").map(|qid| Quote {
        id: qid.to_owned(),
        participant: None,
        text: text(payload, "quoted_body").map(str::to_owned),
    });
    Ok(InboundEvent::Message(Box::new(Message {
        id,
        origin,
        content,
        quote,
        forwarded: flag(payload, "forwarded"),
        view_once: flag(payload, "view_once"),
        ephemeral: false,
    })))
}

/// The message content. `body` is the text, or (≥ v8.3.1) a copy of the media caption.
fn content(fields: &Value, body: Option<&str>, id: &str, chat: Option<&Jid>) -> Content {
    for kind in [
        "image",
        "video",
        "video_note",
        "audio",
        "document",
        "sticker",
    ] {
        let Some(field) = fields.get(kind).filter(|v| !v.is_null()) else {
            continue;
        };
        let (media, caption) = media(field, id, chat);
        let caption = caption.or_else(|| body.map(str::to_owned));
        return match kind {
            "image" => Content::Image { media, caption },
            "video" | "video_note" => Content::Video {
                media,
                caption,
                gif: false,
            },
            // GOWA sends no PTT flag; WhatsApp voice notes are Ogg/Opus, music files rarely are.
            "audio" => {
                let voice = media
                    .mime_type
                    .as_deref()
                    .is_some_and(|m| m.contains("ogg") || m.contains("opus"))
                    || media_name_is_ogg(&media);
                Content::Audio { media, voice }
            }
            "document" => Content::Document { media, caption },
            _ => Content::Sticker {
                media,
                animated: false,
            },
        };
    }
    for (key, live) in [("location", false), ("live_location", true)] {
        if let Some(l) = fields.get(key).filter(|v| v.is_object()) {
            return Content::Location {
                latitude: number(l, "degreesLatitude").unwrap_or(0.0),
                longitude: number(l, "degreesLongitude").unwrap_or(0.0),
                name: text(l, "name").map(str::to_owned),
                address: text(l, "address").map(str::to_owned),
                live: live || flag(l, "isLive"),
            };
        }
    }
    let card = |c: &Value| ContactCard {
        display_name: text(c, "displayName").unwrap_or_default().to_owned(),
        vcard: text(c, "vcard").unwrap_or_default().to_owned(),
    };
    if let Some(c) = fields.get("contact").filter(|v| v.is_object()) {
        return Content::Contacts {
            contacts: vec![card(c)],
        };
    }
    if let Some(list) = fields.get("contacts_array").and_then(Value::as_array) {
        return Content::Contacts {
            contacts: list.iter().map(card).collect(),
        };
    }
    if let Some(text) = body {
        return Content::Text {
            body: text.to_owned(),
        };
    }
    let kind = ["list", "order", "interactive"]
        .iter()
        .find(|k| fields.get(**k).is_some())
        .map_or("unknown", |k| k);
    Content::Unsupported {
        kind: kind.to_owned(),
    }
}

fn media_name_is_ogg(media: &Media) -> bool {
    matches!(&media.source, MediaSource::GowaPath(p) if p.contains(".ogg") || p.contains(".oga") || p.contains(".opus"))
}

/// A media field in any generation: `"statics/…"`, `{path, caption}`,
/// `{media_path, mime_type, caption}`, `{url, caption|filename}`.
fn media(field: &Value, id: &str, chat: Option<&Jid>) -> (Media, Option<String>) {
    let (path, mime, caption, url, filename) = match field {
        Value::String(path) => (Some(path.as_str()), None, None, None, None),
        other => (
            text_any(other, &["path", "media_path", "MediaPath"]),
            text_any(other, &["mime_type", "MimeType"]),
            text_any(other, &["caption", "Caption"]),
            text(other, "url"),
            text(other, "filename"),
        ),
    };
    let source = match (path, url) {
        (Some(path), _) => MediaSource::GowaPath(path.to_owned()),
        (None, Some(_)) => MediaSource::GowaDownload {
            message_id: id.to_owned(),
            chat: chat.map(ToString::to_string).unwrap_or_default(),
        },
        (None, None) => MediaSource::Unavailable,
    };
    let file_name = filename
        .map(str::to_owned)
        .or_else(|| path.map(clean_file_name));
    let mime_type = mime
        .map(str::to_owned)
        .or_else(|| path.and_then(raw_mime_suffix));
    (
        Media {
            source,
            mime_type,
            file_name,
            size: None,
        },
        caption.map(str::to_owned),
    )
}

/// The last path segment without the `; codecs=opus` tail of the pre-v8.3.4 bug.
pub(crate) fn clean_file_name(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split(';').next().unwrap_or(name).trim().to_owned()
}

/// `…ogg; codecs=opus` names reveal the raw MIME parameters: `audio/ogg; codecs=opus`.
fn raw_mime_suffix(path: &str) -> Option<String> {
    path.contains("; codecs=")
        .then(|| "audio/ogg; codecs=opus".to_owned())
}

fn ack(payload: &Value, timestamp: Option<i64>) -> Option<InboundEvent> {
    let status = match text(payload, "receipt_type") {
        Some("read") => ReceiptStatus::Read,
        Some("read-self") => ReceiptStatus::ReadSelf,
        Some("played") => ReceiptStatus::Played,
        Some("delivered" | "") | None => ReceiptStatus::Delivered,
        Some(_) => return None,
    };
    let message_ids: Vec<String> = payload
        .get("ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if message_ids.is_empty() {
        return None;
    }
    let mut origin = origin(payload);
    // v7 receipts carry the reader in `sender_id` (a full JID, maybe with a device).
    if origin.sender.is_none() {
        origin.sender = jid(payload, "sender_id");
    }
    origin.timestamp = origin.timestamp.or(timestamp);
    Some(InboundEvent::Receipt(Receipt {
        origin,
        message_ids,
        status,
    }))
}

/// ≤ v7 bodies: `from` is `SourceString()` (`sender` or `sender in chat`), `chat_id` only the
/// user part, `message {text, id, replied_id, quoted_message}` (v7.2.0: capitalised names).
fn flat(value: &Value, own: Option<&Jid>) -> Result<Vec<InboundEvent>, ParseError> {
    let from = text(value, "from").unwrap_or_default();
    let (sender_text, chat_text) = from
        .split_once(" in ")
        .map_or((from, None), |(s, c)| (s, Some(c)));
    let sender = Jid::parse(sender_text).ok().map(|j| j.to_non_device());
    let chat = chat_text
        .and_then(|c| Jid::parse(c).ok())
        .or_else(|| sender.clone())
        .map(|j| j.to_non_device());
    let from_me = own.is_some_and(|own| sender.as_ref().is_some_and(|s| s.user() == own.user()));
    let (sender_phone, sender_lid) = identities(sender, jid(value, "from_lid"));
    let origin = Origin {
        is_group: chat.as_ref().is_some_and(Jid::is_group),
        chat,
        chat_lid: None,
        sender: sender_phone.or_else(|| sender_lid.clone()),
        sender_lid,
        from_me,
        push_name: text(value, "pushname").map(str::to_owned),
        timestamp: text(value, "timestamp").and_then(rfc3339),
    };
    let action = text(value, "action");
    if action == Some("event.delete_for_me") {
        let target =
            text(value, "deleted_message_id").ok_or(ParseError::Missing("deleted_message_id"))?;
        return Ok(vec![InboundEvent::DeleteForMe(DeleteForMe {
            target_id: target.to_owned(),
            chat: jid(value, "chat_id").or(origin.chat),
        })]);
    }
    let message = value.get("message").unwrap_or(&Value::Null);
    let id = text_any(message, &["id", "ID"])
        .ok_or(ParseError::Missing("message.id"))?
        .to_owned();
    match action {
        Some("message_revoked") => {
            return Ok(vec![InboundEvent::Revoke(Revoke {
                id,
                origin,
                target_id: text(value, "revoked_message_id")
                    .unwrap_or_default()
                    .to_owned(),
            })]);
        }
        Some("message_edited") => {
            return Ok(vec![InboundEvent::Edit(Edit {
                id,
                origin,
                target_id: text(value, "original_message_id")
                    .unwrap_or_default()
                    .to_owned(),
                text: text(value, "edited_text").map(str::to_owned),
            })]);
        }
        _ => {}
    }
    if let Some(reaction) = value.get("reaction").filter(|r| r.is_object()) {
        return Ok(vec![InboundEvent::Reaction(Reaction {
            id,
            origin,
            target_id: text(reaction, "id").unwrap_or_default().to_owned(),
            emoji: text(reaction, "message").map(str::to_owned),
        })]);
    }
    let body = text_any(message, &["text", "Text"]);
    let content = content(value, body, &id, origin.chat.as_ref());
    let quote = text_any(message, &["replied_id", "RepliedId"]).map(|qid| Quote {
        id: qid.to_owned(),
        participant: None,
        text: text_any(message, &["quoted_message", "QuotedMessage"]).map(str::to_owned),
    });
    Ok(vec![InboundEvent::Message(Box::new(Message {
        id,
        origin,
        content,
        quote,
        forwarded: flag(value, "forwarded"),
        view_once: flag(value, "view_once"),
        ephemeral: false,
    }))])
}
