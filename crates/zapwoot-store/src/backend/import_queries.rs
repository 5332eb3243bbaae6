//! Queries of import jobs, compiled for each backend like `queries.rs`, which includes this
//! file.

use diesel::prelude::*;

use crate::backend::FirstRow as _;

use super::super::{Conn, write_tx};
use crate::StoreError;
use crate::rows::{ImportInsert, ImportProgress, ImportRow};
use crate::schema::import_jobs;

pub(crate) fn insert_import(c: &mut Conn, row: &ImportInsert) -> Result<ImportRow, StoreError> {
    write_tx(c, |c| {
        Ok(diesel::insert_into(import_jobs::table)
            .values(row)
            .returning(ImportRow::as_returning())
            .get_result(c)?)
    })
}

pub(crate) fn update_import(
    c: &mut Conn,
    id: i64,
    progress: &ImportProgress,
) -> Result<bool, StoreError> {
    write_tx(c, |c| {
        Ok(diesel::update(import_jobs::table.find(id))
            .set(progress)
            .execute(c)?
            > 0)
    })
}

pub(crate) fn import_job(c: &mut Conn, id: i64) -> Result<Option<ImportRow>, StoreError> {
    Ok(import_jobs::table
        .find(id)
        .select(ImportRow::as_select())
        .first_row(c)?)
}

/// The newest unfinished (running or failed) job of an instance.
pub(crate) fn unfinished_import(
    c: &mut Conn,
    instance_id: i64,
) -> Result<Option<ImportRow>, StoreError> {
    Ok(import_jobs::table
        .filter(import_jobs::instance_id.eq(instance_id))
        .filter(import_jobs::state.ne("done"))
        .order(import_jobs::id.desc())
        .select(ImportRow::as_select())
        .first_row(c)?)
}

pub(crate) fn list_imports(
    c: &mut Conn,
    instance_id: Option<i64>,
) -> Result<Vec<ImportRow>, StoreError> {
    let mut query = import_jobs::table
        .order(import_jobs::id.desc())
        .limit(100)
        .select(ImportRow::as_select())
        .into_boxed();
    if let Some(id) = instance_id {
        query = query.filter(import_jobs::instance_id.eq(id));
    }
    Ok(query.load(c)?)
}
