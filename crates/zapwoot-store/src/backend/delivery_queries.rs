//! Queries of the outbox (subscriptions' deliveries and their attempts), compiled for each
//! backend like `queries.rs`, which includes this file.

use diesel::prelude::*;

use crate::backend::FirstRow as _;

use super::super::{Conn, delivery_claim_sql, write_tx};
use super::{Held, Release, deliveries_finished, delivery_leases, unfinished};
use crate::StoreError;
use crate::backend::Replay;
use crate::delivery::{DeliveryLease, DeliveryState, Notification, ReplayRange};
use crate::rows::{
    AttemptInsert, AttemptRow, DeliveryInsert, DeliveryRow, SubscriptionRow, SubscriptionUpdate,
};
use crate::schema::{deliveries, delivery_attempts, subscriptions};
use crate::subscription::filter_matches;

/// Records one delivery per notification and matching enabled subscription (a notification
/// already delivered to a subscription under the same id is skipped). Runs inside the caller's
/// transaction.
pub(crate) fn fan_out(
    c: &mut Conn,
    notifications: &[&Notification],
    now: i64,
) -> Result<usize, StoreError> {
    if notifications.is_empty() {
        return Ok(0);
    }
    let subscriptions: Vec<(i64, String, Option<String>, Option<String>)> = subscriptions::table
        .filter(subscriptions::enabled.eq(true))
        .select((
            subscriptions::id,
            subscriptions::events,
            subscriptions::instances,
            subscriptions::tenant,
        ))
        .load(c)?;
    let mut filters = Vec::with_capacity(subscriptions.len());
    for (id, events, instances, tenant) in subscriptions {
        let events: Vec<String> = crate::store::json_column("subscriptions.events", &events)?;
        let instances: Option<Vec<String>> = instances
            .as_deref()
            .map(|text| crate::store::json_column("subscriptions.instances", text))
            .transpose()?;
        filters.push((id, events, instances, tenant));
    }
    // A tenant's subscription hears only its tenant's instances.
    let tenants: std::collections::HashMap<i64, Option<String>> =
        if filters.iter().any(|f| f.3.is_some()) {
            let ids: Vec<i64> = notifications
                .iter()
                .filter_map(|n| n.instance.as_ref().map(|(id, _)| *id))
                .collect();
            crate::schema::instances::table
                .filter(crate::schema::instances::id.eq_any(ids))
                .select((
                    crate::schema::instances::id,
                    crate::schema::instances::tenant,
                ))
                .load::<(i64, Option<String>)>(c)?
                .into_iter()
                .collect()
        } else {
            std::collections::HashMap::new()
        };
    let mut created = 0;
    for n in notifications {
        let instance = n.instance.as_ref().map(|(_, name)| name.as_str());
        let instance_tenant = n
            .instance
            .as_ref()
            .and_then(|(id, _)| tenants.get(id))
            .and_then(Option::as_deref);
        for (id, events, instances, tenant) in &filters {
            let in_tenant = tenant.as_deref().is_none_or(|t| instance_tenant == Some(t));
            if in_tenant && filter_matches(events, instances.as_deref(), &n.event_type, instance) {
                created += insert_one(c, *id, n, now)?;
            }
        }
    }
    Ok(created)
}

/// [`fan_out`] in a transaction of its own.
pub(crate) fn notify(
    c: &mut Conn,
    notifications: &[Notification],
    now: i64,
) -> Result<usize, StoreError> {
    write_tx(c, |c| {
        fan_out(c, &notifications.iter().collect::<Vec<_>>(), now)
    })
}

fn insert_one(
    c: &mut Conn,
    subscription_id: i64,
    n: &Notification,
    now: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::insert_into(deliveries::table)
        .values(DeliveryInsert {
            subscription_id,
            message_id: &n.message_id,
            event_type: &n.event_type,
            instance_id: n.instance.as_ref().map(|(id, _)| *id),
            lane: &n.lane,
            payload: &n.payload,
            next_attempt_at: now,
            created_at: now,
        })
        .on_conflict((deliveries::subscription_id, deliveries::message_id))
        .do_nothing()
        .execute(c)?)
}

/// Records `n` for one subscription regardless of its filters (test events); returns the
/// delivery's id, or `None` when there is no such subscription.
pub(crate) fn deliver_to(
    c: &mut Conn,
    subscription_id: i64,
    n: &Notification,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    write_tx(c, |c| {
        let exists = subscriptions::table
            .find(subscription_id)
            .select(subscriptions::id)
            .first::<i64>(c)
            .optional()?
            .is_some();
        if !exists {
            return Ok(None);
        }
        insert_one(c, subscription_id, n, now)?;
        Ok(deliveries::table
            .filter(deliveries::subscription_id.eq(subscription_id))
            .filter(deliveries::message_id.eq(&n.message_id))
            .select(deliveries::id)
            .first_row(c)?)
    })
}

/// Claims up to `limit` due deliveries of enabled subscriptions (for ordered subscriptions
/// only lane heads) and leases them to `owner` until `now + lease_ms`.
pub(crate) fn claim_deliveries(
    c: &mut Conn,
    owner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    delivery_leases::claim(c, delivery_claim_sql(), owner, now, lease_ms, limit)
}

/// The subscriptions with these ids.
pub(crate) fn subscriptions_by_id(
    c: &mut Conn,
    ids: &[i64],
) -> Result<Vec<SubscriptionRow>, StoreError> {
    Ok(subscriptions::table
        .filter(subscriptions::id.eq_any(ids))
        .select(SubscriptionRow::as_select())
        .load(c)?)
}

/// Ends a delivery lease: records the attempt, moves the delivery to `state` and updates the
/// subscription's run of failures. Returns the subscription's `(failing_since, enabled)`.
pub(crate) fn finish_delivery(
    c: &mut Conn,
    lease: &DeliveryLease,
    state: DeliveryState,
    next_attempt_at: i64,
    attempt: &AttemptInsert,
    now: i64,
) -> Result<(Option<i64>, bool), StoreError> {
    write_tx(c, |c| {
        let finished_at = matches!(state, DeliveryState::Done | DeliveryState::Dead).then_some(now);
        let held = Held {
            id: lease.delivery_id,
            owner: &lease.owner,
            attempt: lease.attempt,
        };
        let subscription_id = delivery_leases::release(
            c,
            held,
            Release {
                status: state.as_str(),
                next_attempt_at,
                finished_at,
                last_error: attempt.error.as_deref(),
            },
        )?;
        diesel::insert_into(delivery_attempts::table)
            .values(attempt)
            .execute(c)?;
        let subscription = subscriptions::table.find(subscription_id);
        if state == DeliveryState::Done {
            diesel::update(subscription.filter(subscriptions::failing_since.is_not_null()))
                .set(subscriptions::failing_since.eq(None::<i64>))
                .execute(c)?;
        } else {
            diesel::update(subscription.filter(subscriptions::failing_since.is_null()))
                .set(subscriptions::failing_since.eq(Some(now)))
                .execute(c)?;
        }
        Ok(subscription
            .select((subscriptions::failing_since, subscriptions::enabled))
            .first(c)?)
    })
}

/// Disables an enabled subscription with `reason`; `false` if it was already disabled or is gone.
pub(crate) fn disable_subscription(
    c: &mut Conn,
    id: i64,
    reason: &str,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::enabled.eq(true)),
    )
    .set((
        subscriptions::enabled.eq(false),
        subscriptions::disabled_reason.eq(reason),
        subscriptions::updated_at.eq(now),
    ))
    .execute(c)?
        > 0)
}

pub(crate) fn update_subscription(
    c: &mut Conn,
    id: i64,
    update: &SubscriptionUpdate,
) -> Result<Option<SubscriptionRow>, StoreError> {
    Ok(diesel::update(subscriptions::table.find(id))
        .set(update)
        .returning(SubscriptionRow::as_returning())
        .get_result(c)
        .optional()?)
}

/// Makes `sealed` the secret; the old one stays as the previous secret until `previous_until`.
pub(crate) fn rotate_secret(
    c: &mut Conn,
    id: i64,
    sealed: &str,
    previous_until: i64,
    now: i64,
) -> Result<Option<SubscriptionRow>, StoreError> {
    Ok(diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::previous_secret.eq(subscriptions::secret.nullable()),
            subscriptions::previous_secret_until.eq(previous_until),
            subscriptions::secret.eq(sealed),
            subscriptions::updated_at.eq(now),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(c)
        .optional()?)
}

pub(crate) fn list_deliveries(
    c: &mut Conn,
    filter: &crate::DeliveryFilter,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut query = deliveries::table
        .select(DeliveryRow::as_select())
        .order(deliveries::id.desc())
        .limit(filter.limit.unwrap_or(100).clamp(1, 1000))
        .into_boxed();
    if let Some(id) = filter.subscription_id {
        query = query.filter(deliveries::subscription_id.eq(id));
    }
    if let Some(state) = filter.state {
        query = query.filter(deliveries::status.eq(state.as_str()));
    }
    if let Some(since) = filter.since_ms {
        query = query.filter(deliveries::created_at.ge(since));
    }
    if let Some(until) = filter.until_ms {
        query = query.filter(deliveries::created_at.lt(until));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(deliveries::id.lt(before));
    }
    Ok(query.load(c)?)
}

pub(crate) fn delivery(c: &mut Conn, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
    Ok(deliveries::table
        .find(id)
        .select(DeliveryRow::as_select())
        .first_row(c)?)
}

/// The attempts of these deliveries, oldest first.
pub(crate) fn attempts_of(c: &mut Conn, ids: &[i64]) -> Result<Vec<AttemptRow>, StoreError> {
    Ok(delivery_attempts::table
        .filter(delivery_attempts::delivery_id.eq_any(ids))
        .order(delivery_attempts::id.asc())
        .select(AttemptRow::as_select())
        .load(c)?)
}

/// The changes that put a delivery back in the queue with a fresh schedule.
macro_rules! requeue {
    ($now:expr) => {
        (
            deliveries::status.eq(DeliveryState::Pending.as_str()),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq($now),
            deliveries::lease_owner.eq(None::<String>),
            deliveries::lease_expires_at.eq(None::<i64>),
            deliveries::finished_at.eq(None::<i64>),
        )
    };
}

/// Sends one delivery again with a fresh retry schedule (same `webhook-id`).
pub(crate) fn replay_delivery(c: &mut Conn, id: i64, now: i64) -> Result<Replay, StoreError> {
    write_tx(c, |c| {
        let status = deliveries::table
            .find(id)
            .select(deliveries::status)
            .first::<String>(c)
            .optional()?;
        match status.as_deref() {
            None => Ok(Replay::NotFound),
            Some(s) if s == DeliveryState::Running.as_str() => Ok(Replay::Running),
            Some(_) => {
                diesel::update(deliveries::table.find(id))
                    .set(requeue!(now))
                    .execute(c)?;
                Ok(Replay::Queued)
            }
        }
    })
}

/// Sends again the deliveries of a subscription recorded in a time range; returns how many.
pub(crate) fn replay_range(
    c: &mut Conn,
    subscription_id: i64,
    range: &ReplayRange,
    now: i64,
) -> Result<usize, StoreError> {
    let states: &[&str] = if range.include_done {
        &["failed", "dead", "done"]
    } else {
        &["failed", "dead"]
    };
    write_tx(c, |c| {
        Ok(diesel::update(
            deliveries::table
                .filter(deliveries::subscription_id.eq(subscription_id))
                .filter(deliveries::created_at.ge(range.since_ms))
                .filter(deliveries::created_at.lt(range.until_ms))
                .filter(deliveries::status.eq_any(states)),
        )
        .set(requeue!(now))
        .execute(c)?)
    })
}

/// Deletes finished deliveries (and their attempts) older than `cutoff`.
pub(crate) fn prune_deliveries(c: &mut Conn, cutoff: i64) -> Result<usize, StoreError> {
    Ok(diesel::delete(
        deliveries::table
            .filter(deliveries_finished())
            .filter(deliveries::finished_at.lt(cutoff)),
    )
    .execute(c)?)
}

/// `(subscription id, state, count)` of every delivery not yet finished.
pub(crate) fn open_delivery_counts(c: &mut Conn) -> Result<Vec<(i64, String, i64)>, StoreError> {
    Ok(deliveries::table
        .filter(unfinished())
        .group_by((deliveries::subscription_id, deliveries::status))
        .select((
            deliveries::subscription_id,
            deliveries::status,
            diesel::dsl::count_star(),
        ))
        .load(c)?)
}
