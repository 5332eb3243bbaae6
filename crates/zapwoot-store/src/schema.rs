//! Diesel table definitions, written to match both migration trees (`migrations/sqlite`,
//! `migrations/postgres`). Ids are `BigInt` on both backends.

diesel::table! {
    instances (id) {
        id -> BigInt,
        name -> Text,
        enabled -> Bool,
        gateway_kind -> Text,
        gateway_url -> Text,
        gateway_device_id -> Nullable<Text>,
        gateway_username -> Nullable<Text>,
        chatwoot_url -> Text,
        chatwoot_account_id -> BigInt,
        chatwoot_inbox_id -> Nullable<BigInt>,
        options -> Text,
        secrets -> Text,
        gateway_key_hash -> Text,
        chatwoot_key_hash -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        tenant -> Nullable<Text>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        instance_id -> BigInt,
        source -> Text,
        kind -> Text,
        dedupe_key -> Text,
        waits -> Integer,
        lane -> Text,
        content_type -> Text,
        body -> Nullable<Binary>,
        received_at -> BigInt,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    identities (id) {
        id -> BigInt,
        instance_id -> BigInt,
        is_group -> Bool,
        phone_jid -> Nullable<Text>,
        phone_variant_jid -> Nullable<Text>,
        lid -> Nullable<Text>,
        chatwoot_contact_id -> Nullable<BigInt>,
        contact_source_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        name_locked -> Bool,
        avatar_synced_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        instance_id -> BigInt,
        chat_jid -> Text,
        identity_id -> Nullable<BigInt>,
        chatwoot_conversation_id -> BigInt,
        status -> Text,
        last_chatwoot_message_id -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        csat_uuid -> Nullable<Text>,
        csat_sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        instance_id -> BigInt,
        chat_jid -> Text,
        direction -> Text,
        wa_message_id -> Nullable<Text>,
        chatwoot_conversation_id -> Nullable<BigInt>,
        chatwoot_message_id -> Nullable<BigInt>,
        part -> Integer,
        delivery -> Integer,
        state -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        instances -> Nullable<Text>,
        secret -> Text,
        headers -> Text,
        allow_private_network -> Bool,
        ordered -> Bool,
        enabled -> Bool,
        failing_since -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<BigInt>,
        disabled_reason -> Nullable<Text>,
        tenant -> Nullable<Text>,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        message_id -> Text,
        event_type -> Text,
        instance_id -> Nullable<BigInt>,
        lane -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<BigInt>,
        created_at -> BigInt,
        finished_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempted_at -> BigInt,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        response -> Nullable<Text>,
    }
}

diesel::table! {
    import_jobs (id) {
        id -> BigInt,
        instance_id -> BigInt,
        days -> Integer,
        since -> BigInt,
        until -> BigInt,
        state -> Text,
        chats -> Text,
        chats_done -> Integer,
        messages_found -> Integer,
        messages_queued -> Integer,
        error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_messages (id) {
        id -> BigInt,
        instance_id -> BigInt,
        idempotency_key -> Nullable<Text>,
        request_digest -> Text,
        event_id -> Nullable<BigInt>,
        chat_jid -> Text,
        wa_message_id -> Nullable<Text>,
        chatwoot_conversation_id -> Nullable<BigInt>,
        chatwoot_message_id -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    connections (instance_id) {
        instance_id -> BigInt,
        state -> Text,
        jid -> Nullable<Text>,
        push_name -> Nullable<Text>,
        reason -> Nullable<Text>,
        detail -> Text,
        since -> BigInt,
        announced_state -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    console_sessions (token_hash) {
        token_hash -> Text,
        principal -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    tenants (name) {
        name -> Text,
        description -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        tenant -> Nullable<Text>,
        instances -> Nullable<Text>,
        scopes -> Text,
        rate_per_minute -> Nullable<Integer>,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    pairing_links (id) {
        id -> BigInt,
        token_hash -> Text,
        instance_id -> BigInt,
        created_by -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    actions (id) {
        id -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        instance_id -> Nullable<BigInt>,
        target -> Nullable<Text>,
    }
}

diesel::joinable!(pairing_links -> instances (instance_id));
diesel::joinable!(connections -> instances (instance_id));
diesel::joinable!(events -> instances (instance_id));
diesel::joinable!(api_messages -> instances (instance_id));
diesel::joinable!(import_jobs -> instances (instance_id));
diesel::joinable!(identities -> instances (instance_id));
diesel::joinable!(conversations -> instances (instance_id));
diesel::joinable!(messages -> instances (instance_id));
diesel::joinable!(deliveries -> subscriptions (subscription_id));
diesel::joinable!(delivery_attempts -> deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    instances,
    events,
    identities,
    conversations,
    messages,
    subscriptions,
    deliveries,
    delivery_attempts,
    import_jobs,
    api_messages,
    connections,
    console_sessions,
    tenants,
    api_keys,
    pairing_links,
    actions,
);
