//! Who is asking the admin API and what they may do: the admin token or an API key, its
//! scopes, and the tenant or instances it is limited to. A key limited to some instances
//! sees nothing else: what lies outside answers 404 like what does not exist.

pub(crate) mod documents;
pub(crate) mod keys;
mod rate;
mod scope;

use zapwoot_store::{Instance, Subscription};

pub(crate) use keys::KeyCache;
pub(crate) use scope::Scope;

/// Who made a request, and what they may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    /// The key's id; `None` for the admin token (or a console session it signed in).
    pub(crate) key_id: Option<i64>,
    /// What it may do.
    pub(crate) scopes: Vec<Scope>,
    /// The tenant it is limited to.
    pub(crate) tenant: Option<String>,
    /// The instances it is limited to, by name.
    pub(crate) instances: Option<Vec<String>>,
}

impl Principal {
    /// The admin token: everything, everywhere.
    pub(crate) fn admin() -> Self {
        Self {
            key_id: None,
            scopes: vec![Scope::Admin],
            tenant: None,
            instances: None,
        }
    }

    /// How actions name it: `admin` or `key:<id>`.
    pub(crate) fn actor(&self) -> String {
        self.key_id
            .map_or_else(|| "admin".to_owned(), |id| format!("key:{id}"))
    }

    /// Whether it holds `scope` (`admin` holds them all).
    pub(crate) fn allows(&self, scope: Scope) -> bool {
        self.scopes
            .iter()
            .any(|s| *s == Scope::Admin || *s == scope)
    }

    /// Whether it reaches every instance and subscription.
    pub(crate) fn is_unlimited(&self) -> bool {
        self.tenant.is_none() && self.instances.is_none()
    }

    /// Whether it may see `instance`.
    pub(crate) fn sees(&self, instance: &Instance) -> bool {
        self.sees_named(&instance.config.name, instance.config.tenant.as_deref())
    }

    /// Whether it may see the instance `name` of `tenant`.
    pub(crate) fn sees_named(&self, name: &str, tenant: Option<&str>) -> bool {
        self.tenant.as_deref().is_none_or(|t| tenant == Some(t))
            && self
                .instances
                .as_ref()
                .is_none_or(|list| list.iter().any(|n| n == name))
    }

    /// Whether it may see `subscription`: unlimited keys see all, a tenant's keys those of
    /// their tenant, keys limited only to instances none.
    pub(crate) fn sees_subscription(&self, subscription: &Subscription) -> bool {
        match &self.tenant {
            None => self.instances.is_none(),
            Some(t) => subscription.config.tenant.as_deref() == Some(t.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tenant: Option<&str>, instances: Option<&[&str]>, scopes: &[Scope]) -> Principal {
        Principal {
            key_id: Some(3),
            scopes: scopes.to_vec(),
            tenant: tenant.map(str::to_owned),
            instances: instances.map(|l| l.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn admin_holds_every_scope_and_limits_narrow_what_is_seen() {
        assert!(Principal::admin().allows(Scope::MessagesSend));
        assert_eq!(Principal::admin().actor(), "admin");
        let k = key(Some("acme"), None, &[Scope::EventsRead]);
        assert_eq!(k.actor(), "key:3");
        assert!(k.allows(Scope::EventsRead) && !k.allows(Scope::EventsRetry));
        assert!(k.sees_named("a1", Some("acme")));
        assert!(!k.sees_named("b1", Some("bolt")) && !k.sees_named("x", None));
        let only = key(None, Some(&["a1"]), &[Scope::InstancesRead]);
        assert!(only.sees_named("a1", Some("acme")) && !only.sees_named("a2", Some("acme")));
        assert!(!only.is_unlimited() && Principal::admin().is_unlimited());
    }
}
