//! [`Secret`]: key material that never prints itself.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::SecretError;

/// Prefix of Standard Webhooks secrets (`whsec_<base64>`).
const STANDARD_PREFIX: &str = "whsec_";

/// Length in bytes of a generated secret (Standard Webhooks allows 24 to 64).
pub(crate) const GENERATED_LEN: usize = 32;

/// A non-empty HMAC key.
///
/// `Debug` and `Display` print `[redacted]`; the bytes are reachable only through the
/// explicitly named [`expose_bytes`](Self::expose_bytes) and
/// [`expose_standard`](Self::expose_standard).
///
/// Which constructor to use depends on how the upstream derives its key:
/// Chatwoot, wuzapi and GOWA (and GitHub) use the configured string's bytes as they are
/// ([`Secret::from_bytes`]); Standard Webhooks base64-decodes the part after `whsec_`
/// ([`Secret::from_standard`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    bytes: Box<[u8]>,
}

impl Secret {
    /// Uses `bytes` as the key as they are (a UTF-8 string's bytes for Chatwoot, wuzapi, GOWA).
    ///
    /// # Errors
    /// [`SecretError::Empty`] when `bytes` is empty.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self {
            bytes: bytes.into_boxed_slice(),
        })
    }

    /// Parses a Standard Webhooks secret: optional `whsec_` prefix, then standard base64.
    ///
    /// # Errors
    /// [`SecretError::InvalidBase64`] when the text is not base64, [`SecretError::Empty`]
    /// when it decodes to nothing.
    pub fn from_standard(text: &str) -> Result<Self, SecretError> {
        let body = text.strip_prefix(STANDARD_PREFIX).unwrap_or(text);
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| SecretError::InvalidBase64)?;
        Self::from_bytes(bytes)
    }

    /// Generates a fresh 32-byte secret from the operating system's random number generator.
    ///
    /// # Errors
    /// [`SecretError::Random`] when the system generator fails.
    pub fn generate() -> Result<Self, SecretError> {
        let mut bytes = vec![0u8; GENERATED_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SecretError::Random)?;
        Self::from_bytes(bytes)
    }

    /// The raw key bytes. Named so that every place that reveals a secret is easy to find.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The key as a Standard Webhooks string, `whsec_<base64>`.
    #[must_use]
    pub fn expose_standard(&self) -> String {
        format!("{STANDARD_PREFIX}{}", STANDARD.encode(&self.bytes))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_itself() {
        let secret = Secret::from_bytes("hunter2-hunter2").unwrap();
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(format!("{secret:#?}"), "Secret([redacted])");
        assert!(!format!("{:?}", Some(&secret)).contains("hunter2"));
    }

    #[test]
    fn standard_round_trip() {
        let text = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        let secret = Secret::from_standard(text).unwrap();
        assert_eq!(secret.expose_bytes().len(), 24);
        assert_eq!(secret.expose_standard(), text);
        // The prefix is optional.
        assert_eq!(
            Secret::from_standard("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap(),
            secret
        );
    }

    #[test]
    fn rejects_empty_and_bad_base64() {
        assert_eq!(Secret::from_bytes(Vec::new()), Err(SecretError::Empty));
        assert_eq!(Secret::from_standard("whsec_"), Err(SecretError::Empty));
        assert_eq!(
            Secret::from_standard("whsec_***"),
            Err(SecretError::InvalidBase64)
        );
        assert_eq!(
            Secret::from_standard("whsec_abc"),
            Err(SecretError::InvalidBase64)
        );
    }

    #[test]
    fn generated_secrets_are_distinct_and_sized() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_eq!(a.expose_bytes().len(), GENERATED_LEN);
        assert_ne!(a, b);
        assert!(a.expose_standard().starts_with("whsec_"));
        assert_eq!(Secret::from_standard(&a.expose_standard()).unwrap(), a);
    }
}
