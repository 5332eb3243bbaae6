//! [Standard Webhooks](https://www.standardwebhooks.com/) v1 symmetric signatures, used for
//! the bridge's own outbound webhooks.
//!
//! Signed content is `"{webhook-id}.{webhook-timestamp}.{raw body}"`; `webhook-signature`
//! holds one or more space-separated `v1,<base64>` entries (one per secret during a
//! rotation). Secrets are `whsec_<base64>` ([`Secret::from_standard`](crate::Secret::from_standard)).
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use zapwoot_signing::{Keyring, Secret};
//!
//! let keys = Keyring::new(&Secret::from_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?);
//! let body = br#"{"email":"test@example.com","username":"test_user"}"#;
//! let signature = keys.sign_standard("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, body)?;
//! assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
//!
//! let now = UNIX_EPOCH + Duration::from_secs(1_649_367_553);
//! keys.verify_standard_at(
//!     Some(b"msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
//!     Some(b"1649367553"),
//!     Some(signature.as_bytes()),
//!     body,
//!     now,
//! )?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::hex::TAG_LEN;
use crate::keyring::sign_parts;
use crate::{Keyring, SignError, VerifyError, timestamp};

/// Header carrying the message id (stable across retries: the receiver's dedupe key).
pub const ID_HEADER: &str = "webhook-id";
/// Header carrying the attempt's unix seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Header carrying the space-separated `v1,<base64>` signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// At most this many signature entries are examined; a longer header is refused.
const MAX_SIGNATURES: usize = 32;
/// Longest message id accepted when signing.
const MAX_ID_LEN: usize = 256;

impl Keyring {
    /// Signs a message with **every** key in the keyring (primary first) and returns the
    /// `webhook-signature` value, e.g. `v1,<base64> v1,<base64>` during a rotation.
    ///
    /// # Errors
    /// [`SignError::InvalidMessageId`] unless `id` is 1–256 printable ASCII characters
    /// without `.`, `,` or spaces.
    pub fn sign_standard(
        &self,
        id: &str,
        timestamp: u64,
        body: &[u8],
    ) -> Result<String, SignError> {
        validate_id(id)?;
        let timestamp = timestamp.to_string();
        let parts: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
        let signatures: Vec<String> = self
            .keys()
            .map(|key| format!("v1,{}", STANDARD.encode(sign_parts(key, &parts))))
            .collect();
        Ok(signatures.join(" "))
    }

    /// [`verify_standard_at`](Self::verify_standard_at) with the system clock.
    ///
    /// # Errors
    /// As [`verify_standard_at`](Self::verify_standard_at).
    pub fn verify_standard(
        &self,
        id: Option<&[u8]>,
        timestamp: Option<&[u8]>,
        signature: Option<&[u8]>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        self.verify_standard_at(id, timestamp, signature, body, SystemTime::now())
    }

    /// Verifies a Standard Webhooks request: passes when any `v1` entry of `signature`
    /// matches any key, and the timestamp lies within the tolerance of `now`.
    /// Entries of other versions (`v1a`, …) are ignored.
    ///
    /// # Errors
    /// [`VerifyError::MissingHeader`] / [`VerifyError::MalformedHeader`] for any of the three
    /// headers (a signature header with no `v1` entry is malformed), [`VerifyError::NoMatch`],
    /// [`VerifyError::TimestampTooOld`] / [`VerifyError::TimestampTooNew`].
    pub fn verify_standard_at(
        &self,
        id: Option<&[u8]>,
        timestamp: Option<&[u8]>,
        signature: Option<&[u8]>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let id = id.ok_or(VerifyError::MissingHeader(ID_HEADER))?;
        if id.is_empty() {
            return Err(VerifyError::MalformedHeader {
                header: ID_HEADER,
                reason: "empty message id",
            });
        }
        let raw_timestamp = timestamp.ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))?;
        let seconds = timestamp::parse(TIMESTAMP_HEADER, raw_timestamp)?;
        let signature = signature.ok_or(VerifyError::MissingHeader(SIGNATURE_HEADER))?;
        let candidates = parse_signatures(signature)?;

        let message = [id, b".", raw_timestamp, b".", body].concat();
        let matched = candidates
            .iter()
            .flatten()
            .fold(false, |found, tag| self.matches(&message, tag) | found);
        if !matched {
            return Err(VerifyError::NoMatch);
        }
        timestamp::check(seconds, now, self.tolerance())
    }
}

/// Splits the header into its `v1` entries. An entry whose base64 is bad or whose length is
/// wrong can never match and is kept as `None`, so it counts as present but fails.
fn parse_signatures(value: &[u8]) -> Result<Vec<Option<[u8; TAG_LEN]>>, VerifyError> {
    let malformed = |reason| VerifyError::MalformedHeader {
        header: SIGNATURE_HEADER,
        reason,
    };
    let entries: Vec<&[u8]> = value
        .split(|&b| b == b' ')
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.len() > MAX_SIGNATURES {
        return Err(malformed("too many signatures"));
    }
    let v1: Vec<Option<[u8; TAG_LEN]>> = entries
        .into_iter()
        .filter_map(|entry| entry.strip_prefix(b"v1,"))
        .map(|encoded| {
            STANDARD
                .decode(encoded)
                .ok()
                .and_then(|bytes| <[u8; TAG_LEN]>::try_from(bytes.as_slice()).ok())
        })
        .collect();
    if v1.is_empty() {
        return Err(malformed("no `v1,<base64>` signature"));
    }
    Ok(v1)
}

fn validate_id(id: &str) -> Result<(), SignError> {
    if id.is_empty() {
        return Err(SignError::InvalidMessageId("empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(SignError::InvalidMessageId("longer than 256 bytes"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'.' && b != b',')
    {
        return Err(SignError::InvalidMessageId(
            "only printable ASCII without `.`, `,` or spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_validation() {
        assert!(validate_id("msg_1").is_ok());
        assert!(validate_id("").is_err());
        assert!(validate_id("a.b").is_err());
        assert!(validate_id("a b").is_err());
        assert!(validate_id("a,b").is_err());
        assert!(validate_id("é").is_err());
        assert!(validate_id(&"x".repeat(257)).is_err());
        assert!(validate_id(&"x".repeat(256)).is_ok());
    }

    #[test]
    fn signature_list_parsing() {
        assert!(parse_signatures(b"").is_err());
        assert!(parse_signatures(b"   ").is_err());
        assert!(parse_signatures(b"v1a,abc").is_err());
        assert_eq!(parse_signatures(b"v1,").unwrap(), vec![None]);
        assert_eq!(parse_signatures(b"v1,!!! v1a,x").unwrap(), vec![None]);
        let many = vec!["v1,AAAA"; 33].join(" ");
        assert!(parse_signatures(many.as_bytes()).is_err());
    }
}
