//! Diesel row types, shared by both backends (`check_for_backend` on both).

use diesel::prelude::*;

use crate::schema::{
    actions, api_keys, api_messages, connections, console_sessions, conversations, deliveries,
    delivery_attempts, events, identities, import_jobs, instances, messages, pairing_links,
    subscriptions, tenants,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = instances, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct InstanceRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) gateway_kind: String,
    pub(crate) gateway_url: String,
    pub(crate) gateway_device_id: Option<String>,
    pub(crate) gateway_username: Option<String>,
    pub(crate) chatwoot_url: String,
    pub(crate) chatwoot_account_id: i64,
    pub(crate) chatwoot_inbox_id: Option<i64>,
    pub(crate) options: String,
    pub(crate) secrets: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) tenant: Option<String>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = instances, treat_none_as_null = true)]
pub(crate) struct InstanceWrite {
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) gateway_kind: String,
    pub(crate) gateway_url: String,
    pub(crate) gateway_device_id: Option<String>,
    pub(crate) gateway_username: Option<String>,
    pub(crate) chatwoot_url: String,
    pub(crate) chatwoot_account_id: i64,
    pub(crate) chatwoot_inbox_id: Option<i64>,
    pub(crate) options: String,
    pub(crate) secrets: String,
    pub(crate) gateway_key_hash: String,
    pub(crate) chatwoot_key_hash: String,
    pub(crate) updated_at: i64,
    pub(crate) tenant: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub(crate) struct EventInsert {
    pub(crate) instance_id: i64,
    pub(crate) source: &'static str,
    pub(crate) kind: String,
    pub(crate) dedupe_key: String,
    pub(crate) waits: i32,
    pub(crate) lane: String,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
    pub(crate) received_at: i64,
    pub(crate) next_attempt_at: i64,
}

impl EventInsert {
    /// The row of `event`, received at `now`.
    pub(crate) fn new(event: crate::NewEvent, now: i64) -> Self {
        Self {
            instance_id: event.instance_id,
            source: event.source.as_str(),
            kind: event.kind,
            dedupe_key: event.dedupe_key,
            waits: event.waits,
            lane: event.lane,
            content_type: event.content_type,
            body: event.body,
            received_at: now,
            next_attempt_at: event.not_before_ms.unwrap_or(now),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub(crate) id: i64,
    pub(crate) instance_id: i64,
    pub(crate) source: String,
    pub(crate) kind: String,
    pub(crate) dedupe_key: String,
    pub(crate) waits: i32,
    pub(crate) lane: String,
    pub(crate) content_type: String,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) received_at: i64,
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: i64,
    pub(crate) lease_owner: Option<String>,
    pub(crate) lease_expires_at: Option<i64>,
    pub(crate) last_error: Option<String>,
    pub(crate) finished_at: Option<i64>,
}

/// An event row without its body, for listings.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct EventMetaRow {
    pub(crate) id: i64,
    pub(crate) instance_id: i64,
    pub(crate) source: String,
    pub(crate) kind: String,
    pub(crate) dedupe_key: String,
    pub(crate) waits: i32,
    pub(crate) lane: String,
    pub(crate) content_type: String,
    pub(crate) received_at: i64,
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: i64,
    pub(crate) lease_owner: Option<String>,
    pub(crate) lease_expires_at: Option<i64>,
    pub(crate) last_error: Option<String>,
    pub(crate) finished_at: Option<i64>,
}

impl From<EventMetaRow> for EventRow {
    fn from(m: EventMetaRow) -> Self {
        Self {
            id: m.id,
            instance_id: m.instance_id,
            source: m.source,
            kind: m.kind,
            dedupe_key: m.dedupe_key,
            waits: m.waits,
            lane: m.lane,
            content_type: m.content_type,
            body: None,
            received_at: m.received_at,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            lease_owner: m.lease_owner,
            lease_expires_at: m.lease_expires_at,
            last_error: m.last_error,
            finished_at: m.finished_at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = identities, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct IdentityRow {
    pub(crate) id: i64,
    pub(crate) instance_id: i64,
    pub(crate) is_group: bool,
    pub(crate) phone_jid: Option<String>,
    pub(crate) phone_variant_jid: Option<String>,
    pub(crate) lid: Option<String>,
    pub(crate) chatwoot_contact_id: Option<i64>,
    pub(crate) contact_source_id: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) name_locked: bool,
    pub(crate) avatar_synced_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = identities, treat_none_as_null = true)]
pub(crate) struct IdentityWrite {
    pub(crate) instance_id: i64,
    pub(crate) is_group: bool,
    pub(crate) phone_jid: Option<String>,
    pub(crate) phone_variant_jid: Option<String>,
    pub(crate) lid: Option<String>,
    pub(crate) chatwoot_contact_id: Option<i64>,
    pub(crate) contact_source_id: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) name_locked: bool,
    pub(crate) avatar_synced_at: Option<i64>,
    pub(crate) updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ConversationRow {
    pub(crate) id: i64,
    pub(crate) instance_id: i64,
    pub(crate) chat_jid: String,
    pub(crate) identity_id: Option<i64>,
    pub(crate) chatwoot_conversation_id: i64,
    pub(crate) status: String,
    pub(crate) last_chatwoot_message_id: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) csat_uuid: Option<String>,
    pub(crate) csat_sent_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct MessageRow {
    pub(crate) id: i64,
    pub(crate) instance_id: i64,
    pub(crate) chat_jid: String,
    pub(crate) direction: String,
    pub(crate) wa_message_id: Option<String>,
    pub(crate) chatwoot_conversation_id: Option<i64>,
    pub(crate) chatwoot_message_id: Option<i64>,
    pub(crate) part: i32,
    pub(crate) delivery: i32,
    pub(crate) state: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SubscriptionRow {
    pub(crate) id: i64,
    pub(crate) url: String,
    pub(crate) events: String,
    pub(crate) instances: Option<String>,
    pub(crate) secret: String,
    pub(crate) headers: String,
    pub(crate) allow_private_network: bool,
    pub(crate) ordered: bool,
    pub(crate) enabled: bool,
    pub(crate) failing_since: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) previous_secret: Option<String>,
    pub(crate) previous_secret_until: Option<i64>,
    pub(crate) disabled_reason: Option<String>,
    pub(crate) tenant: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = subscriptions)]
pub(crate) struct SubscriptionInsert {
    pub(crate) url: String,
    pub(crate) events: String,
    pub(crate) instances: Option<String>,
    pub(crate) secret: String,
    pub(crate) headers: String,
    pub(crate) allow_private_network: bool,
    pub(crate) ordered: bool,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) tenant: Option<String>,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = subscriptions, treat_none_as_null = true)]
pub(crate) struct SubscriptionUpdate {
    pub(crate) url: String,
    pub(crate) events: String,
    pub(crate) instances: Option<String>,
    pub(crate) headers: String,
    pub(crate) allow_private_network: bool,
    pub(crate) ordered: bool,
    pub(crate) updated_at: i64,
    pub(crate) tenant: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deliveries)]
pub(crate) struct DeliveryInsert<'a> {
    pub(crate) subscription_id: i64,
    pub(crate) message_id: &'a str,
    pub(crate) event_type: &'a str,
    pub(crate) instance_id: Option<i64>,
    pub(crate) lane: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) next_attempt_at: i64,
    pub(crate) created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct DeliveryRow {
    pub(crate) id: i64,
    pub(crate) subscription_id: i64,
    pub(crate) message_id: String,
    pub(crate) event_type: String,
    pub(crate) instance_id: Option<i64>,
    pub(crate) lane: String,
    pub(crate) payload: String,
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) next_attempt_at: i64,
    pub(crate) lease_owner: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) finished_at: Option<i64>,
    pub(crate) last_error: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = delivery_attempts)]
pub(crate) struct AttemptInsert {
    pub(crate) delivery_id: i64,
    pub(crate) attempted_at: i64,
    pub(crate) status_code: Option<i32>,
    pub(crate) latency_ms: i64,
    pub(crate) error: Option<String>,
    pub(crate) response: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = delivery_attempts, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct AttemptRow {
    pub(crate) delivery_id: i64,
    pub(crate) attempted_at: i64,
    pub(crate) status_code: Option<i32>,
    pub(crate) latency_ms: i64,
    pub(crate) error: Option<String>,
    pub(crate) response: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_jobs, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ImportRow {
    pub(crate) id: i64,
    pub(crate) instance_id: i64,
    pub(crate) days: i32,
    pub(crate) since: i64,
    pub(crate) until: i64,
    pub(crate) state: String,
    pub(crate) chats: String,
    pub(crate) chats_done: i32,
    pub(crate) messages_found: i32,
    pub(crate) messages_queued: i32,
    pub(crate) error: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) finished_at: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = import_jobs)]
pub(crate) struct ImportInsert {
    pub(crate) instance_id: i64,
    pub(crate) days: i32,
    pub(crate) since: i64,
    pub(crate) until: i64,
    pub(crate) chats: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = import_jobs, treat_none_as_null = true)]
pub(crate) struct ImportProgress {
    pub(crate) state: String,
    pub(crate) chats_done: i32,
    pub(crate) messages_found: i32,
    pub(crate) messages_queued: i32,
    pub(crate) error: Option<String>,
    pub(crate) updated_at: i64,
    pub(crate) finished_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_messages, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ApiMessageRow {
    pub(crate) id: i64,
    pub(crate) instance_id: i64,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) request_digest: String,
    pub(crate) event_id: Option<i64>,
    pub(crate) chat_jid: String,
    pub(crate) wa_message_id: Option<String>,
    pub(crate) chatwoot_conversation_id: Option<i64>,
    pub(crate) chatwoot_message_id: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_messages)]
pub(crate) struct ApiMessageInsert {
    pub(crate) instance_id: i64,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) request_digest: String,
    pub(crate) chat_jid: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = connections, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub(crate) struct ConnectionRow {
    pub(crate) instance_id: i64,
    pub(crate) state: String,
    pub(crate) jid: Option<String>,
    pub(crate) push_name: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) detail: String,
    pub(crate) since: i64,
    pub(crate) announced_state: Option<String>,
    pub(crate) updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ConsoleSessionRow {
    pub(crate) token_hash: String,
    pub(crate) principal: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct TenantRow {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ApiKeyRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) prefix: String,
    pub(crate) tenant: Option<String>,
    pub(crate) instances: Option<String>,
    pub(crate) scopes: String,
    pub(crate) rate_per_minute: Option<i32>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
    pub(crate) last_used_at: Option<i64>,
    pub(crate) revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_keys)]
pub(crate) struct ApiKeyInsert {
    pub(crate) name: String,
    pub(crate) prefix: String,
    pub(crate) key_hash: String,
    pub(crate) tenant: Option<String>,
    pub(crate) instances: Option<String>,
    pub(crate) scopes: String,
    pub(crate) rate_per_minute: Option<i32>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pairing_links, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PairingLinkRow {
    pub(crate) id: i64,
    pub(crate) instance_id: i64,
    pub(crate) created_by: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) used_at: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pairing_links)]
pub(crate) struct PairingLinkInsert {
    pub(crate) token_hash: String,
    pub(crate) instance_id: i64,
    pub(crate) created_by: String,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = actions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ActionRow {
    pub(crate) id: i64,
    pub(crate) at: i64,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) instance_id: Option<i64>,
    pub(crate) target: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = actions)]
pub(crate) struct ActionInsert {
    pub(crate) at: i64,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) instance_id: Option<i64>,
    pub(crate) target: Option<String>,
}
