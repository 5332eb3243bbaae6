//! Each instance's WhatsApp session as last seen (read here; written by the effects of the
//! events that observe it, so a change is committed with its event).

use super::Store;
use crate::backend::dispatch;
use crate::rows::ConnectionRow;
use crate::{ConnectionRecord, ObservedConnection, SessionState, StoreError};

/// Each instance's WhatsApp session as last seen. Borrowed from [`Store::connections`].
#[derive(Debug, Clone, Copy)]
pub struct Connections<'a> {
    store: &'a Store,
}

impl Store {
    /// Each instance's WhatsApp session as last seen.
    #[must_use]
    pub fn connections(&self) -> Connections<'_> {
        Connections { store: self }
    }
}

impl Connections<'_> {
    /// The instance's session, `None` before anything was seen of it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn get(&self, instance_id: i64) -> Result<Option<ConnectionRecord>, StoreError> {
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::connection(c, instance_id)))
            .await?;
        Ok(row.map(to_record))
    }

    /// Records a first sight of the instance's session (a status poll before any event
    /// said anything) when nothing is recorded yet, as already announced: a baseline, not a
    /// change. Changes go through events ([`crate::Effect::Connection`]). Returns whether
    /// it was recorded.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn baseline(&self, seen: ObservedConnection) -> Result<bool, StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::baseline_connection(c, &seen, now)))
            .await
    }

    /// Every instance's session seen so far, by instance id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn list(&self) -> Result<Vec<ConnectionRecord>, StoreError> {
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::connections(c)))
            .await?;
        Ok(rows.into_iter().map(to_record).collect())
    }

    /// The ids of the instances whose session is in `state` (the few pairing ones, say,
    /// without reading every record).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn in_state(&self, state: SessionState) -> Result<Vec<i64>, StoreError> {
        let state = state.as_str();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::instances_in_state(c, state)))
            .await
    }
}

fn to_record(row: ConnectionRow) -> ConnectionRecord {
    ConnectionRecord {
        instance_id: row.instance_id,
        state: SessionState::parse(&row.state),
        jid: row.jid,
        push_name: row.push_name,
        reason: row.reason,
        detail: row.detail,
        since_ms: row.since,
        announced: row.announced_state.as_deref().map(SessionState::parse),
        updated_at_ms: row.updated_at,
    }
}
