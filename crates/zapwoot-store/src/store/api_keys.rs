//! API keys: each stored only as the SHA-256 of its secret, with the scopes it holds, the
//! tenant or instances it is limited to, its rate limit, expiry and revocation.

use std::time::SystemTime;

use super::Store;
use super::console_sessions::hex;
use crate::StoreError;
use crate::backend::dispatch;
use crate::clock::unix_ms;
use crate::rows::{ApiKeyInsert, ApiKeyRow};

/// A key to make. The secret itself is never given to the store, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewApiKey {
    /// What it is for (`acme-crm`).
    pub name: String,
    /// The first characters of the key, shown to tell keys apart (`zw_3f9a1c`).
    pub prefix: String,
    /// The tenant it is limited to.
    pub tenant: Option<String>,
    /// The instances it is limited to, by name.
    pub instances: Option<Vec<String>>,
    /// Its scopes (`messages:send`, …).
    pub scopes: Vec<String>,
    /// Most requests per minute, when limited.
    pub rate_per_minute: Option<u32>,
    /// When it stops working.
    pub expires_at: Option<SystemTime>,
}

impl NewApiKey {
    /// A key named `name` shown as `prefix`, holding `scopes`, unlimited otherwise.
    #[must_use]
    pub fn new(name: impl Into<String>, prefix: impl Into<String>, scopes: Vec<String>) -> Self {
        Self {
            name: name.into(),
            prefix: prefix.into(),
            tenant: None,
            instances: None,
            scopes,
            rate_per_minute: None,
            expires_at: None,
        }
    }
}

/// A stored key (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiKey {
    /// Its id (`DELETE /api/v1/keys/{id}`).
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// The first characters of the key.
    pub prefix: String,
    /// The tenant it is limited to.
    pub tenant: Option<String>,
    /// The instances it is limited to.
    pub instances: Option<Vec<String>>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Most requests per minute, when limited.
    pub rate_per_minute: Option<u32>,
    /// When it was made, ms since the Unix epoch.
    pub created_at_ms: i64,
    /// When it stops working, ms since the Unix epoch.
    pub expires_at_ms: Option<i64>,
    /// When it was last seen in use (recorded coarsely), ms since the Unix epoch.
    pub last_used_at_ms: Option<i64>,
    /// When it was revoked, ms since the Unix epoch.
    pub revoked_at_ms: Option<i64>,
}

impl ApiKey {
    /// Whether it works at `now_ms`: not revoked and not expired.
    #[must_use]
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|e| e > now_ms)
    }
}

/// API keys, borrowed from [`Store::api_keys`].
#[derive(Debug, Clone, Copy)]
pub struct ApiKeys<'a> {
    store: &'a Store,
}

impl Store {
    /// API keys.
    #[must_use]
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys { store: self }
    }
}

fn json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::CorruptJson {
        column: "api_keys",
        reason: e.to_string(),
    })
}

impl ApiKeys<'_> {
    /// Records a key found later by `key_hash` (the SHA-256 of its secret).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a hash recorded already; [`StoreError::Unavailable`] or
    /// [`StoreError::Query`].
    pub async fn create(&self, key_hash: &[u8; 32], key: &NewApiKey) -> Result<ApiKey, StoreError> {
        let row = ApiKeyInsert {
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            key_hash: hex(key_hash),
            tenant: key.tenant.clone(),
            instances: key.instances.as_ref().map(json).transpose()?,
            scopes: json(&key.scopes)?,
            rate_per_minute: key
                .rate_per_minute
                .map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
            created_at: self.store.now_ms(),
            expires_at: key.expires_at.map(unix_ms),
        };
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::insert_api_key(c, &row)))
            .await?;
        to_key(row)
    }

    /// Every key, newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Query`] or [`StoreError::CorruptJson`].
    pub async fn list(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::api_keys(c)))
            .await?;
        rows.into_iter().map(to_key).collect()
    }

    /// The key whose secret hashes to `key_hash`, revoked or expired ones included.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Query`] or [`StoreError::CorruptJson`].
    pub async fn by_hash(&self, key_hash: &[u8; 32]) -> Result<Option<ApiKey>, StoreError> {
        let hash = hex(key_hash);
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::api_key_by_hash(c, &hash)))
            .await?;
        row.map(to_key).transpose()
    }

    /// The key `id`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Query`] or [`StoreError::CorruptJson`].
    pub async fn get(&self, id: i64) -> Result<Option<ApiKey>, StoreError> {
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::api_key(c, id)))
            .await?;
        row.map(to_key).transpose()
    }

    /// Revokes key `id` now; whether it was active until now.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn revoke(&self, id: i64) -> Result<bool, StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::revoke_api_key(c, id, now)))
            .await
    }

    /// Records that key `id` is in use now (callers do this coarsely, not per request).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn touch(&self, id: i64) -> Result<(), StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::touch_api_key(c, id, now)))
            .await
    }
}

fn to_key(row: ApiKeyRow) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        tenant: row.tenant,
        instances: row
            .instances
            .as_deref()
            .map(|t| super::json_column("api_keys.instances", t))
            .transpose()?,
        scopes: super::json_column("api_keys.scopes", &row.scopes)?,
        rate_per_minute: row.rate_per_minute.and_then(|r| u32::try_from(r).ok()),
        created_at_ms: row.created_at,
        expires_at_ms: row.expires_at,
        last_used_at_ms: row.last_used_at,
        revoked_at_ms: row.revoked_at,
    })
}
