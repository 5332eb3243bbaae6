//! Known-answer vectors: published ones (GitHub docs, Standard Webhooks/svix) and ones computed
//! with OpenSSL by `vectors/generate.py`. Each vector is checked for signing, for verification,
//! and for rejection after a one-bit flip in the body, timestamp, id or signature.

// Test helpers may unwrap and panic: a broken fixture should fail the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;
use zapwoot_signing::{Keyring, Secret, VerifyError};

struct Vector {
    scheme: String,
    source: String,
    secret: Secret,
    body: Vec<u8>,
    timestamp: Option<String>,
    id: Option<String>,
    expected: String,
}

fn vectors() -> Vec<Vector> {
    let all: Vec<Value> =
        serde_json::from_str(include_str!("vectors/signing_vectors.json")).unwrap();
    all.into_iter()
        .map(|v| {
            let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
            let secret_text = text("secret").unwrap();
            let secret = match text("secret_kind").as_deref() {
                Some("raw") => Secret::from_bytes(secret_text).unwrap(),
                Some("standard") => Secret::from_standard(&secret_text).unwrap(),
                other => panic!("unknown secret kind {other:?}"),
            };
            Vector {
                scheme: text("scheme").unwrap(),
                source: text("source").unwrap(),
                secret,
                body: text("body").unwrap().into_bytes(),
                timestamp: text("timestamp"),
                id: text("id"),
                expected: text("expected").unwrap(),
            }
        })
        .collect()
}

fn sign(keys: &Keyring, v: &Vector) -> String {
    let ts = || v.timestamp.as_deref().unwrap().parse::<u64>().unwrap();
    match v.scheme.as_str() {
        "hub" => keys.sign_hub(&v.body),
        "plain_hex" => keys.sign_plain_hex(&v.body),
        "chatwoot" => keys.sign_chatwoot(ts(), &v.body),
        "standard" => keys
            .sign_standard(v.id.as_deref().unwrap(), ts(), &v.body)
            .unwrap(),
        other => panic!("unknown scheme {other}"),
    }
}

fn verify(
    keys: &Keyring,
    scheme: &str,
    id: &[u8],
    ts: &[u8],
    sig: &[u8],
    body: &[u8],
) -> Result<(), VerifyError> {
    // "now" is the signed time itself when the vector has one, so tolerance never interferes.
    let now = std::str::from_utf8(ts)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(UNIX_EPOCH, |t| UNIX_EPOCH + Duration::from_secs(t));
    match scheme {
        "hub" => keys.verify_hub(Some(sig), body),
        "plain_hex" => keys.verify_plain_hex(Some(sig), body),
        "chatwoot" => keys.verify_chatwoot_at(Some(sig), Some(ts), body, now),
        "standard" => keys.verify_standard_at(Some(id), Some(ts), Some(sig), body, now),
        other => panic!("unknown scheme {other}"),
    }
}

fn flip_bit(bytes: &[u8], index: usize, bit: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[index] ^= 1 << bit;
    out
}

#[test]
fn every_scheme_has_vectors_and_published_ones_are_present() {
    let vs = vectors();
    for scheme in ["hub", "plain_hex", "chatwoot", "standard"] {
        assert!(
            vs.iter().any(|v| v.scheme == scheme),
            "no vector for {scheme}"
        );
    }
    assert!(vs.iter().any(|v| v.source.starts_with("GitHub docs")));
    assert!(vs.iter().any(|v| v.source.starts_with("Standard Webhooks")));
}

#[test]
fn signing_matches_known_answers() {
    for v in vectors() {
        let keys = Keyring::new(&v.secret);
        assert_eq!(
            sign(&keys, &v),
            v.expected,
            "{} vector from {}",
            v.scheme,
            v.source
        );
    }
}

#[test]
fn verification_accepts_known_answers() {
    for v in vectors() {
        let keys = Keyring::new(&v.secret);
        let ts = v.timestamp.clone().unwrap_or_default();
        let id = v.id.clone().unwrap_or_default();
        verify(
            &keys,
            &v.scheme,
            id.as_bytes(),
            ts.as_bytes(),
            v.expected.as_bytes(),
            &v.body,
        )
        .unwrap_or_else(|e| panic!("{} vector from {}: {e}", v.scheme, v.source));
    }
}

#[test]
fn a_flipped_bit_anywhere_is_refused() {
    for v in vectors() {
        let keys = Keyring::new(&v.secret);
        let ts = v.timestamp.clone().unwrap_or_default().into_bytes();
        let id = v.id.clone().unwrap_or_default().into_bytes();
        let sig = v.expected.as_bytes();
        let ok = |id: &[u8], ts: &[u8], sig: &[u8], body: &[u8]| {
            verify(&keys, &v.scheme, id, ts, sig, body).is_ok()
        };

        for i in 0..v.body.len() {
            for bit in 0..8 {
                assert!(
                    !ok(&id, &ts, sig, &flip_bit(&v.body, i, bit)),
                    "{}: body byte {i} bit {bit}",
                    v.source
                );
            }
        }
        for i in 0..ts.len() {
            for bit in 0..8 {
                assert!(
                    !ok(&id, &flip_bit(&ts, i, bit), sig, &v.body),
                    "{}: timestamp byte {i} bit {bit}",
                    v.source
                );
            }
        }
        for i in 0..id.len() {
            for bit in 0..8 {
                assert!(
                    !ok(&flip_bit(&id, i, bit), &ts, sig, &v.body),
                    "{}: id byte {i} bit {bit}",
                    v.source
                );
            }
        }
        for i in 0..sig.len() {
            for bit in 0..8 {
                let flipped = flip_bit(sig, i, bit);
                // Hex digits are case-insensitive: `a`^0x20 = `A` is the same signature.
                let case_only = flipped[i].eq_ignore_ascii_case(&sig[i])
                    && sig[i].is_ascii_hexdigit()
                    && v.scheme != "standard";
                if !case_only {
                    assert!(
                        !ok(&id, &ts, &flipped, &v.body),
                        "{}: signature byte {i} bit {bit}",
                        v.source
                    );
                }
            }
        }
    }
}

#[test]
fn a_wrong_secret_is_no_match() {
    let other = Secret::from_bytes("not-the-secret").unwrap();
    for v in vectors() {
        let keys = Keyring::new(&other);
        let ts = v.timestamp.clone().unwrap_or_default();
        let id = v.id.clone().unwrap_or_default();
        assert_eq!(
            verify(
                &keys,
                &v.scheme,
                id.as_bytes(),
                ts.as_bytes(),
                v.expected.as_bytes(),
                &v.body
            ),
            Err(VerifyError::NoMatch),
            "{}",
            v.source
        );
    }
}
