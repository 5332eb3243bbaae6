//! Behaviour of each scheme: missing/malformed headers, tolerance, rotation, error texts.

// Test helpers may unwrap and panic: a broken fixture should fail the test loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zapwoot_signing::{
    Keyring, Secret, SignError, VerifyError, chatwoot, hub, plain_hex, standard,
};

const T0: u64 = 1_781_787_734;

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn secret(text: &str) -> Secret {
    Secret::from_bytes(text).unwrap()
}

#[test]
fn missing_headers_are_named() {
    let keys = Keyring::new(&secret("s"));
    assert_eq!(
        keys.verify_hub(None, b""),
        Err(VerifyError::MissingHeader(hub::HEADER))
    );
    assert_eq!(
        keys.verify_plain_hex(None, b""),
        Err(VerifyError::MissingHeader(plain_hex::HEADER))
    );
    let sig = keys.sign_chatwoot(T0, b"x");
    assert_eq!(
        keys.verify_chatwoot_at(None, Some(b"1"), b"x", at(T0)),
        Err(VerifyError::MissingHeader(chatwoot::SIGNATURE_HEADER))
    );
    assert_eq!(
        keys.verify_chatwoot_at(Some(sig.as_bytes()), None, b"x", at(T0)),
        Err(VerifyError::MissingHeader(chatwoot::TIMESTAMP_HEADER))
    );
    let sig = keys.sign_standard("m", T0, b"x").unwrap();
    let ts = T0.to_string();
    assert_eq!(
        keys.verify_standard_at(
            None,
            Some(ts.as_bytes()),
            Some(sig.as_bytes()),
            b"x",
            at(T0)
        ),
        Err(VerifyError::MissingHeader(standard::ID_HEADER))
    );
    assert_eq!(
        keys.verify_standard_at(Some(b"m"), None, Some(sig.as_bytes()), b"x", at(T0)),
        Err(VerifyError::MissingHeader(standard::TIMESTAMP_HEADER))
    );
    assert_eq!(
        keys.verify_standard_at(Some(b"m"), Some(ts.as_bytes()), None, b"x", at(T0)),
        Err(VerifyError::MissingHeader(standard::SIGNATURE_HEADER))
    );
    assert!(keys.verify_hub(None, b"").unwrap_err().is_missing());
    assert!(!VerifyError::NoMatch.is_missing());
}

#[test]
fn malformed_headers_are_named() {
    let keys = Keyring::new(&secret("s"));
    let good = keys.sign_hub(b"x");
    let bare = good.trim_start_matches("sha256=");
    for bad in [
        "",
        "sha256=",
        "sha1=abc",
        bare,
        "sha256=xyz",
        &format!("{good}0"),
        &format!("SHA256={bare}"),
    ] {
        assert!(
            matches!(
                keys.verify_hub(Some(bad.as_bytes()), b"x"),
                Err(VerifyError::MalformedHeader {
                    header: hub::HEADER,
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    for bad in ["", &good, "zz", &bare[1..]] {
        assert!(
            matches!(
                keys.verify_plain_hex(Some(bad.as_bytes()), b"x"),
                Err(VerifyError::MalformedHeader {
                    header: plain_hex::HEADER,
                    ..
                })
            ),
            "{bad:?}"
        );
    }
    let sig = keys.sign_chatwoot(T0, b"x");
    for bad_ts in [&b""[..], b"-5", b"1e9", b"99999999999999999999999"] {
        assert!(matches!(
            keys.verify_chatwoot_at(Some(sig.as_bytes()), Some(bad_ts), b"x", at(T0)),
            Err(VerifyError::MalformedHeader {
                header: chatwoot::TIMESTAMP_HEADER,
                ..
            })
        ));
    }
    let ts = T0.to_string();
    for bad_sig in ["", "v1a,abc", "v2,abc", "garbage"] {
        assert!(matches!(
            keys.verify_standard_at(
                Some(b"m"),
                Some(ts.as_bytes()),
                Some(bad_sig.as_bytes()),
                b"x",
                at(T0)
            ),
            Err(VerifyError::MalformedHeader {
                header: standard::SIGNATURE_HEADER,
                ..
            })
        ));
    }
    assert!(matches!(
        keys.verify_standard_at(Some(b""), Some(ts.as_bytes()), Some(b"v1,x"), b"x", at(T0)),
        Err(VerifyError::MalformedHeader {
            header: standard::ID_HEADER,
            ..
        })
    ));
}

#[test]
fn standard_webhooks_reference_negative_cases() {
    // The cases the Standard Webhooks reference library tests.
    let keys =
        Keyring::new(&Secret::from_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap());
    let body = br#"{"email":"test@example.com","username":"test_user"}"#;
    let id = b"msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    let ts = b"1649367553";
    let now = at(1_649_367_553);
    let good = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
    let verify =
        |sig: &str| keys.verify_standard_at(Some(id), Some(ts), Some(sig.as_bytes()), body, now);

    assert_eq!(verify(good), Ok(()));
    assert_eq!(verify("v1,"), Err(VerifyError::NoMatch));
    assert_eq!(verify(&good[..8]), Err(VerifyError::NoMatch));
    assert_eq!(
        verify(&format!("v1,Zm9v {good} v1a,abc")),
        Ok(()),
        "one valid among several"
    );
    assert_eq!(
        verify("v1,Zm9v v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkx="),
        Err(VerifyError::NoMatch)
    );
    assert_eq!(
        keys.verify_standard_at(
            Some(id),
            Some(b"1649367554"),
            Some(good.as_bytes()),
            body,
            now
        ),
        Err(VerifyError::NoMatch),
        "wrong timestamp"
    );
}

#[test]
fn tolerance_defaults_to_five_minutes_both_ways() {
    let keys = Keyring::new(&secret("s"));
    assert_eq!(keys.tolerance(), Duration::from_secs(300));
    let sig = keys.sign_chatwoot(T0, b"x");
    let ts = T0.to_string();
    let check =
        |now| keys.verify_chatwoot_at(Some(sig.as_bytes()), Some(ts.as_bytes()), b"x", at(now));
    assert_eq!(check(T0 + 300), Ok(()));
    assert_eq!(check(T0 - 300), Ok(()));
    assert_eq!(
        check(T0 + 301),
        Err(VerifyError::TimestampTooOld {
            age: Duration::from_secs(301),
            tolerance: Duration::from_secs(300)
        })
    );
    assert_eq!(
        check(T0 - 301),
        Err(VerifyError::TimestampTooNew {
            ahead: Duration::from_secs(301),
            tolerance: Duration::from_secs(300)
        })
    );

    let strict = keys.clone().with_tolerance(Duration::from_secs(10));
    let sig = strict.sign_standard("m", T0, b"x").unwrap();
    let verify = |now| {
        strict.verify_standard_at(
            Some(b"m"),
            Some(ts.as_bytes()),
            Some(sig.as_bytes()),
            b"x",
            at(now),
        )
    };
    assert_eq!(verify(T0 + 10), Ok(()));
    assert!(matches!(
        verify(T0 + 11),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        verify(T0 - 11),
        Err(VerifyError::TimestampTooNew { .. })
    ));
}

#[test]
fn system_clock_variants_accept_fresh_signatures() {
    let keys = Keyring::new(&secret("s"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ts = now.to_string();
    let sig = keys.sign_chatwoot(now, b"x");
    assert_eq!(
        keys.verify_chatwoot(Some(sig.as_bytes()), Some(ts.as_bytes()), b"x"),
        Ok(())
    );
    let sig = keys.sign_standard("m", now, b"x").unwrap();
    assert_eq!(
        keys.verify_standard(Some(b"m"), Some(ts.as_bytes()), Some(sig.as_bytes()), b"x"),
        Ok(())
    );
    let stale = (now - 3600).to_string();
    let sig = keys.sign_standard("m", now - 3600, b"x").unwrap();
    assert!(matches!(
        keys.verify_standard(
            Some(b"m"),
            Some(stale.as_bytes()),
            Some(sig.as_bytes()),
            b"x"
        ),
        Err(VerifyError::TimestampTooOld { .. })
    ));
}

#[test]
fn rotation_accepts_old_and_new_and_signs_with_both() {
    let old = secret("old-secret");
    let new = secret("new-secret");
    let rotating = Keyring::new(&new).with_secret(&old);
    let only_old = Keyring::new(&old);
    let only_new = Keyring::new(&new);

    // Inbound: a sender still on the old secret, or already on the new one, both pass.
    for sender in [&only_old, &only_new] {
        assert_eq!(
            rotating.verify_hub(Some(sender.sign_hub(b"b").as_bytes()), b"b"),
            Ok(())
        );
        assert_eq!(
            rotating.verify_plain_hex(Some(sender.sign_plain_hex(b"b").as_bytes()), b"b"),
            Ok(())
        );
    }
    // Single-signature schemes sign with the primary (new) key.
    assert_eq!(rotating.sign_hub(b"b"), only_new.sign_hub(b"b"));

    // Outbound Standard Webhooks: both signatures, so a receiver with either secret verifies.
    let header = rotating.sign_standard("msg_1", T0, b"b").unwrap();
    assert_eq!(header.split(' ').count(), 2);
    let ts = T0.to_string();
    for receiver in [&only_old, &only_new] {
        assert_eq!(
            receiver.verify_standard_at(
                Some(b"msg_1"),
                Some(ts.as_bytes()),
                Some(header.as_bytes()),
                b"b",
                at(T0)
            ),
            Ok(())
        );
    }
    let stranger = Keyring::new(&secret("someone-else"));
    assert_eq!(
        stranger.verify_standard_at(
            Some(b"msg_1"),
            Some(ts.as_bytes()),
            Some(header.as_bytes()),
            b"b",
            at(T0)
        ),
        Err(VerifyError::NoMatch)
    );
}

#[test]
fn signing_refuses_ambiguous_message_ids() {
    let keys = Keyring::new(&secret("s"));
    assert!(matches!(
        keys.sign_standard("a.b", T0, b""),
        Err(SignError::InvalidMessageId(_))
    ));
    assert!(matches!(
        keys.sign_standard("", T0, b""),
        Err(SignError::InvalidMessageId(_))
    ));
}

#[test]
fn errors_never_echo_secrets_or_expected_signatures() {
    let s = secret("super-secret-value");
    let keys = Keyring::new(&s);
    let expected = keys.sign_hub(b"body");
    let wrong = Keyring::new(&secret("other")).sign_hub(b"body");
    let messages = [
        keys.verify_hub(Some(wrong.as_bytes()), b"body")
            .unwrap_err()
            .to_string(),
        keys.verify_hub(Some(b"sha256=zz"), b"body")
            .unwrap_err()
            .to_string(),
        format!("{:?}", keys.verify_hub(Some(wrong.as_bytes()), b"body")),
        format!("{keys:?}"),
        format!("{s:?} {s}"),
    ];
    for message in messages {
        assert!(!message.contains("super-secret-value"), "{message}");
        assert!(!message.contains(&expected[7..]), "{message}");
    }
}
