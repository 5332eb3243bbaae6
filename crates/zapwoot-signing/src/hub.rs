//! Hub style: `sha256=<lowercase hex HMAC-SHA256(secret, raw body)>`.
//!
//! Sent by go-whatsapp-web-multidevice (GOWA) and GitHub in `X-Hub-Signature-256`.
//! The scheme has no timestamp and therefore no replay window: deduplicate on the
//! payload's own ids.
//!
//! ```
//! use zapwoot_signing::{Keyring, Secret, hub};
//!
//! let keys = Keyring::new(&Secret::from_bytes("It's a Secret to Everybody")?);
//! let header = keys.sign_hub(b"Hello, World!");
//! assert_eq!(header, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
//! keys.verify_hub(Some(header.as_bytes()), b"Hello, World!")?;
//! assert!(keys.verify_hub(None, b"Hello, World!").unwrap_err().is_missing());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::hex::{self, TAG_LEN};
use crate::{Keyring, VerifyError};

/// The header GOWA and GitHub put the signature in (lowercase, as `http::HeaderName` wants).
pub const HEADER: &str = "x-hub-signature-256";

const PREFIX: &[u8] = b"sha256=";

impl Keyring {
    /// Signs `body` with the primary key; returns the header value `sha256=<hex>`.
    #[must_use]
    pub fn sign_hub(&self, body: &[u8]) -> String {
        format!("sha256={}", hex::encode(self.sign_parts(&[body]).as_ref()))
    }

    /// Verifies a hub-style header value over the raw `body`.
    ///
    /// # Errors
    /// [`VerifyError::MissingHeader`] when `signature` is `None`,
    /// [`VerifyError::MalformedHeader`] when it is not `sha256=` and 64 hex digits,
    /// [`VerifyError::NoMatch`] when no key produced it.
    pub fn verify_hub(&self, signature: Option<&[u8]>, body: &[u8]) -> Result<(), VerifyError> {
        let tag = parse_sha256_hex(HEADER, signature)?;
        if self.matches(body, &tag) {
            Ok(())
        } else {
            Err(VerifyError::NoMatch)
        }
    }
}

/// Parses `sha256=<64 hex digits>` from the header called `header`.
pub(crate) fn parse_sha256_hex(
    header: &'static str,
    value: Option<&[u8]>,
) -> Result<[u8; TAG_LEN], VerifyError> {
    let value = value.ok_or(VerifyError::MissingHeader(header))?;
    let digits = value
        .strip_prefix(PREFIX)
        .ok_or(VerifyError::MalformedHeader {
            header,
            reason: "expected `sha256=<hex>`",
        })?;
    hex::decode_tag(digits).ok_or(VerifyError::MalformedHeader {
        header,
        reason: "expected 64 hex digits after `sha256=`",
    })
}
