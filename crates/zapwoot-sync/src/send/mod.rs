//! The send API: a message a CRM or bot asks zapwoot to send. It is accepted durably (an
//! `api` event in the chat's lane, idempotent by key), sent to WhatsApp in the chat's order,
//! then mirrored into the customer's Chatwoot conversation by a second event in its own lane,
//! so Chatwoot being down never holds a WhatsApp send up.

mod request;
mod steps;

use serde::Serialize;
use zapwoot_store::{
    ApiMessage, EventStatus, NewApiMessage, NewEvent, ReceiptLevel, Source, Store, StoreError,
};

pub use request::{MediaInput, MirrorOptions, RequestError, SendRequest};
pub(crate) use steps::handle;

use crate::media::sha256_hex;
use crate::{Engine, InstanceRuntime};

/// Why a send was not accepted; nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The request is malformed (422, or 413 when its file is too large).
    #[error(transparent)]
    Invalid(#[from] RequestError),
    /// The idempotency key was used for another request (422).
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
    /// The instance's queue is full (429); try again after `retry_after_secs`.
    #[error("{queued} messages are queued for this instance; try again later")]
    Busy {
        /// Messages queued.
        queued: u64,
        /// Seconds until there is room.
        retry_after_secs: u64,
    },
    /// The store failed (503).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What accepting a send answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accepted {
    /// The message id (as the API answers it).
    pub id: String,
    /// The same idempotency key and request were seen before: nothing new was queued.
    pub repeat: bool,
}

/// Checks and records a send for `runtime`'s instance. When this returns `Ok`, the message is
/// durable: it is sent even if the process dies now.
///
/// A media URL is followed now (every redirect hop under the address guard) to learn that it
/// answers and that its declared size fits; the file itself is fetched when the message is
/// sent.
///
/// # Errors
/// [`AcceptError`]: bad input, a reused key, a full queue, the store.
pub async fn accept(
    engine: &Engine,
    runtime: &InstanceRuntime,
    request: &SendRequest,
    idempotency_key: Option<&str>,
) -> Result<Accepted, AcceptError> {
    let store = engine.store();
    let chat = request.check(runtime.options.max_media_bytes)?;
    if let Some(MediaInput::Url { url, .. }) = &request.media {
        steps::guard_url(runtime, url).await?;
        steps::probe_url(engine.media(), runtime, url).await?;
    }
    if let Some(reply) = &request.reply_to
        && let Some(id) = reply.strip_prefix("chatwoot:")
    {
        let id = id.parse::<i64>().unwrap_or_default();
        let known = store
            .mappings()
            .messages_by_chatwoot_id(runtime.id, id)
            .await?;
        if !known.iter().any(|m| m.message.wa_message_id.is_some()) {
            return Err(
                RequestError::new("reply_to", "no bridged message has this Chatwoot id").into(),
            );
        }
    }
    let body = serde_json::to_vec(request).map_err(|e| RequestError::new("body", e.to_string()))?;
    let digest = sha256_hex(&body);
    if let Some(key) = idempotency_key
        && let Some(seen) = repeat(store, runtime.id, key, &digest).await?
    {
        return Ok(seen);
    }
    let queued = store.sends().queued(runtime.id).await?;
    if queued >= u64::from(runtime.options.send_queue_limit) {
        let rate = u64::from(runtime.options.send_rate_per_minute.max(1));
        return Err(AcceptError::Busy {
            queued,
            retry_after_secs: (queued + 1 - u64::from(runtime.options.send_queue_limit))
                .saturating_mul(60)
                .div_ceil(rate)
                .max(1),
        });
    }
    let mut message = NewApiMessage::new(runtime.id, chat.to_string(), digest.clone());
    message.idempotency_key = idempotency_key.map(str::to_owned);
    let mut event = NewEvent::new(runtime.id, Source::Api, "", chat.to_string(), body);
    event.kind = "send".to_owned();
    event.content_type = "application/json".to_owned();
    let accepted = store.sends().accept(message, event).await?;
    if accepted.duplicate && accepted.message.request_digest != digest {
        return Err(AcceptError::KeyReused);
    }
    Ok(Accepted {
        id: accepted.message.id.to_string(),
        repeat: accepted.duplicate,
    })
}

/// A message already accepted under `key`: the same answer again, or a refusal when the
/// request differs.
async fn repeat(
    store: &Store,
    instance_id: i64,
    key: &str,
    digest: &str,
) -> Result<Option<Accepted>, AcceptError> {
    let Some(found) = store.sends().by_key(instance_id, key).await? else {
        return Ok(None);
    };
    if found.request_digest != digest {
        return Err(AcceptError::KeyReused);
    }
    Ok(Some(Accepted {
        id: found.id.to_string(),
        repeat: true,
    }))
}

/// Where a message sent through the API stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SendStatus {
    /// The message id.
    pub id: String,
    /// `queued`, `sent`, `delivered`, `read` or `failed`.
    pub status: &'static str,
    /// The chat.
    pub chat: String,
    /// The WhatsApp id, once sent.
    pub wa_message_id: Option<String>,
    /// The Chatwoot conversation of its mirror.
    pub chatwoot_conversation_id: Option<i64>,
    /// The Chatwoot message of its mirror.
    pub chatwoot_message_id: Option<i64>,
    /// Why it failed.
    pub reason: Option<String>,
    /// The request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// The status of message `id` of instance `instance_id`; `None` when it is not one of its
/// messages.
///
/// # Errors
/// The store failed.
pub async fn status(
    store: &Store,
    instance_id: i64,
    id: &str,
) -> Result<Option<SendStatus>, StoreError> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let Some(message) = store.sends().get(id).await? else {
        return Ok(None);
    };
    if message.instance_id != instance_id {
        return Ok(None);
    }
    let (status, reason) = match &message.wa_message_id {
        Some(wa) => {
            let level = store
                .mappings()
                .messages_by_wa_id(instance_id, wa)
                .await?
                .iter()
                .map(|m| m.delivery)
                .max();
            let status = match level {
                Some(l) if l >= ReceiptLevel::Read => "read",
                Some(l) if l >= ReceiptLevel::Delivered => "delivered",
                _ => "sent",
            };
            (status, None)
        }
        None => unsent(store, &message).await?,
    };
    Ok(Some(SendStatus {
        id: message.id.to_string(),
        status,
        chat: message.chat_jid,
        wa_message_id: message.wa_message_id,
        chatwoot_conversation_id: message.chatwoot_conversation_id,
        chatwoot_message_id: message.chatwoot_message_id,
        reason,
        idempotency_key: message.idempotency_key,
    }))
}

async fn unsent(
    store: &Store,
    message: &ApiMessage,
) -> Result<(&'static str, Option<String>), StoreError> {
    let Some(event_id) = message.event_id else {
        return Ok(("queued", None));
    };
    let event = store.events().get(event_id).await?;
    Ok(match event {
        Some(e) if matches!(e.status, EventStatus::Dead | EventStatus::Ignored) => {
            ("failed", e.last_error)
        }
        _ => ("queued", None),
    })
}
