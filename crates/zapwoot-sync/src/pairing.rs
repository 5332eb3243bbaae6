//! Pairing a phone through an instance's gateway, shared by every front end (the admin API,
//! the CLI, the commands typed in Chatwoot): the QR code on show, linking codes, and what a
//! pairing call means for the session record.
//!
//! On GOWA each login call restarts the QR flow, so the code handed out is kept on the
//! instance's runtime while valid and handed out again ([`InstanceRuntime::login_qr`]).

use std::sync::PoisonError;

use zapwoot_gateway::{GatewayKind, QrCode};
use zapwoot_store::{ConnectionRecord, ObservedConnection, SessionState};

use crate::InstanceRuntime;

/// A QR code to show, and until when it is valid.
#[derive(Debug, Clone)]
pub struct ShownQr {
    /// The code, as the gateway drew it.
    pub qr: QrCode,
    /// Unix milliseconds after which the phone no longer accepts it (when the gateway says).
    pub expires_at_ms: Option<i64>,
}

/// A phone number that cannot be paired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the phone number to pair, in international format with the country code (8 to 15 digits)")]
pub struct InvalidPhone;

/// The international digits of a phone number as typed (`+55 (11) 99999-0000`).
///
/// # Errors
/// [`InvalidPhone`] unless 8 to 15 digits remain once `+`, spaces, dashes, dots and brackets
/// are taken out.
pub fn phone_digits(phone: &str) -> Result<String, InvalidPhone> {
    let digits: String = phone
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidPhone);
    }
    Ok(digits)
}

/// What to record when a pairing starts (`how`: "QR code asked for"…): `None` when the
/// record says pairing already.
#[must_use]
pub fn pairing_started(
    instance_id: i64,
    current: Option<&ConnectionRecord>,
    how: &str,
) -> Option<ObservedConnection> {
    if current.is_some_and(|c| c.state == SessionState::Pairing) {
        return None;
    }
    Some(ObservedConnection::new(
        instance_id,
        SessionState::Pairing,
        how,
    ))
}

/// What to record once the session was logged out through zapwoot.
#[must_use]
pub fn logged_out(instance_id: i64, by: &str) -> ObservedConnection {
    let mut seen = ObservedConnection::new(instance_id, SessionState::LoggedOut, "logout");
    seen.reason = Some(format!("logged out through {by}"));
    seen
}

impl InstanceRuntime {
    /// The QR code to scan now (`now_ms`: unix milliseconds): on GOWA the one on show while
    /// it stays valid for another second, else a new one from the gateway.
    ///
    /// # Errors
    /// The gateway's ([`zapwoot_gateway::Error::AlreadyPaired`] when logged in).
    pub async fn login_qr(&self, now_ms: i64) -> Result<ShownQr, zapwoot_gateway::Error> {
        if self.kind == GatewayKind::Gowa
            && let Some(shown) = self.qr_on_show(now_ms)
        {
            return Ok(shown);
        }
        let qr = self.gateway.login_qr().await?;
        let expires_at_ms = qr
            .valid_for
            .map(|d| now_ms + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
        let shown = ShownQr { qr, expires_at_ms };
        if self.kind == GatewayKind::Gowa {
            *self.qr_shown.lock().unwrap_or_else(PoisonError::into_inner) = Some(shown.clone());
        }
        Ok(shown)
    }

    /// The code on show, while it stays valid for another second.
    fn qr_on_show(&self, now_ms: i64) -> Option<ShownQr> {
        let mut shown = self.qr_shown.lock().unwrap_or_else(PoisonError::into_inner);
        if shown
            .as_ref()
            .is_some_and(|s| s.expires_at_ms.is_some_and(|at| at > now_ms + 1_000))
        {
            return shown.clone();
        }
        *shown = None;
        None
    }

    /// Forgets the QR code on show (paired, logged out, a linking code asked for instead).
    pub fn forget_qr(&self) {
        *self.qr_shown.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_international_digits() {
        assert_eq!(
            phone_digits("+55 (11) 99999-0000").unwrap(),
            "5511999990000"
        );
        assert_eq!(phone_digits("12345"), Err(InvalidPhone));
        assert!(phone_digits("55119999900001234").is_err());
        assert!(phone_digits("5511abc990000").is_err());
    }
}
