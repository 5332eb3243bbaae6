//! Turning webhook bytes into a stored event: verify the signature over the raw body, parse
//! just enough for the dedupe key and the lane, and build the [`NewEvent`] to record. No HTTP.

use zapwoot_chatwoot::webhook::Event;
use zapwoot_gateway::{InboundEvent, Webhook, WebhookError};
use zapwoot_signing::VerifyError;
use zapwoot_store::{NewEvent, Source, Store};

use crate::InstanceRuntime;

/// Why a webhook is refused. Maps to 401 (signature) or 400 (body); never echoes secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// Signature missing or wrong.
    #[error("signature rejected: {0}")]
    Unauthorized(#[from] VerifyError),
    /// The body is not a webhook of the expected kind.
    #[error("malformed webhook: {0}")]
    Malformed(String),
    /// The store could not be read to find the lane.
    #[error(transparent)]
    Store(#[from] zapwoot_store::StoreError),
}

/// Headers the ingest needs (values as raw bytes).
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct WebhookHeaders<'a> {
    /// `Content-Type`.
    pub content_type: &'a str,
    /// The gateway's signature header (`x-hmac-signature` or `X-Hub-Signature-256`).
    pub gateway_signature: Option<&'a [u8]>,
    /// `X-Chatwoot-Signature`.
    pub chatwoot_signature: Option<&'a [u8]>,
    /// `X-Chatwoot-Timestamp`.
    pub chatwoot_timestamp: Option<&'a [u8]>,
}

/// A gateway webhook, verified and ready to record, and the GOWA device it names.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PreparedEvent {
    /// The event to record.
    pub event: NewEvent,
    /// GOWA `device_id` (route multi-device servers by it).
    pub device_id: Option<String>,
}

/// Verifies and prepares a gateway webhook for `runtime`'s instance.
///
/// # Errors
/// [`IngestError::Unauthorized`] for a missing/wrong signature when the instance has keys;
/// [`IngestError::Malformed`] when the body does not parse.
pub fn prepare_gateway(
    runtime: &InstanceRuntime,
    headers: WebhookHeaders<'_>,
    body: &[u8],
) -> Result<PreparedEvent, IngestError> {
    let webhook = runtime
        .kind
        .receive(
            runtime.gateway_keys.as_ref(),
            headers.gateway_signature,
            headers.content_type,
            body,
            runtime.own_jid.as_ref(),
        )
        .map_err(|e| match e {
            WebhookError::Signature(e) => IngestError::from(e),
            WebhookError::Malformed(e) => IngestError::Malformed(e.to_string()),
            other => IngestError::Malformed(other.to_string()),
        })?;
    Ok(prepared(runtime, headers.content_type, body, webhook))
}

/// Prepares a gateway webhook body the bridge obtained itself (from the gateway's history),
/// so there is no signature to check: same parser, same dedupe key, same lane.
pub(crate) fn prepare_trusted_gateway(
    runtime: &InstanceRuntime,
    content_type: &str,
    body: &[u8],
) -> Result<PreparedEvent, IngestError> {
    let webhook = runtime
        .kind
        .parse(content_type, body, runtime.own_jid.as_ref())
        .map_err(|e| IngestError::Malformed(e.to_string()))?;
    Ok(prepared(runtime, content_type, body, webhook))
}

fn prepared(
    runtime: &InstanceRuntime,
    content_type: &str,
    body: &[u8],
    webhook: Webhook,
) -> PreparedEvent {
    let lane = webhook.lane();
    // Verified over the raw bytes already; what is kept needs no credential in it.
    let body = runtime.kind.storable_body(content_type, body);
    let mut dedupe_key = webhook.dedupe_key;
    if webhook.events.iter().any(|e| {
        matches!(e, InboundEvent::Presence(_))
            || matches!(e, InboundEvent::Connection(c) if c.timestamp.is_none())
    }) {
        // Presence and wuzapi's session events carry no time: each delivery is its own event,
        // like typing (a second `Connected` an hour later is news; a repeat changes nothing,
        // the session record being idempotent).
        dedupe_key = crate::typing::received_key(&dedupe_key, now_ms());
    }
    let mut event = NewEvent::new(runtime.id, Source::Gateway, dedupe_key, lane, body);
    event.kind = webhook.event_name;
    event.content_type = content_type.to_owned();
    PreparedEvent {
        event,
        device_id: webhook.device_id,
    }
}

/// Verifies and prepares a Chatwoot webhook. Its lane is the WhatsApp chat of the conversation
/// when known, so both directions of one chat stay in order.
///
/// # Errors
/// As [`prepare_gateway`], plus [`IngestError::Store`].
pub async fn prepare_chatwoot(
    runtime: &InstanceRuntime,
    store: &Store,
    headers: WebhookHeaders<'_>,
    body: &[u8],
) -> Result<NewEvent, IngestError> {
    if let Some(keys) = &runtime.chatwoot_keys {
        keys.verify_chatwoot(headers.chatwoot_signature, headers.chatwoot_timestamp, body)?;
    }
    let event = zapwoot_chatwoot::webhook::parse(body)
        .map_err(|e| IngestError::Malformed(e.to_string()))?;
    let lane = match event.conversation_id() {
        Some(conversation) => {
            let mapped = store
                .mappings()
                .conversation_by_chatwoot_id(
                    runtime.id,
                    i64::try_from(conversation).unwrap_or(i64::MAX),
                )
                .await?;
            mapped.map_or_else(|| format!("cw:{conversation}"), |c| c.conversation.chat_jid)
        }
        None => "_chatwoot".to_owned(),
    };
    let mut dedupe_key = event.dedupe_key();
    if matches!(
        event,
        Event::ConversationTypingOn(_) | Event::ConversationTypingOff(_)
    ) {
        // Typing sessions repeat identical webhooks: each delivery is its own event, and
        // the typing step throttles repeats.
        dedupe_key = crate::typing::received_key(&dedupe_key, now_ms());
    }
    if runtime.chatwoot_keys.is_none() {
        // Unsigned, anyone could post a body under the key of a message an agent is about to
        // write and have the real webhook dropped as its duplicate. Keyed by the body too,
        // only the same bytes are a duplicate; the engine's effects are idempotent for the rest.
        dedupe_key = format!("{dedupe_key}#body{:016x}", fnv1a(body));
    }
    let mut new = NewEvent::new(
        runtime.id,
        Source::Chatwoot,
        dedupe_key,
        lane,
        body.to_vec(),
    );
    new.kind = event.name().to_owned();
    new.content_type = headers.content_type.to_owned();
    Ok(new)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
