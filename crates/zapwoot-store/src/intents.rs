//! Group commit for `record_intent` (see [`crate::group_commit`]): the events in flight record
//! their intents at about the same time, before their upstream calls.

use crate::StoreError;
use crate::backend::{Db, dispatch};
use crate::group_commit::GroupCommit;
use crate::mapping::NewMessage;
use crate::rows::MessageRow;

/// The intent writers: `(message, now in unix ms)` → its mapping row.
pub(crate) type Intents = GroupCommit<(NewMessage, i64), MessageRow>;

pub(crate) fn start(db: &Db, writers: usize, max_batch: usize) -> Result<Intents, StoreError> {
    GroupCommit::start("intents", db, writers, max_batch, write)
}

fn write(
    db: &Db,
    intents: &[(NewMessage, i64)],
) -> Result<Vec<Result<MessageRow, StoreError>>, StoreError> {
    dispatch!(db, |c, q| q::record_intents(c, intents))
}
