//! Queries of the `events` table: ingest, the lane-ordered queue, listings, retention.

#[allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Events: ingest

/// Records a batch in one transaction (one commit, one fsync). Each row is its own cached
/// prepared statement (a multi-row insert changes SQL with the batch size and would be
/// re-parsed every time). Duplicates return the existing id and write nothing.
pub(crate) fn record_batch(
    c: &mut Conn,
    batch: &[EventInsert],
) -> Result<Vec<Recorded>, StoreError> {
    write_tx(c, |c| batch.iter().map(|row| record_one(c, row)).collect())
}

pub(crate) fn record_one(c: &mut Conn, row: &EventInsert) -> Result<Recorded, StoreError> {
    let inserted = diesel::insert_into(events::table)
        .values(row)
        .on_conflict((
            events::instance_id,
            events::source,
            events::dedupe_key,
            events::waits,
        ))
        .do_nothing()
        .returning(events::id)
        .get_result::<i64>(c)
        .optional()?;
    match inserted {
        Some(id) => Ok(Recorded {
            id,
            duplicate: false,
        }),
        None => existing_id(c, row).map(|id| Recorded {
            id,
            duplicate: true,
        }),
    }
}

fn existing_id(c: &mut Conn, row: &EventInsert) -> Result<i64, StoreError> {
    Ok(events::table
        .filter(events::instance_id.eq(row.instance_id))
        .filter(events::source.eq(row.source))
        .filter(events::dedupe_key.eq(&row.dedupe_key))
        .filter(events::waits.eq(row.waits))
        .select(events::id)
        .first::<i64>(c)?)
}

// ---------------------------------------------------------------------------------------------
// Events: queue

/// Claims up to `limit` lane heads: at most one running event per lane, oldest first.
pub(crate) fn claim(
    c: &mut Conn,
    owner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    event_leases::claim(c, claim_sql(), owner, now, lease_ms, limit)
}

fn held(lease: &Lease) -> Held<'_> {
    Held {
        id: lease.event_id,
        owner: &lease.owner,
        attempt: lease.attempt,
    }
}

/// Extends `lease` to `until`; `false` when the lease is no longer held.
pub(crate) fn renew_lease(c: &mut Conn, lease: &Lease, until: i64) -> Result<bool, StoreError> {
    event_leases::renew(c, held(lease), until)
}

/// Makes every running event's and delivery's lease expire now; returns how many.
pub(crate) fn expire_leases(c: &mut Conn, now: i64) -> Result<usize, StoreError> {
    write_tx(c, |c| {
        Ok(event_leases::expire(c, now)? + delivery_leases::expire(c, now)?)
    })
}

/// Ends a lease: sets the status and writes `effects`, all in one transaction. Fails with
/// [`StoreError::LeaseLost`] (writing nothing) unless `lease` still holds the event.
/// Records the outcomes of several events in one transaction, each in its own savepoint: an
/// outcome whose lease was lost ([`StoreError::LeaseLost`]) changes nothing and does not stop
/// the others. The outer error is the commit's.
pub(crate) fn finish_batch(
    c: &mut Conn,
    outcomes: &[Outcome],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    each_in_savepoint(c, outcomes, finish)
}

/// `f` for each item, in one write transaction, each in its own savepoint: an item refused
/// because its lease was lost is rolled back alone and answers that. Any other error rolls
/// the whole transaction back and is returned, so the caller can write the items one by one
/// (each then gets its own answer; a deadlock or a race with another writer is not handed to
/// an item that would have succeeded alone).
pub(crate) fn each_in_savepoint<T, R>(
    c: &mut Conn,
    items: &[T],
    f: impl Fn(&mut Conn, &T) -> Result<R, StoreError>,
) -> Result<Vec<Result<R, StoreError>>, StoreError> {
    write_tx(c, |c| {
        let mut answers = Vec::with_capacity(items.len());
        for item in items {
            match c.transaction(|c| f(c, item)) {
                Err(StoreError::LeaseLost(id)) => answers.push(Err(StoreError::LeaseLost(id))),
                Err(other) => return Err(other),
                Ok(answer) => answers.push(Ok(answer)),
            }
        }
        Ok(answers)
    })
}

fn finish(c: &mut Conn, outcome: &Outcome) -> Result<(), StoreError> {
    let Outcome {
        lease,
        status,
        next_attempt_at,
        error,
        effects,
        now,
    } = outcome;
    let finished_at = matches!(
        status,
        EventStatus::Done | EventStatus::Dead | EventStatus::Ignored
    )
    .then_some(*now);
    event_leases::release(
        c,
        held(lease),
        Release {
            status: status.as_str(),
            next_attempt_at: next_attempt_at.unwrap_or(*now),
            finished_at,
            last_error: error.as_deref(),
        },
    )?;
    apply_effects(c, effects, *now)
}

/// Writes effects outside any event (for example an intent before an upstream call).
pub(crate) fn apply(c: &mut Conn, effects: &[Effect], now: i64) -> Result<(), StoreError> {
    write_tx(c, |c| apply_effects(c, effects, now))
}

pub(crate) fn replay(c: &mut Conn, id: i64, now: i64) -> Result<Replay, StoreError> {
    write_tx(c, |c| {
        let current = events::table
            .find(id)
            .select((events::status, events::body.is_null()))
            .first::<(String, bool)>(c)
            .optional()?;
        match current {
            None => Ok(Replay::NotFound),
            Some((status, _)) if status == EventStatus::Running.as_str() => Ok(Replay::Running),
            Some((_, true)) => Ok(Replay::Pruned),
            Some(_) => {
                diesel::update(events::table.find(id))
                    .set((
                        events::status.eq(EventStatus::Pending.as_str()),
                        events::attempts.eq(0),
                        events::next_attempt_at.eq(now),
                        events::lease_owner.eq(None::<String>),
                        events::lease_expires_at.eq(None::<i64>),
                        events::last_error.eq(None::<String>),
                        events::finished_at.eq(None::<i64>),
                    ))
                    .execute(c)?;
                Ok(Replay::Queued)
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Events: queries

pub(crate) fn event(c: &mut Conn, id: i64) -> Result<Option<EventRow>, StoreError> {
    Ok(events::table
        .find(id)
        .select(EventRow::as_select())
        .first_row(c)?)
}

pub(crate) fn list_events(c: &mut Conn, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
    let mut query = events::table.select(EventMetaRow::as_select()).into_boxed();
    if let Some(instance_id) = filter.instance_id {
        query = query.filter(events::instance_id.eq(instance_id));
    }
    if let Some(ids) = &filter.instance_ids {
        query = query.filter(events::instance_id.eq_any(ids.clone()));
    }
    if let Some(status) = filter.status {
        query = query.filter(events::status.eq(status.as_str()));
    }
    if let Some(source) = filter.source {
        query = query.filter(events::source.eq(source.as_str()));
    }
    if let Some(since) = filter.since_ms {
        query = query.filter(events::received_at.ge(since));
    }
    if let Some(until) = filter.until_ms {
        query = query.filter(events::received_at.lt(until));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(events::id.lt(before));
    }
    let limit = filter.limit.unwrap_or(50).clamp(1, 1000);
    let rows = query
        .order(events::id.desc())
        .limit(limit)
        .load::<EventMetaRow>(c)?;
    Ok(rows.into_iter().map(EventRow::from).collect())
}

pub(crate) fn count_by_status(
    c: &mut Conn,
    instance_id: Option<i64>,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut query = events::table
        .group_by(events::status)
        .select((events::status, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(instance_id) = instance_id {
        query = query.filter(events::instance_id.eq(instance_id));
    }
    Ok(query.load(c)?)
}

/// `(instance id, source, kind, status, count)`.
pub(crate) type CountRow = (i64, String, String, String, i64);

/// Event counts by instance, source, kind and status.
pub(crate) fn event_counts(c: &mut Conn) -> Result<Vec<CountRow>, StoreError> {
    Ok(events::table
        .group_by((
            events::instance_id,
            events::source,
            events::kind,
            events::status,
        ))
        .select((
            events::instance_id,
            events::source,
            events::kind,
            events::status,
            diesel::dsl::count_star(),
        ))
        .load(c)?)
}

/// Per instance, the receive time of the oldest event not yet processed.
pub(crate) fn oldest_unprocessed(c: &mut Conn) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    Ok(events::table
        .filter(unfinished())
        .group_by(events::instance_id)
        .select((events::instance_id, diesel::dsl::min(events::received_at)))
        .load(c)?)
}

pub(crate) fn prune(
    c: &mut Conn,
    body_cutoff: i64,
    row_cutoff: i64,
    key_cutoff: i64,
) -> Result<PruneReport, StoreError> {
    write_tx(c, |c| {
        let bodies_cleared = diesel::update(
            events::table
                .filter(events_finished())
                .filter(events::finished_at.lt(body_cutoff))
                .filter(events::body.is_not_null()),
        )
        .set(events::body.eq(None::<Vec<u8>>))
        .execute(c)?;
        let events_deleted = diesel::delete(
            events::table
                .filter(events_finished())
                .filter(events::finished_at.lt(row_cutoff)),
        )
        .execute(c)?;
        let deliveries_deleted = prune_deliveries(c, row_cutoff)?;
        // An API message goes with its send event (a failed one stays with its dead event),
        // and never before its idempotency key is a day old.
        let api_messages_deleted = diesel::delete(
            api_messages::table
                .filter(api_messages::updated_at.lt(key_cutoff))
                .filter(diesel::dsl::not(
                    api_messages::event_id.eq_any(events::table.select(events::id.nullable())),
                )),
        )
        .execute(c)?;
        Ok(PruneReport {
            bodies_cleared,
            events_deleted,
            deliveries_deleted,
            api_messages_deleted,
        })
    })
}

/// `(minute, source, kind, status, count)`.
pub(crate) type MinuteCountRow = (i64, String, String, String, i64);

/// One `(minute, source, kind, status)` count of [`events_per_minute`].
#[derive(QueryableByName)]
struct MinuteRow {
    #[diesel(sql_type = BigInt)]
    minute: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    source: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Events received since `since` (ms) of one of `kinds`, counted per minute (ms since the
/// epoch / 60,000), source, kind and status: one grouped scan, for the console's chart.
pub(crate) fn events_per_minute(
    c: &mut Conn,
    since: i64,
    kinds: &[String],
) -> Result<Vec<MinuteCountRow>, StoreError> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    // Diesel's DSL cannot group by an expression; the statement is fixed, the values bound.
    let marks = (1..=kinds.len())
        .map(|i| format!("${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT received_at / 60000 AS minute, source, kind, status, COUNT(*) AS n \
         FROM events WHERE received_at >= $1 AND kind IN ({marks}) \
         GROUP BY received_at / 60000, source, kind, status"
    );
    let mut query = diesel::sql_query(sql)
        .bind::<BigInt, _>(since)
        .into_boxed::<<Conn as diesel::Connection>::Backend>();
    for kind in kinds {
        query = query.bind::<diesel::sql_types::Text, _>(kind.clone());
    }
    let rows: Vec<MinuteRow> = query.load(c)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.minute, r.source, r.kind, r.status, r.n))
        .collect())
}

/// Per instance, the receive time of its newest event of one of `kinds`: each instance's
/// events walked back from its newest (`events_by_instance`), so the query reads a few rows,
/// not the log.
pub(crate) fn last_received(
    c: &mut Conn,
    kinds: &[String],
) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let ids: Vec<i64> = instances::table
        .select(instances::id)
        .order(instances::id)
        .load(c)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        // `LIMIT 1`, not `first_row`: PostgreSQL would read every matching row first.
        let at: Vec<i64> = events::table
            .filter(events::instance_id.eq(id))
            .filter(events::kind.eq_any(kinds))
            .order(events::id.desc())
            .select(events::received_at)
            .limit(1)
            .load(c)?;
        out.push((id, at.first().copied()));
    }
    Ok(out)
}
