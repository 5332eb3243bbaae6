//! Queries of who may do what: `tenants`, `api_keys`, `pairing_links` and the `actions`
//! they take, compiled for each backend like `queries.rs`, which includes this file.

use diesel::prelude::*;

use crate::backend::FirstRow as _;

use super::super::{Conn, write_tx};
use crate::StoreError;
use crate::rows::{
    ActionInsert, ActionRow, ApiKeyInsert, ApiKeyRow, PairingLinkInsert, PairingLinkRow, TenantRow,
};
use crate::schema::{actions, api_keys, instances, pairing_links, subscriptions, tenants};

/// Inserts a tenant; a name already taken is a conflict.
pub(crate) fn insert_tenant(c: &mut Conn, row: &TenantRow) -> Result<(), StoreError> {
    write_tx(c, |c| {
        diesel::insert_into(tenants::table)
            .values(row)
            .execute(c)
            .map_err(super::conflict("tenant"))?;
        Ok(())
    })
}

/// Every tenant, by name.
pub(crate) fn tenants(c: &mut Conn) -> Result<Vec<TenantRow>, StoreError> {
    Ok(tenants::table
        .order(tenants::name.asc())
        .select(TenantRow::as_select())
        .load(c)?)
}

/// The tenant `name`.
pub(crate) fn tenant(c: &mut Conn, name: &str) -> Result<Option<TenantRow>, StoreError> {
    Ok(tenants::table
        .filter(tenants::name.eq(name))
        .select(TenantRow::as_select())
        .first_row(c)?)
}

/// Changes a tenant's description; the row after, `None` when absent.
pub(crate) fn update_tenant(
    c: &mut Conn,
    name: &str,
    description: &str,
    now: i64,
) -> Result<Option<TenantRow>, StoreError> {
    write_tx(c, |c| {
        diesel::update(tenants::table.filter(tenants::name.eq(name)))
            .set((
                tenants::description.eq(description),
                tenants::updated_at.eq(now),
            ))
            .execute(c)?;
        tenant(c, name)
    })
}

/// What still belongs to a tenant: instances, subscriptions and keys not revoked.
pub(crate) fn tenant_members(c: &mut Conn, name: &str) -> Result<(i64, i64, i64), StoreError> {
    let instances: i64 = instances::table
        .filter(instances::tenant.eq(name))
        .count()
        .get_result(c)?;
    let subscriptions: i64 = subscriptions::table
        .filter(subscriptions::tenant.eq(name))
        .count()
        .get_result(c)?;
    let keys: i64 = api_keys::table
        .filter(api_keys::tenant.eq(name))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(c)?;
    Ok((instances, subscriptions, keys))
}

/// Deletes a tenant that nothing belongs to any more; `Ok(false)` when absent, a conflict
/// naming what is left otherwise.
pub(crate) fn delete_tenant(c: &mut Conn, name: &str) -> Result<bool, StoreError> {
    write_tx(c, |c| {
        let (i, s, k) = tenant_members(c, name)?;
        if i + s + k > 0 {
            return Err(StoreError::Conflict(format!(
                "tenant {name:?} still has {i} instances, {s} subscriptions and {k} keys"
            )));
        }
        Ok(diesel::delete(tenants::table.filter(tenants::name.eq(name))).execute(c)? > 0)
    })
}

/// Inserts a key; its row.
pub(crate) fn insert_api_key(c: &mut Conn, row: &ApiKeyInsert) -> Result<ApiKeyRow, StoreError> {
    write_tx(c, |c| {
        diesel::insert_into(api_keys::table)
            .values(row)
            .returning(ApiKeyRow::as_returning())
            .get_result(c)
            .map_err(super::conflict("key"))
    })
}

/// Every key, newest first.
pub(crate) fn api_keys(c: &mut Conn) -> Result<Vec<ApiKeyRow>, StoreError> {
    Ok(api_keys::table
        .order(api_keys::id.desc())
        .select(ApiKeyRow::as_select())
        .load(c)?)
}

/// The key of `hash` (revoked and expired ones too).
pub(crate) fn api_key_by_hash(c: &mut Conn, hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .select(ApiKeyRow::as_select())
        .first_row(c)?)
}

/// The key `id`.
pub(crate) fn api_key(c: &mut Conn, id: i64) -> Result<Option<ApiKeyRow>, StoreError> {
    Ok(api_keys::table
        .filter(api_keys::id.eq(id))
        .select(ApiKeyRow::as_select())
        .first_row(c)?)
}

/// Revokes key `id` at `now`; whether it was active.
pub(crate) fn revoke_api_key(c: &mut Conn, id: i64, now: i64) -> Result<bool, StoreError> {
    write_tx(c, |c| {
        Ok(diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now))
        .execute(c)?
            > 0)
    })
}

/// Records that key `id` was used at `now`.
pub(crate) fn touch_api_key(c: &mut Conn, id: i64, now: i64) -> Result<(), StoreError> {
    write_tx(c, |c| {
        diesel::update(api_keys::table.filter(api_keys::id.eq(id)))
            .set(api_keys::last_used_at.eq(now))
            .execute(c)?;
        Ok(())
    })
}

/// Inserts a pairing link (removing every link that ended more than a day ago); its row.
pub(crate) fn insert_pairing_link(
    c: &mut Conn,
    row: &PairingLinkInsert,
) -> Result<PairingLinkRow, StoreError> {
    write_tx(c, |c| {
        diesel::delete(
            pairing_links::table.filter(pairing_links::expires_at.lt(row.created_at - 86_400_000)),
        )
        .execute(c)?;
        Ok(diesel::insert_into(pairing_links::table)
            .values(row)
            .returning(PairingLinkRow::as_returning())
            .get_result(c)?)
    })
}

/// The pairing link of `hash`.
pub(crate) fn pairing_link(c: &mut Conn, hash: &str) -> Result<Option<PairingLinkRow>, StoreError> {
    Ok(pairing_links::table
        .filter(pairing_links::token_hash.eq(hash))
        .select(PairingLinkRow::as_select())
        .first_row(c)?)
}

/// Marks every unused link of `instance_id` used at `now` (the phone paired); how many.
pub(crate) fn use_pairing_links(
    c: &mut Conn,
    instance_id: i64,
    now: i64,
) -> Result<usize, StoreError> {
    write_tx(c, |c| {
        Ok(diesel::update(
            pairing_links::table
                .filter(pairing_links::instance_id.eq(instance_id))
                .filter(pairing_links::used_at.is_null()),
        )
        .set(pairing_links::used_at.eq(now))
        .execute(c)?)
    })
}

/// Records an action.
pub(crate) fn insert_action(c: &mut Conn, row: &ActionInsert) -> Result<(), StoreError> {
    write_tx(c, |c| {
        diesel::insert_into(actions::table).values(row).execute(c)?;
        Ok(())
    })
}

/// The newest `limit` actions, of `instances` (all when `None`) and of `target` (any when
/// `None`).
pub(crate) fn actions(
    c: &mut Conn,
    instances: Option<&[i64]>,
    target: Option<&str>,
    limit: i64,
) -> Result<Vec<ActionRow>, StoreError> {
    let mut query = actions::table
        .order(actions::id.desc())
        .limit(limit)
        .select(ActionRow::as_select())
        .into_boxed();
    if let Some(ids) = instances {
        query = query.filter(actions::instance_id.eq_any(ids.to_vec()));
    }
    if let Some(target) = target {
        query = query.filter(actions::target.eq(target.to_owned()));
    }
    Ok(query.load(c)?)
}
