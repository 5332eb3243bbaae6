//! Queries of the `connections` table (each instance's session), compiled for each backend
//! like `queries.rs`, which includes this file.

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::connection::ObservedConnection;
use crate::rows::ConnectionRow;
use crate::schema::connections;

/// Records an observation: a new state starts its `since` now and replaces the reason; the
/// same state only refreshes what it names. JID and name are kept unless it names new ones.
pub(crate) fn observe_connection(
    c: &mut Conn,
    seen: &ObservedConnection,
    now: i64,
) -> Result<(), StoreError> {
    let current: Option<ConnectionRow> = connections::table
        .find(seen.instance_id)
        .select(ConnectionRow::as_select())
        .first_row(c)?;
    let state = seen.state.as_str().to_owned();
    let row = match current {
        Some(mut row) => {
            if row.state != state {
                row.state = state;
                row.since = now;
                row.reason.clone_from(&seen.reason);
            } else if seen.reason.is_some() {
                row.reason.clone_from(&seen.reason);
            }
            row.jid = seen.jid.clone().or(row.jid);
            row.push_name = seen.push_name.clone().or(row.push_name);
            row.detail.clone_from(&seen.detail);
            row.updated_at = now;
            row
        }
        None => ConnectionRow {
            instance_id: seen.instance_id,
            state,
            jid: seen.jid.clone(),
            push_name: seen.push_name.clone(),
            reason: seen.reason.clone(),
            detail: seen.detail.clone(),
            since: now,
            announced_state: None,
            updated_at: now,
        },
    };
    diesel::insert_into(connections::table)
        .values(&row)
        .on_conflict(connections::instance_id)
        .do_update()
        .set(&row)
        .execute(c)?;
    Ok(())
}

/// Records a first sight of the instance's session when none is recorded (a baseline, taken
/// as announced: nothing changed that anyone was told of). Returns whether it was recorded.
pub(crate) fn baseline_connection(
    c: &mut Conn,
    seen: &ObservedConnection,
    now: i64,
) -> Result<bool, StoreError> {
    let state = seen.state.as_str().to_owned();
    let row = ConnectionRow {
        instance_id: seen.instance_id,
        announced_state: Some(state.clone()),
        state,
        jid: seen.jid.clone(),
        push_name: seen.push_name.clone(),
        reason: seen.reason.clone(),
        detail: seen.detail.clone(),
        since: now,
        updated_at: now,
    };
    let inserted = diesel::insert_into(connections::table)
        .values(&row)
        .on_conflict(connections::instance_id)
        .do_nothing()
        .execute(c)?;
    Ok(inserted == 1)
}

/// Records that `state` was announced for the instance.
pub(crate) fn connection_announced(
    c: &mut Conn,
    instance_id: i64,
    state: &str,
) -> Result<(), StoreError> {
    diesel::update(connections::table.find(instance_id))
        .set(connections::announced_state.eq(state))
        .execute(c)?;
    Ok(())
}

/// One instance's session.
pub(crate) fn connection(
    c: &mut Conn,
    instance_id: i64,
) -> Result<Option<ConnectionRow>, StoreError> {
    Ok(connections::table
        .find(instance_id)
        .select(ConnectionRow::as_select())
        .first_row(c)?)
}

/// Every instance's session.
pub(crate) fn connections(c: &mut Conn) -> Result<Vec<ConnectionRow>, StoreError> {
    Ok(connections::table
        .order(connections::instance_id)
        .select(ConnectionRow::as_select())
        .load(c)?)
}

/// The instances whose session is in `state`.
pub(crate) fn instances_in_state(c: &mut Conn, state: &str) -> Result<Vec<i64>, StoreError> {
    Ok(connections::table
        .filter(connections::state.eq(state))
        .order(connections::instance_id)
        .select(connections::instance_id)
        .load(c)?)
}
