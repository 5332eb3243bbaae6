//! The pairing lifecycle both fake gateways share: an unpaired session shows QR codes, each
//! replaced by the next when it rotates, or a linking code for a phone number, until the
//! "phone" scans one ([`Pairing::scan`]) or types the code.
//!
//! The QR images are real PNG files (a pattern drawn from the code, not a scannable QR code)
//! that carry the code in a `tEXt` chunk: [`code_in_png`] reads it back, so a test can tell
//! which code an image shows.

use crate::random;

/// Where a session is in pairing.
#[derive(Debug, Default, Clone)]
pub(crate) struct Pairing {
    /// The QR code shown now (`None`: not pairing).
    pub(crate) qr: Option<String>,
    /// How many codes were shown in this pairing.
    pub(crate) generation: u32,
    /// The linking code handed out, and for which phone.
    pub(crate) pair_code: Option<(String, String)>,
}

impl Pairing {
    /// Starts pairing (or shows the next code): returns the new QR code's text.
    pub(crate) fn next_qr(&mut self) -> String {
        self.generation += 1;
        let code = format!(
            "2@fake{}{},{}",
            self.generation,
            random::base58(16),
            random::base58(24)
        );
        self.qr = Some(code.clone());
        code
    }

    /// A linking code for `phone`.
    pub(crate) fn new_pair_code(&mut self, phone: &str) -> String {
        let raw = random::base58(8).to_uppercase();
        let code = format!(
            "{}-{}",
            raw.get(..4).unwrap_or("ABCD"),
            raw.get(4..).unwrap_or("1234")
        );
        self.pair_code = Some((code.clone(), phone.to_owned()));
        code
    }

    /// Whether a QR code or a linking code is out.
    pub(crate) fn active(&self) -> bool {
        self.qr.is_some() || self.pair_code.is_some()
    }

    /// Ends pairing (scanned, cancelled, timed out).
    pub(crate) fn stop(&mut self) {
        *self = Self::default();
    }
}

/// A PNG image for `code`: 21×21 grey pixels drawn from its bytes, the code in a `tEXt`
/// chunk under the keyword `qr`.
#[must_use]
pub(crate) fn png(code: &str) -> Vec<u8> {
    const SIDE: u32 = 21;
    let mut raw = Vec::new();
    let bytes = code.as_bytes();
    for y in 0..SIDE {
        raw.push(0); // filter: none
        for x in 0..SIDE {
            let i = usize::try_from(y * SIDE + x).unwrap_or(0);
            let b = bytes.get(i % bytes.len().max(1)).copied().unwrap_or(0);
            raw.push(if (b >> (x % 8)) & 1 == 1 { 0 } else { 255 });
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    chunk(&mut out, b"IHDR", &ihdr);
    let mut text = b"qr\0".to_vec();
    text.extend_from_slice(bytes);
    chunk(&mut out, b"tEXt", &text);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The QR code text a fake gateway's QR PNG carries (in its `tEXt` chunk named `qr`).
#[must_use]
pub fn code_in_png(png: &[u8]) -> Option<String> {
    let mut at = 8;
    while let Some(len) = png.get(at..at + 4) {
        let len = usize::try_from(u32::from_be_bytes(len.try_into().ok()?)).ok()?;
        let kind = png.get(at + 4..at + 8)?;
        let data = png.get(at + 8..at + 8 + len)?;
        if kind == b"tEXt"
            && let Some(text) = data.strip_prefix(b"qr\0")
        {
            return String::from_utf8(text.to_vec()).ok();
        }
        at += 12 + len;
    }
    None
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_png_carries_its_code_and_rotation_changes_it() {
        let mut pairing = super::Pairing::default();
        let first = pairing.next_qr();
        let second = pairing.next_qr();
        assert_ne!(first, second);
        let png = super::png(&second);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(super::code_in_png(&png), Some(second));
        let code = pairing.new_pair_code("5511988887777");
        assert_eq!(code.len(), 9);
        assert_eq!(code.chars().nth(4), Some('-'));
    }
}
