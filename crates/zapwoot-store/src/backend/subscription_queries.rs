//! Queries of the `subscriptions` table.

#[allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Subscriptions

pub(crate) fn insert_subscription(
    c: &mut Conn,
    row: &SubscriptionInsert,
) -> Result<SubscriptionRow, StoreError> {
    Ok(diesel::insert_into(subscriptions::table)
        .values(row)
        .returning(SubscriptionRow::as_returning())
        .get_result(c)?)
}

pub(crate) fn list_subscriptions(c: &mut Conn) -> Result<Vec<SubscriptionRow>, StoreError> {
    Ok(subscriptions::table
        .order(subscriptions::id.asc())
        .select(SubscriptionRow::as_select())
        .load(c)?)
}

pub(crate) fn subscription(c: &mut Conn, id: i64) -> Result<Option<SubscriptionRow>, StoreError> {
    Ok(subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first_row(c)?)
}

pub(crate) fn delete_subscription(c: &mut Conn, id: i64) -> Result<bool, StoreError> {
    Ok(diesel::delete(subscriptions::table.find(id)).execute(c)? > 0)
}

pub(crate) fn set_subscription_enabled(
    c: &mut Conn,
    id: i64,
    enabled: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let target = subscriptions::table.find(id);
    let changed = if enabled {
        diesel::update(target)
            .set((
                subscriptions::enabled.eq(true),
                subscriptions::failing_since.eq(None::<i64>),
                subscriptions::disabled_reason.eq(None::<String>),
                subscriptions::updated_at.eq(now),
            ))
            .execute(c)?
    } else {
        diesel::update(target)
            .set((
                subscriptions::enabled.eq(false),
                subscriptions::updated_at.eq(now),
            ))
            .execute(c)?
    };
    Ok(changed > 0)
}
