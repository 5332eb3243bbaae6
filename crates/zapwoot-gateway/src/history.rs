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
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
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
