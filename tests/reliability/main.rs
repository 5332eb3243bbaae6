//! The reliability suite: the real `zapwoot` binary as a process, on SQLite and PostgreSQL,
//! driven by the fakes over loopback, under `kill -9` loops, upstream outages, duplicated and
//! shuffled webhooks, two replicas, and hostile input. Each test checks the end state: every
//! message exactly once, in per-chat order, nothing secret in the logs.
//!
//! Short variants run in `scripts/test.sh`; `ZAPWOOT_LONG=1` turns on the long ones (more
//! kills and messages, the 30-minute soak): see `tests/README.md`. The suite runs the binary
//! built for `bins/zapwoot`'s own tests: run it with the workspace (`scripts/test.sh`) or with
//! `cargo test -p zapwoot -p zapwoot-reliability`.
#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr,
    dead_code
)]

use zapwoot_testkit as support;

mod common;

mod bad_input;

mod crash_loop;
mod duplicates;
mod outage;
mod replicas;
mod soak;

/// The long variants (`ZAPWOOT_LONG=1`).
fn long() -> bool {
    std::env::var("ZAPWOOT_LONG").is_ok_and(|v| v == "1")
}
