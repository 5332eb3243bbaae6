//! Every query of the store, written once and compiled for each backend: `super::Conn` is
//! `SqliteConnection` in `backend::sqlite` and `PgConnection` in `backend::postgres`. One
//! file per table (or group of tables); this one holds migrations and what they share.

use diesel::prelude::*;

use crate::backend::FirstRow as _;
use diesel::sql_types::BigInt;
use diesel_migrations::MigrationHarness as _;

use super::{Conn, MIGRATIONS, claim_sql, write_tx};
use crate::StoreError;
use crate::backend::KeyColumn;
use crate::backend::Replay;
use crate::event::{Effect, EventFilter, EventStatus, Lease, Outcome, PruneReport, Recorded};
use crate::mapping::{IdentityKeys, NewConversation, NewMessage, ReceiptLevel};
use crate::rows::{
    ConversationRow, EventInsert, EventMetaRow, EventRow, IdentityRow, IdentityWrite, InstanceRow,
    InstanceWrite, MessageRow, SubscriptionInsert, SubscriptionRow,
};
use crate::schema::{
    api_messages, conversations, events, identities, instances, messages, subscriptions,
};

/// The conditions of the partial indexes, as literal SQL: SQLite uses a partial index only
/// when the query states the index's own condition, and a bound `status IN (?, ?, ?)` does
/// not, so such a query reads every row (with its body) instead of the few in the index.
pub(crate) fn status_in(
    condition: &'static str,
) -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(condition)
}

/// Events and deliveries not finished (`events_active`, `events_active_lane`, `deliveries_due`).
pub(crate) fn unfinished() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    status_in("status IN ('pending', 'running', 'failed')")
}

/// Events finished (`events_finished`).
pub(crate) fn events_finished() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    status_in("status IN ('done', 'ignored')")
}

/// Deliveries finished (`deliveries_finished`).
pub(crate) fn deliveries_finished() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    status_in("status IN ('done', 'dead')")
}

fn conflict(what: &'static str) -> impl Fn(diesel::result::Error) -> StoreError {
    move |err| match err {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => StoreError::Conflict(format!("{what} already exists")),
        other => StoreError::Query(other),
    }
}

/// One `id` column, for raw-SQL claims (events and deliveries).
#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

crate::backend::lease_queue::lease_queue!(event_leases, events, crate::rows::EventRow, id);
crate::backend::lease_queue::lease_queue!(
    delivery_leases,
    deliveries,
    crate::rows::DeliveryRow,
    subscription_id
);
use crate::backend::lease_queue::{Held, Release};

#[path = "instance_queries.rs"]
mod instance_queries;
pub(crate) use instance_queries::*;
#[path = "event_queries.rs"]
mod event_queries;
pub(crate) use event_queries::*;
#[path = "mapping_queries.rs"]
mod mapping_queries;
pub(crate) use mapping_queries::*;
#[path = "subscription_queries.rs"]
mod subscription_queries;
pub(crate) use subscription_queries::*;
#[path = "delivery_queries.rs"]
mod delivery_queries;
pub(crate) use delivery_queries::*;

mod api_message_queries;
pub(crate) use api_message_queries::*;
#[path = "connection_queries.rs"]
mod connection_queries;
pub(crate) use connection_queries::*;
#[path = "console_session_queries.rs"]
mod console_session_queries;
pub(crate) use console_session_queries::*;
#[path = "import_queries.rs"]
mod import_queries;
pub(crate) use import_queries::*;
#[path = "access_queries.rs"]
mod access_queries;
pub(crate) use access_queries::*;

// ---------------------------------------------------------------------------------------------
// Migrations

pub(crate) fn migrate(c: &mut Conn) -> Result<usize, StoreError> {
    c.run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| StoreError::Migration(e.to_string()))
}

pub(crate) fn revert_all(c: &mut Conn) -> Result<usize, StoreError> {
    c.revert_all_migrations(MIGRATIONS)
        .map(|reverted| reverted.len())
        .map_err(|e| StoreError::Migration(e.to_string()))
}

pub(crate) fn ping(c: &mut Conn) -> Result<(), StoreError> {
    diesel::sql_query("SELECT 1").execute(c)?;
    Ok(())
}

/// A write transaction with an update that matches no row: fails on a read-only database
/// (read-only file, full disk on commit, PostgreSQL standby or read-only mode).
pub(crate) fn check_writable(c: &mut Conn) -> Result<(), StoreError> {
    write_tx(c, |c| {
        diesel::update(instances::table.filter(instances::id.lt(0)))
            .set(instances::updated_at.eq(instances::updated_at))
            .execute(c)?;
        Ok(())
    })
}
