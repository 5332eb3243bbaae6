//! The lease queue that events and outbound deliveries share.
//!
//! Both tables hold work items with the same lease columns (`status`, `lease_owner`,
//! `lease_expires_at`, `attempts`, `next_attempt_at`, `finished_at`, `last_error`). A claim
//! leases rows to a worker until a deadline and counts an attempt; the worker renews the lease
//! while it works and releases it with the item's next status. A lease is held by
//! `(id, owner, attempt)`: a worker whose lease expired and was claimed again by another can
//! neither renew nor release it. [`lease_queue!`] writes these queries once for a table; the
//! two instances live in `queries.rs` (compiled for each backend).

/// The status of a leased row (the same word in both tables).
pub(crate) const RUNNING: &str = "running";

/// Who holds a lease: the row, the worker and the attempt its claim started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held<'a> {
    /// The row's id.
    pub(crate) id: i64,
    /// The worker that claimed it.
    pub(crate) owner: &'a str,
    /// The attempt number of the claim.
    pub(crate) attempt: i32,
}

/// What a released row becomes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Release<'a> {
    /// The next status (`pending`, `failed`, `done`, …).
    pub(crate) status: &'a str,
    /// When the row may be claimed again.
    pub(crate) next_attempt_at: i64,
    /// When it finished, for a final status.
    pub(crate) finished_at: Option<i64>,
    /// The last attempt's error, if it failed.
    pub(crate) last_error: Option<&'a str>,
}

/// Writes a module `$name` of lease-queue queries for `$table`, whose rows load as `$row`;
/// [`release`](Release) returns the released row's `$returning` column (an `i64`).
macro_rules! lease_queue {
    ($name:ident, $table:ident, $row:ty, $returning:ident) => {
        pub(crate) mod $name {
            use diesel::prelude::*;
            use diesel::sql_types::BigInt;

            use super::{Conn, IdRow, write_tx};
            use crate::StoreError;
            use crate::backend::lease_queue::{Held, RUNNING, Release};
            use crate::schema::$table;

            /// Runs `claim_sql` (binds: now, limit; answers ids) and leases the rows it picks
            /// to `owner` until `now + lease_ms`, counting an attempt; the rows by id.
            pub(crate) fn claim(
                c: &mut Conn,
                claim_sql: &str,
                owner: &str,
                now: i64,
                lease_ms: i64,
                limit: i64,
            ) -> Result<Vec<$row>, StoreError> {
                write_tx(c, |c| {
                    let ids: Vec<i64> = diesel::sql_query(claim_sql)
                        .bind::<BigInt, _>(now)
                        .bind::<BigInt, _>(limit)
                        .load::<IdRow>(c)?
                        .into_iter()
                        .map(|row| row.id)
                        .collect();
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut rows = diesel::update($table::table.filter($table::id.eq_any(&ids)))
                        .set((
                            $table::status.eq(RUNNING),
                            $table::lease_owner.eq(owner),
                            $table::lease_expires_at.eq(now.saturating_add(lease_ms)),
                            $table::attempts.eq($table::attempts + 1),
                        ))
                        .returning(<$row>::as_returning())
                        .get_results(c)?;
                    rows.sort_by_key(|row| row.id);
                    Ok(rows)
                })
            }

            /// Extends the lease to `until`; `false` when `held` no longer holds it.
            #[allow(
                dead_code,
                reason = "a delivery is one HTTP request within its lease; only events renew"
            )]
            pub(crate) fn renew(
                c: &mut Conn,
                held: Held<'_>,
                until: i64,
            ) -> Result<bool, StoreError> {
                write_tx(c, |c| {
                    let updated = diesel::update(
                        $table::table
                            .filter($table::id.eq(held.id))
                            .filter($table::status.eq(RUNNING))
                            .filter($table::lease_owner.eq(held.owner))
                            .filter($table::attempts.eq(held.attempt)),
                    )
                    .set($table::lease_expires_at.eq(until))
                    .execute(c)?;
                    Ok(updated == 1)
                })
            }

            /// Makes every running row's lease expire at `now`; how many. In the caller's
            /// transaction.
            pub(crate) fn expire(c: &mut Conn, now: i64) -> Result<usize, StoreError> {
                Ok(diesel::update(
                    $table::table
                        .filter($table::status.eq(RUNNING))
                        .filter($table::lease_expires_at.gt(now)),
                )
                .set($table::lease_expires_at.eq(now))
                .execute(c)?)
            }

            /// Ends the lease `held` and moves the row to `to`; the row's `$returning`, or
            /// [`StoreError::LeaseLost`] (nothing written) when `held` no longer holds it.
            /// In the caller's transaction.
            pub(crate) fn release(
                c: &mut Conn,
                held: Held<'_>,
                to: Release<'_>,
            ) -> Result<i64, StoreError> {
                let released = diesel::update(
                    $table::table
                        .filter($table::id.eq(held.id))
                        .filter($table::status.eq(RUNNING))
                        .filter($table::lease_owner.eq(held.owner))
                        .filter($table::attempts.eq(held.attempt)),
                )
                .set((
                    $table::status.eq(to.status),
                    $table::lease_owner.eq(None::<String>),
                    $table::lease_expires_at.eq(None::<i64>),
                    $table::last_error.eq(to.last_error),
                    $table::finished_at.eq(to.finished_at),
                    $table::next_attempt_at.eq(to.next_attempt_at),
                ))
                .returning($table::$returning)
                .get_results::<i64>(c)?;
                released
                    .first()
                    .copied()
                    .ok_or(StoreError::LeaseLost(held.id))
            }
        }
    };
}
pub(crate) use lease_queue;
