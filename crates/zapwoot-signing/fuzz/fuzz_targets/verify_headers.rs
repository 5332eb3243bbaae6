//! Feeds arbitrary bytes to every header parser and verifier. Checks that nothing panics,
//! that garbage never verifies, and that what is signed always verifies.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use zapwoot_signing::{Keyring, Secret};

fuzz_target!(|data: &[u8]| {
    // Layout: [selector][now: 8 bytes] then four fields separated by 0xFF:
    // id, timestamp, signature, body.
    let Some((&selector, rest)) = data.split_first() else { return };
    let Some((now_bytes, rest)) = rest.split_first_chunk::<8>() else { return };
    let now = UNIX_EPOCH + Duration::from_secs(u64::from_le_bytes(*now_bytes) >> 2);
    let mut fields = rest.splitn(4, |&b| b == 0xFF);
    let id = fields.next().unwrap_or_default();
    let ts = fields.next().unwrap_or_default();
    let sig = fields.next().unwrap_or_default();
    let body = fields.next().unwrap_or_default();

    let keys = Keyring::new(&Secret::from_bytes("fuzz-secret").unwrap())
        .with_tolerance(Duration::from_secs(u64::from(selector)));
    assert!(keys.verify_hub(Some(sig), body).is_err());
    assert!(keys.verify_plain_hex(Some(sig), body).is_err());
    assert!(keys.verify_chatwoot_at(Some(sig), Some(ts), body, now).is_err());
    assert!(keys.verify_standard_at(Some(id), Some(ts), Some(sig), body, now).is_err());

    if let Ok(text) = std::str::from_utf8(sig) {
        let _ = Secret::from_standard(text);
    }

    // Round trip with the fuzzer's body and a timestamp derived from `now`.
    let t = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let t_text = t.to_string();
    let signed = keys.sign_chatwoot(t, body);
    assert!(keys.verify_chatwoot_at(Some(signed.as_bytes()), Some(t_text.as_bytes()), body, now).is_ok());
    if let Ok(signed) = keys.sign_standard("msg_fuzz", t, body) {
        assert!(keys.verify_standard_at(Some(b"msg_fuzz"), Some(t_text.as_bytes()), Some(signed.as_bytes()), body, now).is_ok());
    }
});
