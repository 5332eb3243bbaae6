//! Outbound webhook subscriptions; secrets sealed at rest.

use super::{Store, json_column};
use crate::backend::dispatch;
use crate::rows::{SubscriptionInsert, SubscriptionRow, SubscriptionUpdate};
use crate::{NewSubscription, SecretString, StoreError, Subscription};

const SECRET_CONTEXT: &str = "subscriptions.secret";
const PRIVATE_CONTEXT: &str = "subscriptions.private";

/// What a subscription keeps sealed besides its secret: custom header values (often an
/// `Authorization`) and the URL's userinfo. Stored in the `headers` column; the `url` column
/// holds the URL without userinfo.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Private {
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    userinfo: Option<String>,
}

/// `scheme://user:pw@host/…` → (`scheme://host/…`, `Some("user:pw")`).
fn split_userinfo(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((userinfo, host)) => (
            format!("{scheme}://{host}{}", &rest[end..]),
            Some(userinfo.to_owned()),
        ),
        None => (url.to_owned(), None),
    }
}

fn join_userinfo(url: String, userinfo: Option<&str>) -> String {
    match (userinfo, url.split_once("://")) {
        (Some(userinfo), Some((scheme, rest))) => format!("{scheme}://{userinfo}@{rest}"),
        _ => url,
    }
}

/// Outbound webhook subscriptions: targets, secrets and their rotation, enabling and disabling. Borrowed from [`Subscriptions::list`].
#[derive(Debug, Clone, Copy)]
pub struct Subscriptions<'a> {
    store: &'a Store,
}

impl Store {
    /// Outbound webhook subscriptions: targets, secrets and their rotation, enabling and disabling.
    #[must_use]
    pub fn subscriptions(&self) -> Subscriptions<'_> {
        Subscriptions { store: self }
    }
}

impl Subscriptions<'_> {
    /// Creates a subscription (enabled).
    ///
    /// # Errors
    /// Sealing errors ([`crate::SealError::KeyMissing`] without a sealing key); query errors.
    pub async fn create(&self, config: NewSubscription) -> Result<Subscription, StoreError> {
        let now = self.store.now_ms();
        let (url, headers) = self.seal_private(&config)?;
        let row = SubscriptionInsert {
            url,
            events: to_json(&config.events)?,
            instances: config.instances.as_ref().map(to_json).transpose()?,
            secret: self
                .store
                .sealer()?
                .seal(SECRET_CONTEXT, config.secret.expose().as_bytes())?,
            headers,
            allow_private_network: config.allow_private_network,
            ordered: config.ordered,
            created_at: now,
            updated_at: now,
            tenant: config.tenant.clone(),
        };
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::insert_subscription(c, &row)))
            .await?;
        self.open_row(row)
    }

    /// Every subscription, oldest first.
    ///
    /// # Errors
    /// Query and sealing errors.
    pub async fn list(&self) -> Result<Vec<Subscription>, StoreError> {
        let rows = self
            .store
            .run(|db| dispatch!(db, |c, q| q::list_subscriptions(c)))
            .await?;
        rows.into_iter().map(|row| self.open_row(row)).collect()
    }

    /// One subscription.
    ///
    /// # Errors
    /// Query and sealing errors.
    pub async fn get(&self, id: i64) -> Result<Option<Subscription>, StoreError> {
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::subscription(c, id)))
            .await?;
        row.map(|row| self.open_row(row)).transpose()
    }

    /// Deletes a subscription and its deliveries; `false` if absent.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn delete(&self, id: i64) -> Result<bool, StoreError> {
        self.store
            .run(move |db| dispatch!(db, |c, q| q::delete_subscription(c, id)))
            .await
    }

    /// Changes a subscription's URL, filters, headers and flags to those of `config` (its
    /// `secret` is ignored: see [`rotate_secret`](Self::rotate_secret)).
    /// `None` if absent.
    ///
    /// # Errors
    /// Query and sealing errors.
    pub async fn update(
        &self,
        id: i64,
        config: NewSubscription,
    ) -> Result<Option<Subscription>, StoreError> {
        let (url, headers) = self.seal_private(&config)?;
        let update = SubscriptionUpdate {
            url,
            events: to_json(&config.events)?,
            instances: config.instances.as_ref().map(to_json).transpose()?,
            headers,
            allow_private_network: config.allow_private_network,
            ordered: config.ordered,
            updated_at: self.store.now_ms(),
            tenant: config.tenant.clone(),
        };
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::update_subscription(c, id, &update)))
            .await?;
        row.map(|row| self.open_row(row)).transpose()
    }

    /// Replaces the signing secret with `secret`; deliveries are signed with both the new
    /// and the old one for `overlap`, so receivers can switch without losing a message.
    /// `None` if absent.
    ///
    /// # Errors
    /// Query and sealing errors.
    pub async fn rotate_secret(
        &self,
        id: i64,
        secret: SecretString,
        overlap: std::time::Duration,
    ) -> Result<Option<Subscription>, StoreError> {
        let sealed = self
            .store
            .sealer()?
            .seal(SECRET_CONTEXT, secret.expose().as_bytes())?;
        let now = self.store.now_ms();
        let until = now.saturating_add(i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX));
        let row = self
            .store
            .run(move |db| dispatch!(db, |c, q| q::rotate_secret(c, id, &sealed, until, now)))
            .await?;
        row.map(|row| self.open_row(row)).transpose()
    }

    /// Enables or disables a subscription; `false` if absent. Enabling clears the run of
    /// failures and the reason it was disabled.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn set_enabled(&self, id: i64, enabled: bool) -> Result<bool, StoreError> {
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::set_subscription_enabled(c, id, enabled, now)))
            .await
    }

    /// The `url` and `headers` columns of `config`: userinfo and header values sealed.
    fn seal_private(&self, config: &NewSubscription) -> Result<(String, String), StoreError> {
        let (url, userinfo) = split_userinfo(&config.url);
        let private = Private {
            headers: config.headers.clone(),
            userinfo,
        };
        let sealed = self
            .store
            .sealer()?
            .seal(PRIVATE_CONTEXT, to_json(&private)?.as_bytes())?;
        Ok((url, sealed))
    }

    /// Header values and userinfo from the `headers` column (plain JSON in rows written
    /// before they were sealed; sealed on their next change).
    fn open_private(&self, column: &str) -> Result<Private, StoreError> {
        if column.trim_start().starts_with('{') {
            return Ok(Private {
                headers: json_column("subscriptions.headers", column)?,
                userinfo: None,
            });
        }
        let plain = self.store.sealer()?.open(PRIVATE_CONTEXT, column)?;
        let text = String::from_utf8(plain).map_err(|_| crate::SealError::Corrupt)?;
        json_column("subscriptions.headers", &text)
    }

    pub(crate) fn open_row(&self, row: SubscriptionRow) -> Result<Subscription, StoreError> {
        let open = |sealed: &str| -> Result<SecretString, StoreError> {
            let secret = self.store.sealer()?.open(SECRET_CONTEXT, sealed)?;
            Ok(SecretString::new(
                String::from_utf8(secret).map_err(|_| crate::SealError::Corrupt)?,
            ))
        };
        let secret = open(&row.secret)?;
        let previous_secret = row.previous_secret.as_deref().map(open).transpose()?;
        let private = self.open_private(&row.headers)?;
        Ok(Subscription {
            id: row.id,
            config: NewSubscription {
                url: join_userinfo(row.url, private.userinfo.as_deref()),
                events: json_column("subscriptions.events", &row.events)?,
                instances: row
                    .instances
                    .as_deref()
                    .map(|text| json_column("subscriptions.instances", text))
                    .transpose()?,
                secret,
                headers: private.headers,
                allow_private_network: row.allow_private_network,
                ordered: row.ordered,
                tenant: row.tenant,
            },
            enabled: row.enabled,
            failing_since_ms: row.failing_since,
            disabled_reason: row.disabled_reason,
            previous_secret,
            previous_secret_until_ms: row.previous_secret_until,
            created_at_ms: row.created_at,
        })
    }

    /// Disables an enabled subscription, saying why; `false` if it was not enabled (so the
    /// caller announces a disabling once).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had, [`StoreError::Query`] when
    /// the database refuses the statement.
    pub async fn disable(&self, id: i64, reason: &str) -> Result<bool, StoreError> {
        let reason = reason.to_owned();
        let now = self.store.now_ms();
        self.store
            .run(move |db| dispatch!(db, |c, q| q::disable_subscription(c, id, &reason, now)))
            .await
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::CorruptJson {
        column: "subscriptions",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::{join_userinfo, split_userinfo};

    #[test]
    fn userinfo_is_split_off_and_put_back() {
        for (url, bare, userinfo) in [
            (
                "https://u:p@crm.example/h?x=1",
                "https://crm.example/h?x=1",
                Some("u:p"),
            ),
            ("https://crm.example/a@b", "https://crm.example/a@b", None),
            ("http://tok@[::1]:8080", "http://[::1]:8080", Some("tok")),
        ] {
            let (b, u) = split_userinfo(url);
            assert_eq!((b.as_str(), u.as_deref()), (bare, userinfo));
            assert_eq!(join_userinfo(b, u.as_deref()), url);
        }
    }
}
