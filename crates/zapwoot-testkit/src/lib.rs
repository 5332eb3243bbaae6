//! What zapwoot's test suites share: throwaway databases on both backends ([`Db`]), the real
//! `zapwoot` binary as a child process driven over its admin API ([`Bridge`]), and waiting for
//! conditions instead of sleeping — above all [`Bridge::wait_idle`], which waits until no
//! event and no outbound delivery is open, so an "exactly once" assertion made after it fails
//! on a late duplicate instead of missing it. [`on_both_databases!`] runs a test on both
//! backends. [`events`] checks event payloads against their published JSON Schemas.
//!
//! ```no_run
//! # async fn example() {
//! let db = zapwoot_testkit::Db::sqlite();
//! let bridge = zapwoot_testkit::Bridge::start(&db);
//! bridge.wait_idle().await;
//! # }
//! ```
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod both;
mod bridge;
pub mod chatwoot;
mod db;
pub mod events;

pub use bridge::{Bridge, add_instance, cli, gowa_doc, http_client, wuzapi_doc, zapwoot_binary};
pub use db::Db;

pub const ADMIN_TOKEN: &str = "admin-token-5f1c9e2b7a";
/// 32 bytes of 7, base64.
pub const SECRET_KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
pub const HMAC_KEY: &str = "wuzapi-hmac-key-0123456789abcdef-xyz";
pub const CUSTOMER: &str = "5511987654321@s.whatsapp.net";
pub const OWN: &str = "5511900000000@s.whatsapp.net";

/// Polls `check` (every 20 ms) until it holds; panics with `why()` once `deadline` has passed.
/// The one place a test waits on a condition it cannot be told about.
pub async fn wait_until(
    deadline: tokio::time::Instant,
    why: impl Fn() -> String,
    mut check: impl FnMut() -> bool,
) {
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{}", why());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
