//! Secrets at rest: AES-256-GCM (`ring::aead`) with a key id, so keys can be rotated.
//!
//! A sealed value is the text `zw1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>`. The key id is
//! derived from the key (first 4 bytes of SHA-256 over a domain-separated key), so no id has
//! to be configured. The associated data binds a value to its column, so a sealed value
//! cannot be moved to another column and still open.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::digest;
use ring::rand::{SecureRandom as _, SystemRandom};

use crate::SealError;

const PREFIX: &str = "zw1";
const KEY_LEN: usize = 32;

/// One AES-256-GCM key and its id.
pub struct SealingKey {
    id: String,
    key: LessSafeKey,
}

impl SealingKey {
    /// Parses the base64 text of `ZAPWOOT_SECRET_KEY` (exactly 32 bytes once decoded).
    ///
    /// # Errors
    /// [`SealError::InvalidKey`] when the text is not base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::InvalidKey)?;
        Self::from_bytes(&bytes)
    }

    /// Uses 32 raw bytes as the key.
    ///
    /// # Errors
    /// [`SealError::InvalidKey`] unless `bytes` is 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != KEY_LEN {
            return Err(SealError::InvalidKey);
        }
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"zapwoot sealing key id\0");
        ctx.update(bytes);
        let digest = ctx.finish();
        let id = digest
            .as_ref()
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::InvalidKey)?;
        Ok(Self {
            id,
            key: LessSafeKey::new(unbound),
        })
    }

    /// Generates a random key and returns it with its base64 text (to be shown once).
    ///
    /// # Errors
    /// [`SealError::Random`] when the system generator fails.
    pub fn generate() -> Result<(Self, String), SealError> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SealError::Random)?;
        Ok((Self::from_bytes(&bytes)?, STANDARD.encode(bytes)))
    }

    /// The key's id, as written in sealed values (8 hex digits; not secret).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .field("key", &format_args!("[redacted]"))
            .finish()
    }
}

/// The current sealing key plus older keys that may still open values during a rotation.
#[derive(Debug)]
pub struct Sealer {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl Sealer {
    /// A sealer that seals and opens with `current`.
    #[must_use]
    pub fn new(current: SealingKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// Also opens values sealed under `key` (an older key being rotated out).
    #[must_use]
    pub fn with_previous(mut self, key: SealingKey) -> Self {
        self.previous.push(key);
        self
    }

    /// The id of the key new values are sealed with.
    #[must_use]
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Seals `plaintext` for the column named by `context`.
    pub(crate) fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut in_out = plaintext.to_vec();
        self.current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| SealError::Corrupt)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&in_out);
        Ok(format!(
            "{PREFIX}.{}.{}",
            self.current.id,
            STANDARD.encode(blob)
        ))
    }

    /// Opens a value sealed for `context`.
    pub(crate) fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(PREFIX), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Corrupt);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey {
                found: key_id.to_owned(),
                configured: self.configured_ids(),
            })?;
        let blob = STANDARD.decode(body).map_err(|_| SealError::Corrupt)?;
        let (nonce, ciphertext) = blob.split_at_checked(NONCE_LEN).ok_or(SealError::Corrupt)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Corrupt)?;
        let mut in_out = ciphertext.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| SealError::Corrupt)?;
        Ok(plain.to_vec())
    }

    /// `true` when `sealed` was sealed under an older key (re-seal it with the current one).
    pub(crate) fn is_stale(&self, sealed: &str) -> bool {
        sealed
            .split('.')
            .nth(1)
            .is_some_and(|id| id != self.current.id)
    }

    fn configured_ids(&self) -> String {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SealingKey {
        SealingKey::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn round_trip_and_context_binding() {
        let sealer = Sealer::new(key(1));
        let sealed = sealer.seal("instances.secrets", b"token-123").unwrap();
        assert!(sealed.starts_with(&format!("zw1.{}.", sealer.current_id())));
        assert!(!sealed.contains("token-123"));
        assert_eq!(
            sealer.open("instances.secrets", &sealed).unwrap(),
            b"token-123"
        );
        assert_eq!(
            sealer.open("subscriptions.secret", &sealed),
            Err(SealError::Corrupt)
        );
        // Fresh nonce every time.
        assert_ne!(
            sealed,
            sealer.seal("instances.secrets", b"token-123").unwrap()
        );
    }

    #[test]
    fn wrong_key_names_the_key_ids() {
        let sealed = Sealer::new(key(1)).seal("c", b"x").unwrap();
        let err = Sealer::new(key(2)).open("c", &sealed).unwrap_err();
        let SealError::UnknownKey { found, configured } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(found, key(1).id());
        assert_eq!(configured, key(2).id());
        assert!(err.to_string().contains("ZAPWOOT_SECRET_KEY"));
    }

    #[test]
    fn rotation_opens_old_values() {
        let old = Sealer::new(key(1));
        let sealed = old.seal("c", b"x").unwrap();
        let rotated = Sealer::new(key(2)).with_previous(key(1));
        assert_eq!(rotated.open("c", &sealed).unwrap(), b"x");
        assert!(rotated.is_stale(&sealed));
        assert!(!rotated.is_stale(&rotated.seal("c", b"x").unwrap()));
    }

    #[test]
    fn tampering_and_garbage_are_corrupt() {
        let sealer = Sealer::new(key(1));
        let sealed = sealer.seal("c", b"secret").unwrap();
        let mut chars: Vec<char> = sealed.chars().collect();
        let last = chars.len() - 3;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(sealer.open("c", &tampered), Err(SealError::Corrupt));
        let id = sealer.current_id().to_owned();
        for garbage in [
            "",
            "zw1",
            "plaintext",
            "zw1.x",
            &format!("zw1.{id}.!!"),
            &format!("zw1.{id}.AAAA"),
        ] {
            assert!(sealer.open("c", garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let (k, text) = SealingKey::generate().unwrap();
        assert_eq!(SealingKey::from_base64(&text).unwrap().id(), k.id());
        assert!(!format!("{k:?}").contains(&text));
        assert_eq!(
            SealingKey::from_base64("c2hvcnQ=").unwrap_err(),
            SealError::InvalidKey
        );
        assert_eq!(
            SealingKey::from_base64("***").unwrap_err(),
            SealError::InvalidKey
        );
    }
}
