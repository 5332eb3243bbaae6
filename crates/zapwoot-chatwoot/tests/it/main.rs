//! Integration tests: every client call over real loopback HTTP against `zapwoot-fakes`'
//! fake Chatwoot, and webhook parsing over realistic bodies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

mod support;

mod contacts;
mod conversations;
mod errors;
mod inboxes;
mod messages;
mod webhook_parsing;
mod webhooks_live;
