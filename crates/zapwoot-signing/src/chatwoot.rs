//! Chatwoot webhooks (v4.12+ account webhooks, v4.13+ API-inbox callbacks):
//! `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>`
//! with the unix seconds in `X-Chatwoot-Timestamp`.
//!
//! The key is the inbox's `secret` string, used as bytes. Chatwoot itself enforces no
//! tolerance; this crate rejects timestamps outside the keyring's tolerance
//! (default 5 minutes) in either direction.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use zapwoot_signing::{Keyring, Secret, VerifyError};
//!
//! let keys = Keyring::new(&Secret::from_bytes("inbox-secret-from-chatwoot")?);
//! let body = br#"{"event":"message_created","id":1}"#;
//! let signature = keys.sign_chatwoot(1_700_000_000, body);
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_060);
//! keys.verify_chatwoot_at(Some(signature.as_bytes()), Some(b"1700000000"), body, now)?;
//!
//! let later = now + Duration::from_secs(3600);
//! let err = keys.verify_chatwoot_at(Some(signature.as_bytes()), Some(b"1700000000"), body, later);
//! assert!(matches!(err, Err(VerifyError::TimestampTooOld { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::SystemTime;

use crate::hub::parse_sha256_hex;
use crate::{Keyring, VerifyError, hex, timestamp};

/// Header carrying `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-chatwoot-signature";
/// Header carrying the signed unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-chatwoot-timestamp";

impl Keyring {
    /// Signs `"{timestamp}.{body}"` with the primary key; returns the `X-Chatwoot-Signature`
    /// value. Send `timestamp` in decimal as `X-Chatwoot-Timestamp`.
    #[must_use]
    pub fn sign_chatwoot(&self, timestamp: u64, body: &[u8]) -> String {
        let timestamp = timestamp.to_string();
        let tag = self.sign_parts(&[timestamp.as_bytes(), b".", body]);
        format!("sha256={}", hex::encode(tag.as_ref()))
    }

    /// [`verify_chatwoot_at`](Self::verify_chatwoot_at) with the system clock.
    ///
    /// # Errors
    /// As [`verify_chatwoot_at`](Self::verify_chatwoot_at).
    pub fn verify_chatwoot(
        &self,
        signature: Option<&[u8]>,
        timestamp: Option<&[u8]>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        self.verify_chatwoot_at(signature, timestamp, body, SystemTime::now())
    }

    /// Verifies Chatwoot's signature over the raw timestamp header bytes, `.`, and the raw body,
    /// then checks the timestamp against `now` within the keyring's tolerance.
    ///
    /// # Errors
    /// [`VerifyError::MissingHeader`] / [`VerifyError::MalformedHeader`] for either header,
    /// [`VerifyError::NoMatch`] for a wrong signature, and
    /// [`VerifyError::TimestampTooOld`] / [`VerifyError::TimestampTooNew`] for an authentic
    /// but stale or future-dated request.
    pub fn verify_chatwoot_at(
        &self,
        signature: Option<&[u8]>,
        timestamp: Option<&[u8]>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let tag = parse_sha256_hex(SIGNATURE_HEADER, signature)?;
        let raw_timestamp = timestamp.ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))?;
        let seconds = timestamp::parse(TIMESTAMP_HEADER, raw_timestamp)?;
        let message = [raw_timestamp, b".", body].concat();
        if !self.matches(&message, &tag) {
            return Err(VerifyError::NoMatch);
        }
        timestamp::check(seconds, now, self.tolerance())
    }
}
