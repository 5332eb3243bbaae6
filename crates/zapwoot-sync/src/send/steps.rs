//! The two steps of an API message: `send` (to WhatsApp, in the chat's lane, paced) and
//! `mirror` (into Chatwoot, in the chat's mirror lane, retried until Chatwoot takes it).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zapwoot_chatwoot::{NewMessage as CwMessage, Upload};
use zapwoot_gateway::{File, GatewayKind, Jid, MessageRef, Origin, Outgoing, OutgoingBody};
use zapwoot_store::{ApiMessage, Direction, Effect, MessageState, NewEvent, NewMessage, Source};

use super::request::{MediaInput, RequestError, SendRequest, decode};
use crate::activity::{ActivityKind, DeliveryFailed, MediaInfo, MessageSent, SentVia};
use crate::error::Failure;
use crate::media::{FetchedData, MediaFetcher, MediaPolicy, sha256_hex};
use crate::outbound::reserved_id_for;
use crate::step::{Ctx, Outcome};
use crate::{InstanceRuntime, conversation, identity, netguard};

/// What the mirror step needs: the message as sent.
#[derive(Debug, Serialize, Deserialize)]
struct Mirror {
    id: i64,
    wa_message_id: String,
    text: Option<String>,
    /// The file, base64, with its type and name.
    file: Option<(String, String, String)>,
    private: bool,
}

/// Source ids of mirrors: recognised as the bridge's own when Chatwoot echoes them.
fn source_id(id: i64) -> String {
    format!("ZAPWOOT:api:{id}")
}

pub(crate) async fn handle(ctx: &mut Ctx<'_>, kind: &str, body: &[u8]) -> Result<Outcome, Failure> {
    match kind {
        "send" => send(ctx, body).await,
        "mirror" => mirror(ctx, body).await,
        other => Ok(Outcome::Ignored(format!("unknown api event {other:?}"))),
    }
}

/// Refuses a media URL on a private, loopback or link-local address (literal or as its name
/// resolves), unless its origin is one of the instance's `media_origins`.
pub(crate) async fn guard_url(runtime: &InstanceRuntime, url: &str) -> Result<(), RequestError> {
    let refuse = |reason: String| RequestError::new("media.url", reason);
    let parsed = reqwest::Url::parse(url).map_err(|e| refuse(e.to_string()))?;
    let trusted = crate::media::Origin::of(&parsed)
        .is_some_and(|o| runtime.gateway_media_policy().private_ok.contains(&o));
    if trusted {
        return Ok(());
    }
    if let Some(reason) = netguard::url_refusal(url, false) {
        return Err(refuse(reason));
    }
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| refuse(format!("{host} does not resolve: {e}")))?;
    for addr in addrs {
        if !netguard::address_allowed(addr.ip(), false) {
            return Err(refuse(format!("{host} resolves to a private address")));
        }
    }
    Ok(())
}

/// Follows a media URL to its file without reading it: refused hops answer 422, a declared
/// size over `max_media_bytes` 413.
pub(crate) async fn probe_url(
    media: &MediaFetcher,
    runtime: &InstanceRuntime,
    url: &str,
) -> Result<(), RequestError> {
    let max = runtime.options.max_media_bytes;
    match media.probe(url, &public_only(runtime)).await {
        Ok(Some(len)) if len > max => Err(RequestError {
            too_large: true,
            ..RequestError::new(
                "media",
                format!("{len} bytes, larger than this instance's max_media_bytes ({max})"),
            )
        }),
        Ok(_) => Ok(()),
        Err(failure) => Err(RequestError::new("media.url", failure.reason().to_owned())),
    }
}

fn public_only(runtime: &InstanceRuntime) -> MediaPolicy {
    runtime.gateway_media_policy()
}

async fn send(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Outcome, Failure> {
    let Some(message) = ctx.sends().by_event(ctx.event_id).await? else {
        return Ok(Outcome::Ignored("no API message for this event".into()));
    };
    let request: SendRequest = serde_json::from_slice(body)
        .map_err(|e| Failure::permanent(format!("unreadable API message: {e}")))?;
    let chat = Jid::parse(&message.chat_jid)
        .map_err(|_| Failure::permanent("bad chat JID in API message"))?;
    let (outgoing_body, file) = match build(ctx, &request).await {
        Ok(built) => built,
        Err(failure) => return Err(give_up_if_final(ctx, &message, failure)),
    };
    let wa_id = match &message.wa_message_id {
        // Sent before a crash: only what follows is left.
        Some(wa) => wa.clone(),
        None => {
            let mut outgoing = Outgoing::new(outgoing_body);
            outgoing.reply_to = reply_ref(ctx, request.reply_to.as_deref()).await?;
            if ctx.rt.kind == GatewayKind::Wuzapi {
                outgoing.id = Some(reserved_id_for(&format!(
                    "api:{}:{}",
                    ctx.rt.id, message.id
                )));
            }
            ctx.rt.send_pace.acquire().await;
            let sent = {
                let _slot = ctx.rt.gateway_slots.acquire().await;
                ctx.rt.gateway.send(&chat, &outgoing).await
            };
            let sent = match sent {
                Ok(sent) => sent,
                Err(e)
                    if outgoing.id.is_some()
                        && e.send_outcome() == zapwoot_gateway::SendOutcome::MaybeSent =>
                {
                    return Err(give_up_if_final(
                        ctx,
                        &message,
                        Failure::retry(format!(
                            "gateway answer lost; resending under the same id: {e}"
                        )),
                    ));
                }
                Err(e) => return Err(give_up_if_final(ctx, &message, Failure::from(e))),
            };
            // Durable at once: a retry after a crash does not send again.
            ctx.sends()
                .record_sent(message.id, &sent.message_id)
                .await?;
            sent.message_id
        }
    };
    let mut mapping = NewMessage::intent(ctx.rt.id, chat.to_string(), Direction::Outgoing);
    mapping.wa_message_id = Some(wa_id.clone());
    mapping.state = MessageState::Done;
    let mut effects = vec![Effect::Message(mapping)];
    let media = file.as_ref().map(|(bytes, mime, name)| {
        let mut info = MediaInfo::new(mime.clone());
        info.file_name = Some(name.clone());
        info.size = Some(bytes.len() as u64);
        info.sha256 = Some(sha256_hex(bytes));
        info
    });
    if request.chatwoot.mirror {
        let mirror = Mirror {
            id: message.id,
            wa_message_id: wa_id.clone(),
            text: request.text.clone(),
            file: file.map(|(bytes, mime, name)| {
                (
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                    mime,
                    name,
                )
            }),
            private: request.chatwoot.private,
        };
        let body =
            serde_json::to_vec(&mirror).map_err(|e| Failure::permanent(format!("mirror: {e}")))?;
        let mut event = NewEvent::new(
            ctx.rt.id,
            Source::Api,
            format!("mirror:{}", message.id),
            format!("mirror:{chat}"),
            body,
        );
        event.kind = "mirror".to_owned();
        event.content_type = "application/json".to_owned();
        effects.push(Effect::Enqueue(event));
    }
    ctx.activity(ActivityKind::MessageSent(MessageSent {
        chatwoot_message_id: None,
        part: 0,
        wa_message_id: wa_id,
        chat: chat.to_string(),
        chatwoot_conversation_id: None,
        text: request.text.clone(),
        media,
        via: SentVia::Api,
        agent: None,
        api_message_id: Some(message.id.to_string()),
        idempotency_key: message.idempotency_key.clone(),
    }));
    Ok(Outcome::Done(effects))
}

/// On the last attempt a retryable failure becomes final. A final failure leaves the message
/// `failed` and is told as `delivery.failed`.
fn give_up_if_final(ctx: &mut Ctx<'_>, message: &ApiMessage, failure: Failure) -> Failure {
    let permanent = matches!(failure, Failure::Permanent { .. });
    if !permanent && !ctx.last_attempt() {
        return failure;
    }
    ctx.activity(ActivityKind::DeliveryFailed(DeliveryFailed {
        chatwoot_message_id: None,
        reason: failure.reason().to_owned(),
        chat: Some(message.chat_jid.clone()),
        chatwoot_conversation_id: None,
        via: SentVia::Api,
        api_message_id: Some(message.id.to_string()),
        idempotency_key: message.idempotency_key.clone(),
    }));
    if permanent {
        failure
    } else {
        Failure::permanent(failure.reason().to_owned())
    }
}

/// The message to send and its file (bytes, type, name).
async fn build(
    ctx: &Ctx<'_>,
    request: &SendRequest,
) -> Result<(OutgoingBody, Option<(Vec<u8>, String, String)>), Failure> {
    let text = request.text.clone().filter(|t| !t.trim().is_empty());
    let max = ctx.rt.options.max_media_bytes;
    let file = match &request.media {
        None => return Ok((OutgoingBody::Text(text.unwrap_or_default()), None)),
        Some(MediaInput::Inline {
            base64,
            mime,
            file_name,
        }) => {
            let bytes = decode(base64).map_err(|e| Failure::permanent(e.to_string()))?;
            (
                bytes,
                mime.clone(),
                file_name.clone().unwrap_or_else(|| "file".into()),
            )
        }
        Some(MediaInput::Url {
            url,
            file_name,
            mime,
        }) => {
            let _permit = ctx.media.reserve(max).await?;
            let fetched = ctx.media.fetch(url, &public_only(ctx.rt), max).await?;
            let bytes = match fetched.data {
                FetchedData::Memory(bytes) => bytes,
                FetchedData::Spooled(spool) => tokio::fs::read(&spool.path)
                    .await
                    .map_err(|e| Failure::retry(format!("reading spooled media: {e}")))?,
            };
            let mime = mime
                .clone()
                .or(fetched.content_type)
                .unwrap_or_else(|| "application/octet-stream".into());
            let name = file_name
                .clone()
                .or(fetched.file_name)
                .unwrap_or_else(|| "file".into());
            (bytes, mime, name)
        }
    };
    let (bytes, mime, name) = file;
    let media = File::new(bytes.clone(), mime.clone(), name.clone());
    let body = if mime == "image/webp" {
        OutgoingBody::Sticker(media)
    } else if mime.starts_with("image/") {
        OutgoingBody::Image(media, text)
    } else if mime.starts_with("video/") {
        OutgoingBody::Video(media, text)
    } else if mime.starts_with("audio/") {
        OutgoingBody::Audio(media, mime.contains("ogg") || mime.contains("opus"))
    } else {
        OutgoingBody::Document(media, text)
    };
    Ok((body, Some((bytes, mime, name))))
}

/// The quoted message: a WhatsApp id, or `chatwoot:<id>` of a bridged message.
async fn reply_ref(ctx: &Ctx<'_>, reply: Option<&str>) -> Result<Option<MessageRef>, Failure> {
    let Some(reply) = reply else {
        return Ok(None);
    };
    let maps = match reply.strip_prefix("chatwoot:") {
        Some(id) => {
            ctx.messages_by_chatwoot_id(id.parse().unwrap_or_default())
                .await?
        }
        None => ctx.messages_by_wa_id(reply).await?,
    };
    let found = maps.iter().find_map(|m| {
        m.message
            .wa_message_id
            .clone()
            .map(|wa| (wa, m.message.direction == Direction::Outgoing))
    });
    Ok(Some(match found {
        Some((wa, from_me)) => MessageRef::new(wa, from_me, None),
        None => MessageRef::new(reply, false, None),
    }))
}

async fn mirror(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Outcome, Failure> {
    let mirror: Mirror = serde_json::from_slice(body)
        .map_err(|e| Failure::permanent(format!("unreadable mirror: {e}")))?;
    let Some(message) = ctx.sends().get(mirror.id).await? else {
        return Ok(Outcome::Ignored("the API message is gone".into()));
    };
    if message.chatwoot_message_id.is_some() {
        return Ok(Outcome::Ignored("already mirrored".into()));
    }
    let chat = Jid::parse(&message.chat_jid)
        .map_err(|_| Failure::permanent("bad chat JID in API message"))?;
    let mut origin = Origin::default();
    origin.is_group = chat.is_group();
    origin.chat = Some(chat);
    origin.from_me = true;
    let party = identity::resolve(ctx, &origin).await?;
    let conversation = conversation::resolve(ctx, &party).await?;
    let source = source_id(message.id);
    let existing = if ctx.attempt > 1 {
        crate::inbound::find_by_source(ctx, conversation, &source).await?
    } else {
        None
    };
    let created = match existing {
        Some(found) => found.id,
        None => {
            let text = mirror
                .text
                .as_deref()
                .map(zapwoot_chatwoot::markdown::whatsapp_to_markdown)
                .unwrap_or_default();
            let mut new = CwMessage::outgoing(text).source_id(source);
            if mirror.private {
                new = new.private();
            }
            new.content_attributes.insert(
                "zapwoot".into(),
                json!({ "via": "api", "api_message_id": message.id.to_string() }),
            );
            if let Some((b64, mime, name)) = &mirror.file {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| Failure::permanent(format!("mirror file: {e}")))?;
                new = new.attach(Upload::new(name.clone(), mime.clone(), bytes));
            }
            ctx.chatwoot()
                .await
                .create_message(conversation, &new)
                .await?
                .id
        }
    };
    let id64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut mapping = NewMessage::intent(ctx.rt.id, message.chat_jid.clone(), Direction::Outgoing);
    mapping.wa_message_id = Some(mirror.wa_message_id);
    mapping.chatwoot_conversation_id = Some(id64(conversation));
    mapping.chatwoot_message_id = Some(id64(created));
    mapping.state = MessageState::Done;
    Ok(Outcome::Done(vec![
        Effect::Message(mapping),
        Effect::ApiMirrored {
            id: message.id,
            chatwoot_conversation_id: id64(conversation),
            chatwoot_message_id: id64(created),
        },
    ]))
}
