//! Arbitrary bytes as wuzapi webhooks, in both content types: never panics; whatever parses
//! yields events whose dedupe keys and lanes can be computed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zapwoot_gateway::wuzapi;

fuzz_target!(|data: &[u8]| {
    for content_type in ["application/json", "application/x-www-form-urlencoded"] {
        if let Ok(webhook) = wuzapi::parse(content_type, data) {
            let _ = webhook.dedupe_key();
            for event in &webhook.events {
                let _ = (event.lane(), event.kind(), event.dedupe_key());
            }
        }
    }
});
