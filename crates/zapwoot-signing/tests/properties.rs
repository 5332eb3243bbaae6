//! Property tests: round trips over arbitrary bodies, secrets and times; arbitrary header bytes
//! never panic and never verify.

// Test helpers may unwrap and panic: a broken fixture should fail the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use zapwoot_signing::{Keyring, Secret, VerifyError};

fn keyring(secret: &[u8]) -> Keyring {
    Keyring::new(&Secret::from_bytes(secret.to_vec()).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn hub_and_plain_hex_round_trip(secret in prop::collection::vec(any::<u8>(), 1..80), body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let keys = keyring(&secret);
        prop_assert_eq!(keys.verify_hub(Some(keys.sign_hub(&body).as_bytes()), &body), Ok(()));
        prop_assert_eq!(keys.verify_plain_hex(Some(keys.sign_plain_hex(&body).as_bytes()), &body), Ok(()));
    }

    #[test]
    fn timestamped_schemes_round_trip(
        secret in prop::collection::vec(any::<u8>(), 1..80),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        ts in 0u64..4_000_000_000,
        skew in -300i64..=300,
        id in "[A-Za-z0-9_-]{1,64}",
    ) {
        let keys = keyring(&secret);
        let now = UNIX_EPOCH + Duration::from_secs(ts.saturating_add_signed(skew));
        let ts_text = ts.to_string();
        let sig = keys.sign_chatwoot(ts, &body);
        prop_assert_eq!(keys.verify_chatwoot_at(Some(sig.as_bytes()), Some(ts_text.as_bytes()), &body, now), Ok(()));
        let sig = keys.sign_standard(&id, ts, &body).unwrap();
        prop_assert_eq!(keys.verify_standard_at(Some(id.as_bytes()), Some(ts_text.as_bytes()), Some(sig.as_bytes()), &body, now), Ok(()));
    }

    #[test]
    fn a_flipped_body_bit_fails_everywhere(
        secret in prop::collection::vec(any::<u8>(), 1..40),
        body in prop::collection::vec(any::<u8>(), 1..512),
        index in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let keys = keyring(&secret);
        let mut tampered = body.clone();
        let i = index.index(body.len());
        tampered[i] ^= 1 << bit;
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        prop_assert_eq!(keys.verify_hub(Some(keys.sign_hub(&body).as_bytes()), &tampered), Err(VerifyError::NoMatch));
        prop_assert_eq!(keys.verify_plain_hex(Some(keys.sign_plain_hex(&body).as_bytes()), &tampered), Err(VerifyError::NoMatch));
        prop_assert_eq!(keys.verify_chatwoot_at(Some(keys.sign_chatwoot(1_000, &body).as_bytes()), Some(b"1000"), &tampered, now), Err(VerifyError::NoMatch));
        let sig = keys.sign_standard("m", 1_000, &body).unwrap();
        prop_assert_eq!(keys.verify_standard_at(Some(b"m"), Some(b"1000"), Some(sig.as_bytes()), &tampered, now), Err(VerifyError::NoMatch));
    }

    #[test]
    fn arbitrary_headers_never_panic_nor_pass(
        id in prop::collection::vec(any::<u8>(), 0..64),
        ts in prop::collection::vec(any::<u8>(), 0..32),
        sig in prop::collection::vec(any::<u8>(), 0..256),
        body in prop::collection::vec(any::<u8>(), 0..256),
        now in any::<u64>(),
    ) {
        let keys = keyring(b"fixed-secret");
        let now = UNIX_EPOCH + Duration::from_secs(now >> 2);
        prop_assert!(keys.verify_hub(Some(&sig), &body).is_err());
        prop_assert!(keys.verify_plain_hex(Some(&sig), &body).is_err());
        prop_assert!(keys.verify_chatwoot_at(Some(&sig), Some(&ts), &body, now).is_err());
        prop_assert!(keys.verify_standard_at(Some(&id), Some(&ts), Some(&sig), &body, now).is_err());
    }

    #[test]
    fn arbitrary_text_headers_never_panic(sig in "(sha256=|v1,|v1a,| )?[ -~]{0,120}", ts in "[0-9 -]{0,24}") {
        let keys = keyring(b"fixed-secret");
        let now = UNIX_EPOCH;
        let _ = keys.verify_hub(Some(sig.as_bytes()), b"{}");
        let _ = keys.verify_chatwoot_at(Some(sig.as_bytes()), Some(ts.as_bytes()), b"{}", now);
        let _ = keys.verify_standard_at(Some(b"id"), Some(ts.as_bytes()), Some(sig.as_bytes()), b"{}", now);
    }

    #[test]
    fn standard_secret_parsing_never_panics(text in "(whsec_)?[A-Za-z0-9+/=*_-]{0,100}") {
        if let Ok(secret) = Secret::from_standard(&text) {
            prop_assert_eq!(Secret::from_standard(&secret.expose_standard()).unwrap(), secret);
        }
    }
}
