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

#[path = "../../bins/zapwoot/tests/blackbox/support.rs"]
mod support;

mod common;

mod bad_input;

mod crash_loop;
mod duplicates;
mod outage;
mod replicas;
mod soak;

/// The `zapwoot` binary next to this test's build (`target/<profile>/zapwoot`).
fn zapwoot_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("a test binary lives in target/<profile>/deps");
    let binary = profile_dir.join(format!("zapwoot{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run the suite with the workspace (scripts/test.sh) or `cargo test -p zapwoot -p zapwoot-reliability`",
        binary.display()
    );
    binary
}

/// The long variants (`ZAPWOOT_LONG=1`).
fn long() -> bool {
    std::env::var("ZAPWOOT_LONG").is_ok_and(|v| v == "1")
}
