//! Every query of the store, written once and compiled for each backend: `super::Conn` is
//! `SqliteConnection` in `backend::sqlite` and `PgConnection` in `backend::postgres`.

use diesel::prelude::*;

use crate::backend::FirstRow as _;
use diesel::sql_types::BigInt;
use diesel_migrations::MigrationHarness as _;

use super::{Conn, MIGRATIONS, claim_sql, write_tx};
use crate::backend::Replay;
use crate::event::{Effect, EventFilter, EventStatus, Lease, Outcome, PruneReport, Recorded};
use crate::mapping::{DeliveryStatus, IdentityKeys, NewConversation, NewMessage};
use crate::rows::{
    ConversationRow, EventInsert, EventMetaRow, EventRow, IdentityRow, IdentityWrite, InstanceRow,
    InstanceWrite, MessageRow, SubscriptionInsert, SubscriptionRow,
};
use crate::schema::{conversations, events, identities, instances, messages, subscriptions};
use crate::{RouteKind, StoreError};

const ACTIVE: [&str; 3] = ["pending", "running", "failed"];
const FINISHED: [&str; 2] = ["done", "ignored"];

fn conflict(what: &'static str) -> impl Fn(diesel::result::Error) -> StoreError {
    move |err| match err {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => StoreError::Conflict(format!("{what} already exists")),
        other => StoreError::Query(other),
    }
}

#[path = "delivery_queries.rs"]
mod delivery_queries;
pub(crate) use delivery_queries::*;
#[path = "import_queries.rs"]
mod import_queries;
pub(crate) use import_queries::*;

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

// ---------------------------------------------------------------------------------------------
// Instances

pub(crate) fn insert_instance(
    c: &mut Conn,
    row: &InstanceWrite,
    now: i64,
) -> Result<InstanceRow, StoreError> {
    diesel::insert_into(instances::table)
        .values((row, instances::created_at.eq(now)))
        .returning(InstanceRow::as_returning())
        .get_result(c)
        .map_err(conflict("an instance with this name"))
}

pub(crate) fn update_instance(
    c: &mut Conn,
    id: i64,
    row: &InstanceWrite,
) -> Result<Option<InstanceRow>, StoreError> {
    diesel::update(instances::table.find(id))
        .set(row)
        .returning(InstanceRow::as_returning())
        .get_result(c)
        .optional()
        .map_err(conflict("an instance with this name"))
}

pub(crate) fn instance_by_name(
    c: &mut Conn,
    name: &str,
) -> Result<Option<InstanceRow>, StoreError> {
    Ok(instances::table
        .filter(instances::name.eq(name))
        .select(InstanceRow::as_select())
        .first_row(c)?)
}

pub(crate) fn instance_by_id(c: &mut Conn, id: i64) -> Result<Option<InstanceRow>, StoreError> {
    Ok(instances::table
        .find(id)
        .select(InstanceRow::as_select())
        .first_row(c)?)
}

pub(crate) fn instance_by_key_hash(
    c: &mut Conn,
    kind: RouteKind,
    hash: &str,
) -> Result<Option<InstanceRow>, StoreError> {
    let query = instances::table
        .select(InstanceRow::as_select())
        .into_boxed();
    let query = match kind {
        RouteKind::Gateway => query.filter(instances::gateway_key_hash.eq(hash)),
        RouteKind::Chatwoot => query.filter(instances::chatwoot_key_hash.eq(hash)),
    };
    Ok(query.first_row(c)?)
}

pub(crate) fn list_instances(c: &mut Conn) -> Result<Vec<InstanceRow>, StoreError> {
    Ok(instances::table
        .order(instances::name.asc())
        .select(InstanceRow::as_select())
        .load(c)?)
}

pub(crate) fn delete_instance(c: &mut Conn, name: &str) -> Result<bool, StoreError> {
    write_tx(c, |c| {
        Ok(diesel::delete(instances::table.filter(instances::name.eq(name))).execute(c)? > 0)
    })
}

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

fn record_one(c: &mut Conn, row: &EventInsert) -> Result<Recorded, StoreError> {
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

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Claims up to `limit` lane heads: at most one running event per lane, oldest first.
pub(crate) fn claim(
    c: &mut Conn,
    owner: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<EventRow>, StoreError> {
    write_tx(c, |c| {
        let ids: Vec<i64> = diesel::sql_query(claim_sql())
            .bind::<BigInt, _>(now)
            .bind::<BigInt, _>(limit)
            .load::<IdRow>(c)?
            .into_iter()
            .map(|row| row.id)
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows = diesel::update(events::table.filter(events::id.eq_any(&ids)))
            .set((
                events::status.eq(EventStatus::Running.as_str()),
                events::lease_owner.eq(owner),
                events::lease_expires_at.eq(now.saturating_add(lease_ms)),
                events::attempts.eq(events::attempts + 1),
            ))
            .returning(EventRow::as_returning())
            .get_results(c)?;
        rows.sort_by_key(|row| row.id);
        Ok(rows)
    })
}

/// Extends `lease` to `until`; `false` when the lease is no longer held.
pub(crate) fn renew_lease(c: &mut Conn, lease: &Lease, until: i64) -> Result<bool, StoreError> {
    write_tx(c, |c| {
        let updated = diesel::update(
            events::table
                .filter(events::id.eq(lease.event_id))
                .filter(events::status.eq(EventStatus::Running.as_str()))
                .filter(events::lease_owner.eq(&lease.owner))
                .filter(events::attempts.eq(lease.attempt)),
        )
        .set(events::lease_expires_at.eq(until))
        .execute(c)?;
        Ok(updated == 1)
    })
}

/// Makes every running event's lease expire now; returns how many.
pub(crate) fn expire_leases(c: &mut Conn, now: i64) -> Result<usize, StoreError> {
    write_tx(c, |c| {
        let events = diesel::update(
            events::table
                .filter(events::status.eq(EventStatus::Running.as_str()))
                .filter(events::lease_expires_at.gt(now)),
        )
        .set(events::lease_expires_at.eq(now))
        .execute(c)?;
        Ok(events + expire_delivery_leases(c, now)?)
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
fn each_in_savepoint<T, R>(
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
    let changed = diesel::update(
        events::table
            .filter(events::id.eq(lease.event_id))
            .filter(events::status.eq(EventStatus::Running.as_str()))
            .filter(events::lease_owner.eq(&lease.owner))
            .filter(events::attempts.eq(lease.attempt)),
    )
    .set((
        events::status.eq(status.as_str()),
        events::lease_owner.eq(None::<String>),
        events::lease_expires_at.eq(None::<i64>),
        events::last_error.eq(error.as_deref()),
        events::finished_at.eq(finished_at),
        events::next_attempt_at.eq(next_attempt_at.unwrap_or(*now)),
    ))
    .execute(c)?;
    if changed == 0 {
        return Err(StoreError::LeaseLost(lease.event_id));
    }
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
        .filter(events::status.eq_any(ACTIVE))
        .group_by(events::instance_id)
        .select((events::instance_id, diesel::dsl::min(events::received_at)))
        .load(c)?)
}

pub(crate) fn prune(
    c: &mut Conn,
    body_cutoff: i64,
    row_cutoff: i64,
) -> Result<PruneReport, StoreError> {
    write_tx(c, |c| {
        let bodies_cleared = diesel::update(
            events::table
                .filter(events::status.eq_any(FINISHED))
                .filter(events::finished_at.lt(body_cutoff))
                .filter(events::body.is_not_null()),
        )
        .set(events::body.eq(None::<Vec<u8>>))
        .execute(c)?;
        let events_deleted = diesel::delete(
            events::table
                .filter(events::status.eq_any(FINISHED))
                .filter(events::finished_at.lt(row_cutoff)),
        )
        .execute(c)?;
        let deliveries_deleted = prune_deliveries(c, row_cutoff)?;
        Ok(PruneReport {
            bodies_cleared,
            events_deleted,
            deliveries_deleted,
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Mappings

fn apply_effects(c: &mut Conn, effects: &[Effect], now: i64) -> Result<(), StoreError> {
    let mut notifications = Vec::new();
    for effect in effects {
        match effect {
            Effect::Notify(notification) => notifications.push(notification),
            Effect::Message(message) => {
                upsert_message(c, message, now)?;
            }
            Effect::Delivery {
                instance_id,
                wa_message_id,
                status,
            } => {
                raise_delivery(c, *instance_id, wa_message_id, *status, now)?;
            }
            Effect::Conversation(conversation) => {
                upsert_conversation(c, conversation, now)?;
            }
            Effect::ConversationSeen {
                instance_id,
                chatwoot_conversation_id,
                message_id,
            } => {
                diesel::update(
                    conversations::table
                        .filter(conversations::instance_id.eq(instance_id))
                        .filter(
                            conversations::chatwoot_conversation_id.eq(chatwoot_conversation_id),
                        )
                        .filter(
                            conversations::last_chatwoot_message_id
                                .is_null()
                                .or(conversations::last_chatwoot_message_id.lt(message_id)),
                        ),
                )
                .set((
                    conversations::last_chatwoot_message_id.eq(message_id),
                    conversations::updated_at.eq(now),
                ))
                .execute(c)?;
            }
            Effect::Identity(record) => {
                save_identity_in(c, record, now)?;
            }
        }
    }
    fan_out(c, &notifications, now)?;
    Ok(())
}

fn find_message(c: &mut Conn, m: &NewMessage) -> Result<Option<MessageRow>, StoreError> {
    if let Some(wa) = &m.wa_message_id {
        let found = messages::table
            .filter(messages::instance_id.eq(m.instance_id))
            .filter(messages::wa_message_id.eq(wa))
            .filter(messages::part.eq(m.part))
            .select(MessageRow::as_select())
            .first_row(c)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    if let Some(cw) = m.chatwoot_message_id {
        return Ok(messages::table
            .filter(messages::instance_id.eq(m.instance_id))
            .filter(messages::chatwoot_message_id.eq(cw))
            .filter(messages::part.eq(m.part))
            .select(MessageRow::as_select())
            .first_row(c)?);
    }
    Ok(None)
}

pub(crate) fn upsert_message(
    c: &mut Conn,
    m: &NewMessage,
    now: i64,
) -> Result<MessageRow, StoreError> {
    if m.wa_message_id.is_none() && m.chatwoot_message_id.is_none() {
        return Err(StoreError::Conflict(
            "a message mapping needs a WhatsApp or a Chatwoot message id".to_owned(),
        ));
    }
    match find_message(c, m)? {
        Some(row) => {
            // A WhatsApp id reserved by an intent is provisional: the gateway's answer wins.
            let provisional = row.state == crate::mapping::MessageState::Intended.as_str();
            let wa_clash = !provisional
                && matches!((&m.wa_message_id, &row.wa_message_id), (Some(a), Some(b)) if a != b);
            let cw_clash = matches!((m.chatwoot_message_id, row.chatwoot_message_id), (Some(a), Some(b)) if a != b);
            if wa_clash || cw_clash {
                return Err(StoreError::Conflict(
                    "message mapping ids disagree with the stored mapping".to_owned(),
                ));
            }
            let state = crate::mapping::MessageState::parse(&row.state).merge(m.state);
            Ok(diesel::update(messages::table.find(row.id))
                .set((
                    messages::wa_message_id.eq(m.wa_message_id.clone().or(row.wa_message_id)),
                    messages::chatwoot_message_id
                        .eq(m.chatwoot_message_id.or(row.chatwoot_message_id)),
                    messages::chatwoot_conversation_id
                        .eq(m.chatwoot_conversation_id.or(row.chatwoot_conversation_id)),
                    messages::state.eq(state.as_str()),
                    messages::updated_at.eq(now),
                ))
                .returning(MessageRow::as_returning())
                .get_result(c)
                .map_err(conflict("a message mapping with these ids"))?)
        }
        None => Ok(diesel::insert_into(messages::table)
            .values((
                messages::instance_id.eq(m.instance_id),
                messages::chat_jid.eq(&m.chat_jid),
                messages::direction.eq(m.direction.as_str()),
                messages::wa_message_id.eq(&m.wa_message_id),
                messages::chatwoot_conversation_id.eq(m.chatwoot_conversation_id),
                messages::chatwoot_message_id.eq(m.chatwoot_message_id),
                messages::part.eq(m.part),
                messages::state.eq(m.state.as_str()),
                messages::created_at.eq(now),
                messages::updated_at.eq(now),
            ))
            .returning(MessageRow::as_returning())
            .get_result(c)
            .map_err(conflict("a message mapping with these ids"))?),
    }
}

/// Records intents in one transaction (see [`each_in_savepoint`]): each returns the mapping
/// that already exists for its message, or the one it wrote.
pub(crate) fn record_intents(
    c: &mut Conn,
    intents: &[(NewMessage, i64)],
) -> Result<Vec<Result<MessageRow, StoreError>>, StoreError> {
    each_in_savepoint(c, intents, |c, (m, now)| match find_message(c, m)? {
        Some(existing) => Ok(existing),
        None => upsert_message(c, m, *now),
    })
}

/// Raises the delivery status of every part of a WhatsApp message; returns how many rows rose.
pub(crate) fn raise_delivery(
    c: &mut Conn,
    instance_id: i64,
    wa_message_id: &str,
    status: DeliveryStatus,
    now: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        messages::table
            .filter(messages::instance_id.eq(instance_id))
            .filter(messages::wa_message_id.eq(wa_message_id))
            .filter(messages::delivery.lt(status.rank())),
    )
    .set((
        messages::delivery.eq(status.rank()),
        messages::updated_at.eq(now),
    ))
    .execute(c)?)
}

pub(crate) fn messages_by_wa(
    c: &mut Conn,
    instance_id: i64,
    wa_message_id: &str,
) -> Result<Vec<MessageRow>, StoreError> {
    Ok(messages::table
        .filter(messages::instance_id.eq(instance_id))
        .filter(messages::wa_message_id.eq(wa_message_id))
        .order(messages::part.asc())
        .select(MessageRow::as_select())
        .load(c)?)
}

pub(crate) fn messages_by_chatwoot(
    c: &mut Conn,
    instance_id: i64,
    chatwoot_message_id: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    Ok(messages::table
        .filter(messages::instance_id.eq(instance_id))
        .filter(messages::chatwoot_message_id.eq(chatwoot_message_id))
        .order(messages::part.asc())
        .select(MessageRow::as_select())
        .load(c)?)
}

pub(crate) fn upsert_conversation(
    c: &mut Conn,
    conv: &NewConversation,
    now: i64,
) -> Result<ConversationRow, StoreError> {
    Ok(diesel::insert_into(conversations::table)
        .values((
            conversations::instance_id.eq(conv.instance_id),
            conversations::chat_jid.eq(&conv.chat_jid),
            conversations::identity_id.eq(conv.identity_id),
            conversations::chatwoot_conversation_id.eq(conv.chatwoot_conversation_id),
            conversations::status.eq(&conv.status),
            conversations::created_at.eq(now),
            conversations::updated_at.eq(now),
        ))
        .on_conflict((
            conversations::instance_id,
            conversations::chatwoot_conversation_id,
        ))
        .do_update()
        .set((
            conversations::chat_jid.eq(&conv.chat_jid),
            conversations::identity_id.eq(conv.identity_id),
            conversations::status.eq(&conv.status),
            conversations::updated_at.eq(now),
        ))
        .returning(ConversationRow::as_returning())
        .get_result(c)?)
}

pub(crate) fn save_conversation(
    c: &mut Conn,
    conv: &NewConversation,
    now: i64,
) -> Result<ConversationRow, StoreError> {
    write_tx(c, |c| upsert_conversation(c, conv, now))
}

pub(crate) fn conversation_for_chat(
    c: &mut Conn,
    instance_id: i64,
    chat_jid: &str,
) -> Result<Option<ConversationRow>, StoreError> {
    Ok(conversations::table
        .filter(conversations::instance_id.eq(instance_id))
        .filter(conversations::chat_jid.eq(chat_jid))
        .order(conversations::id.desc())
        .select(ConversationRow::as_select())
        .first_row(c)?)
}

pub(crate) fn conversation_by_chatwoot(
    c: &mut Conn,
    instance_id: i64,
    chatwoot_conversation_id: i64,
) -> Result<Option<ConversationRow>, StoreError> {
    Ok(conversations::table
        .filter(conversations::instance_id.eq(instance_id))
        .filter(conversations::chatwoot_conversation_id.eq(chatwoot_conversation_id))
        .select(ConversationRow::as_select())
        .first_row(c)?)
}

/// Conversations of an instance that are not resolved, or changed at or after `active_since`.
pub(crate) fn conversations_to_reconcile(
    c: &mut Conn,
    instance_id: i64,
    active_since: i64,
) -> Result<Vec<ConversationRow>, StoreError> {
    Ok(conversations::table
        .filter(conversations::instance_id.eq(instance_id))
        .filter(
            conversations::status
                .ne("resolved")
                .or(conversations::updated_at.ge(active_since)),
        )
        .order(conversations::id.asc())
        .select(ConversationRow::as_select())
        .load(c)?)
}

/// Identities matching any of `keys` (a phone row and a LID row may both match before they
/// are linked), oldest first.
pub(crate) fn find_identities(
    c: &mut Conn,
    instance_id: i64,
    keys: &IdentityKeys,
) -> Result<Vec<IdentityRow>, StoreError> {
    let phones: Vec<&String> = keys
        .phone_jid
        .iter()
        .chain(&keys.phone_variant_jid)
        .collect();
    let lids: Vec<&String> = keys.lid.iter().collect();
    Ok(identities::table
        .filter(identities::instance_id.eq(instance_id))
        .filter(
            identities::phone_jid
                .eq_any(&phones)
                .or(identities::phone_variant_jid.eq_any(&phones))
                .or(identities::lid.eq_any(&lids)),
        )
        .order(identities::id.asc())
        .select(IdentityRow::as_select())
        .load(c)?)
}

pub(crate) fn identity_by_contact(
    c: &mut Conn,
    instance_id: i64,
    contact_id: i64,
) -> Result<Option<IdentityRow>, StoreError> {
    Ok(identities::table
        .filter(identities::instance_id.eq(instance_id))
        .filter(identities::chatwoot_contact_id.eq(contact_id))
        .select(IdentityRow::as_select())
        .first_row(c)?)
}

fn save_identity_in(
    c: &mut Conn,
    record: &crate::mapping::IdentityRecord,
    now: i64,
) -> Result<IdentityRow, StoreError> {
    let write = IdentityWrite {
        instance_id: record.instance_id,
        is_group: record.is_group,
        phone_jid: record.keys.phone_jid.clone(),
        phone_variant_jid: record.keys.phone_variant_jid.clone(),
        lid: record.keys.lid.clone(),
        chatwoot_contact_id: record.chatwoot_contact_id,
        contact_source_id: record.contact_source_id.clone(),
        display_name: record.display_name.clone(),
        name_locked: record.name_locked,
        avatar_synced_at: record.avatar_synced_at_ms,
        updated_at: now,
    };
    let saved = match record.id {
        Some(id) => diesel::update(identities::table.find(id))
            .set(&write)
            .returning(IdentityRow::as_returning())
            .get_result(c),
        None => diesel::insert_into(identities::table)
            .values((&write, identities::created_at.eq(now)))
            .returning(IdentityRow::as_returning())
            .get_result(c),
    };
    saved.map_err(conflict(
        "an identity with one of these addresses or this contact",
    ))
}

pub(crate) fn save_identity(
    c: &mut Conn,
    record: &crate::mapping::IdentityRecord,
    now: i64,
) -> Result<IdentityRow, StoreError> {
    write_tx(c, |c| save_identity_in(c, record, now))
}

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
