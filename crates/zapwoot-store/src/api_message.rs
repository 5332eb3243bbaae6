//! Messages sent through the send API: one row each, with its idempotency key and what became
//! of it (the WhatsApp id once sent, the Chatwoot ids once mirrored). The work itself is an
//! `api` event in the queue, recorded in the same transaction as the row.

/// A message to accept ([`Sends::accept`](crate::Sends::accept)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewApiMessage {
    /// The instance that sends it.
    pub instance_id: i64,
    /// The caller's `Idempotency-Key`: a second request with it is the same message.
    pub idempotency_key: Option<String>,
    /// A digest of the request, to tell a repeat from another request under the same key.
    pub request_digest: String,
    /// The chat it goes to (its ordering lane).
    pub chat_jid: String,
}

impl NewApiMessage {
    /// A message of `instance_id` to `chat_jid`, its request summed up by `request_digest`.
    #[must_use]
    pub fn new(
        instance_id: i64,
        chat_jid: impl Into<String>,
        request_digest: impl Into<String>,
    ) -> Self {
        Self {
            instance_id,
            idempotency_key: None,
            request_digest: request_digest.into(),
            chat_jid: chat_jid.into(),
        }
    }
}

/// A message sent through the send API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiMessage {
    /// Its id (the API answers it as a string).
    pub id: i64,
    /// The instance that sends it.
    pub instance_id: i64,
    /// The caller's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// A digest of the request.
    pub request_digest: String,
    /// The `api` event that sends it.
    pub event_id: Option<i64>,
    /// The chat it goes to.
    pub chat_jid: String,
    /// The WhatsApp id, once the gateway took it.
    pub wa_message_id: Option<String>,
    /// The Chatwoot conversation of its mirror.
    pub chatwoot_conversation_id: Option<i64>,
    /// The Chatwoot message of its mirror.
    pub chatwoot_message_id: Option<i64>,
    /// Accepted, unix milliseconds.
    pub created_at_ms: i64,
    /// Last change, unix milliseconds.
    pub updated_at_ms: i64,
}

/// What [`Sends::accept`](crate::Sends::accept) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accepted {
    /// The message: new, or the one already accepted under the same idempotency key.
    pub message: ApiMessage,
    /// The idempotency key was taken: nothing was written.
    pub duplicate: bool,
}

/// The least time a send API message and its idempotency key are kept after their last
/// change, whatever the event retention: a repeat within it answers the same message.
pub const KEY_RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
