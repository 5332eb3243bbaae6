//! The store test suite. Every test in the modules below runs twice: against a real SQLite
//! file and against the real PostgreSQL server `scripts/test.sh` starts
//! (`ZAPWOOT_TEST_DATABASE_URL`), each test in a fresh schema.

// Test code may unwrap and panic: a failure should be loud.
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

mod access;
mod console;
mod instances;
mod mappings;
mod migrations;
mod outbox;
mod queue;
mod sealing;
mod sends;
