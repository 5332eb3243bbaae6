//! Identities, conversations and message mappings.

use super::Store;
use crate::backend::dispatch;
use crate::mapping::{
    ConversationMap, CsatSurvey, Direction, Identity, IdentityKeys, IdentityRecord, MessageMap,
    MessageState, NewConversation, NewMessage, ReceiptLevel,
};
use crate::rows::{ConversationRow, IdentityRow, MessageRow};
use crate::{Effect, StoreError};

/// What links WhatsApp and Chatwoot: message, conversation and identity mappings, and send intents. Borrowed from [`Store::mappings`].
#[derive(Debug, Clone, Copy)]
pub struct Mappings<'a> {
    store: &'a Store,
}

impl Store {
    /// What links WhatsApp and Chatwoot: message, conversation and identity mappings, and send intents.
    #[must_use]
    pub fn mappings(&self) -> Mappings<'_> {
        Mappings { store: self }
    }
}

impl Mappings<'_> {
    /// Records the intent to create a message upstream, before calling upstream. Idempotent:
    /// when a mapping with the same WhatsApp id + part (or Chatwoot id + part) exists, returns
    /// it unchanged, so a retried event sees what an interrupted attempt already did.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `message` has neither id.
    pub async fn record_intent(&self, message: NewMessage) -> Result<MessageMap, StoreError> {
        let row = self
            .store
            .inner
            .intents
            .submit((message, self.store.now_ms()))
            .await?;
        Ok(to_message(row))
    }

    /// Writes `effects` in one transaction, outside any event.
    ///
    /// # Errors
    /// Query errors; nothing is written when one fails.
    pub async fn apply(&self, effects: Vec<Effect>) -> Result<(), StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::apply(c, &effects, now)))
            .await
    }

    /// Every part mapped to WhatsApp message `wa_message_id`, by part.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn messages_by_wa_id(
        &self,
        instance_id: i64,
        wa_message_id: &str,
    ) -> Result<Vec<MessageMap>, StoreError> {
        let wa = wa_message_id.to_owned();
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::messages_by_wa(c, instance_id, &wa)))
            .await?;
        Ok(rows.into_iter().map(to_message).collect())
    }

    /// The WhatsApp ids of the customer's newest messages in `chat_jid` that were not marked
    /// read yet (at most `limit`, newest first).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn unread_incoming(
        &self,
        instance_id: i64,
        chat_jid: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let chat = chat_jid.to_owned();
        self.store
            .run(move |db| {
                dispatch!(db, |c, q| q::unread_incoming(
                    c,
                    instance_id,
                    &chat,
                    i64::from(limit)
                ))
            })
            .await
    }

    /// Every part mapped to Chatwoot message `chatwoot_message_id`, by part.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn messages_by_chatwoot_id(
        &self,
        instance_id: i64,
        chatwoot_message_id: i64,
    ) -> Result<Vec<MessageMap>, StoreError> {
        let rows = self
            .store
            .run(move |db| {
                dispatch!(db, |c, q| q::messages_by_chatwoot(
                    c,
                    instance_id,
                    chatwoot_message_id
                ))
            })
            .await?;
        Ok(rows.into_iter().map(to_message).collect())
    }

    /// Raises the delivery status of a WhatsApp message; never lowers it. Returns `true` when
    /// a mapping rose (so the caller should tell Chatwoot), `false` when it was already at or
    /// above `status` or there is no such message yet.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn raise_delivery(
        &self,
        instance_id: i64,
        wa_message_id: &str,
        status: ReceiptLevel,
    ) -> Result<bool, StoreError> {
        let wa = wa_message_id.to_owned();
        let now = self.store.now_ms();
        let changed = self
            .store
            .run(move |db| {
                dispatch!(db, |c, q| q::raise_delivery(
                    c,
                    instance_id,
                    &wa,
                    status,
                    now
                ))
            })
            .await?;
        Ok(changed > 0)
    }

    /// Inserts or updates a conversation mapping (by Chatwoot conversation id).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn save_conversation(
        &self,
        conversation: NewConversation,
    ) -> Result<ConversationMap, StoreError> {
        let now = self.store.now_ms();
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::save_conversation(c, &conversation, now)))
            .await?;
        Ok(to_conversation(row))
    }

    /// The newest conversation mapped to `chat_jid`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn conversation_for_chat(
        &self,
        instance_id: i64,
        chat_jid: &str,
    ) -> Result<Option<ConversationMap>, StoreError> {
        let chat = chat_jid.to_owned();
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::conversation_for_chat(c, instance_id, &chat)))
            .await?;
        Ok(row.map(to_conversation))
    }

    /// The conversations of an instance worth reconciling: every one not resolved, and any
    /// changed at or after `active_since_ms`. Oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn conversations_to_reconcile(
        &self,
        instance_id: i64,
        active_since_ms: i64,
    ) -> Result<Vec<ConversationMap>, StoreError> {
        let rows = self
            .store
            .run(move |db| {
                dispatch!(db, |c, q| q::conversations_to_reconcile(
                    c,
                    instance_id,
                    active_since_ms
                ))
            })
            .await?;
        Ok(rows.into_iter().map(to_conversation).collect())
    }

    /// The mapping of Chatwoot conversation `chatwoot_conversation_id`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn conversation_by_chatwoot_id(
        &self,
        instance_id: i64,
        chatwoot_conversation_id: i64,
    ) -> Result<Option<ConversationMap>, StoreError> {
        let row = self
            .store
            .run(move |db| {
                dispatch!(db, |c, q| q::conversation_by_chatwoot(
                    c,
                    instance_id,
                    chatwoot_conversation_id
                ))
            })
            .await?;
        Ok(row.map(to_conversation))
    }

    /// Identities known by any of `keys`, oldest first (two when a phone identity and a LID
    /// identity are about to be linked).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn find_identities(
        &self,
        instance_id: i64,
        keys: IdentityKeys,
    ) -> Result<Vec<Identity>, StoreError> {
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::find_identities(c, instance_id, &keys)))
            .await?;
        Ok(rows.into_iter().map(to_identity).collect())
    }

    /// The identity linked to Chatwoot contact `contact_id`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn identity_by_contact(
        &self,
        instance_id: i64,
        contact_id: i64,
    ) -> Result<Option<Identity>, StoreError> {
        let row = self
            .store
            .run(move |db| {
                dispatch!(db, |c, q| q::identity_by_contact(
                    c,
                    instance_id,
                    contact_id
                ))
            })
            .await?;
        Ok(row.map(to_identity))
    }

    /// Inserts (`record.id == None`) or updates an identity.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another identity of the instance already has one of its
    /// addresses or its contact id.
    pub async fn save_identity(&self, record: IdentityRecord) -> Result<Identity, StoreError> {
        let now = self.store.now_ms();
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::save_identity(c, &record, now)))
            .await?;
        Ok(to_identity(row))
    }
}

fn to_message(row: MessageRow) -> MessageMap {
    MessageMap {
        id: row.id,
        message: NewMessage {
            instance_id: row.instance_id,
            chat_jid: row.chat_jid,
            direction: Direction::parse(&row.direction),
            wa_message_id: row.wa_message_id,
            chatwoot_conversation_id: row.chatwoot_conversation_id,
            chatwoot_message_id: row.chatwoot_message_id,
            part: row.part,
            state: MessageState::parse(&row.state),
        },
        delivery: ReceiptLevel::from_rank(row.delivery),
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
    }
}

fn to_conversation(row: ConversationRow) -> ConversationMap {
    ConversationMap {
        id: row.id,
        conversation: NewConversation {
            instance_id: row.instance_id,
            chat_jid: row.chat_jid,
            identity_id: row.identity_id,
            chatwoot_conversation_id: row.chatwoot_conversation_id,
            status: row.status,
        },
        last_chatwoot_message_id: row.last_chatwoot_message_id,
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
        csat_survey: row
            .csat_uuid
            .zip(row.csat_sent_at)
            .map(|(uuid, at)| CsatSurvey::new(uuid, at)),
    }
}

fn to_identity(row: IdentityRow) -> Identity {
    Identity {
        id: row.id,
        record: IdentityRecord {
            id: Some(row.id),
            instance_id: row.instance_id,
            is_group: row.is_group,
            keys: IdentityKeys {
                phone_jid: row.phone_jid,
                phone_variant_jid: row.phone_variant_jid,
                lid: row.lid,
            },
            chatwoot_contact_id: row.chatwoot_contact_id,
            contact_source_id: row.contact_source_id,
            display_name: row.display_name,
            name_locked: row.name_locked,
            avatar_synced_at_ms: row.avatar_synced_at,
        },
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
    }
}
