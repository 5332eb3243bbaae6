//! Group commit for `events().record` (see [`crate::group_commit`]).

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

fn write(db: &Db, rows: &[EventInsert]) -> Result<Vec<Result<Recorded, StoreError>>, StoreError> {
    let recorded = dispatch!(db, |c, q| q::record_batch(c, rows))?;
    Ok(recorded.into_iter().map(Ok).collect())
}
