//! Messages sent through the send API.

use super::Store;
use crate::backend::dispatch;
use crate::rows::{ApiMessageInsert, ApiMessageRow, EventInsert};
use crate::{Accepted, ApiMessage, NewApiMessage, NewEvent, StoreError};

/// Messages sent through the send API: accepted with their send event in one transaction,
/// idempotent by key. Borrowed from [`Store::sends`].
#[derive(Debug, Clone, Copy)]
pub struct Sends<'a> {
    store: &'a Store,
}

impl Store {
    /// Messages sent through the send API.
    #[must_use]
    pub fn sends(&self) -> Sends<'_> {
        Sends { store: self }
    }
}

impl Sends<'_> {
    /// Accepts a message: its row and `event` (the work that sends it; its dedupe key becomes
    /// `send:<id>`) are committed together, so once this returns the message will be sent
    /// even if the process dies now. Under an idempotency key already taken — also by a
    /// concurrent request — nothing is written and the existing message is returned with
    /// `duplicate: true`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn accept(
        &self,
        message: NewApiMessage,
        event: NewEvent,
    ) -> Result<Accepted, StoreError> {
        let now = self.store.now_ms();
        let row = ApiMessageInsert {
            instance_id: message.instance_id,
            idempotency_key: message.idempotency_key,
            request_digest: message.request_digest,
            chat_jid: message.chat_jid,
            created_at: now,
            updated_at: now,
        };
        let event = EventInsert::new(event, now);
        let (row, duplicate) = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::accept_api_message(c, &row, event)))
            .await?;
        Ok(Accepted {
            message: to_message(row),
            duplicate,
        })
    }

    /// One message.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn get(&self, id: i64) -> Result<Option<ApiMessage>, StoreError> {
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::api_message(c, id)))
            .await?;
        Ok(row.map(to_message))
    }

    /// The message accepted under idempotency key `key` for an instance.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn by_key(
        &self,
        instance_id: i64,
        key: &str,
    ) -> Result<Option<ApiMessage>, StoreError> {
        let key = key.to_owned();
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::api_message_by_key(c, instance_id, &key)))
            .await?;
        Ok(row.map(to_message))
    }

    /// The message an `api` event sends or mirrors.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn by_event(&self, event_id: i64) -> Result<Option<ApiMessage>, StoreError> {
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::api_message_by_event(c, event_id)))
            .await?;
        Ok(row.map(to_message))
    }

    /// Records the WhatsApp id the gateway gave a message, at once: a retry after a crash
    /// finds it and does not send again. `false` if the message is gone.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn record_sent(&self, id: i64, wa_message_id: &str) -> Result<bool, StoreError> {
        let now = self.store.now_ms();
        let wa = wa_message_id.to_owned();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::set_api_message_sent(c, id, &wa, now)))
            .await
    }

    /// How many of an instance's sends are still queued (its backlog in front of the
    /// gateway).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn queued(&self, instance_id: i64) -> Result<u64, StoreError> {
        let n = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::open_sends(c, instance_id)))
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}

fn to_message(row: ApiMessageRow) -> ApiMessage {
    ApiMessage {
        id: row.id,
        instance_id: row.instance_id,
        idempotency_key: row.idempotency_key,
        request_digest: row.request_digest,
        event_id: row.event_id,
        chat_jid: row.chat_jid,
        wa_message_id: row.wa_message_id,
        chatwoot_conversation_id: row.chatwoot_conversation_id,
        chatwoot_message_id: row.chatwoot_message_id,
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
    }
}
