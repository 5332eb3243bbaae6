//! Chatwoot's webhook requests: signed when the inbox has a secret, 5 s timeout, no retries,
//! and a failed message delivery marks the message `failed` (which emits `message_updated`).

use std::sync::Weak;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use zapwoot_signing::{Keyring, Secret};

use super::Core;
use crate::dispatch::Post;
use crate::random::uuid;

/// The request Chatwoot would send for one event.
pub(crate) fn post(
    core: Weak<Core>,
    url: String,
    secret: Option<&str>,
    event: &str,
    body: Vec<u8>,
    message_id: Option<u64>,
) -> Post {
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("accept".to_owned(), "application/json".to_owned()),
        ("x-chatwoot-delivery".to_owned(), uuid()),
    ];
    if let Some(secret) = secret.and_then(|s| Secret::from_bytes(s).ok()) {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        headers.push(("x-chatwoot-timestamp".to_owned(), ts.to_string()));
        headers.push((
            "x-chatwoot-signature".to_owned(),
            Keyring::new(&secret).sign_chatwoot(ts, &body),
        ));
    }
    let on_failure = message_id.map(|id| {
        Box::new(move |error: String| {
            if let Some(core) = core.upgrade() {
                core.mark_delivery_failed(id, &error);
            }
        }) as Box<dyn FnOnce(String) + Send>
    });
    Post {
        url,
        event: event.to_owned(),
        headers,
        body: Bytes::from(body),
        on_failure,
    }
}
