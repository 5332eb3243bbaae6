//! End-to-end: the engine with a real store (SQLite file and PostgreSQL) against the fake
//! Chatwoot and the fake gateways over loopback, webhooks ingested as the bridge does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    unreachable_pub
)]

#[macro_use]
mod support;

mod agent_to_whatsapp;
mod blue_ticks;
mod crash;
mod csat;
mod events;
mod failures;
mod groups_and_calls;
mod import;
mod integration;
mod reconcile;
mod send_api;
mod session;
mod typing;
mod webhooks;
mod whatsapp_to_agent;
mod workers;
