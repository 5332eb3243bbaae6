//! asternic/wuzapi: webhook parsing and the REST client.

mod client;
mod parse;

pub use client::{ReplyContext, WuzapiClient};
pub(crate) use parse::identities;
pub use parse::{WuzapiWebhook, parse};

/// The header wuzapi signs webhooks in.
pub const SIGNATURE_HEADER: &str = zapwoot_signing::plain_hex::HEADER;
