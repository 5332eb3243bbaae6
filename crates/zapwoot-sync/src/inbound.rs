//! WhatsApp → Chatwoot.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;
use zapwoot_chatwoot::{
    MessageStatus, MessageType, NewContact, NewConversation, NewMessage as CwMessage, Upload,
};
use zapwoot_gateway::{
    Connection, ConnectionState, Content, Edit, InboundEvent, MediaFile, MediaSource, Message,
    Reaction, Receipt, ReceiptStatus, Revoke,
};
use zapwoot_store::{
    DeliveryStatus, Direction, Effect, MessageMap, MessageState,
    NewConversation as StoredConversation, NewMessage,
};

use crate::activity::{
    self, ActivityKind, DeletedBy, InstanceStatus, MessageDeleted, MessageEdited, MessageReceived,
    MessageStatusChange,
};
use crate::error::Failure;
use crate::media::{FetchedData, MediaHold, SpoolFile};
use crate::step::{Ctx, Outcome};
use crate::{FromMe, RevokePolicy, conversation, identity, render};

/// `source_id` prefixes of messages the bridge itself created in Chatwoot.
pub(crate) const OWN_SOURCE_PREFIXES: [&str; 4] = ["WAID:", "WAREACT:", "WAEDIT:", "ZAPWOOT:"];

pub(crate) async fn handle(
    ctx: &mut Ctx<'_>,
    content_type: &str,
    body: &[u8],
) -> Result<Outcome, Failure> {
    let events = ctx
        .rt
        .kind
        .parse(content_type, body, ctx.rt.own_jid.as_ref())
        .map(|w| w.events)
        .map_err(|e| Failure::permanent(format!("unparseable gateway webhook: {e}")))?;
    let mut effects = Vec::new();
    let mut ignored = Vec::new();
    for event in events {
        match handle_event(ctx, event).await? {
            Outcome::Done(mut more) => effects.append(&mut more),
            Outcome::Ignored(reason) => ignored.push(reason),
        }
    }
    if effects.is_empty() && !ignored.is_empty() {
        return Ok(Outcome::Ignored(ignored.join("; ")));
    }
    Ok(Outcome::Done(effects))
}

async fn handle_event(ctx: &mut Ctx<'_>, event: InboundEvent) -> Result<Outcome, Failure> {
    match event {
        InboundEvent::Message(m) => message(ctx, &m).await,
        InboundEvent::Receipt(r) => receipt(ctx, &r).await,
        InboundEvent::Reaction(r) => reaction(ctx, &r).await,
        InboundEvent::Edit(e) => edit(ctx, &e).await,
        InboundEvent::Revoke(r) => revoke(ctx, &r).await,
        InboundEvent::Connection(c) => connection(ctx, &c).await,
        other => Ok(Outcome::Ignored(format!(
            "{} events are not bridged",
            other.kind()
        ))),
    }
}

fn id64(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn mapped_cw(map: &MessageMap) -> Option<(u64, u64)> {
    let m = &map.message;
    Some((
        u64::try_from(m.chatwoot_conversation_id?).ok()?,
        u64::try_from(m.chatwoot_message_id?).ok()?,
    ))
}

/// The first mapped Chatwoot message of a WhatsApp id.
async fn target(ctx: &Ctx<'_>, wa_id: &str) -> Result<Option<(u64, u64)>, Failure> {
    Ok(ctx
        .messages_by_wa_id(wa_id)
        .await?
        .iter()
        .find_map(mapped_cw))
}

fn skipped(ctx: &Ctx<'_>, m: &Message) -> Option<String> {
    let chat = m.origin.chat.as_ref()?;
    if chat.is_broadcast() || chat.is_newsletter() {
        return Some("status/broadcast/newsletter chats are not bridged".into());
    }
    if ctx
        .rt
        .options
        .ignore_jids
        .iter()
        .any(|j| *j == chat.to_string())
    {
        return Some("chat is in ignore_jids".into());
    }
    if chat.is_group() && !ctx.rt.options.groups {
        return Some("groups are off for this instance".into());
    }
    if m.origin.from_me && ctx.rt.options.from_me == FromMe::Ignore {
        return Some("messages typed on the phone are ignored".into());
    }
    None
}

async fn message(ctx: &mut Ctx<'_>, m: &Message) -> Result<Outcome, Failure> {
    if m.origin.chat.is_none() {
        return Ok(Outcome::Ignored("message without a chat".into()));
    }
    if let Some(reason) = skipped(ctx, m) {
        return Ok(Outcome::Ignored(reason));
    }
    let existing = ctx.messages_by_wa_id(&m.id).await?;
    if existing
        .iter()
        .any(|x| x.message.state == MessageState::Done)
    {
        return Ok(Outcome::Ignored("already relayed".into()));
    }
    let party = identity::resolve(ctx, &m.origin).await?;
    let conversation = conversation::resolve(ctx, &party).await?;
    let source_id = format!("WAID:{}", m.id);
    let mut intent = NewMessage::intent(
        ctx.rt.id,
        party.chat.to_string(),
        if m.origin.from_me {
            Direction::Outgoing
        } else {
            Direction::Incoming
        },
    );
    intent.wa_message_id = Some(m.id.clone());
    intent.chatwoot_conversation_id = Some(id64(conversation));
    let recorded = ctx.record_intent(intent.clone()).await?;
    let _ = recorded;
    if !existing.is_empty() {
        // An earlier attempt may have created it before crashing: look before creating again.
        if let Some(found) = find_by_source(ctx, conversation, &source_id).await? {
            return Ok(done(ctx, intent, conversation, found, m));
        }
    }
    // The media budget share is held until Chatwoot has the file.
    let (mut new, _media_budget) = build(ctx, m).await?;
    new.source_id = Some(source_id);
    new.external_created_at = m.origin.timestamp;
    if let Some(quote) = &m.quote
        && let Some((_, cw)) = target(ctx, &quote.id).await?
    {
        new = new.in_reply_to(cw);
    }
    if m.origin.is_group && ctx.rt.options.group_sender_prefix && !m.origin.from_me {
        let name = m.origin.push_name.clone().unwrap_or_default();
        let number = m
            .origin
            .sender
            .as_ref()
            .and_then(|s| s.to_e164())
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let prefix = format!("**{name}**{number}:");
        new.content = Some(match new.content.take() {
            Some(text) if !text.is_empty() => format!("{prefix}\n{text}"),
            _ => prefix,
        });
    }
    let created = ctx
        .chatwoot()
        .await
        .create_message(conversation, &new)
        .await?;
    Ok(done(ctx, intent, conversation, created.id, m))
}

fn done(
    ctx: &mut Ctx<'_>,
    mut intent: NewMessage,
    conversation: u64,
    cw_id: u64,
    m: &Message,
) -> Outcome {
    intent.chatwoot_message_id = Some(id64(cw_id));
    intent.state = MessageState::Done;
    ctx.activity(ActivityKind::MessageReceived(MessageReceived {
        wa_message_id: m.id.clone(),
        chat: m.origin.lane(),
        chatwoot_conversation_id: conversation,
        chatwoot_message_id: cw_id,
        from_me: m.origin.from_me,
        kind: kind_name(&m.content).to_owned(),
    }));
    Outcome::Done(vec![Effect::Message(intent)])
}

fn kind_name(content: &Content) -> &'static str {
    match content {
        Content::Text { .. } => "text",
        Content::Image { .. } => "image",
        Content::Video { .. } => "video",
        Content::Audio { voice: true, .. } => "voice",
        Content::Audio { .. } => "audio",
        Content::Document { .. } => "document",
        Content::Sticker { .. } => "sticker",
        Content::Location { .. } => "location",
        Content::Contacts { .. } => "contacts",
        Content::Poll { .. } => "poll",
        _ => "unsupported",
    }
}

/// A Chatwoot message this bridge created with `source_id`, among the conversation's latest.
async fn find_by_source(
    ctx: &Ctx<'_>,
    conversation: u64,
    source_id: &str,
) -> Result<Option<u64>, Failure> {
    let recent = ctx
        .chatwoot()
        .await
        .messages(conversation, None, None)
        .await?;
    Ok(recent
        .payload
        .iter()
        .find(|x| x.source_id.as_deref() == Some(source_id))
        .map(|x| x.id))
}

/// A media file on its way to Chatwoot: in memory, or spooled to disk (described by a
/// `MediaFile` of its first bytes).
enum Relayed {
    Memory(MediaFile),
    Spooled(MediaFile, SpoolFile),
}

impl Relayed {
    fn described(&self) -> &MediaFile {
        match self {
            Self::Memory(file) | Self::Spooled(file, _) => file,
        }
    }
}

/// The Chatwoot message for a WhatsApp message: text, direction, and its file.
async fn build(ctx: &Ctx<'_>, m: &Message) -> Result<(CwMessage, MediaHold), Failure> {
    let text = render::text(m);
    let mut new = match (m.origin.from_me, ctx.rt.options.from_me) {
        (true, FromMe::PrivateNote) => CwMessage::outgoing(text).private(),
        (true, _) => CwMessage::outgoing(text),
        (false, _) => CwMessage::incoming(text),
    };
    let mut hold = MediaHold::default();
    if let Some(media) = m.content.media() {
        let max = ctx.rt.options.max_media_bytes;
        hold.permit = Some(
            ctx.media
                .reserve(media.size.unwrap_or(max).min(max))
                .await?,
        );
        let fetched = match &media.source {
            // A URL in a webhook is fetched under the address guard, not by the gateway client.
            MediaSource::Url(url) => ctx
                .media
                .fetch(url, &ctx.rt.gateway_media_policy(), max)
                .await
                .and_then(|f| match f.data {
                    FetchedData::Memory(bytes) => {
                        MediaFile::from_download(media, bytes, f.content_type, f.file_name, max)
                            .map(Relayed::Memory)
                            .map_err(Failure::from)
                    }
                    // Spooled bytes stay on disk; the first ones decide a sniffed type.
                    FetchedData::Spooled(spool) => {
                        MediaFile::from_download(media, f.head, f.content_type, f.file_name, max)
                            .map(|described| Relayed::Spooled(described, spool))
                            .map_err(Failure::from)
                    }
                }),
            _ => {
                let _slot = ctx.rt.gateway_slots.acquire().await;
                ctx.rt
                    .gateway
                    .fetch_media(media, max)
                    .await
                    .map(Relayed::Memory)
                    .map_err(Failure::from)
            }
        };
        match fetched {
            Ok(relayed) => {
                let file = relayed.described();
                let name = file.file_name.clone().unwrap_or_else(|| {
                    render::fallback_name(&m.content, file.mime_type.as_deref())
                });
                let mime = file
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned());
                new = new.attach(match relayed {
                    Relayed::Memory(file) => Upload::new(name, mime, file.bytes),
                    Relayed::Spooled(_, spool) => {
                        let upload = Upload::from_path(name, mime, spool.path.clone(), spool.len);
                        hold.spool = Some(spool);
                        upload
                    }
                });
                new.is_voice_message = matches!(m.content, Content::Audio { voice: true, .. });
            }
            Err(failure) => {
                if matches!(failure, Failure::Retry { .. }) && ctx.attempt < 3 {
                    return Err(failure);
                }
                let note = format!("⚠️ media unavailable ({})", failure.reason());
                new.content = Some(match new.content.take() {
                    Some(text) if !text.is_empty() => format!("{text}\n\n{note}"),
                    _ => note,
                });
            }
        }
    }
    if let Content::Contacts { contacts } = &m.content {
        for (i, card) in contacts.iter().enumerate().take(15) {
            new = new.attach(Upload::new(
                format!("contact-{}.vcf", i + 1),
                "text/vcard",
                card.vcard.clone().into_bytes(),
            ));
        }
    }
    Ok((new, hold))
}

async fn receipt(ctx: &mut Ctx<'_>, r: &Receipt) -> Result<Outcome, Failure> {
    let (status, rank) = match r.status {
        ReceiptStatus::Delivered => (MessageStatus::Delivered, DeliveryStatus::Delivered),
        ReceiptStatus::Read | ReceiptStatus::Played => (MessageStatus::Read, DeliveryStatus::Read),
        ReceiptStatus::ReadSelf => return Ok(Outcome::Ignored("read on our own device".into())),
        _ => return Ok(Outcome::Ignored("receipt kind not bridged".into())),
    };
    let mut effects = Vec::new();
    let mut missing = 0;
    for id in &r.message_ids {
        let maps = ctx.messages_by_wa_id(id).await?;
        if maps.is_empty() {
            missing += 1;
            continue;
        }
        for map in maps.iter().filter(|x| x.delivery < rank) {
            if let Some((conversation, cw)) = mapped_cw(map) {
                ctx.chatwoot()
                    .await
                    .update_message_status(conversation, cw, status, None)
                    .await?;
            }
        }
        effects.push(Effect::Delivery {
            instance_id: ctx.rt.id,
            wa_message_id: id.clone(),
            status: rank,
        });
        ctx.activity(ActivityKind::MessageStatus(MessageStatusChange {
            wa_message_id: id.clone(),
            status: rank_name(rank).to_owned(),
        }));
    }
    if missing > 0 && ctx.may_wait() {
        return Err(Failure::Wait {
            reason: format!("{missing} receipt target(s) not relayed yet"),
        });
    }
    if effects.is_empty() {
        return Ok(Outcome::Ignored("receipt for unknown messages".into()));
    }
    Ok(Outcome::Done(effects))
}

fn rank_name(rank: DeliveryStatus) -> &'static str {
    match rank {
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Read => "read",
        DeliveryStatus::Played => "played",
        _ => "unknown",
    }
}

/// Reactions are threaded replies; a new emoji replaces the previous one, removal deletes it.
async fn reaction(ctx: &mut Ctx<'_>, r: &Reaction) -> Result<Outcome, Failure> {
    let Some((conversation, target_cw)) = target(ctx, &r.target_id).await? else {
        if ctx.may_wait() {
            return Err(Failure::Wait {
                reason: "reaction before its message".into(),
            });
        }
        return Ok(Outcome::Ignored("reaction to an unknown message".into()));
    };
    let reactor = r
        .origin
        .author()
        .map(ToString::to_string)
        .unwrap_or_default();
    let key = format!("react:{}:{reactor}", r.target_id);
    let marker = format!("reaction:{}", r.id);
    if !ctx.messages_by_wa_id(&marker).await?.is_empty() {
        return Ok(Outcome::Ignored("reaction already applied".into()));
    }
    let parts = ctx.messages_by_wa_id(&key).await?;
    let next_part = parts
        .iter()
        .map(|p| p.message.part)
        .max()
        .map_or(0, |p| p + 1);
    if let Some((c, current)) = parts.last().and_then(mapped_cw) {
        match ctx.chatwoot().await.delete_message(c, current).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut record = NewMessage::intent(
        ctx.rt.id,
        r.origin.lane(),
        if r.origin.from_me {
            Direction::Outgoing
        } else {
            Direction::Incoming
        },
    );
    record.wa_message_id = Some(key);
    record.part = next_part;
    record.chatwoot_conversation_id = Some(id64(conversation));
    record.state = MessageState::Done;
    if let Some(emoji) = &r.emoji {
        let new = if r.origin.from_me {
            CwMessage::outgoing(emoji.clone())
        } else {
            CwMessage::incoming(emoji.clone())
        };
        let mut new = new
            .in_reply_to(target_cw)
            .source_id(format!("WAREACT:{}", r.id));
        new.content_attributes
            .insert("reaction".into(), json!(true));
        let created = ctx
            .chatwoot()
            .await
            .create_message(conversation, &new)
            .await?;
        record.chatwoot_message_id = Some(id64(created.id));
    }
    let mut applied = record.clone();
    applied.wa_message_id = Some(marker);
    applied.chatwoot_message_id = None;
    applied.part = 0;
    ctx.activity(ActivityKind::Reaction(activity::Reaction {
        target: r.target_id.clone(),
        emoji: r.emoji.clone(),
        from_me: r.origin.from_me,
    }));
    Ok(Outcome::Done(vec![
        Effect::Message(record),
        Effect::Message(applied),
    ]))
}

/// Chatwoot has no edit API: an edit is a threaded "edited" reply.
async fn edit(ctx: &mut Ctx<'_>, e: &Edit) -> Result<Outcome, Failure> {
    let key = format!("edit:{}", e.id);
    if !ctx.messages_by_wa_id(&key).await?.is_empty() {
        return Ok(Outcome::Ignored("edit already relayed".into()));
    }
    let Some((conversation, target_cw)) = target(ctx, &e.target_id).await? else {
        if ctx.may_wait() {
            return Err(Failure::Wait {
                reason: "edit before its message".into(),
            });
        }
        return Ok(Outcome::Ignored("edit of an unknown message".into()));
    };
    let text = e
        .text
        .as_deref()
        .map(zapwoot_chatwoot::markdown::whatsapp_to_markdown)
        .unwrap_or_default();
    let content = format!("✏️ Edited: {text}");
    let new = if e.origin.from_me {
        CwMessage::outgoing(content)
    } else {
        CwMessage::incoming(content)
    };
    let created = ctx
        .chatwoot()
        .await
        .create_message(
            conversation,
            &new.in_reply_to(target_cw)
                .source_id(format!("WAEDIT:{}", e.id)),
        )
        .await?;
    let mut record = NewMessage::intent(ctx.rt.id, e.origin.lane(), Direction::Incoming);
    record.wa_message_id = Some(key);
    record.chatwoot_conversation_id = Some(id64(conversation));
    record.chatwoot_message_id = Some(id64(created.id));
    record.state = MessageState::Done;
    ctx.activity(ActivityKind::MessageEdited(MessageEdited {
        target: e.target_id.clone(),
        text: e.text.clone(),
    }));
    Ok(Outcome::Done(vec![Effect::Message(record)]))
}

async fn revoke(ctx: &mut Ctx<'_>, r: &Revoke) -> Result<Outcome, Failure> {
    let maps = ctx.messages_by_wa_id(&r.target_id).await?;
    let targets: Vec<(u64, u64)> = maps.iter().filter_map(mapped_cw).collect();
    if targets.is_empty() {
        if ctx.may_wait() {
            return Err(Failure::Wait {
                reason: "revoke before its message".into(),
            });
        }
        return Ok(Outcome::Ignored("revoke of an unknown message".into()));
    }
    for (conversation, cw) in &targets {
        match ctx.rt.options.revoke {
            RevokePolicy::Delete => match ctx
                .chatwoot()
                .await
                .delete_message(*conversation, *cw)
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            },
            RevokePolicy::Note => {
                let note = CwMessage::outgoing("🗑️ This message was deleted on WhatsApp")
                    .private()
                    .in_reply_to(*cw);
                ctx.chatwoot()
                    .await
                    .create_message(*conversation, &note)
                    .await?;
            }
        }
    }
    ctx.activity(ActivityKind::MessageDeleted(MessageDeleted {
        wa_message_id: r.target_id.clone(),
        by: DeletedBy::Whatsapp,
    }));
    Ok(Outcome::Done(Vec::new()))
}

static NOTES: Mutex<Option<HashMap<(i64, &'static str), Instant>>> = Mutex::new(None);

/// Session state changes: one private note per state per 10 minutes in the instance's
/// integration conversation, and an `instance.status` activity.
async fn connection(ctx: &mut Ctx<'_>, c: &Connection) -> Result<Outcome, Failure> {
    ctx.rt.set_connection_state(c.state);
    ctx.activity(ActivityKind::InstanceStatus(InstanceStatus {
        state: c.state.as_str().to_owned(),
        detail: c.detail.clone(),
    }));
    let text = match c.state {
        ConnectionState::LoggedOut => {
            "🔴 WhatsApp session logged out: scan the QR code again in the gateway."
        }
        ConnectionState::Disconnected => {
            "🟠 WhatsApp session disconnected; the gateway is reconnecting."
        }
        ConnectionState::Failed => {
            "🔴 WhatsApp refused the session (ban, outdated client or stream error)."
        }
        ConnectionState::Connected => "🟢 WhatsApp session connected.",
        _ => return Ok(Outcome::Ignored("pairing state".into())),
    };
    let throttled = NOTES.lock().ok().is_some_and(|mut notes| {
        let notes = notes.get_or_insert_with(HashMap::new);
        let key = (ctx.rt.id, c.state.as_str());
        let recent = notes
            .get(&key)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(600));
        if !recent {
            notes.insert(key, Instant::now());
        }
        recent
    });
    if throttled {
        return Ok(Outcome::Ignored("status note throttled".into()));
    }
    let conversation = status_conversation(ctx).await?;
    let note = CwMessage::outgoing(text)
        .private()
        .source_id(format!("ZAPWOOT:status:{}", c.state.as_str()));
    ctx.chatwoot()
        .await
        .create_message(conversation, &note)
        .await?;
    Ok(Outcome::Done(Vec::new()))
}

/// The instance's integration conversation (a "zapwoot" contact in the inbox).
async fn status_conversation(ctx: &Ctx<'_>) -> Result<u64, Failure> {
    const CHAT: &str = "_zapwoot_status";
    if let Some(found) = ctx.conversation_for_chat(CHAT).await? {
        return Ok(u64::try_from(found.conversation.chatwoot_conversation_id).unwrap_or_default());
    }
    let source = format!("zapwoot:status:{}", ctx.rt.name);
    let contact = match ctx
        .chatwoot()
        .await
        .find_contact_by_source_id(ctx.rt.inbox_id, &source)
        .await?
    {
        Some(contact) => contact.id,
        None => {
            let mut new = NewContact::new();
            new.inbox_id = Some(ctx.rt.inbox_id);
            new.source_id = Some(source.clone());
            new.name = Some(format!("zapwoot ({})", ctx.rt.name));
            ctx.chatwoot().await.create_contact(&new).await?.contact.id
        }
    };
    let created = ctx
        .chatwoot()
        .await
        .create_conversation(&NewConversation::new(source, ctx.rt.inbox_id, contact))
        .await?;
    ctx.save_conversation(StoredConversation::new(
        ctx.rt.id,
        CHAT,
        id64(created.id),
        created.status.as_str(),
    ))
    .await?;
    Ok(created.id)
}

/// `true` for Chatwoot messages this bridge created itself.
pub(crate) fn is_own_source(source_id: Option<&str>) -> bool {
    source_id.is_some_and(|s| OWN_SOURCE_PREFIXES.iter().any(|p| s.starts_with(p)))
}

/// `message_type` values the bridge sends to WhatsApp.
pub(crate) fn is_sendable(kind: &MessageType) -> bool {
    matches!(kind, MessageType::Outgoing | MessageType::Template)
}
