//! Group commit for event outcomes (`complete`, `fail`, `ignore`; see [`crate::group_commit`]):
//! the workers of a batch finish at about the same time, and their outcomes share a commit.

use crate::StoreError;
use crate::backend::{Db, dispatch};
use crate::event::Outcome;
use crate::group_commit::GroupCommit;

/// The outcome writers.
pub(crate) type Outcomes = GroupCommit<Outcome, ()>;

pub(crate) fn start(db: &Db, writers: usize, max_batch: usize) -> Result<Outcomes, StoreError> {
    GroupCommit::start("outcomes", db, writers, max_batch, write)
}

fn write(db: &Db, outcomes: &[Outcome]) -> Vec<Result<(), StoreError>> {
    match finish_batch(db, outcomes) {
        Ok(answers) => answers,
        Err(err) => {
            // The commit failed: nothing of the batch was written; each outcome is tried on
            // its own so one that cannot be written does not fail the others.
            tracing::debug!(error = %err, size = outcomes.len(), "outcome batch failed; writing one by one");
            outcomes
                .iter()
                .map(|o| {
                    finish_batch(db, std::slice::from_ref(o))
                        .and_then(|mut answers| answers.pop().unwrap_or(Ok(())))
                })
                .collect()
        }
    }
}

fn finish_batch(db: &Db, outcomes: &[Outcome]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    dispatch!(db, |c, q| q::finish_batch(c, outcomes))
}
