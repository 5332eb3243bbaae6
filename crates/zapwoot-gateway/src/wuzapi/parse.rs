//! wuzapi webhooks: form-encoded (`jsonData`, `userID`, `instanceName`, old builds `token`) or
//! JSON, carrying whatsmeow event structs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::event::{
    Call, Connection, ConnectionState, ContactCard, Content, Edit, GroupAction, GroupParticipants,
    GroupSubject, InboundEvent, Media, MediaSource, Message, Origin, Presence, PresenceState,
    Quote, Reaction, Receipt, ReceiptStatus, Revoke,
};
use crate::json::{flag, jid, number, rfc3339, text, text_any, unsigned};
use crate::{Jid, ParseError};

/// A parsed wuzapi webhook: who sent it and what happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WuzapiWebhook {
    /// wuzapi instance id (`userID`): a 32-hex string in new builds, an integer in old ones.
    pub user_id: Option<String>,
    /// The instance's name (`instanceName`).
    pub instance_name: Option<String>,
    /// The user token (old builds only; removed upstream in late 2025).
    pub token: Option<String>,
    /// wuzapi's event `type` (`Message`, `ReadReceipt`, …).
    pub event_type: String,
    /// The normalized events (usually one).
    pub events: Vec<InboundEvent>,
}

impl WuzapiWebhook {
    /// Dedupe key for the whole delivery.
    #[must_use]
    pub fn dedupe_key(&self) -> String {
        let keys: Vec<String> = self.events.iter().map(InboundEvent::dedupe_key).collect();
        format!("wuzapi:{}", keys.join("|"))
    }
}

/// The body without the user token older wuzapi builds put in every webhook (form field or
/// top-level JSON key), for storing: the token is a credential, the rest is the event. `None`
/// when the body carries no token (it is kept byte for byte then).
#[must_use]
pub fn without_token(content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
    if is_form(content_type, body) {
        if !form_urlencoded::parse(body).any(|(k, _)| k == "token") {
            return None;
        }
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(body).filter(|(k, _)| k != "token") {
            out.append_pair(&key, &value);
        }
        return Some(out.finish().into_bytes());
    }
    let mut value: Value = serde_json::from_slice(body).ok()?;
    value.as_object_mut()?.remove("token")?;
    serde_json::to_vec(&value).ok()
}

fn is_form(content_type: &str, body: &[u8]) -> bool {
    content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
        || (!content_type.contains("json") && body.first() != Some(&b'{'))
}

/// Parses a wuzapi webhook body given its `Content-Type`.
///
/// # Errors
/// [`ParseError`] when the body is not a form or JSON, has no `jsonData`/`type`, or a
/// `Message` lacks its `Info`.
pub fn parse(content_type: &str, body: &[u8]) -> Result<WuzapiWebhook, ParseError> {
    let (envelope, user_id, instance_name, token) = if is_form(content_type, body) {
        let mut json_data = None;
        let (mut user_id, mut instance_name, mut token) = (None, None, None);
        for (key, value) in form_urlencoded::parse(body) {
            match key.as_ref() {
                "jsonData" => json_data = Some(value.into_owned()),
                "userID" => user_id = Some(value.into_owned()),
                "instanceName" => instance_name = Some(value.into_owned()),
                "token" => token = Some(value.into_owned()),
                _ => {}
            }
        }
        let json_data = json_data.ok_or(ParseError::Missing("jsonData"))?;
        let envelope: Value =
            serde_json::from_str(&json_data).map_err(|e| ParseError::Json(e.to_string()))?;
        (envelope, user_id, instance_name, token)
    } else {
        let envelope: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
        let field = |k: &str| match envelope.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let (user_id, instance_name, token) =
            (field("userID"), field("instanceName"), field("token"));
        (envelope, user_id, instance_name, token)
    };
    if !envelope.is_object() {
        return Err(ParseError::NotAnObject);
    }
    let event_type = text(&envelope, "type")
        .ok_or(ParseError::Missing("type"))?
        .to_owned();
    let event = envelope.get("event").cloned().unwrap_or(Value::Null);
    let events = match event_type.as_str() {
        "Message" => vec![message(&event, &envelope)?],
        "ReadReceipt" | "Receipt" => receipt(&event, &envelope).into_iter().collect(),
        "ChatPresence" => chat_presence(&event).into_iter().collect(),
        "Presence" => presence(&event, &envelope).into_iter().collect(),
        "GroupInfo" => group_info(&event),
        "CallOffer" => call_offer(&event).into_iter().collect(),
        other => connection(other, &event, &envelope).map_or_else(
            || {
                vec![InboundEvent::Unknown {
                    kind: other.to_owned(),
                }]
            },
            |c| vec![c],
        ),
    };
    Ok(WuzapiWebhook {
        user_id,
        instance_name,
        token,
        event_type,
        events,
    })
}

/// Sorts two optional JIDs into (phone form, `@lid` form).
pub(crate) fn identities(a: Option<Jid>, b: Option<Jid>) -> (Option<Jid>, Option<Jid>) {
    let mut phone = None;
    let mut lid = None;
    for j in [a, b].into_iter().flatten() {
        if j.is_lid() {
            lid.get_or_insert(j);
        } else {
            phone.get_or_insert(j);
        }
    }
    (phone, lid)
}

/// Chat/sender with both identities, from a whatsmeow `MessageSource` (+ `Info` fields).
fn origin(source: &Value) -> Origin {
    let from_me = flag(source, "IsFromMe");
    let is_group = flag(source, "IsGroup") || jid(source, "Chat").is_some_and(|c| c.is_group());
    let sender_alt = jid(source, "SenderAlt");
    // DM: the chat's other form is SenderAlt (from the customer) or RecipientAlt (own sends).
    let chat_alt = match (is_group, from_me) {
        (true, _) => None,
        (false, true) => jid(source, "RecipientAlt"),
        (false, false) => sender_alt.clone(),
    };
    let (chat_phone, chat_lid) = identities(jid(source, "Chat"), chat_alt);
    let (sender_phone, sender_lid) = identities(jid(source, "Sender"), sender_alt);
    Origin {
        chat: chat_phone.or_else(|| chat_lid.clone()),
        chat_lid,
        sender: sender_phone.or_else(|| sender_lid.clone()),
        sender_lid,
        from_me,
        is_group,
        push_name: text(source, "PushName").map(str::to_owned),
        timestamp: text(source, "Timestamp").and_then(rfc3339),
    }
}

/// Wrappers whatsmeow normally unwraps already; unwrapped again defensively.
const WRAPPERS: [&str; 7] = [
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "deviceSentMessage",
    "lottieStickerMessage",
];

/// Keys that carry no content of their own.
const NOISE: [&str; 2] = ["messageContextInfo", "senderKeyDistributionMessage"];

fn message(event: &Value, envelope: &Value) -> Result<InboundEvent, ParseError> {
    let info = event.get("Info").ok_or(ParseError::Missing("Info"))?;
    let id = text(info, "ID")
        .ok_or(ParseError::Missing("Info.ID"))?
        .to_owned();
    let origin = origin(info);
    let mut body = event.get("Message").cloned().unwrap_or(Value::Null);
    let mut view_once = flag(event, "IsViewOnce")
        || flag(event, "IsViewOnceV2")
        || flag(event, "IsViewOnceV2Extension");
    let mut ephemeral = flag(event, "IsEphemeral");
    while let Some((key, inner)) = WRAPPERS.iter().find_map(|k| {
        body.get(*k)
            .and_then(|w| w.get("message"))
            .map(|m| (*k, m.clone()))
    }) {
        view_once |= key.starts_with("viewOnce");
        ephemeral |= key == "ephemeralMessage";
        body = inner;
    }

    if let Some(protocol) = body.get("protocolMessage") {
        let target = protocol
            .get("key")
            .and_then(|k| text(k, "ID"))
            .unwrap_or_default()
            .to_owned();
        let kind = protocol.get("type");
        let is = |n: u64, name: &str| {
            kind.and_then(Value::as_u64) == Some(n) || kind.and_then(Value::as_str) == Some(name)
        };
        let edit_flag = text(info, "Edit");
        if is(14, "MESSAGE_EDIT") || flag(event, "IsEdit") || edit_flag == Some("1") {
            let edited = protocol.get("editedMessage").unwrap_or(&Value::Null);
            let text = text(edited, "conversation")
                .or_else(|| {
                    edited
                        .get("extendedTextMessage")
                        .and_then(|x| text(x, "text"))
                })
                .map(str::to_owned);
            return Ok(InboundEvent::Edit(Edit {
                id,
                origin,
                target_id: target,
                text,
            }));
        }
        if is(0, "REVOKE") || matches!(edit_flag, Some("7" | "8")) {
            return Ok(InboundEvent::Revoke(Revoke {
                id,
                origin,
                target_id: target,
            }));
        }
        return Ok(InboundEvent::Unknown {
            kind: "protocol".to_owned(),
        });
    }
    if let Some(reaction) = body.get("reactionMessage") {
        let target_id = reaction
            .get("key")
            .and_then(|k| text(k, "ID"))
            .unwrap_or_default()
            .to_owned();
        let emoji = text(reaction, "text").map(str::to_owned);
        return Ok(InboundEvent::Reaction(Reaction {
            id,
            origin,
            target_id,
            emoji,
        }));
    }

    let (content, context) = content(&body, envelope);
    if matches!(&content, Content::Unsupported { kind } if kind == "empty") {
        return Ok(InboundEvent::Unknown {
            kind: "empty".to_owned(),
        });
    }
    let context = context.unwrap_or(&Value::Null);
    let quote = text_any(context, &["stanzaID", "stanzaId"]).map(|qid| Quote {
        id: qid.to_owned(),
        participant: jid(context, "participant"),
        text: context.get("quotedMessage").and_then(quoted_text),
    });
    Ok(InboundEvent::Message(Box::new(Message {
        id,
        origin,
        content,
        quote,
        forwarded: flag(context, "isForwarded"),
        view_once,
        ephemeral,
    })))
}

fn quoted_text(quoted: &Value) -> Option<String> {
    text(quoted, "conversation")
        .or_else(|| {
            quoted
                .get("extendedTextMessage")
                .and_then(|x| text(x, "text"))
        })
        .or_else(|| {
            ["imageMessage", "videoMessage", "documentMessage"]
                .iter()
                .find_map(|k| quoted.get(*k).and_then(|x| text(x, "caption")))
        })
        .map(str::to_owned)
}

/// The content and its `contextInfo`.
fn content<'a>(body: &'a Value, envelope: &Value) -> (Content, Option<&'a Value>) {
    if let Some(t) = text(body, "conversation") {
        return (Content::Text { body: t.to_owned() }, None);
    }
    if let Some(x) = body.get("extendedTextMessage") {
        return (
            Content::Text {
                body: text(x, "text").unwrap_or_default().to_owned(),
            },
            x.get("contextInfo"),
        );
    }
    for kind in ["image", "video", "audio", "document", "sticker"] {
        let Some(m) = body.get(format!("{kind}Message")) else {
            continue;
        };
        let media = media(kind, m, envelope);
        let caption = text(m, "caption").map(str::to_owned);
        let content = match kind {
            "image" => Content::Image { media, caption },
            "video" => Content::Video {
                media,
                caption,
                gif: flag(m, "gifPlayback"),
            },
            "audio" => Content::Audio {
                media,
                voice: flag(m, "PTT"),
            },
            "document" => Content::Document { media, caption },
            _ => Content::Sticker {
                media,
                animated: flag(m, "isAnimated") || flag(envelope, "stickerAnimated"),
            },
        };
        return (content, m.get("contextInfo"));
    }
    for (key, live) in [("locationMessage", false), ("liveLocationMessage", true)] {
        if let Some(l) = body.get(key) {
            let content = Content::Location {
                latitude: number(l, "degreesLatitude").unwrap_or(0.0),
                longitude: number(l, "degreesLongitude").unwrap_or(0.0),
                name: text(l, "name").map(str::to_owned),
                address: text(l, "address").map(str::to_owned),
                live,
            };
            return (content, l.get("contextInfo"));
        }
    }
    if let Some(c) = body.get("contactMessage") {
        let card = ContactCard {
            display_name: text(c, "displayName").unwrap_or_default().to_owned(),
            vcard: text(c, "vcard").unwrap_or_default().to_owned(),
        };
        return (
            Content::Contacts {
                contacts: vec![card],
            },
            c.get("contextInfo"),
        );
    }
    if let Some(c) = body.get("contactsArrayMessage") {
        let contacts = c
            .get("contacts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|x| ContactCard {
                display_name: text(x, "displayName").unwrap_or_default().to_owned(),
                vcard: text(x, "vcard").unwrap_or_default().to_owned(),
            })
            .collect();
        return (Content::Contacts { contacts }, c.get("contextInfo"));
    }
    for key in [
        "pollCreationMessage",
        "pollCreationMessageV2",
        "pollCreationMessageV3",
    ] {
        if let Some(p) = body.get(key) {
            let options = p
                .get("options")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|o| text(o, "optionName").map(str::to_owned))
                .collect();
            let content = Content::Poll {
                question: text(p, "name").unwrap_or_default().to_owned(),
                options,
                selectable: unsigned(p, "selectableOptionsCount")
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(0),
            };
            return (content, p.get("contextInfo"));
        }
    }
    let kind = body
        .as_object()
        .and_then(|m| m.keys().find(|k| !NOISE.contains(&k.as_str())).cloned())
        .unwrap_or_else(|| "empty".to_owned());
    (Content::Unsupported { kind }, None)
}

/// Where to get a media file: inline base64, S3 URL, else `/chat/download*` with the keys.
fn media(kind: &str, m: &Value, envelope: &Value) -> Media {
    let mime_type = text(m, "mimetype")
        .or_else(|| text(envelope, "mimeType"))
        .map(str::to_owned);
    let file_name = text(m, "fileName")
        .or_else(|| text(envelope, "fileName"))
        .map(str::to_owned);
    let size = unsigned(m, "fileLength");
    let inline = text(envelope, "base64").and_then(|b| {
        // Some builds send a data URL, others the bare base64.
        let data = b.split_once(";base64,").map_or(b, |(_, d)| d);
        STANDARD.decode(data).ok()
    });
    let source = if let Some(bytes) = inline {
        MediaSource::Inline(bytes)
    } else if let Some(url) = envelope.get("s3").and_then(|s| text(s, "url")) {
        MediaSource::Url(url.to_owned())
    } else if text(m, "directPath").is_some() || text(m, "URL").is_some() {
        MediaSource::WuzapiDownload {
            kind: kind.to_owned(),
            keys: m.clone(),
        }
    } else {
        MediaSource::Unavailable
    };
    Media {
        source,
        mime_type,
        file_name,
        size,
    }
}

fn receipt(event: &Value, envelope: &Value) -> Option<InboundEvent> {
    let status = match text(envelope, "state").or_else(|| text(event, "Type")) {
        Some("Read" | "read") => ReceiptStatus::Read,
        Some("ReadSelf" | "read-self") => ReceiptStatus::ReadSelf,
        Some("Played" | "played") => ReceiptStatus::Played,
        Some("Delivered") | None => ReceiptStatus::Delivered,
        Some(_) => return None,
    };
    let message_ids: Vec<String> = event
        .get("MessageIDs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if message_ids.is_empty() {
        return None;
    }
    Some(InboundEvent::Receipt(Receipt {
        origin: origin(event),
        message_ids,
        status,
    }))
}

fn chat_presence(event: &Value) -> Option<InboundEvent> {
    let state = match (text(event, "State"), text(event, "Media")) {
        (Some("composing"), Some("audio")) => PresenceState::Recording,
        (Some("composing"), _) => PresenceState::Composing,
        (Some("paused"), _) => PresenceState::Paused,
        _ => return None,
    };
    Some(InboundEvent::Presence(Presence {
        origin: origin(event),
        state,
    }))
}

fn presence(event: &Value, envelope: &Value) -> Option<InboundEvent> {
    let from = jid(event, "From").or_else(|| jid(envelope, "from"))?;
    let state = match text(envelope, "state") {
        Some("online") => PresenceState::Online,
        Some("offline") => PresenceState::Offline,
        _ if flag(event, "Unavailable") => PresenceState::Offline,
        _ => PresenceState::Online,
    };
    let origin = Origin {
        chat: Some(from.clone()),
        sender: Some(from),
        ..Origin::default()
    };
    Some(InboundEvent::Presence(Presence { origin, state }))
}

fn group_info(event: &Value) -> Vec<InboundEvent> {
    let Some(group) = jid(event, "JID") else {
        return Vec::new();
    };
    let timestamp = text(event, "Timestamp").and_then(rfc3339);
    let by = jid(event, "SenderPN")
        .or_else(|| jid(event, "Sender"))
        .map(|j| j.to_non_device());
    let subject = event
        .get("Name")
        .and_then(|n| text(n, "Name"))
        .filter(|n| !n.trim().is_empty())
        .map(|name| {
            InboundEvent::GroupSubject(GroupSubject {
                group: group.clone(),
                name: name.to_owned(),
                by: by.clone(),
                timestamp,
            })
        });
    let changes = ["Join", "Leave", "Promote", "Demote"]
        .iter()
        .filter_map(|key| {
            let participants: Vec<Jid> = event
                .get(*key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().and_then(|s| Jid::parse(s).ok()))
                .collect();
            (!participants.is_empty()).then(|| {
                InboundEvent::GroupParticipants(GroupParticipants {
                    group: group.clone(),
                    action: GroupAction::parse(&key.to_lowercase()),
                    participants,
                    by: by.clone(),
                    timestamp,
                })
            })
        });
    subject.into_iter().chain(changes).collect()
}

/// `CallOffer` (whatsmeow `events.CallOffer`: the call meta flattened, `Data` the offer node,
/// whose children name the media: a `video` child for video calls).
fn call_offer(event: &Value) -> Option<InboundEvent> {
    let call_id = text(event, "CallID")?.to_owned();
    let from = jid(event, "CallCreator")
        .or_else(|| jid(event, "From"))?
        .to_non_device();
    let video = event.get("Data").map(|data| {
        data.get("Content")
            .and_then(Value::as_array)
            .is_some_and(|children| children.iter().any(|c| text(c, "Tag") == Some("video")))
    });
    let origin = Origin {
        chat: Some(from.clone()),
        sender: Some(from),
        timestamp: text(event, "Timestamp").and_then(rfc3339),
        ..Origin::default()
    };
    Some(InboundEvent::Call(Call {
        origin,
        call_id,
        video,
        auto_rejected: false,
    }))
}

fn connection(kind: &str, event: &Value, envelope: &Value) -> Option<InboundEvent> {
    let state = match kind {
        "Connected" | "KeepAliveRestored" | "PairSuccess" => ConnectionState::Connected,
        "Disconnected" | "KeepAliveTimeout" | "StreamReplaced" | "ConnectFailure"
        | "ClientOutdated" | "StreamError" | "CATRefreshError" => ConnectionState::Disconnected,
        // The QR codes ran out without a scan: the session is not paired.
        "LoggedOut" | "QRTimeout" => ConnectionState::LoggedOut,
        "QR" | "PairError" => ConnectionState::Pairing,
        "TemporaryBan" => ConnectionState::Banned,
        _ => return None,
    };
    let mut c = Connection::new(state, kind);
    c.timestamp = event
        .as_object()
        .and_then(|_| text(event, "Timestamp"))
        .and_then(rfc3339);
    if kind == "PairSuccess" {
        c.jid = jid(event, "ID");
        c.push_name = text(event, "BusinessName")
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
    }
    // wuzapi posts `PushNameSetting` as `Connected`: its action carries the account's name.
    if let Some(name) = event
        .get("Action")
        .and_then(|a| text(a, "name").or_else(|| text(a, "Name")))
        && !name.is_empty()
    {
        c.push_name = Some(name.to_owned());
    }
    c.reason = connection_reason(kind, event, envelope);
    Some(InboundEvent::Connection(c))
}

/// What a session change says about why, in words.
fn connection_reason(kind: &str, event: &Value, envelope: &Value) -> Option<String> {
    let code = |key: &str| number(event, key).map(|n| format!("{n}"));
    match kind {
        "LoggedOut" => code("Reason").map(|c| format!("reason code {c}")),
        "QRTimeout" => Some("the QR codes expired without a scan".to_owned()),
        "PairError" => Some(text(event, "Error").map_or_else(
            || "pairing failed".to_owned(),
            |e| format!("pairing failed: {e}"),
        )),
        "TemporaryBan" => Some(match code("Code") {
            Some(c) => format!("temporary ban, code {c}"),
            None => "temporary ban".to_owned(),
        }),
        "ConnectFailure" => text(event, "Message")
            .or_else(|| text(envelope, "error"))
            .map(|m| format!("connect failure: {m}"))
            .or_else(|| Some("connect failure".to_owned())),
        "ClientOutdated" => Some("WhatsApp says the client is outdated".to_owned()),
        "StreamReplaced" => Some("another client took over the session".to_owned()),
        "StreamError" => Some("stream error".to_owned()),
        "KeepAliveTimeout" => Some("keep-alive timed out".to_owned()),
        _ => None,
    }
}
