//! Pairing a phone with a gateway session: the QR code to scan ([`QrCode`]) or the linking
//! code to type ([`PairCode`]), as [`Gateway::login_qr`](crate::Gateway::login_qr) and
//! [`Gateway::pair_code`](crate::Gateway::pair_code) return them.

use std::fmt;
use std::time::Duration;

/// A QR code for WhatsApp's *Linked devices → Link a device*. WhatsApp replaces it every
/// 20 s or so (the first lasts longer) until the phone scans one or the gateway gives up.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QrCode {
    /// The QR code as a PNG image, as the gateway renders it.
    pub png: Vec<u8>,
    /// The text the QR code encodes, when the gateway tells it (neither wuzapi nor GOWA does;
    /// they hand out only the image).
    pub code: Option<String>,
    /// How long the gateway says this code stays valid, when it says.
    pub valid_for: Option<Duration>,
}

impl QrCode {
    /// A QR code from its PNG bytes.
    #[must_use]
    pub fn new(png: Vec<u8>, code: Option<String>, valid_for: Option<Duration>) -> Self {
        Self {
            png,
            code,
            valid_for,
        }
    }

    /// The image as a `data:image/png;base64,…` URL, for a web page or a JSON answer.
    #[must_use]
    pub fn data_url(&self) -> String {
        use base64::Engine as _;
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&self.png)
        )
    }
}

impl fmt::Debug for QrCode {
    /// A QR code is a credential while it is valid: its content is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrCode")
            .field("png", &format_args!("{} bytes", self.png.len()))
            .field("code", &self.code.as_ref().map(|_| "…"))
            .field("valid_for", &self.valid_for)
            .finish()
    }
}

/// A linking code (`ABCD-1234`) for *Link with phone number instead* on the phone.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PairCode {
    /// The code to type on the phone, as the gateway gives it.
    pub code: String,
}

impl PairCode {
    /// A linking code.
    #[must_use]
    pub fn new(code: impl Into<String>) -> Self {
        Self { code: code.into() }
    }
}

impl fmt::Debug for PairCode {
    /// Like a QR code, a linking code is a credential while it is valid.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairCode(…)")
    }
}

/// Decodes a `data:image/png;base64,…` URL (wuzapi's QR codes) into its bytes.
pub(crate) fn png_from_data_url(url: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let (head, data) = url.split_once(',')?;
    if !head.starts_with("data:image/png") || !head.ends_with(";base64") {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_round_trip_and_debug_hides_the_codes() {
        let qr = QrCode::new(
            vec![0x89, b'P', b'N', b'G'],
            Some("2@secret".to_owned()),
            None,
        );
        assert_eq!(png_from_data_url(&qr.data_url()), Some(qr.png.clone()));
        assert_eq!(png_from_data_url("data:text/plain;base64,AAAA"), None);
        assert_eq!(png_from_data_url("not a data url"), None);
        assert!(!format!("{qr:?}").contains("secret"));
        assert!(!format!("{:?}", PairCode::new("ABCD-1234")).contains("ABCD"));
    }
}
