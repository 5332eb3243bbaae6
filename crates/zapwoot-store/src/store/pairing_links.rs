//! Pairing links: a one-instance, expiring link to pair a phone without an account, stored
//! only as the SHA-256 of its token.

use std::time::SystemTime;

use super::Store;
use super::console_sessions::hex;
use crate::StoreError;
use crate::backend::dispatch;
use crate::clock::unix_ms;
use crate::rows::{PairingLinkInsert, PairingLinkRow};

/// A stored pairing link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PairingLink {
    /// Its id.
    pub id: i64,
    /// The one instance it pairs.
    pub instance_id: i64,
    /// Who made it (`admin`, `key:7`).
    pub created_by: String,
    /// When it was made, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// When it stops working, ms since the Unix epoch.
    pub expires_at_ms: i64,
    /// When the phone paired through it (or another link of the instance), which ends it.
    pub used_at_ms: Option<i64>,
}

impl PairingLink {
    /// Whether it still works at `now_ms`.
    #[must_use]
    pub fn is_open(&self, now_ms: i64) -> bool {
        self.used_at_ms.is_none() && self.expires_at_ms > now_ms
    }
}

/// Pairing links, borrowed from [`Store::pairing_links`].
#[derive(Debug, Clone, Copy)]
pub struct PairingLinks<'a> {
    store: &'a Store,
}

impl Store {
    /// Pairing links.
    #[must_use]
    pub fn pairing_links(&self) -> PairingLinks<'_> {
        PairingLinks { store: self }
    }
}

impl PairingLinks<'_> {
    /// Records a link to pair `instance_id`, found later by `token_hash`, ending at
    /// `expires_at`; removes links that ended more than a day ago.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`] (an unknown instance, say).
    pub async fn create(
        &self,
        token_hash: &[u8; 32],
        instance_id: i64,
        created_by: &str,
        expires_at: SystemTime,
    ) -> Result<PairingLink, StoreError> {
        let row = PairingLinkInsert {
            token_hash: hex(token_hash),
            instance_id,
            created_by: created_by.to_owned(),
            created_at: self.store.now_ms(),
            expires_at: unix_ms(expires_at),
        };
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::insert_pairing_link(c, &row)))
            .await?;
        Ok(to_link(row))
    }

    /// The link of `token_hash`, ended ones included.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn by_hash(&self, token_hash: &[u8; 32]) -> Result<Option<PairingLink>, StoreError> {
        let hash = hex(token_hash);
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::pairing_link(c, &hash)))
            .await?;
        Ok(row.map(to_link))
    }

    /// Ends every open link of `instance_id` (its phone paired); how many.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn use_all(&self, instance_id: i64) -> Result<usize, StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::use_pairing_links(c, instance_id, now)))
            .await
    }
}

fn to_link(row: PairingLinkRow) -> PairingLink {
    PairingLink {
        id: row.id,
        instance_id: row.instance_id,
        created_by: row.created_by,
        created_at_ms: row.created_at,
        expires_at_ms: row.expires_at,
        used_at_ms: row.used_at,
    }
}
