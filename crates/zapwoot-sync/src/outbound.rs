//! Chatwoot → WhatsApp.

use zapwoot_chatwoot::markdown::markdown_to_whatsapp;
use zapwoot_chatwoot::webhook::{self, Event, Sender, WebhookMessage};
use zapwoot_chatwoot::{Attachment, MessageStatus};
use zapwoot_gateway::{File, GatewayKind, Jid, MessageRef, Outgoing, OutgoingBody};
use zapwoot_store::{Direction, Effect, MessageState, NewMessage};

use crate::activity::{
    ActivityKind, AgentInfo, AgentKind, ConversationStatus, DeletedBy, DeliveryFailed, MediaInfo,
    MessageDeleted, MessageSent, SentVia,
};
use crate::confirm;
use crate::error::Failure;
use crate::inbound::is_sendable;
use crate::media::{FetchedData, MediaHold, Origin};
use crate::source_ids::is_own_source;
use crate::step::{Ctx, Outcome};
use crate::{integration, read_marks, typing};

pub(crate) async fn handle(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Outcome, Failure> {
    let event = webhook::parse(body)
        .map_err(|e| Failure::permanent(format!("unparseable Chatwoot webhook: {e}")))?;
    match &event {
        Event::MessageCreated(m) => send(ctx, m).await,
        Event::MessageUpdated(m) if m.is_deleted() => revoke(ctx, m).await,
        Event::ConversationStatusChanged(c) | Event::ConversationUpdated(c) => {
            let Some(mut mapped) = ctx.conversation_by_chatwoot_id(c.id).await? else {
                return Ok(Outcome::Ignored("conversation not bridged".into()));
            };
            if mapped.conversation.status == c.status.as_str() {
                return Ok(Outcome::Ignored("status unchanged".into()));
            }
            mapped.conversation.status = c.status.as_str().to_owned();
            ctx.activity(ActivityKind::ConversationStatus(ConversationStatus {
                chatwoot_conversation_id: c.id,
                status: c.status.as_str().to_owned(),
            }));
            Ok(Outcome::Done(vec![Effect::Conversation(
                mapped.conversation,
            )]))
        }
        Event::ConversationTypingOn(t) => typing::agent_typing(ctx, t, true).await,
        Event::ConversationTypingOff(t) => typing::agent_typing(ctx, t, false).await,
        other => Ok(Outcome::Ignored(format!("{} is not bridged", other.name()))),
    }
}

/// The WhatsApp chat of a conversation the bridge already knows.
async fn mapped_chat(ctx: &Ctx<'_>, m: &WebhookMessage) -> Result<Option<Jid>, Failure> {
    let conversation = m
        .conversation_id()
        .ok_or_else(|| Failure::permanent("message without a conversation"))?;
    Ok(ctx
        .conversation_by_chatwoot_id(conversation)
        .await?
        .and_then(|mapped| Jid::parse(&mapped.conversation.chat_jid).ok()))
}

/// The WhatsApp chat a signed webhook names for a conversation the bridge does not know: the
/// contact inbox's `source_id` (the bridge's source ids are JIDs), else the contact's phone.
fn chat_of(m: &WebhookMessage) -> Result<Jid, Failure> {
    let c = m.conversation.as_ref();
    let source = c
        .and_then(|c| c.contact_inbox.as_ref())
        .and_then(|ci| ci.source_id.as_deref());
    if let Some(jid) = source
        .and_then(|s| Jid::parse(s).ok())
        .filter(|j| j.is_user() || j.is_lid() || j.is_group())
    {
        return Ok(jid);
    }
    let phone = c.and_then(|c| match &c.meta.sender {
        Some(Sender::Contact(contact)) => contact.phone_number.clone(),
        _ => None,
    });
    phone.and_then(|p| Jid::from_phone(&p).ok()).ok_or_else(|| {
        Failure::permanent(
            "the conversation has no WhatsApp chat (no mapping, JID source id or phone)",
        )
    })
}

/// The message to act on, and its conversation's contact when Chatwoot's API named it. A signed
/// webhook is Chatwoot's word; an unsigned one (Chatwoot < 4.13, or no inbox secret) is
/// confirmed through the API first, and so is a signed one naming attachments outside the
/// origins Chatwoot is known to serve them from. `None`: Chatwoot has no such message.
async fn trusted(
    ctx: &Ctx<'_>,
    m: &WebhookMessage,
) -> Result<Option<(WebhookMessage, Option<u64>)>, Failure> {
    let known = ctx.rt.chatwoot_media_policy().first;
    let attachments_known = m.attachments.iter().all(|a| {
        a.data_url
            .as_deref()
            .and_then(Origin::parse)
            .is_none_or(|o| known.contains(&o))
    });
    if ctx.rt.chatwoot_keys.is_some() && attachments_known {
        return Ok(Some((m.clone(), None)));
    }
    let Some(confirmed) = confirm::message(ctx, m).await? else {
        return Ok(None);
    };
    ctx.rt.learn_chatwoot_origins(
        confirmed
            .message
            .attachments
            .iter()
            .filter_map(|a| a.data_url.as_deref()),
    );
    Ok(Some((confirmed.message, confirmed.contact_id)))
}

/// Why a Chatwoot message does not go to WhatsApp, if it does not.
fn not_sent(m: &WebhookMessage) -> Option<&'static str> {
    if !is_sendable(&m.message_type) {
        Some("only outgoing and template messages go to WhatsApp")
    } else if m.private {
        Some("private note")
    } else if is_own_source(m.source_id.as_deref()) {
        Some("echo of a message the bridge created")
    } else {
        None
    }
}

async fn send(ctx: &mut Ctx<'_>, webhook: &WebhookMessage) -> Result<Outcome, Failure> {
    // Most webhooks are echoes and customers' messages: no lookup for them. A private note
    // may still be a command.
    if let Some(reason) = not_sent(webhook).filter(|_| !webhook.private) {
        return Ok(Outcome::Ignored(reason.into()));
    }
    let integration = integration::in_integration_conversation(ctx, webhook).await?;
    if integration::typed(webhook, integration).is_some() {
        // Commands act on the number: only on what Chatwoot holds.
        let Some((m, _)) = trusted(ctx, webhook).await? else {
            return Ok(Outcome::Ignored(
                "Chatwoot has no such message in this inbox: the command was not run".into(),
            ));
        };
        if let Some(typed) = integration::typed(&m, integration) {
            return integration::execute(ctx, typed).await;
        }
    }
    if let Some(reason) = integration::not_sent(webhook, integration) {
        return Ok(Outcome::Ignored(reason.into()));
    }
    // Checked on the webhook first (most are echoes: no API call for them), then again on
    // what Chatwoot confirmed.
    if let Some(reason) = not_sent(webhook) {
        return Ok(Outcome::Ignored(reason.into()));
    }
    let Some((m, confirmed_contact)) = trusted(ctx, webhook).await? else {
        return Ok(Outcome::Ignored(
            "Chatwoot has no such message in this inbox: the webhook was not acted on".into(),
        ));
    };
    let m = &m;
    if let Some(reason) = not_sent(m) {
        return Ok(Outcome::Ignored(reason.into()));
    }
    let existing = ctx.messages_by_chatwoot_id(m.id).await?;
    if existing.iter().any(|x| {
        x.message.direction == Direction::Incoming
            || x.message
                .wa_message_id
                .as_deref()
                .is_some_and(|w| w.contains(':'))
    }) {
        return Ok(Outcome::Ignored(
            "echo of a message the bridge created".into(),
        ));
    }
    let chat = match mapped_chat(ctx, m).await? {
        Some(jid) => jid,
        // Unsigned: the webhook's addressing counts for nothing; Chatwoot's contact does.
        None if ctx.rt.chatwoot_keys.is_none() => {
            let chat = match confirmed_contact {
                Some(contact) => confirm::contact_chat(ctx, contact).await?,
                None => None,
            };
            chat.ok_or_else(|| {
                Failure::permanent(
                    "Chatwoot names no WhatsApp chat for this conversation's contact",
                )
            })?
        }
        None => chat_of(m)?,
    };
    let agent = agent_of(m.sender.as_ref().or(webhook.sender.as_ref()));
    let (parts, _media_budget) = match build_parts(ctx, m).await {
        Ok(parts) => parts,
        Err(failure) => return Err(give_up_if_final(ctx, m, &chat, failure).await),
    };
    let reply = match m.in_reply_to() {
        Some(cw) => {
            ctx.messages_by_chatwoot_id(cw)
                .await?
                .into_iter()
                .find_map(|x| {
                    x.message.wa_message_id.clone().map(|wa| {
                        MessageRef::new(wa, x.message.direction == Direction::Outgoing, None)
                    })
                })
        }
        None => None,
    };
    let conversation = m
        .conversation_id()
        .map(|c| i64::try_from(c).unwrap_or(i64::MAX));
    let mut sent_ids = Vec::new();
    for (part, Part { body, text, media }) in parts.into_iter().enumerate() {
        let part = i32::try_from(part).unwrap_or(i32::MAX);
        if let Some(done) = existing
            .iter()
            .find(|x| x.message.part == part && x.message.state == MessageState::Done)
        {
            sent_ids.extend(done.message.wa_message_id.clone());
            continue;
        }
        let mut intent = NewMessage::intent(ctx.rt.id, chat.to_string(), Direction::Outgoing);
        intent.chatwoot_message_id = Some(i64::try_from(m.id).unwrap_or(i64::MAX));
        intent.chatwoot_conversation_id = conversation;
        intent.part = part;
        // wuzapi takes the message id from the caller: reserve it before sending, so a retry
        // after a crash or a lost answer resends the same WhatsApp message, not a second one.
        let reserved =
            (ctx.rt.kind == GatewayKind::Wuzapi).then(|| reserved_id(ctx.rt.id, m.id, part));
        intent.wa_message_id.clone_from(&reserved);
        ctx.record_intent(intent.clone()).await?;
        let mut outgoing = Outgoing::new(body);
        outgoing.id = reserved;
        if part == 0 {
            outgoing.reply_to.clone_from(&reply);
        }
        let sent = {
            let _slot = ctx.rt.gateway_slots.acquire().await;
            ctx.rt.gateway.send(&chat, &outgoing).await
        };
        match sent {
            Ok(sent) => {
                intent.wa_message_id = Some(sent.message_id.clone());
                intent.state = MessageState::Done;
                // Recorded at once: a retry sends only the parts still missing.
                ctx.record_sent(intent).await?;
                ctx.activity(ActivityKind::MessageSent(MessageSent {
                    chatwoot_message_id: Some(m.id),
                    part,
                    wa_message_id: sent.message_id.clone(),
                    chat: chat.to_string(),
                    chatwoot_conversation_id: m.conversation_id(),
                    text,
                    media,
                    via: SentVia::Chatwoot,
                    agent: agent.clone(),
                    api_message_id: None,
                    idempotency_key: None,
                }));
                sent_ids.push(sent.message_id);
            }
            // With a reserved id, resending is the same WhatsApp message: an answer lost after
            // the request went out is retried instead of reported as "may have been sent".
            Err(e)
                if outgoing.id.is_some()
                    && e.send_outcome() == zapwoot_gateway::SendOutcome::MaybeSent =>
            {
                return Err(give_up_if_final(
                    ctx,
                    m,
                    &chat,
                    Failure::retry(format!(
                        "gateway answer lost; resending under the same id: {e}"
                    )),
                )
                .await);
            }
            Err(e) => return Err(give_up_if_final(ctx, m, &chat, Failure::from(e)).await),
        }
    }
    // An agent (or agent bot) answered: the customer sees blue ticks on what it answered.
    let mut effects = if agent.is_some() {
        read_marks::mark_chat_read(ctx, &chat).await
    } else {
        Vec::new()
    };
    effects.extend(crate::csat::survey_sent(ctx, m));
    if let Some(conversation) = conversation {
        effects.push(Effect::ConversationSeen {
            instance_id: ctx.rt.id,
            chatwoot_conversation_id: conversation,
            message_id: i64::try_from(m.id).unwrap_or(i64::MAX),
        });
    }
    Ok(Outcome::Done(effects))
}

/// On a permanent failure, or the last attempt, the agent sees why: the Chatwoot message is
/// marked `failed` with a human reason.
async fn give_up_if_final(
    ctx: &mut Ctx<'_>,
    m: &WebhookMessage,
    chat: &Jid,
    failure: Failure,
) -> Failure {
    let final_failure = matches!(failure, Failure::Permanent { .. }) || ctx.last_attempt();
    if !final_failure {
        return failure;
    }
    let reason = human(failure.reason());
    if let Some(conversation) = m.conversation_id() {
        let marked = ctx
            .chatwoot()
            .await
            .update_message_status(conversation, m.id, MessageStatus::Failed, Some(&reason))
            .await;
        if let Err(e) = marked {
            tracing::warn!(error = %e, "could not mark the Chatwoot message failed");
        }
    }
    ctx.activity(ActivityKind::DeliveryFailed(DeliveryFailed {
        chatwoot_message_id: Some(m.id),
        reason: reason.clone(),
        chat: Some(chat.to_string()),
        chatwoot_conversation_id: m.conversation_id(),
        via: SentVia::Chatwoot,
        api_message_id: None,
        idempotency_key: None,
    }));
    Failure::permanent(reason)
}

fn human(reason: &str) -> String {
    if reason.contains("not on WhatsApp") {
        "number is not on WhatsApp".to_owned()
    } else if reason.contains("logged out") {
        "gateway logged out: the WhatsApp session must be reconnected".to_owned()
    } else if reason.contains("may have been sent") {
        "the gateway timed out; the message may have been sent".to_owned()
    } else {
        format!("could not deliver to WhatsApp: {reason}")
    }
}

/// The Chatwoot agent or bot named as a message's sender.
fn agent_of(sender: Option<&Sender>) -> Option<AgentInfo> {
    let (id, name, kind) = match sender? {
        Sender::User { id, name, .. } => (id, name, AgentKind::User),
        Sender::AgentBot { id, name } => (id, name, AgentKind::AgentBot),
        Sender::CaptainAssistant { id, name } => (id, name, AgentKind::CaptainAssistant),
        _ => return None,
    };
    Some(AgentInfo {
        id: *id,
        name: name.clone(),
        kind,
    })
}

/// One WhatsApp message of a Chatwoot message, with what `message.sent` says of it.
struct Part {
    body: OutgoingBody,
    /// Its text or caption.
    text: Option<String>,
    /// Its file, as relayed.
    media: Option<MediaInfo>,
}

impl Part {
    fn new(body: OutgoingBody, media: Option<MediaInfo>) -> Self {
        let text = match &body {
            OutgoingBody::Text(text) => Some(text.clone()),
            OutgoingBody::Image(_, caption)
            | OutgoingBody::Video(_, caption)
            | OutgoingBody::Document(_, caption) => caption.clone(),
            _ => None,
        }
        .filter(|t| !t.is_empty());
        Self { body, text, media }
    }
}

/// Text and attachments as WhatsApp sends: each attachment its own message (the text as the
/// first one's caption where WhatsApp allows one, else a text message of its own).
/// The media budget shares are held until WhatsApp has every part.
async fn build_parts(
    ctx: &Ctx<'_>,
    m: &WebhookMessage,
) -> Result<(Vec<Part>, Vec<MediaHold>), Failure> {
    let mut text = m
        .content
        .as_deref()
        .map(markdown_to_whatsapp)
        .unwrap_or_default();
    if ctx.rt.options.sign_agent_name
        && !text.is_empty()
        && let Some(Sender::User {
            name: Some(name), ..
        }) = &m.sender
    {
        text = format!("*{name}*:\n{text}");
    }
    let mut parts = Vec::new();
    let mut holds = Vec::new();
    let mut caption_used = text.is_empty();
    for attachment in &m.attachments {
        let mut hold = MediaHold::default();
        let (body, media) = attachment_body(
            ctx,
            attachment,
            (!caption_used).then(|| text.clone()),
            &mut hold,
        )
        .await?;
        holds.push(hold);
        if matches!(
            body,
            OutgoingBody::Image(..) | OutgoingBody::Video(..) | OutgoingBody::Document(..)
        ) {
            caption_used = true;
        }
        parts.push(Part::new(body, media));
    }
    if !caption_used {
        parts.push(Part::new(OutgoingBody::Text(text), None));
    }
    Ok((parts, holds))
}

/// The part for one attachment, and its file as relayed; `hold` keeps its media budget
/// share and spool file until it has been sent.
async fn attachment_body(
    ctx: &Ctx<'_>,
    a: &Attachment,
    caption: Option<String>,
    hold: &mut MediaHold,
) -> Result<(OutgoingBody, Option<MediaInfo>), Failure> {
    if a.file_type == "location" {
        let location = OutgoingBody::Location {
            latitude: a.coordinates_lat.unwrap_or_default(),
            longitude: a.coordinates_long.unwrap_or_default(),
            name: a.fallback_title.clone(),
        };
        return Ok((location, None));
    }
    let url = a
        .data_url
        .as_deref()
        .ok_or_else(|| Failure::permanent("attachment without a data_url"))?;
    let max = ctx.rt.options.max_media_bytes;
    hold.permit = Some(
        ctx.media
            .reserve(a.file_size.unwrap_or(max).min(max))
            .await?,
    );
    let fetched = ctx
        .media
        .fetch(url, &ctx.rt.chatwoot_media_policy(), max)
        .await?;
    let mime = a
        .content_type
        .clone()
        .or(fetched.content_type)
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let name = a
        .file_name()
        .or(fetched.file_name)
        .unwrap_or_else(|| format!("file.{}", a.extension.as_deref().unwrap_or("bin")));
    let mut media = MediaInfo::new(mime.clone());
    media.file_name = Some(name.clone());
    media.sha256 = Some(fetched.sha256);
    media.url = Some(url.to_owned());
    let file = match fetched.data {
        FetchedData::Memory(bytes) => {
            media.size = Some(bytes.len() as u64);
            File::new(bytes, mime.clone(), name)
        }
        FetchedData::Spooled(spool) => {
            media.size = Some(spool.len);
            let file = File::from_path(spool.path.clone(), spool.len, mime.clone(), name);
            hold.spool = Some(spool);
            file
        }
    };
    let body = match a.file_type.as_str() {
        "image" if mime != "image/webp" => OutgoingBody::Image(file, caption),
        "image" => OutgoingBody::Sticker(file),
        "video" => OutgoingBody::Video(file, caption),
        "audio" => {
            let voice = mime.contains("ogg") || mime.contains("opus");
            OutgoingBody::Audio(file, voice)
        }
        _ => OutgoingBody::Document(file, caption),
    };
    Ok((body, Some(media)))
}

/// An agent deleted a message: revoke what the bridge sent for it.
async fn revoke(ctx: &mut Ctx<'_>, m: &WebhookMessage) -> Result<Outcome, Failure> {
    let maps = ctx.messages_by_chatwoot_id(m.id).await?;
    let sent: Vec<(String, String)> = maps
        .iter()
        .filter(|x| x.message.direction == Direction::Outgoing)
        .filter_map(|x| Some((x.message.chat_jid.clone(), x.message.wa_message_id.clone()?)))
        .filter(|(_, wa)| !wa.contains(':'))
        .collect();
    if sent.is_empty() {
        return Ok(Outcome::Ignored(
            "nothing sent to WhatsApp for this message".into(),
        ));
    }
    if ctx.rt.chatwoot_keys.is_none() {
        let deleted = confirm::message(ctx, m)
            .await?
            .is_some_and(|c| c.message.is_deleted());
        if !deleted {
            return Ok(Outcome::Ignored(
                "Chatwoot does not show this message deleted: the webhook was not acted on".into(),
            ));
        }
    }
    let mut effects = Vec::new();
    for (chat, wa) in sent {
        let marker = format!("revoked:{wa}");
        if !ctx.messages_by_wa_id(&marker).await?.is_empty() {
            continue;
        }
        let jid = Jid::parse(&chat).map_err(|_| Failure::permanent("bad chat JID in mapping"))?;
        let result = {
            let _slot = ctx.rt.gateway_slots.acquire().await;
            ctx.rt.gateway.revoke(&jid, &wa).await
        };
        if let Err(e) = result {
            let failure = Failure::from(e);
            if matches!(failure, Failure::Permanent { .. }) || ctx.last_attempt() {
                let reason = format!("could not delete on WhatsApp: {}", failure.reason());
                if let Some(conversation) = m.conversation_id() {
                    let _ = ctx
                        .chatwoot()
                        .await
                        .update_message_status(
                            conversation,
                            m.id,
                            MessageStatus::Failed,
                            Some(&reason),
                        )
                        .await;
                }
                return Err(Failure::permanent(reason));
            }
            return Err(failure);
        }
        let mut record = NewMessage::intent(ctx.rt.id, chat, Direction::Outgoing);
        record.wa_message_id = Some(marker);
        record.state = MessageState::Done;
        effects.push(Effect::Message(record));
        ctx.activity(ActivityKind::MessageDeleted(MessageDeleted {
            wa_message_id: wa.clone(),
            by: DeletedBy::Agent,
            chat: Some(jid.to_string()),
            chatwoot_conversation_id: m.conversation_id(),
            chatwoot_message_id: Some(m.id),
        }));
    }
    Ok(Outcome::Done(effects))
}

/// The WhatsApp id reserved for part `part` of Chatwoot message `chatwoot_id`: the same on
/// every attempt, shaped like the ids WhatsApp Web uses (`3EB0` + 16 hex digits).
fn reserved_id(instance: i64, chatwoot_id: u64, part: i32) -> String {
    reserved_id_for(&format!("{instance}:{chatwoot_id}:{part}"))
}

/// A WhatsApp id reserved for `seed`: the same on every attempt.
pub(crate) fn reserved_id_for(seed: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    format!("3EB0{hash:016X}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn reserved_ids_are_stable_and_distinct() {
        let a = super::reserved_id(1, 42, 0);
        assert_eq!(a, super::reserved_id(1, 42, 0));
        assert_eq!(a.len(), 20);
        assert!(a.starts_with("3EB0"));
        assert_ne!(a, super::reserved_id(1, 42, 1));
        assert_ne!(a, super::reserved_id(2, 42, 0));
        assert_ne!(a, super::reserved_id(1, 43, 0));
    }
}
