//! Lowercase hex encoding and fixed-size decoding of HMAC-SHA256 tags.

/// Length in bytes of an HMAC-SHA256 tag.
pub(crate) const TAG_LEN: usize = 32;

/// Encodes bytes as lowercase hex.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0x0f));
    }
    out
}

/// Decodes exactly 64 hex digits (either case) into a 32-byte tag.
pub(crate) fn decode_tag(text: &[u8]) -> Option<[u8; TAG_LEN]> {
    if text.len() != TAG_LEN * 2 {
        return None;
    }
    let mut tag = [0u8; TAG_LEN];
    for (out, pair) in tag.iter_mut().zip(text.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        *out = (nibble(*hi)? << 4) | nibble(*lo)?;
    }
    Some(tag)
}

/// The lowercase hex digit for a value below 16.
fn digit(nibble: u8) -> char {
    char::from(if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + nibble - 10
    })
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let tag: [u8; TAG_LEN] = core::array::from_fn(|i| (i * 8 + 3) as u8);
        let text = encode(&tag);
        assert_eq!(text.len(), 64);
        assert_eq!(decode_tag(text.as_bytes()), Some(tag));
        assert_eq!(decode_tag(text.to_uppercase().as_bytes()), Some(tag));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode_tag(b""), None);
        assert_eq!(decode_tag(&[b'0'; 63]), None);
        assert_eq!(decode_tag(&[b'0'; 65]), None);
        let mut bad = [b'0'; 64];
        bad[10] = b'g';
        assert_eq!(decode_tag(&bad), None);
    }
}
