//! asternic/wuzapi: webhook parsing and the REST client.

mod client;
mod gateway_impl;
mod history;
mod pairing;
mod parse;

pub use client::{ReplyContext, WuzapiClient};
pub use pairing::QR_WAIT;
pub(crate) use parse::identities;
pub use parse::{WuzapiWebhook, parse, without_token};

/// The header wuzapi signs webhooks in.
pub const SIGNATURE_HEADER: &str = zapwoot_signing::plain_hex::HEADER;

/// Verifies wuzapi's `x-hmac-signature` (bare hex HMAC-SHA256 of the exact body) against the
/// instance's HMAC key(s). Call it with the raw body before [`parse`]; a missing header when a
/// key is configured is an error (wuzapi sends unsigned webhooks after losing its key).
///
/// # Errors
/// [`zapwoot_signing::VerifyError`] naming what is wrong.
pub fn verify(
    keys: &zapwoot_signing::Keyring,
    signature: Option<&[u8]>,
    body: &[u8],
) -> Result<(), zapwoot_signing::VerifyError> {
    keys.verify_plain_hex(signature, body)
}
