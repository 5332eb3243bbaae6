//! Queries of the `instances` table.

#[allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Instances

pub(crate) fn insert_instance(
    c: &mut Conn,
    row: &InstanceWrite,
    now: i64,
) -> Result<InstanceRow, StoreError> {
    diesel::insert_into(instances::table)
        .values((row, instances::created_at.eq(now)))
        .returning(InstanceRow::as_returning())
        .get_result(c)
        .map_err(conflict("an instance with this name"))
}

pub(crate) fn update_instance(
    c: &mut Conn,
    id: i64,
    row: &InstanceWrite,
) -> Result<Option<InstanceRow>, StoreError> {
    diesel::update(instances::table.find(id))
        .set(row)
        .returning(InstanceRow::as_returning())
        .get_result(c)
        .optional()
        .map_err(conflict("an instance with this name"))
}

pub(crate) fn instance_by_name(
    c: &mut Conn,
    name: &str,
) -> Result<Option<InstanceRow>, StoreError> {
    Ok(instances::table
        .filter(instances::name.eq(name))
        .select(InstanceRow::as_select())
        .first_row(c)?)
}

pub(crate) fn instance_by_id(c: &mut Conn, id: i64) -> Result<Option<InstanceRow>, StoreError> {
    Ok(instances::table
        .find(id)
        .select(InstanceRow::as_select())
        .first_row(c)?)
}

pub(crate) fn instance_by_key_hash(
    c: &mut Conn,
    column: KeyColumn,
    hash: &str,
) -> Result<Option<InstanceRow>, StoreError> {
    let query = instances::table
        .select(InstanceRow::as_select())
        .into_boxed();
    let query = match column {
        KeyColumn::Gateway => query.filter(instances::gateway_key_hash.eq(hash)),
        KeyColumn::Chatwoot => query.filter(instances::chatwoot_key_hash.eq(hash)),
    };
    Ok(query.first_row(c)?)
}

pub(crate) fn list_instances(c: &mut Conn) -> Result<Vec<InstanceRow>, StoreError> {
    Ok(instances::table
        .order(instances::name.asc())
        .select(InstanceRow::as_select())
        .load(c)?)
}

pub(crate) fn instance_versions(c: &mut Conn) -> Result<Vec<(i64, i64)>, StoreError> {
    Ok(instances::table
        .order(instances::id.asc())
        .select((instances::id, instances::updated_at))
        .load(c)?)
}

pub(crate) fn instance_names(c: &mut Conn) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(instances::table
        .order(instances::name.asc())
        .select((instances::id, instances::name))
        .load(c)?)
}

pub(crate) fn delete_instance(c: &mut Conn, name: &str) -> Result<bool, StoreError> {
    write_tx(c, |c| {
        Ok(diesel::delete(instances::table.filter(instances::name.eq(name))).execute(c)? > 0)
    })
}
