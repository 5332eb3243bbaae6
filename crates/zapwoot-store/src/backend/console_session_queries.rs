//! Queries of the `console_sessions` table, compiled for each backend like `queries.rs`,
//! which includes this file.

use diesel::prelude::*;

use crate::backend::FirstRow as _;

use super::super::{Conn, write_tx};
use crate::StoreError;
use crate::rows::ConsoleSessionRow;
use crate::schema::console_sessions;

/// Inserts a session and removes every expired one.
pub(crate) fn insert_console_session(
    c: &mut Conn,
    row: &ConsoleSessionRow,
    now: i64,
) -> Result<(), StoreError> {
    write_tx(c, |c| {
        diesel::delete(console_sessions::table.filter(console_sessions::expires_at.le(now)))
            .execute(c)?;
        diesel::insert_into(console_sessions::table)
            .values(row)
            .execute(c)?;
        Ok(())
    })
}

/// The session of `hash` that has not expired by `now`.
pub(crate) fn console_session(
    c: &mut Conn,
    hash: &str,
    now: i64,
) -> Result<Option<ConsoleSessionRow>, StoreError> {
    Ok(console_sessions::table
        .filter(console_sessions::token_hash.eq(hash))
        .filter(console_sessions::expires_at.gt(now))
        .select(ConsoleSessionRow::as_select())
        .first_row(c)?)
}

/// Deletes the session of `hash`; whether there was one.
pub(crate) fn delete_console_session(c: &mut Conn, hash: &str) -> Result<bool, StoreError> {
    write_tx(c, |c| {
        Ok(
            diesel::delete(console_sessions::table.filter(console_sessions::token_hash.eq(hash)))
                .execute(c)?
                > 0,
        )
    })
}
