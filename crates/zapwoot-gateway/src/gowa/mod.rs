//! aldinokemal/go-whatsapp-web-multidevice (GOWA): webhook parsing and the REST client.

mod client;
mod gateway_impl;
mod history;
mod pairing;
mod parse;

pub use client::{GowaClient, GowaClientBuilder};
pub use parse::{Generation, GowaWebhook, parse};

/// The header GOWA signs webhooks in.
pub const SIGNATURE_HEADER: &str = zapwoot_signing::hub::HEADER;

/// Verifies GOWA's `X-Hub-Signature-256` (`sha256=<hex>` of the raw body) against the webhook
/// secret(s). Call it with the raw body before [`parse`].
///
/// # Errors
/// [`zapwoot_signing::VerifyError`] naming what is wrong.
pub fn verify(
    keys: &zapwoot_signing::Keyring,
    signature: Option<&[u8]>,
    body: &[u8],
) -> Result<(), zapwoot_signing::VerifyError> {
    keys.verify_hub(signature, body)
}
