//! Arbitrary text through both formatting conversions: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zapwoot_chatwoot::markdown;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = markdown::markdown_to_whatsapp(text);
        let _ = markdown::whatsapp_to_markdown(text);
    }
});
