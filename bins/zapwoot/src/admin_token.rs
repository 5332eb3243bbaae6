//! The admin bearer token, held as an HMAC tag under a random per-process key so checking a
//! presented token is a constant-time tag verification (no early exit on the first wrong
//! byte, no length leak).

use std::fmt;

use ring::hmac;
use ring::rand::SystemRandom;

/// The configured token.
pub(crate) struct AdminToken {
    key: hmac::Key,
    tag: hmac::Tag,
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken([redacted])")
    }
}

impl AdminToken {
    /// `None` for an absent or empty token (admin API off).
    pub(crate) fn new(token: Option<&str>) -> Option<Self> {
        let token = token.filter(|t| !t.is_empty())?;
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()).ok()?;
        let tag = hmac::sign(&key, token.as_bytes());
        Some(Self { key, tag })
    }

    /// Whether `given` is the token.
    pub(crate) fn matches(&self, given: &str) -> bool {
        hmac::verify(&self.key, given.as_bytes(), self.tag.as_ref()).is_ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::AdminToken;

    #[test]
    fn matches_only_the_token() {
        let t = AdminToken::new(Some("s3cret-token")).unwrap();
        assert!(t.matches("s3cret-token"));
        assert!(!t.matches("s3cret-tokeN"));
        assert!(!t.matches("s3cret-token "));
        assert!(!t.matches(""));
        assert!(AdminToken::new(Some("")).is_none());
        assert!(AdminToken::new(None).is_none());
        assert_eq!(format!("{t:?}"), "AdminToken([redacted])");
    }
}
