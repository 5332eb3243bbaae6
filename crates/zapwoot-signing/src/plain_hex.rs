//! Bare lowercase hex of HMAC-SHA256 over the raw body, as wuzapi sends in `x-hmac-signature`.
//!
//! wuzapi signs the exact request body in both its form-encoded and JSON webhook formats.
//! There is no timestamp, nonce or version prefix, so no replay window.
//!
//! ```
//! use zapwoot_signing::{Keyring, Secret};
//!
//! let keys = Keyring::new(&Secret::from_bytes("0123456789abcdef0123456789abcdef")?);
//! let body = b"instanceName=alpha&jsonData=%7B%7D&userID=1";
//! let header = keys.sign_plain_hex(body);
//! keys.verify_plain_hex(Some(header.as_bytes()), body)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{Keyring, VerifyError, hex};

/// The header wuzapi puts the signature in.
pub const HEADER: &str = "x-hmac-signature";

impl Keyring {
    /// Signs `body` with the primary key; returns 64 lowercase hex digits.
    #[must_use]
    pub fn sign_plain_hex(&self, body: &[u8]) -> String {
        hex::encode(self.sign_parts(&[body]).as_ref())
    }

    /// Verifies a bare hex signature over the raw `body`.
    ///
    /// # Errors
    /// [`VerifyError::MissingHeader`], [`VerifyError::MalformedHeader`] (not 64 hex digits),
    /// or [`VerifyError::NoMatch`].
    pub fn verify_plain_hex(
        &self,
        signature: Option<&[u8]>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        let value = signature.ok_or(VerifyError::MissingHeader(HEADER))?;
        let tag = hex::decode_tag(value).ok_or(VerifyError::MalformedHeader {
            header: HEADER,
            reason: "expected 64 hex digits",
        })?;
        if self.matches(body, &tag) {
            Ok(())
        } else {
            Err(VerifyError::NoMatch)
        }
    }
}
