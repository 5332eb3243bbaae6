//! The outbox: deliveries of notifications to subscriptions, their leases and attempts.
//!
//! Times passed in (`now_ms`) come from the caller's clock, so a delivery worker driven by a
//! test clock sees retry times and failure windows move with it.

use std::collections::HashMap;
use std::time::Duration;

use super::Store;
use crate::backend::{Replay, dispatch};
use crate::rows::{AttemptInsert, AttemptRow, DeliveryRow};
use crate::{
    ClaimedDelivery, Delivery, DeliveryAttempt, DeliveryFilter, DeliveryLease, DeliveryNext,
    DeliveryState, Notification, ReplayRange, StoreError, SubscriptionHealth,
};

/// Longest response excerpt kept per attempt, in bytes.
const RESPONSE_EXCERPT: usize = 1024;

/// The outbox: deliveries of notifications to subscriptions, their leases, attempts and replays. Borrowed from [`Deliveries::list`].
#[derive(Debug, Clone, Copy)]
pub struct Deliveries<'a> {
    store: &'a Store,
}

impl Store {
    /// The outbox: deliveries of notifications to subscriptions, their leases, attempts and replays.
    #[must_use]
    pub fn deliveries(&self) -> Deliveries<'_> {
        Deliveries { store: self }
    }
}

impl Deliveries<'_> {
    /// Records deliveries of `notifications` to every matching enabled subscription, in one
    /// transaction (for notifications not caused by an event; the engine uses
    /// [`Effect::Notify`](crate::Effect::Notify) instead). Returns how many were recorded.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn notify(&self, notifications: Vec<Notification>) -> Result<usize, StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::notify(c, &notifications, now)))
            .await
    }

    /// Records `notification` for one subscription, whatever its filters (a test event).
    /// Returns the delivery id, or `None` when there is no such subscription.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn deliver_to(
        &self,
        subscription_id: i64,
        notification: Notification,
    ) -> Result<Option<i64>, StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| {
                dispatch!(db, |c, q| q::deliver_to(
                    c,
                    subscription_id,
                    &notification,
                    now
                ))
            })
            .await
    }

    /// Claims up to `limit` deliveries due at `now_ms` for `owner`, each leased for `lease`.
    /// Ordered subscriptions yield at most one open delivery per lane (the oldest); disabled
    /// subscriptions yield nothing.
    ///
    /// # Errors
    /// Query and sealing errors.
    pub async fn claim(
        &self,
        owner: &str,
        limit: usize,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let owner = owner.to_owned();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (rows, subscriptions) = self
            .store
            .run(move |db| {
                dispatch!(db, |c, q| {
                    let rows = q::claim_deliveries(c, &owner, now_ms, lease_ms, limit)?;
                    let mut ids: Vec<i64> = rows.iter().map(|r| r.subscription_id).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    let subscriptions = if ids.is_empty() {
                        Vec::new()
                    } else {
                        q::subscriptions_by_id(c, &ids)?
                    };
                    Ok((rows, subscriptions))
                })
            })
            .await?;
        let mut opened = HashMap::new();
        for row in subscriptions {
            opened.insert(row.id, self.store.subscriptions().open_row(row)?);
        }
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let subscription = opened.get(&row.subscription_id)?.clone();
                let lease = DeliveryLease {
                    delivery_id: row.id,
                    owner: row.lease_owner.clone()?,
                    attempt: row.attempts,
                };
                Some(ClaimedDelivery {
                    delivery: to_delivery(row, Vec::new()),
                    lease,
                    subscription,
                })
            })
            .collect())
    }

    /// Ends a lease: records `attempt` and moves the delivery on as `next` says, in one
    /// transaction; a success ends the subscription's run of failures, a failure starts one if
    /// none is running. Returns the subscription's health afterwards.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] (nothing written) when the lease no longer holds.
    pub async fn finish(
        &self,
        lease: &DeliveryLease,
        attempt: DeliveryAttempt,
        next: DeliveryNext,
    ) -> Result<SubscriptionHealth, StoreError> {
        let lease = lease.clone();
        let now = attempt.attempted_at_ms.saturating_add(attempt.latency_ms);
        let (state, next_at) = match next {
            DeliveryNext::Done => (DeliveryState::Done, now),
            DeliveryNext::RetryAt(at) => (DeliveryState::Failed, at),
            DeliveryNext::Dead => (DeliveryState::Dead, now),
        };
        let row = AttemptInsert {
            delivery_id: lease.delivery_id,
            attempted_at: attempt.attempted_at_ms,
            status_code: attempt.status_code.map(i32::from),
            latency_ms: attempt.latency_ms,
            error: attempt.error,
            response: attempt.response.map(|r| excerpt(&r)),
        };
        let (failing_since_ms, enabled) = self
            .store
            .run(move |db| {
                dispatch!(db, |c, q| q::finish_delivery(
                    c, &lease, state, next_at, &row, now
                ))
            })
            .await?;
        Ok(SubscriptionHealth {
            failing_since_ms,
            enabled,
        })
    }

    /// Deliveries matching `filter`, newest first, each with its attempts.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn list(&self, filter: DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        self.store
            .run(move |db| {
                dispatch!(db, |c, q| {
                    let rows = q::list_deliveries(c, &filter)?;
                    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                    let attempts = q::attempts_of(c, &ids)?;
                    Ok(with_attempts(rows, attempts))
                })
            })
            .await
    }

    /// One delivery with its attempts.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn get(&self, id: i64) -> Result<Option<Delivery>, StoreError> {
        self.store
            .run(move |db| {
                dispatch!(db, |c, q| {
                    let Some(row) = q::delivery(c, id)? else {
                        return Ok(None);
                    };
                    let attempts = q::attempts_of(c, &[id])?;
                    Ok(with_attempts(vec![row], attempts).pop())
                })
            })
            .await
    }

    /// Sends a delivery again (same `webhook-id`, fresh retry schedule); `false` if absent.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] while it is being sent.
    pub async fn replay(&self, id: i64) -> Result<bool, StoreError> {
        let now = self.store.now_ms();
        match self
            .store
            .run(move |db| dispatch!(db, |c, q| q::replay_delivery(c, id, now)))
            .await?
        {
            Replay::Queued => Ok(true),
            Replay::NotFound => Ok(false),
            Replay::Running | Replay::Pruned => Err(StoreError::Conflict(format!(
                "delivery {id} is being sent right now"
            ))),
        }
    }

    /// Sends again the deliveries of a subscription recorded in `range`; returns how many.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn replay_all(
        &self,
        subscription_id: i64,
        range: ReplayRange,
    ) -> Result<usize, StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::replay_range(c, subscription_id, &range, now)))
            .await
    }

    /// Open deliveries (pending, running, failed) per subscription and state.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn open_counts(&self) -> Result<Vec<(i64, DeliveryState, i64)>, StoreError> {
        let rows = self
            .store
            .run(|db| dispatch!(db, |c, q| q::open_delivery_counts(c)))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, state, n)| Some((id, DeliveryState::parse(&state)?, n)))
            .collect())
    }
}

fn excerpt(text: &str) -> String {
    if text.len() <= RESPONSE_EXCERPT {
        return text.to_owned();
    }
    let mut end = RESPONSE_EXCERPT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn with_attempts(rows: Vec<DeliveryRow>, attempts: Vec<AttemptRow>) -> Vec<Delivery> {
    let mut by_delivery: HashMap<i64, Vec<DeliveryAttempt>> = HashMap::new();
    for a in attempts {
        by_delivery
            .entry(a.delivery_id)
            .or_default()
            .push(DeliveryAttempt {
                attempted_at_ms: a.attempted_at,
                status_code: a.status_code.and_then(|s| u16::try_from(s).ok()),
                latency_ms: a.latency_ms,
                error: a.error,
                response: a.response,
            });
    }
    rows.into_iter()
        .map(|row| {
            let history = by_delivery.remove(&row.id).unwrap_or_default();
            to_delivery(row, history)
        })
        .collect()
}

fn to_delivery(row: DeliveryRow, history: Vec<DeliveryAttempt>) -> Delivery {
    Delivery {
        id: row.id,
        subscription_id: row.subscription_id,
        message_id: row.message_id,
        event_type: row.event_type,
        instance_id: row.instance_id,
        lane: row.lane,
        payload: row.payload,
        state: DeliveryState::parse(&row.status).unwrap_or(DeliveryState::Pending),
        attempts: row.attempts,
        next_attempt_at_ms: row.next_attempt_at,
        created_at_ms: row.created_at,
        finished_at_ms: row.finished_at,
        last_error: row.last_error,
        history,
    }
}
