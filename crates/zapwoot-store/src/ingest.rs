//! Group commit for `record_inbound` (see [`crate::group_commit`]).

use crate::StoreError;
use crate::backend::{Db, dispatch};
use crate::event::Recorded;
use crate::group_commit::GroupCommit;
use crate::rows::EventInsert;

/// The ingest writers.
pub(crate) type Ingest = GroupCommit<EventInsert, Recorded>;

pub(crate) fn start(db: &Db, writers: usize, max_batch: usize) -> Result<Ingest, StoreError> {
    GroupCommit::start("ingest", db, writers, max_batch, write)
}

fn write(db: &Db, rows: &[EventInsert]) -> Vec<Result<Recorded, StoreError>> {
    match record_batch(db, rows) {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(err) => {
            // One bad row (say, its instance was just deleted) must not fail its neighbours:
            // retry each on its own so every caller gets its own answer.
            tracing::debug!(error = %err, size = rows.len(), "batch insert failed; writing events one by one");
            rows.iter().map(|row| record_single(db, row)).collect()
        }
    }
}

fn record_batch(db: &Db, rows: &[EventInsert]) -> Result<Vec<Recorded>, StoreError> {
    dispatch!(db, |c, q| q::record_batch(c, rows))
}

fn record_single(db: &Db, row: &EventInsert) -> Result<Recorded, StoreError> {
    dispatch!(db, |c, q| q::record_single(c, row))
}
