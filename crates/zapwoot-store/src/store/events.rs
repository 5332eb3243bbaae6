//! The inbox, the queue and the audit log.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::Store;
use crate::backend::{Replay, dispatch};
use crate::clock::unix_ms;
use crate::event::Outcome;
use crate::rows::{EventInsert, EventRow};
use crate::{
    ClaimedEvent, Effect, EventCount, EventFilter, EventRecord, EventStatus, Lease, MinuteCount,
    NewEvent, Recorded, Source, StoreError,
};

/// The inbox, queue and audit log of events: recording webhooks, leasing them to workers, outcomes, retries and counts. Borrowed from [`Store::events`].
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    store: &'a Store,
}

impl Store {
    /// The inbox, queue and audit log of events: recording webhooks, leasing them to workers, outcomes, retries and counts.
    #[must_use]
    pub fn events(&self) -> Events<'_> {
        Events { store: self }
    }
}

impl Events<'_> {
    /// Records an inbound webhook durably. When this returns `Ok` the event is committed
    /// (SQLite: WAL with `synchronous=FULL`; PostgreSQL: committed), so the webhook may be
    /// acknowledged. Concurrent calls share commits (group commit). A duplicate dedupe key
    /// returns the existing event with `duplicate: true` and writes nothing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] and query errors (answer 503 so the upstream retries).
    pub async fn record(&self, event: NewEvent) -> Result<Recorded, StoreError> {
        let row = EventInsert::new(event, self.store.now_ms());
        self.store.inner.ingest.submit(row).await
    }

    /// Claims up to `limit` events for `owner`: per lane only the oldest unfinished event, and
    /// only when no other worker holds it (or its lease expired) and its retry time has come.
    /// Each claimed event is leased for `lease`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn claim(
        &self,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        let owner = owner.to_owned();
        let now = self.store.now_ms();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::claim(c, &owner, now, lease_ms, limit)))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let owner = row.lease_owner.clone()?;
                let lease = Lease {
                    event_id: row.id,
                    owner,
                    attempt: row.attempts,
                };
                Some(ClaimedEvent {
                    event: to_record(row),
                    lease,
                })
            })
            .collect())
    }

    /// Marks the leased event done and writes `effects`, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] (nothing written) when the lease no longer holds.
    pub async fn complete(&self, lease: &Lease, effects: Vec<Effect>) -> Result<(), StoreError> {
        self.finish(lease, EventStatus::Done, None, None, effects)
            .await
    }

    /// Records a failed attempt: retried at `retry_at` (the lane waits until then), or
    /// dead-lettered when `retry_at` is `None`. `effects` (for example a mapping marked
    /// failed) are written in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] (nothing written) when the lease no longer holds.
    pub async fn fail(
        &self,
        lease: &Lease,
        error: &str,
        retry_at: Option<SystemTime>,
        effects: Vec<Effect>,
    ) -> Result<EventStatus, StoreError> {
        let (status, next) = match retry_at {
            Some(at) => (EventStatus::Failed, Some(unix_ms(at))),
            None => (EventStatus::Dead, None),
        };
        self.finish(lease, status, next, Some(error.to_owned()), effects)
            .await?;
        Ok(status)
    }

    /// Marks the leased event ignored (deliberately not processed), with the reason, and
    /// writes `effects` (usually none) in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the lease no longer holds.
    pub async fn ignore(
        &self,
        lease: &Lease,
        reason: &str,
        effects: Vec<Effect>,
    ) -> Result<(), StoreError> {
        self.finish(
            lease,
            EventStatus::Ignored,
            None,
            Some(reason.to_owned()),
            effects,
        )
        .await
    }

    async fn finish(
        &self,
        lease: &Lease,
        status: EventStatus,
        next: Option<i64>,
        error: Option<String>,
        effects: Vec<Effect>,
    ) -> Result<(), StoreError> {
        self.store
            .inner
            .outcomes
            .submit(Outcome {
                lease: lease.clone(),
                status,
                next_attempt_at: next,
                error,
                effects,
                now: self.store.now_ms(),
            })
            .await
    }

    /// Puts any finished or waiting event back in the queue (replay), with a fresh retry
    /// schedule. Returns `false` when there is no such event.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the event is running right now, or its body was pruned.
    pub async fn retry(&self, id: i64) -> Result<bool, StoreError> {
        let now = self.store.now_ms();
        let outcome = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::replay(c, id, now)))
            .await?;
        match outcome {
            Replay::Queued => Ok(true),
            Replay::NotFound => Ok(false),
            Replay::Running => Err(StoreError::Conflict(format!(
                "event {id} is being processed right now"
            ))),
            Replay::Pruned => Err(StoreError::Conflict(format!(
                "event {id} was pruned; its body is gone"
            ))),
        }
    }

    /// One event, with its body (unless pruned).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn get(&self, id: i64) -> Result<Option<EventRecord>, StoreError> {
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::event(c, id)))
            .await?;
        Ok(row.map(to_record))
    }

    /// Events matching `filter`, newest first, without bodies. Pass the last id of a page as
    /// `before_id` to get the next.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn list(&self, filter: EventFilter) -> Result<Vec<EventRecord>, StoreError> {
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::list_events(c, &filter)))
            .await?;
        Ok(rows.into_iter().map(to_record).collect())
    }

    /// How many events are in each status (every status present, zero included).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn count_by_status(
        &self,
        instance_id: Option<i64>,
    ) -> Result<BTreeMap<EventStatus, i64>, StoreError> {
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::count_by_status(c, instance_id)))
            .await?;
        let mut counts: BTreeMap<EventStatus, i64> =
            EventStatus::ALL.into_iter().map(|s| (s, 0)).collect();
        for (status, count) in rows {
            if let Some(status) = EventStatus::parse(&status) {
                counts.insert(status, count);
            }
        }
        Ok(counts)
    }

    /// Extends a lease by `lease` from now, for work that outlasts it (workers renew while
    /// they process, so leases can be short and a dead worker's events are taken over soon).
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when the lease is no longer held; query errors.
    pub async fn renew(&self, lease: &Lease, duration: Duration) -> Result<(), StoreError> {
        let until = self
            .store
            .now_ms()
            .saturating_add(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
        let held = lease.clone();
        let renewed = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::renew_lease(c, &held, until)))
            .await?;
        if renewed {
            Ok(())
        } else {
            Err(StoreError::LeaseLost(lease.event_id))
        }
    }

    /// Event counts for metrics, one per `(instance, source, kind, status)` present.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn counts(&self) -> Result<Vec<EventCount>, StoreError> {
        let rows = self
            .store
            .run(|db| dispatch!(db, |c, q| q::event_counts(c)))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(instance_id, source, kind, status, count)| {
                Some(EventCount {
                    instance_id,
                    source: Source::parse(&source),
                    kind,
                    status: EventStatus::parse(&status)?,
                    count,
                })
            })
            .collect())
    }

    /// Events of one of `kinds` received since `since`, counted per minute, source, kind
    /// and status (the console's messages-per-minute chart: one grouped scan).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn per_minute(
        &self,
        since: SystemTime,
        kinds: &[&str],
    ) -> Result<Vec<MinuteCount>, StoreError> {
        let since = unix_ms(since);
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::events_per_minute(c, since, &kinds)))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(minute, source, kind, status, count)| {
                Some(MinuteCount {
                    minute_start_ms: minute * 60_000,
                    source: Source::parse(&source),
                    kind,
                    status: EventStatus::parse(&status)?,
                    count,
                })
            })
            .collect())
    }

    /// Per instance id, when its newest event of one of `kinds` arrived (ms since the
    /// epoch): "last message" on the console's overview.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn last_received(&self, kinds: &[&str]) -> Result<BTreeMap<i64, i64>, StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::last_received(c, &kinds)))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, at)| Some((id, at?)))
            .collect())
    }

    /// Per instance id, how long its oldest unprocessed (pending, running or failed) event
    /// has waited: the queue lag for metrics and readiness.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn oldest_unprocessed_age(&self) -> Result<BTreeMap<i64, Duration>, StoreError> {
        let rows = self
            .store
            .run(|db| dispatch!(db, |c, q| q::oldest_unprocessed(c)))
            .await?;
        let now = self.store.now_ms();
        Ok(rows
            .into_iter()
            .filter_map(|(instance, oldest)| {
                let age = u64::try_from(now.saturating_sub(oldest?)).unwrap_or(0);
                Some((instance, Duration::from_millis(age)))
            })
            .collect())
    }
}

fn to_record(row: EventRow) -> EventRecord {
    EventRecord {
        id: row.id,
        instance_id: row.instance_id,
        source: Source::parse(&row.source),
        kind: row.kind,
        dedupe_key: row.dedupe_key,
        waits: row.waits,
        lane: row.lane,
        content_type: row.content_type,
        body: row.body,
        received_at_ms: row.received_at,
        status: EventStatus::parse(&row.status).unwrap_or(EventStatus::Pending),
        attempts: row.attempts,
        next_attempt_at_ms: row.next_attempt_at,
        lease_owner: row.lease_owner,
        lease_expires_at_ms: row.lease_expires_at,
        last_error: row.last_error,
        finished_at_ms: row.finished_at,
    }
}
