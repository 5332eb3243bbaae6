//! [`Keyring`]: the secrets in force for one webhook source, and the shared HMAC primitives.

use std::fmt;
use std::time::Duration;

use ring::hmac;

use crate::Secret;
use crate::hex::TAG_LEN;

/// Default timestamp tolerance for timestamped schemes: 5 minutes in either direction.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// One or more HMAC-SHA256 keys, the first being the primary, plus the timestamp tolerance.
///
/// Verification accepts a signature made with **any** key (so a secret can be rotated
/// without downtime); signing uses the primary key, except Standard Webhooks signing,
/// which emits one signature per key.
///
/// Signing and verifying methods live with their scheme: [`crate::hub`],
/// [`crate::plain_hex`], [`crate::chatwoot`] and [`crate::standard`].
#[derive(Clone)]
pub struct Keyring {
    primary: hmac::Key,
    others: Vec<hmac::Key>,
    tolerance: Duration,
}

impl Keyring {
    /// A keyring holding one secret, with the default tolerance.
    #[must_use]
    pub fn new(secret: &Secret) -> Self {
        Self {
            primary: key(secret),
            others: Vec::new(),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// A keyring from several secrets, the first being the primary; `None` when there are none.
    pub fn from_secrets<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Option<Self> {
        let mut secrets = secrets.into_iter();
        let mut ring = Self::new(secrets.next()?);
        ring.others.extend(secrets.map(key));
        Some(ring)
    }

    /// Adds a further accepted secret (for example the previous one during a rotation).
    #[must_use]
    pub fn with_secret(mut self, secret: &Secret) -> Self {
        self.others.push(key(secret));
        self
    }

    /// Sets how far a signed timestamp may be from the verifier's clock, in either direction.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The timestamp tolerance in force.
    #[must_use]
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// How many secrets the keyring holds (at least one).
    #[must_use]
    pub fn len(&self) -> usize {
        1 + self.others.len()
    }

    /// Always `false`: a keyring holds at least one secret. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &hmac::Key> {
        std::iter::once(&self.primary).chain(&self.others)
    }

    /// HMAC of the concatenation of `parts` under the primary key.
    pub(crate) fn sign_parts(&self, parts: &[&[u8]]) -> hmac::Tag {
        sign_parts(&self.primary, parts)
    }

    /// Constant-time check of `tag` against every key, over `message`.
    pub(crate) fn matches(&self, message: &[u8], tag: &[u8; TAG_LEN]) -> bool {
        // Every key is tried (no early exit) so timing does not reveal which key matched.
        self.keys().fold(false, |found, key| {
            hmac::verify(key, message, tag).is_ok() | found
        })
    }
}

pub(crate) fn sign_parts(key: &hmac::Key, parts: &[&[u8]]) -> hmac::Tag {
    let mut context = hmac::Context::with_key(key);
    for part in parts {
        context.update(part);
    }
    context.sign()
}

fn key(secret: &Secret) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret.expose_bytes())
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("secrets", &format_args!("{} [redacted]", self.len()))
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_count_not_keys() {
        let a = Secret::from_bytes("alpha-secret").unwrap();
        let b = Secret::from_bytes("bravo-secret").unwrap();
        let ring = Keyring::new(&a).with_secret(&b);
        let text = format!("{ring:?}");
        assert!(text.contains("2 [redacted]"), "{text}");
        assert!(!text.contains("alpha") && !text.contains("bravo"), "{text}");
    }

    #[test]
    fn from_secrets_needs_one() {
        assert!(Keyring::from_secrets([]).is_none());
        let a = Secret::from_bytes("a").unwrap();
        let b = Secret::from_bytes("b").unwrap();
        assert_eq!(Keyring::from_secrets([&a, &b]).unwrap().len(), 2);
        assert!(!Keyring::new(&a).is_empty());
    }

    #[test]
    fn matches_any_key() {
        let a = Secret::from_bytes("a").unwrap();
        let b = Secret::from_bytes("b").unwrap();
        let c = Secret::from_bytes("c").unwrap();
        let tag = Keyring::new(&b).sign_parts(&[b"hello"]);
        let tag: [u8; TAG_LEN] = tag.as_ref().try_into().unwrap();
        assert!(Keyring::new(&a).with_secret(&b).matches(b"hello", &tag));
        assert!(!Keyring::new(&a).with_secret(&c).matches(b"hello", &tag));
        assert!(!Keyring::new(&b).matches(b"hellO", &tag));
    }
}
