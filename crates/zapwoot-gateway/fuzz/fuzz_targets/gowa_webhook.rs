//! Arbitrary bytes as GOWA webhooks (every generation): never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zapwoot_gateway::{Jid, gowa};

fuzz_target!(|data: &[u8]| {
    let own = Jid::parse("5511900000000@s.whatsapp.net").ok();
    if let Ok(webhook) = gowa::parse(data, own.as_ref()) {
        let _ = webhook.dedupe_key();
        for event in &webhook.events {
            let _ = (event.lane(), event.kind(), event.dedupe_key());
        }
    }
});
