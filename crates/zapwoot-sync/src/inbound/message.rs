//! A WhatsApp message becomes a Chatwoot message: its text, direction and file.

use zapwoot_chatwoot::{Message as CwCreated, NewMessage as CwMessage, Upload};
use zapwoot_gateway::{Content, MediaFile, MediaSource, Message};
use zapwoot_store::{Direction, Effect, MessageState, NewMessage};

use super::described::{self, Relayed as Described};
use super::{id64, target};
use crate::activity::{ActivityKind, MediaInfo, MessageSent, SentVia};
use crate::error::Failure;
use crate::media::{FetchedData, MediaHold, SpoolFile, sha256_hex};
use crate::step::{Ctx, Outcome};
use crate::{FromMe, conversation, identity, render};

pub(super) fn skipped(ctx: &Ctx<'_>, m: &Message) -> Option<String> {
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

pub(super) async fn message(ctx: &mut Ctx<'_>, m: &Message) -> Result<Outcome, Failure> {
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
    ctx.record_intent(intent.clone()).await?;
    let quoted = match &m.quote {
        Some(quote) => target(ctx, &quote.id).await?.map(|(_, cw)| cw),
        None => None,
    };
    let relayed = |message, media| Described {
        conversation,
        message,
        party: &party,
        media,
        quoted_chatwoot_id: quoted,
    };
    if !existing.is_empty() {
        // An earlier attempt may have created it before crashing: look before creating again.
        if let Some(found) = find_by_source(ctx, conversation, &source_id).await? {
            return Ok(done(ctx, intent, m, relayed(&found, None)));
        }
    }
    // The media budget share is held until Chatwoot has the file.
    let Built {
        message: mut new,
        hold: _media_budget,
        media,
    } = build(ctx, m).await?;
    new.source_id = Some(source_id);
    new.external_created_at = m.origin.timestamp;
    if let Some(cw) = quoted {
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
    Ok(done(ctx, intent, m, relayed(&created, media)))
}

/// The message is in Chatwoot: its mapping is written with the event, subscribers hear of it
/// (`message.received`, and `message.sent` via `phone` for what the phone itself sent).
fn done(ctx: &mut Ctx<'_>, mut intent: NewMessage, m: &Message, relayed: Described<'_>) -> Outcome {
    intent.chatwoot_message_id = Some(id64(relayed.message.id));
    intent.state = MessageState::Done;
    let received = described::received(m, relayed, kind_name(&m.content));
    if m.origin.from_me {
        ctx.activity(ActivityKind::MessageSent(MessageSent {
            chatwoot_message_id: Some(received.chatwoot_message_id),
            part: 0,
            wa_message_id: received.wa_message_id.clone(),
            chat: received.chat.clone(),
            chatwoot_conversation_id: Some(received.chatwoot_conversation_id),
            text: received.text.clone(),
            media: received.media.clone(),
            via: SentVia::Phone,
            agent: None,
            api_message_id: None,
            idempotency_key: None,
        }));
    }
    ctx.activity(ActivityKind::MessageReceived(Box::new(received)));
    Outcome::Done(vec![Effect::Message(intent)])
}

pub(super) fn kind_name(content: &Content) -> &'static str {
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
pub(crate) async fn find_by_source(
    ctx: &Ctx<'_>,
    conversation: u64,
    source_id: &str,
) -> Result<Option<CwCreated>, Failure> {
    let recent = ctx
        .chatwoot()
        .await
        .messages(conversation, None, None)
        .await?;
    Ok(recent
        .payload
        .into_iter()
        .find(|x| x.source_id.as_deref() == Some(source_id)))
}

/// A media file on its way to Chatwoot: in memory, or spooled to disk (described by a
/// `MediaFile` of its first bytes, with the digest of all of them).
pub(super) enum Relayed {
    Memory(MediaFile),
    Spooled(MediaFile, SpoolFile, String),
}

impl Relayed {
    fn described(&self) -> &MediaFile {
        match self {
            Self::Memory(file) | Self::Spooled(file, _, _) => file,
        }
    }

    fn size(&self) -> u64 {
        match self {
            Self::Memory(file) => file.bytes.len() as u64,
            Self::Spooled(_, spool, _) => spool.len,
        }
    }

    fn sha256(&self) -> String {
        match self {
            Self::Memory(file) => sha256_hex(&file.bytes),
            Self::Spooled(_, _, digest) => digest.clone(),
        }
    }
}

/// The Chatwoot message for a WhatsApp message, the media budget it holds, and its file as
/// relayed.
pub(super) struct Built {
    pub(super) message: CwMessage,
    pub(super) hold: MediaHold,
    pub(super) media: Option<MediaInfo>,
}

/// The Chatwoot message for a WhatsApp message: text, direction, and its file.
pub(super) async fn build(ctx: &Ctx<'_>, m: &Message) -> Result<Built, Failure> {
    let text = render::text(m);
    let mut new = match (m.origin.from_me, ctx.rt.options.from_me) {
        (true, FromMe::PrivateNote) => CwMessage::outgoing(text).private(),
        (true, _) => CwMessage::outgoing(text),
        (false, _) => CwMessage::incoming(text),
    };
    let mut hold = MediaHold::default();
    let mut info = None;
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
                            .map(|described| Relayed::Spooled(described, spool, f.sha256))
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
                let mut described = MediaInfo::new(mime.clone());
                described.file_name = Some(name.clone());
                described.size = Some(relayed.size());
                described.sha256 = Some(relayed.sha256());
                info = Some(described);
                new = new.attach(match relayed {
                    Relayed::Memory(file) => Upload::new(name, mime, file.bytes),
                    Relayed::Spooled(_, spool, _) => {
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
    Ok(Built {
        message: new,
        hold,
        media: info,
    })
}
