//! Random identifiers (ring's system generator).

use ring::rand::{SecureRandom as _, SystemRandom};

fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // A failing system RNG leaves zeros: acceptable for a test double's ids.
    let _ = SystemRandom::new().fill(&mut out);
    out
}

/// A v4 UUID string.
pub(crate) fn uuid() -> String {
    let mut b = bytes::<16>();
    if let Some(v) = b.get_mut(6) {
        *v = (*v & 0x0f) | 0x40;
    }
    if let Some(v) = b.get_mut(8) {
        *v = (*v & 0x3f) | 0x80;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// `len` characters of base58 (Rails `has_secure_token` uses base58, 24 characters).
pub(crate) fn base58(len: usize) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    (0..len)
        .map(|_| {
            let [b] = bytes::<1>();
            char::from(
                ALPHABET
                    .get(usize::from(b) % ALPHABET.len())
                    .copied()
                    .unwrap_or(b'1'),
            )
        })
        .collect()
}

/// `len_bytes` random bytes as uppercase hex, like WhatsApp message ids (`3EB0…`).
pub(crate) fn hex(len_bytes: usize) -> String {
    (0..len_bytes)
        .map(|_| {
            let [b] = bytes::<1>();
            format!("{b:02X}")
        })
        .collect()
}

/// A small, fast, seeded generator for shuffling deliveries (not for secrets).
#[derive(Debug)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn seeded() -> Self {
        Self(u64::from_le_bytes(bytes::<8>()) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = usize::try_from(self.next() % (i as u64 + 1)).unwrap_or(0);
            items.swap(i, j);
        }
    }
}
