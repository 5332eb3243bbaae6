//! Tenants: the clients a bridge serves, each grouping instances, subscriptions and keys.

use super::Store;
use crate::StoreError;
use crate::backend::dispatch;
use crate::rows::TenantRow;

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tenant {
    /// Its unique name, as instances, subscriptions and keys name it.
    pub name: String,
    /// Free text for operators (the client's name, a contract number).
    pub description: String,
    /// When it was made, in ms since the Unix epoch.
    pub created_at_ms: i64,
    /// When it last changed, in ms since the Unix epoch.
    pub updated_at_ms: i64,
}

/// What belongs to a tenant, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantMembers {
    /// Its instances.
    pub instances: i64,
    /// Its subscriptions.
    pub subscriptions: i64,
    /// Its keys that are not revoked.
    pub keys: i64,
}

/// Tenants, borrowed from [`Store::tenants`].
#[derive(Debug, Clone, Copy)]
pub struct Tenants<'a> {
    store: &'a Store,
}

impl Store {
    /// Tenants.
    #[must_use]
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants { store: self }
    }
}

impl Tenants<'_> {
    /// Makes the tenant `name`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken; [`StoreError::Unavailable`] or
    /// [`StoreError::Query`].
    pub async fn create(&self, name: &str, description: &str) -> Result<Tenant, StoreError> {
        let now = self.store.now_ms();
        let row = TenantRow {
            name: name.to_owned(),
            description: description.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let tenant = to_tenant(row.clone());
        self.store
            .run(move |db| dispatch!(db, |c, q| q::insert_tenant(c, &row)))
            .await?;
        Ok(tenant)
    }

    /// Every tenant, by name.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn list(&self) -> Result<Vec<Tenant>, StoreError> {
        let rows = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::tenants(c)))
            .await?;
        Ok(rows.into_iter().map(to_tenant).collect())
    }

    /// The tenant `name`, `None` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn get(&self, name: &str) -> Result<Option<Tenant>, StoreError> {
        let name = name.to_owned();
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::tenant(c, &name)))
            .await?;
        Ok(row.map(to_tenant))
    }

    /// Changes the description of `name`; the tenant after, `None` when there is none.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn update(
        &self,
        name: &str,
        description: &str,
    ) -> Result<Option<Tenant>, StoreError> {
        let (name, description) = (name.to_owned(), description.to_owned());
        let now = self.store.now_ms();
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::update_tenant(c, &name, &description, now)))
            .await?;
        Ok(row.map(to_tenant))
    }

    /// What belongs to `name`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn members(&self, name: &str) -> Result<TenantMembers, StoreError> {
        let name = name.to_owned();
        let (instances, subscriptions, keys) = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::tenant_members(c, &name)))
            .await?;
        Ok(TenantMembers {
            instances,
            subscriptions,
            keys,
        })
    }

    /// Removes the tenant `name`; whether it was there.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] while instances, subscriptions or unrevoked keys still belong
    /// to it; [`StoreError::Unavailable`] or [`StoreError::Query`].
    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::delete_tenant(c, &name)))
            .await
    }
}

fn to_tenant(row: TenantRow) -> Tenant {
    Tenant {
        name: row.name,
        description: row.description,
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
    }
}
