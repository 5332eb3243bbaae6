//! The harness lives in `zapwoot-testkit`, shared with the reliability suite and the bench.

pub use zapwoot_testkit::*;
