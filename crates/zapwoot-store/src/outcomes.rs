//! Group commit for event outcomes (`complete`, `fail`, `ignore`; see [`crate::group_commit`]):
//! the workers finish events at about the same time, and their outcomes share a commit.

use crate::StoreError;
use crate::backend::{Db, dispatch};
use crate::event::Outcome;
use crate::group_commit::GroupCommit;

/// The outcome writers.
pub(crate) type Outcomes = GroupCommit<Outcome, ()>;

pub(crate) fn start(db: &Db, writers: usize, max_batch: usize) -> Result<Outcomes, StoreError> {
    GroupCommit::start("outcomes", db, writers, max_batch, write)
}

fn write(db: &Db, outcomes: &[Outcome]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    dispatch!(db, |c, q| q::finish_batch(c, outcomes))
}
