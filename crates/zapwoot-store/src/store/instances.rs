//! Instance CRUD, with secrets and webhook route keys sealed at rest.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom as _, SystemRandom};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::backend::KeyColumn;
use crate::backend::dispatch;
use crate::rows::{InstanceRow, InstanceWrite};
use crate::{Instance, NewInstance, SealError, SecretString, StoreError};

/// Associated data for the sealed `instances.secrets` column.
const SECRETS_CONTEXT: &str = "instances.secrets";

/// What `instances.secrets` holds once opened.
#[derive(Serialize, Deserialize)]
struct SealedSecrets {
    secrets: BTreeMap<String, SecretString>,
    gateway_key: SecretString,
    chatwoot_key: SecretString,
}

/// The bridged instances (one WhatsApp number and its Chatwoot inbox each) and their sealed secrets. Borrowed from [`Instances::list`].
#[derive(Debug, Clone, Copy)]
pub struct Instances<'a> {
    store: &'a Store,
}

impl Store {
    /// The bridged instances (one WhatsApp number and its Chatwoot inbox each) and their sealed secrets.
    #[must_use]
    pub fn instances(&self) -> Instances<'_> {
        Instances { store: self }
    }
}

impl Instances<'_> {
    /// Creates an instance with fresh, unguessable webhook route keys.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken; [`SealError::KeyMissing`] without a
    /// sealing key (the route keys are secrets, so every instance needs one).
    pub async fn create(&self, config: NewInstance) -> Result<Instance, StoreError> {
        let sealed = SealedSecrets {
            secrets: config.secrets.clone(),
            gateway_key: route_key()?,
            chatwoot_key: route_key()?,
        };
        let write = self.seal_row(&config, &sealed)?;
        let now = self.store.now_ms();
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::insert_instance(c, &write, now)))
            .await?;
        self.open_row(row)
    }

    /// Replaces the configuration of the instance named `name` (which may be renamed by
    /// `config.name`); its route keys stay. Re-seals its secrets under the current key.
    /// Returns `None` when there is no such instance.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when renaming onto a taken name; sealing errors.
    pub async fn update(
        &self,
        name: &str,
        config: NewInstance,
    ) -> Result<Option<Instance>, StoreError> {
        let Some(current) = self.store.instances().get(name).await? else {
            return Ok(None);
        };
        let sealed = SealedSecrets {
            secrets: config.secrets.clone(),
            gateway_key: current.gateway_key,
            chatwoot_key: current.chatwoot_key,
        };
        let write = self.seal_row(&config, &sealed)?;
        let id = current.id;
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::update_instance(c, id, &write)))
            .await?;
        row.map(|row| self.open_row(row)).transpose()
    }

    /// The instance named `name`.
    ///
    /// # Errors
    /// Query errors; sealing errors when its secrets cannot be opened (wrong key).
    pub async fn get(&self, name: &str) -> Result<Option<Instance>, StoreError> {
        let name = name.to_owned();
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::instance_by_name(c, &name)))
            .await?;
        row.map(|row| self.open_row(row)).transpose()
    }

    /// The instance with store id `id`.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn by_id(&self, id: i64) -> Result<Option<Instance>, StoreError> {
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::instance_by_id(c, id)))
            .await?;
        row.map(|row| self.open_row(row)).transpose()
    }

    /// The instance whose gateway webhook key (`/webhooks/gateway/{key}`) is `key`, looked
    /// up by its hash.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn by_gateway_key(&self, key: &str) -> Result<Option<Instance>, StoreError> {
        self.instance_by_key(KeyColumn::Gateway, key).await
    }

    /// The instance whose Chatwoot webhook key (`/webhooks/chatwoot/{key}`) is `key`, looked
    /// up by its hash.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn by_chatwoot_key(&self, key: &str) -> Result<Option<Instance>, StoreError> {
        self.instance_by_key(KeyColumn::Chatwoot, key).await
    }

    async fn instance_by_key(
        &self,
        column: KeyColumn,
        key: &str,
    ) -> Result<Option<Instance>, StoreError> {
        let hash = key_hash(key);
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::instance_by_key_hash(c, column, &hash)))
            .await?;
        row.map(|row| self.open_row(row)).transpose()
    }

    /// Every instance, by name.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn list(&self) -> Result<Vec<Instance>, StoreError> {
        let rows = self
            .store
            .run(|db| dispatch!(db, |c, q| q::list_instances(c)))
            .await?;
        rows.into_iter().map(|row| self.open_row(row)).collect()
    }

    /// Every instance's id and when it last changed (unix milliseconds), by id: what a
    /// bridge that keeps instances running compares to see what changed, without reading
    /// (and unsealing) every instance.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn versions(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        self.store
            .run(|db| dispatch!(db, |c, q| q::instance_versions(c)))
            .await
    }

    /// Every instance's id and name, by name: for reports over many instances that need no
    /// settings (and so unseal no secrets).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn names(&self) -> Result<Vec<(i64, String)>, StoreError> {
        self.store
            .run(|db| dispatch!(db, |c, q| q::instance_names(c)))
            .await
    }

    /// Deletes the instance named `name` and everything recorded for it; `false` if absent.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::delete_instance(c, &name)))
            .await
    }

    /// Re-seals every instance whose secrets were sealed under an older key (after adding a
    /// new `ZAPWOOT_SECRET_KEY` and keeping the old one as previous). Returns how many.
    ///
    /// # Errors
    /// Sealing errors (a value sealed under a key that is not configured at all).
    pub async fn reseal(&self) -> Result<usize, StoreError> {
        let sealer = self.store.sealer()?;
        let rows = self
            .store
            .run(|db| dispatch!(db, |c, q| q::list_instances(c)))
            .await?;
        let mut count = 0;
        for row in rows.into_iter().filter(|row| sealer.is_stale(&row.secrets)) {
            let instance = self.open_row(row)?;
            self.store
                .instances()
                .update(&instance.config.name.clone(), instance.config)
                .await?;
            count += 1;
        }
        Ok(count)
    }

    fn seal_row(
        &self,
        config: &NewInstance,
        sealed: &SealedSecrets,
    ) -> Result<InstanceWrite, StoreError> {
        let plaintext = serde_json::to_vec(sealed).map_err(|e| StoreError::CorruptJson {
            column: "instances.secrets",
            reason: e.to_string(),
        })?;
        Ok(InstanceWrite {
            name: config.name.clone(),
            enabled: config.enabled,
            gateway_kind: config.gateway_kind.as_str().to_owned(),
            gateway_url: config.gateway_url.clone(),
            gateway_device_id: config.gateway_device_id.clone(),
            gateway_username: config.gateway_username.clone(),
            chatwoot_url: config.chatwoot_url.clone(),
            chatwoot_account_id: config.chatwoot_account_id,
            chatwoot_inbox_id: config.chatwoot_inbox_id,
            options: serde_json::to_string(&config.options).map_err(|e| {
                StoreError::CorruptJson {
                    column: "instances.options",
                    reason: e.to_string(),
                }
            })?,
            secrets: self.store.sealer()?.seal(SECRETS_CONTEXT, &plaintext)?,
            gateway_key_hash: key_hash(sealed.gateway_key.expose()),
            chatwoot_key_hash: key_hash(sealed.chatwoot_key.expose()),
            updated_at: self.store.now_ms(),
            tenant: config.tenant.clone(),
        })
    }

    fn open_row(&self, row: InstanceRow) -> Result<Instance, StoreError> {
        let plaintext = self.store.sealer()?.open(SECRETS_CONTEXT, &row.secrets)?;
        let sealed: SealedSecrets =
            serde_json::from_slice(&plaintext).map_err(|_| SealError::Corrupt)?;
        let gateway_kind =
            row.gateway_kind
                .parse()
                .map_err(|e: zapwoot_gateway::UnknownGatewayKind| {
                    StoreError::UnknownGatewayKind {
                        instance: row.name.clone(),
                        kind: e.0,
                    }
                })?;
        let options = serde_json::from_str(&row.options).map_err(|e| StoreError::CorruptJson {
            column: "instances.options",
            reason: format!("instance {}: {e}", row.name),
        })?;
        Ok(Instance {
            id: row.id,
            config: NewInstance {
                name: row.name,
                enabled: row.enabled,
                gateway_kind,
                gateway_url: row.gateway_url,
                gateway_device_id: row.gateway_device_id,
                gateway_username: row.gateway_username,
                chatwoot_url: row.chatwoot_url,
                chatwoot_account_id: row.chatwoot_account_id,
                chatwoot_inbox_id: row.chatwoot_inbox_id,
                options,
                secrets: sealed.secrets,
                tenant: row.tenant,
            },
            gateway_key: sealed.gateway_key,
            chatwoot_key: sealed.chatwoot_key,
            created_at_ms: row.created_at,
            updated_at_ms: row.updated_at,
        })
    }
}

/// 32 random bytes, URL-safe base64 (43 characters).
fn route_key() -> Result<SecretString, StoreError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SealError::Random)?;
    Ok(SecretString::new(URL_SAFE_NO_PAD.encode(bytes)))
}

/// SHA-256 of a route key, lowercase hex: lets the webhook handler find the instance
/// without storing the key in clear.
fn key_hash(key: &str) -> String {
    digest::digest(&digest::SHA256, key.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
