//! What a caller of the send API asks for, and the checks it passes before anything is
//! written: a recipient that is a phone number or a JID, text or a file, a file that fits.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zapwoot_gateway::Jid;

/// `POST /api/v1/instances/{name}/messages`: one message to one chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SendRequest {
    /// A phone number (digits, `+`, spaces, dashes and dots allowed), or a JID: phone
    /// (`…@s.whatsapp.net`), group (`…@g.us`) or `…@lid`.
    pub to: String,
    /// The text, in WhatsApp formatting (`*bold*`); with media, its caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A file to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaInput>,
    /// The message this one quotes: a WhatsApp id, or `chatwoot:<message id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// How it shows in Chatwoot.
    #[serde(default)]
    pub chatwoot: MirrorOptions,
}

/// A file: fetched from a URL, or given inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
#[non_exhaustive]
pub enum MediaInput {
    /// Fetched when the message is sent, from a public address (or one of the instance's
    /// `media_origins`).
    Url {
        /// `http(s)://…`
        url: String,
        /// The file name to show (default: the URL's last segment).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_name: Option<String>,
        /// The MIME type (default: what the server says).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mime: Option<String>,
    },
    /// The bytes themselves.
    Inline {
        /// Standard base64.
        base64: String,
        /// The MIME type.
        mime: String,
        /// The file name to show.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_name: Option<String>,
    },
}

impl MediaInput {
    /// A file given as its bytes (an upload), kept as base64 like [`MediaInput::Inline`].
    #[must_use]
    pub fn upload(bytes: &[u8], mime: impl Into<String>, file_name: Option<String>) -> Self {
        Self::Inline {
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            mime: mime.into(),
            file_name,
        }
    }
}

/// How an API message shows in Chatwoot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct MirrorOptions {
    /// Show it in the customer's conversation (default `true`).
    pub mirror: bool,
    /// Show it as a private note instead of an outgoing message (default `false`).
    pub private: bool,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        Self {
            mirror: true,
            private: false,
        }
    }
}

/// Why a request is refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
#[non_exhaustive]
pub struct RequestError {
    /// The field at fault (`to`, `text`, `media`, `media.url`, `reply_to`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
    /// The file is larger than the instance's `max_media_bytes` (answer 413, not 422).
    pub too_large: bool,
}

impl RequestError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
            too_large: false,
        }
    }
}

impl SendRequest {
    /// A text message to `to`.
    #[must_use]
    pub fn text(to: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            text: Some(text.into()),
            media: None,
            reply_to: None,
            chatwoot: MirrorOptions::default(),
        }
    }

    /// Checks what can be checked without the network; returns the chat it goes to.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn check(&self, max_media_bytes: u64) -> Result<Jid, RequestError> {
        let chat = recipient(&self.to)?;
        let has_text = self.text.as_deref().is_some_and(|t| !t.trim().is_empty());
        if !has_text && self.media.is_none() {
            return Err(RequestError::new("text", "give text or media (or both)"));
        }
        match &self.media {
            Some(MediaInput::Url { url, .. }) => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| RequestError::new("media.url", format!("not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(RequestError::new(
                        "media.url",
                        "only http(s) URLs with a host are fetched",
                    ));
                }
            }
            Some(MediaInput::Inline { base64, mime, .. }) => {
                if mime.trim().is_empty() || !mime.contains('/') {
                    return Err(RequestError::new(
                        "media.mime",
                        "a MIME type such as image/jpeg",
                    ));
                }
                // Decoded size, from the encoded length, before decoding anything.
                let estimate = (base64.len() as u64 / 4) * 3;
                if estimate > max_media_bytes.saturating_add(3) {
                    return Err(RequestError {
                        too_large: true,
                        ..RequestError::new(
                            "media",
                            format!(
                                "larger than this instance's max_media_bytes ({max_media_bytes})"
                            ),
                        )
                    });
                }
                let bytes = decode(base64)?;
                if bytes.is_empty() {
                    return Err(RequestError::new("media.base64", "empty file"));
                }
                if bytes.len() as u64 > max_media_bytes {
                    return Err(RequestError {
                        too_large: true,
                        ..RequestError::new(
                            "media",
                            format!(
                                "larger than this instance's max_media_bytes ({max_media_bytes})"
                            ),
                        )
                    });
                }
            }
            None => {}
        }
        if let Some(reply) = &self.reply_to {
            let ok = match reply.strip_prefix("chatwoot:") {
                Some(id) => id.parse::<u64>().is_ok(),
                None => !reply.trim().is_empty() && !reply.contains(char::is_whitespace),
            };
            if !ok {
                return Err(RequestError::new(
                    "reply_to",
                    "a WhatsApp message id or chatwoot:<message id>",
                ));
            }
        }
        Ok(chat)
    }
}

/// The bytes of inline media.
pub(crate) fn decode(base64: &str) -> Result<Vec<u8>, RequestError> {
    base64::engine::general_purpose::STANDARD
        .decode(base64.trim())
        .map_err(|e| RequestError::new("media.base64", format!("not base64: {e}")))
}

/// The chat a `to` names: a JID as given, or a phone number's JID.
fn recipient(to: &str) -> Result<Jid, RequestError> {
    let to = to.trim();
    if to.is_empty() {
        return Err(RequestError::new("to", "required"));
    }
    if to.contains('@') {
        let jid = Jid::parse(to).map_err(|e| RequestError::new("to", e.to_string()))?;
        if !(jid.is_user() || jid.is_group() || jid.is_lid()) {
            return Err(RequestError::new(
                "to",
                "a phone, group (@g.us) or @lid JID",
            ));
        }
        return Ok(jid.to_non_device());
    }
    let digits: String = to
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    if !(8..=15).contains(&digits.len())
        || !digits.chars().all(|c| c.is_ascii_digit())
        || digits.starts_with('0')
    {
        return Err(RequestError::new(
            "to",
            "a phone number in international form (country code first, 8 to 15 digits) or a JID",
        ));
    }
    Jid::parse(&format!("{digits}@s.whatsapp.net"))
        .map_err(|e| RequestError::new("to", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(request: &SendRequest) -> &'static str {
        request.check(1000).unwrap_err().field
    }

    #[test]
    fn recipients_are_phones_or_jids() {
        for (to, jid) in [
            ("5511987654321", "5511987654321@s.whatsapp.net"),
            ("+55 11 98765-4321", "5511987654321@s.whatsapp.net"),
            (
                "5511987654321@s.whatsapp.net",
                "5511987654321@s.whatsapp.net",
            ),
            ("120363025246125486@g.us", "120363025246125486@g.us"),
            ("123456789012345@lid", "123456789012345@lid"),
        ] {
            assert_eq!(
                SendRequest::text(to, "oi").check(1000).unwrap().to_string(),
                jid
            );
        }
        for bad in [
            "",
            "abc",
            "123",
            "0011987654321",
            "+55 11 9876x",
            "1234567890123456",
        ] {
            assert_eq!(field(&SendRequest::text(bad, "oi")), "to", "{bad:?}");
        }
    }

    #[test]
    fn text_or_media_and_sizes_are_checked() {
        assert_eq!(field(&SendRequest::text("5511987654321", "  ")), "text");
        let mut r = SendRequest::text("5511987654321", "");
        r.media = Some(MediaInput::Inline {
            base64: "not base64!".into(),
            mime: "image/jpeg".into(),
            file_name: None,
        });
        assert_eq!(field(&r), "media.base64");
        r.media = Some(MediaInput::Inline {
            base64: base64::engine::general_purpose::STANDARD.encode(vec![1u8; 2000]),
            mime: "image/jpeg".into(),
            file_name: None,
        });
        let e = r.check(1000).unwrap_err();
        assert!(e.too_large, "{e}");
        r.media = Some(MediaInput::Url {
            url: "ftp://example.com/x".into(),
            file_name: None,
            mime: None,
        });
        assert_eq!(field(&r), "media.url");
        r.media = None;
        r.text = Some("oi".into());
        r.reply_to = Some("chatwoot:abc".into());
        assert_eq!(field(&r), "reply_to");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<SendRequest>(r#"{"to": "5511987654321", "txt": "oi"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("txt"), "{e}");
    }
}
