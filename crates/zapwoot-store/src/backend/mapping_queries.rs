//! Queries of the mapping tables: `messages`, `conversations`, `identities`.

#[allow(clippy::wildcard_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Mappings

pub(crate) fn apply_effects(c: &mut Conn, effects: &[Effect], now: i64) -> Result<(), StoreError> {
    let mut notifications = Vec::new();
    for effect in effects {
        match effect {
            Effect::Notify(notification) => notifications.push(notification),
            Effect::ApiMirrored {
                id,
                chatwoot_conversation_id,
                chatwoot_message_id,
            } => {
                set_api_message_mirrored(
                    c,
                    *id,
                    (*chatwoot_conversation_id, *chatwoot_message_id),
                    now,
                )?;
            }
            Effect::Enqueue(event) => {
                super::event_queries::record_one(c, &EventInsert::new(event.clone(), now))?;
            }
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
            Effect::CsatSurvey {
                instance_id,
                chatwoot_conversation_id,
                survey,
            } => {
                diesel::update(
                    conversations::table
                        .filter(conversations::instance_id.eq(instance_id))
                        .filter(
                            conversations::chatwoot_conversation_id.eq(chatwoot_conversation_id),
                        ),
                )
                .set((
                    conversations::csat_uuid
                        .eq(survey.as_ref().map(|s| s.conversation_uuid.clone())),
                    conversations::csat_sent_at.eq(survey.as_ref().map(|s| s.sent_at_ms)),
                ))
                .execute(c)?;
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
            Effect::Connection(seen) => observe_connection(c, seen, now)?,
            Effect::ConnectionAnnounced { instance_id, state } => {
                connection_announced(c, *instance_id, state.as_str())?;
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
    status: ReceiptLevel,
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

/// The WhatsApp ids of the customer's newest messages in `chat` not yet read (at most `limit`,
/// newest first).
pub(crate) fn unread_incoming(
    c: &mut Conn,
    instance_id: i64,
    chat_jid: &str,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let ids: Vec<Option<String>> = messages::table
        .filter(messages::instance_id.eq(instance_id))
        .filter(messages::chat_jid.eq(chat_jid))
        .filter(messages::direction.eq(crate::Direction::Incoming.as_str()))
        .filter(messages::delivery.lt(ReceiptLevel::Read.rank()))
        .filter(messages::wa_message_id.is_not_null())
        .order(messages::id.desc())
        .limit(limit)
        .select(messages::wa_message_id)
        .load(c)?;
    Ok(ids.into_iter().flatten().collect())
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
