//! API keys: `zw_` and 64 hex digits (32 random bytes), stored only as their SHA-256 (a
//! key is found by its hash, so nothing compares the secret byte by byte), known to this
//! process for [`REVOCATION_DELAY`] at most so a key revoked on another replica stops
//! working within that time; last use recorded at most once a minute per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ring::digest::{SHA256, digest};
use zapwoot_store::{ApiKey, Store, StoreError};

use super::rate::RateLimits;
use super::{Principal, Scope};

/// How long a key's record is trusted before it is read again: a revocation (made on any
/// replica) takes effect everywhere within this delay.
pub(crate) const REVOCATION_DELAY: Duration = Duration::from_secs(5);

/// How often a key's last use is written.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Most keys remembered at once (unknown ones included); beyond it the memory is cleared.
const MOST_REMEMBERED: usize = 10_000;

/// What every key starts with.
pub(crate) const KEY_PREFIX: &str = "zw_";

/// A new key: the secret (shown once), its hash (stored) and its visible prefix.
pub(crate) struct NewKey {
    /// `zw_…`, given to the client once.
    pub(crate) secret: String,
    /// Its SHA-256.
    pub(crate) hash: [u8; 32],
    /// Its first 11 characters, which tell keys apart in lists.
    pub(crate) prefix: String,
}

/// A fresh random key.
pub(crate) fn generate() -> Option<NewKey> {
    let secret = format!("{KEY_PREFIX}{}", crate::console::session::random_token()?);
    Some(NewKey {
        hash: hash(&secret),
        prefix: secret[..11].to_owned(),
        secret,
    })
}

/// The SHA-256 of a key.
pub(crate) fn hash(key: &str) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, key.as_bytes()).as_ref());
    out
}

/// Whether `token` has the shape of a key (else it is tried as the admin token).
pub(crate) fn looks_like_key(token: &str) -> bool {
    token.len() == 67
        && token.starts_with(KEY_PREFIX)
        && token[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Why a key was refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No such key.
    Unknown,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
    /// Its requests of this minute are used up: seconds to wait.
    RateLimited(u64),
    /// The store did not answer.
    Store(StoreError),
}

/// Each key hash seen, with when its record was read and the record (`None`: no such key).
type Known = HashMap<[u8; 32], (Instant, Option<ApiKey>)>;

/// The keys this process knows, with their rate limits.
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    known: Mutex<Known>,
    touched: Mutex<HashMap<i64, Instant>>,
    rates: RateLimits,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The principal a stored key makes.
pub(crate) fn principal_of(key: &ApiKey) -> Principal {
    Principal {
        key_id: Some(key.id),
        scopes: key.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        tenant: key.tenant.clone(),
        instances: key.instances.clone(),
    }
}

impl KeyCache {
    /// The principal of `key`, counting the request against its rate limit.
    pub(crate) async fn principal(&self, store: &Store, key: &str) -> Result<Principal, Refusal> {
        let hash = hash(key);
        let record = self.record(store, &hash).await?;
        let now = now_ms();
        let Some(record) = record else {
            return Err(Refusal::Unknown);
        };
        if record.revoked_at_ms.is_some() {
            return Err(Refusal::Revoked);
        }
        if !record.is_active(now) {
            return Err(Refusal::Expired);
        }
        if let Some(limit) = record.rate_per_minute {
            self.rates
                .check(record.id, limit, now)
                .map_err(Refusal::RateLimited)?;
        }
        self.touch(store, record.id);
        Ok(principal_of(&record))
    }

    /// The key's record, read again once it is older than [`REVOCATION_DELAY`].
    async fn record(&self, store: &Store, hash: &[u8; 32]) -> Result<Option<ApiKey>, Refusal> {
        if let Some((at, record)) = self.lock_known().get(hash)
            && at.elapsed() < REVOCATION_DELAY
        {
            return Ok(record.clone());
        }
        let record = store
            .api_keys()
            .by_hash(hash)
            .await
            .map_err(Refusal::Store)?;
        let mut known = self.lock_known();
        if known.len() >= MOST_REMEMBERED {
            known.clear();
        }
        known.insert(*hash, (Instant::now(), record.clone()));
        Ok(record)
    }

    /// Forgets every key this process knows (after a revocation here: at once).
    pub(crate) fn forget(&self) {
        self.lock_known().clear();
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records the key's use, at most once per [`TOUCH_EVERY`], in the background.
    fn touch(&self, store: &Store, id: i64) {
        let due = {
            let mut touched = self
                .touched
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = touched
                .get(&id)
                .is_none_or(|at| at.elapsed() >= TOUCH_EVERY);
            if due {
                touched.insert(id, Instant::now());
            }
            due
        };
        if due {
            let store = store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.api_keys().touch(id).await {
                    tracing::warn!(key = id, error = %e, "recording a key's use failed");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_shaped_and_told_apart_by_prefix() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        assert_ne!(a.secret, b.secret);
        assert!(looks_like_key(&a.secret));
        assert!(a.secret.starts_with(&a.prefix) && a.prefix.len() == 11);
        assert_eq!(a.hash, hash(&a.secret));
        assert!(!looks_like_key("zw_short") && !looks_like_key("an-admin-token"));
    }
}
