//! Queries of the `api_messages` table (the send API), compiled for each backend like
//! `queries.rs`, which includes this file.

#[allow(clippy::wildcard_imports)]
use super::*;
use crate::rows::{ApiMessageInsert, ApiMessageRow};
use crate::schema::api_messages;

/// The API message and its send event, in one transaction; an idempotency key already taken
/// returns its message and writes nothing (`true`).
pub(crate) fn accept_api_message(
    c: &mut Conn,
    row: &ApiMessageInsert,
    mut event: EventInsert,
) -> Result<(ApiMessageRow, bool), StoreError> {
    let taken = |c: &mut Conn| -> Result<Option<ApiMessageRow>, StoreError> {
        let Some(key) = &row.idempotency_key else {
            return Ok(None);
        };
        Ok(api_messages::table
            .filter(api_messages::instance_id.eq(row.instance_id))
            .filter(api_messages::idempotency_key.eq(key))
            .select(ApiMessageRow::as_select())
            .first_row(c)?)
    };
    let accepted = write_tx(c, |c| {
        if let Some(existing) = taken(c)? {
            return Ok((existing, true));
        }
        let inserted: ApiMessageRow = diesel::insert_into(api_messages::table)
            .values(row)
            .returning(ApiMessageRow::as_returning())
            .get_result(c)?;
        event.dedupe_key = format!("send:{}", inserted.id);
        let recorded = record_one(c, &event)?;
        let updated = diesel::update(api_messages::table.find(inserted.id))
            .set(api_messages::event_id.eq(recorded.id))
            .returning(ApiMessageRow::as_returning())
            .get_result(c)?;
        Ok((updated, false))
    });
    match accepted {
        // A concurrent request with the same key committed first.
        Err(StoreError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => match taken(c)? {
            Some(existing) => Ok((existing, true)),
            None => Err(StoreError::Conflict("idempotency key".into())),
        },
        other => other,
    }
}

pub(crate) fn api_message(c: &mut Conn, id: i64) -> Result<Option<ApiMessageRow>, StoreError> {
    Ok(api_messages::table
        .find(id)
        .select(ApiMessageRow::as_select())
        .first_row(c)?)
}

pub(crate) fn api_message_by_key(
    c: &mut Conn,
    instance_id: i64,
    key: &str,
) -> Result<Option<ApiMessageRow>, StoreError> {
    Ok(api_messages::table
        .filter(api_messages::instance_id.eq(instance_id))
        .filter(api_messages::idempotency_key.eq(key))
        .select(ApiMessageRow::as_select())
        .first_row(c)?)
}

pub(crate) fn api_message_by_event(
    c: &mut Conn,
    event_id: i64,
) -> Result<Option<ApiMessageRow>, StoreError> {
    Ok(api_messages::table
        .filter(api_messages::event_id.eq(event_id))
        .select(ApiMessageRow::as_select())
        .first_row(c)?)
}

pub(crate) fn set_api_message_sent(
    c: &mut Conn,
    id: i64,
    wa_message_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    write_tx(c, |c| {
        Ok(diesel::update(api_messages::table.find(id))
            .set((
                api_messages::wa_message_id.eq(wa_message_id),
                api_messages::updated_at.eq(now),
            ))
            .execute(c)?
            > 0)
    })
}

pub(crate) fn set_api_message_mirrored(
    c: &mut Conn,
    id: i64,
    (conversation, message): (i64, i64),
    now: i64,
) -> Result<(), StoreError> {
    diesel::update(api_messages::table.find(id))
        .set((
            api_messages::chatwoot_conversation_id.eq(conversation),
            api_messages::chatwoot_message_id.eq(message),
            api_messages::updated_at.eq(now),
        ))
        .execute(c)?;
    Ok(())
}

/// Sends of an instance not finished yet (its queue in front of the gateway).
pub(crate) fn open_sends(c: &mut Conn, instance_id: i64) -> Result<i64, StoreError> {
    Ok(events::table
        .filter(events::instance_id.eq(instance_id))
        .filter(events::source.eq("api"))
        .filter(events::kind.eq("send"))
        .filter(unfinished())
        .count()
        .get_result(c)?)
}
