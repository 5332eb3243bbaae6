//! Operator console sign-ins, kept in the store so they survive a restart and work on every
//! replica.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::Store;
use crate::StoreError;
use crate::backend::dispatch;
use crate::clock::unix_ms;
use crate::rows::ConsoleSessionRow;

/// A console session that has not expired.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsoleSession {
    /// Who signed in (`admin` for the admin token).
    pub principal: String,
    /// When it was made, in ms since the Unix epoch.
    pub created_at_ms: i64,
    /// When it ends, in ms since the Unix epoch.
    pub expires_at_ms: i64,
}

/// Console sessions, found by the SHA-256 of their cookie's token: the token itself is never
/// stored. Borrowed from [`Store::console_sessions`].
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSessions<'a> {
    store: &'a Store,
}

impl Store {
    /// Operator console sessions.
    #[must_use]
    pub fn console_sessions(&self) -> ConsoleSessions<'_> {
        ConsoleSessions { store: self }
    }
}

pub(super) fn hex(hash: &[u8; 32]) -> String {
    hash.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

impl ConsoleSessions<'_> {
    /// Records a session for `principal`, found later by `token_hash` (the SHA-256 of the
    /// cookie's token), ending at `expires_at`; removes the sessions that have ended.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement (a hash already recorded, say).
    pub async fn create(
        &self,
        token_hash: &[u8; 32],
        principal: &str,
        expires_at: SystemTime,
    ) -> Result<ConsoleSession, StoreError> {
        let now = self.store.now_ms();
        let row = ConsoleSessionRow {
            token_hash: hex(token_hash),
            principal: principal.to_owned(),
            created_at: now,
            expires_at: unix_ms(expires_at),
        };
        let session = to_session(row.clone());
        self.store
            .run(move |db| dispatch!(db, |c, q| q::insert_console_session(c, &row, now)))
            .await?;
        Ok(session)
    }

    /// The session of `token_hash`, `None` when there is none or it has ended.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn get(&self, token_hash: &[u8; 32]) -> Result<Option<ConsoleSession>, StoreError> {
        let now = self.store.now_ms();
        let hash = hex(token_hash);
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::console_session(c, &hash, now)))
            .await?;
        Ok(row.map(to_session))
    }

    /// Ends the session of `token_hash` (signing out); whether there was one.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn delete(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError> {
        let hash = hex(token_hash);
        self.store
            .run(move |db| dispatch!(db, |c, q| q::delete_console_session(c, &hash)))
            .await
    }
}

fn to_session(row: ConsoleSessionRow) -> ConsoleSession {
    ConsoleSession {
        principal: row.principal,
        created_at_ms: row.created_at,
        expires_at_ms: row.expires_at,
    }
}
