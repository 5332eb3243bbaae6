//! [`GatewayKind`]: which gateway an instance talks to, and the one entry per kind that
//! verifies and parses its webhooks. A third gateway is one module and one arm per match here.

use std::fmt;
use std::str::FromStr;

use zapwoot_signing::{Keyring, VerifyError};

use crate::{InboundEvent, Jid, ParseError, gowa, wuzapi};

/// Which gateway an instance talks to (stored and written as `wuzapi` / `gowa`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatewayKind {
    /// asternic/wuzapi.
    Wuzapi,
    /// aldinokemal/go-whatsapp-web-multidevice.
    Gowa,
}

/// A kind name that is neither `wuzapi` nor `gowa`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown gateway kind {0:?} (expected wuzapi or gowa)")]
pub struct UnknownGatewayKind(pub String);

/// A gateway webhook, verified and parsed, whichever gateway sent it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Webhook {
    /// The gateway's own event name (wuzapi `type`, GOWA `event`).
    pub event_name: String,
    /// Dedupe key for the whole delivery (the same delivery twice has the same key).
    pub dedupe_key: String,
    /// The normalized events.
    pub events: Vec<InboundEvent>,
    /// GOWA `device_id` (multi-device servers post every device to one URL).
    pub device_id: Option<String>,
}

impl Webhook {
    /// The ordering lane of the delivery: its first event's chat, or `_session`.
    #[must_use]
    pub fn lane(&self) -> String {
        self.events
            .first()
            .map_or_else(|| "_session".to_owned(), InboundEvent::lane)
    }
}

/// Why a gateway webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// Missing or wrong signature.
    #[error(transparent)]
    Signature(#[from] VerifyError),
    /// The body does not parse.
    #[error(transparent)]
    Malformed(#[from] ParseError),
}

impl GatewayKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 2] = [Self::Wuzapi, Self::Gowa];

    /// `wuzapi` or `gowa`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wuzapi => "wuzapi",
            Self::Gowa => "gowa",
        }
    }

    /// The header that carries this gateway's webhook signature.
    #[must_use]
    pub fn signature_header(self) -> &'static str {
        match self {
            Self::Wuzapi => wuzapi::SIGNATURE_HEADER,
            Self::Gowa => gowa::SIGNATURE_HEADER,
        }
    }

    /// Verifies a webhook's signature (when `keys` is set) and parses it: the one entry for
    /// webhooks that arrive over HTTP.
    ///
    /// # Errors
    /// [`WebhookError::Signature`] for a missing or wrong signature, [`WebhookError::Malformed`]
    /// for a body that does not parse.
    pub fn receive(
        self,
        keys: Option<&Keyring>,
        signature: Option<&[u8]>,
        content_type: &str,
        body: &[u8],
        own: Option<&Jid>,
    ) -> Result<Webhook, WebhookError> {
        if let Some(keys) = keys {
            match self {
                Self::Wuzapi => wuzapi::verify(keys, signature, body)?,
                Self::Gowa => gowa::verify(keys, signature, body)?,
            }
        }
        Ok(self.parse(content_type, body, own)?)
    }

    /// Parses a webhook body the caller already trusts (verified before, or fetched from the
    /// gateway itself). `own` is the bridged number (GOWA ≤ v7 tells own messages by it).
    ///
    /// # Errors
    /// [`ParseError`] for a body that does not parse.
    pub fn parse(
        self,
        content_type: &str,
        body: &[u8],
        own: Option<&Jid>,
    ) -> Result<Webhook, ParseError> {
        Ok(match self {
            Self::Wuzapi => {
                let w = wuzapi::parse(content_type, body)?;
                Webhook {
                    dedupe_key: w.dedupe_key(),
                    event_name: w.event_type,
                    events: w.events,
                    device_id: None,
                }
            }
            Self::Gowa => {
                let w = gowa::parse(body, own)?;
                Webhook {
                    dedupe_key: w.dedupe_key(),
                    event_name: w.event_name,
                    events: w.events,
                    device_id: w.device_id,
                }
            }
        })
    }

    /// The body as it may be kept: without any credential the gateway put in it (old wuzapi
    /// builds post the user token in every webhook).
    #[must_use]
    pub fn storable_body(self, content_type: &str, body: &[u8]) -> Vec<u8> {
        match self {
            Self::Wuzapi => {
                wuzapi::without_token(content_type, body).unwrap_or_else(|| body.to_vec())
            }
            Self::Gowa => body.to_vec(),
        }
    }
}

impl fmt::Display for GatewayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GatewayKind {
    type Err = UnknownGatewayKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownGatewayKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for kind in GatewayKind::ALL {
            assert_eq!(kind.as_str().parse::<GatewayKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        let err = "whatsmeow".parse::<GatewayKind>().unwrap_err();
        assert_eq!(err, UnknownGatewayKind("whatsmeow".into()));
        assert!(err.to_string().contains("whatsmeow"));
    }
}
