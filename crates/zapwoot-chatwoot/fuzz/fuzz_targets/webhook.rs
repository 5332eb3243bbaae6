//! Arbitrary bytes as Chatwoot webhooks: parsing never panics, and a message that parses can
//! be listed and rebuilt (reconciliation) without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zapwoot_chatwoot::webhook::{self, Event};

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = webhook::parse(data) {
        let _ = (event.name(), event.dedupe_key(), event.conversation_id());
        if let Event::MessageCreated(m) | Event::MessageUpdated(m) = &event {
            let _ = (m.in_reply_to(), m.is_deleted(), m.external_error());
            for a in &m.attachments {
                let _ = a.file_name();
            }
        }
    }
    if let Ok(message) = serde_json::from_slice::<zapwoot_chatwoot::Message>(data) {
        let body = webhook::message_created_body(&message, 1, "open");
        assert!(webhook::parse(&body).is_ok(), "a rebuilt webhook always parses");
    }
});
