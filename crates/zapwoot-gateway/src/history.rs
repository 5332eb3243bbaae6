//! What a gateway still holds of past chats: for recovering messages whose webhook never
//! arrived (gateways give up after a few tries) and for importing history.
//!
//! Each [`HistoryMessage`] carries the webhook body the gateway would have posted for it, so
//! the bridge parses it with the webhook parser and files it under the same dedupe key: a
//! late webhook and a recovered message are one event.

use crate::Jid;

/// A chat the gateway knows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChatSummary {
    /// The chat.
    pub jid: Jid,
    /// Its name, if the gateway has one.
    pub name: Option<String>,
    /// Time of its last message, unix seconds.
    pub last_message_at: Option<i64>,
}

/// A past message, as the webhook that would have carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryMessage {
    /// WhatsApp message id.
    pub id: String,
    /// When it was sent, unix seconds.
    pub timestamp: i64,
    /// `Content-Type` of [`webhook`](Self::webhook).
    pub content_type: &'static str,
    /// The webhook body, in the gateway's own format.
    pub webhook: Vec<u8>,
}

/// Formats unix seconds as RFC 3339 UTC (`2026-11-21T08:47:41Z`).
pub(crate) fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_round_trips() {
        for secs in [0, 951_782_400, 1_781_787_734, 4_107_542_399] {
            let text = super::rfc3339(secs);
            assert_eq!(
                crate::json::rfc3339(&text),
                Some(secs).filter(|s| *s > 31_536_000),
                "{text}"
            );
        }
        assert_eq!(super::rfc3339(1_781_787_734), "2026-06-18T13:02:14Z");
    }
}
