//! aldinokemal/go-whatsapp-web-multidevice (GOWA): webhook parsing and the REST client.

mod client;
mod parse;

pub use client::{GowaClient, GowaClientBuilder};
pub use parse::{Generation, GowaWebhook, parse};

/// The header GOWA signs webhooks in.
pub const SIGNATURE_HEADER: &str = zapwoot_signing::hub::HEADER;
