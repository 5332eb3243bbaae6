//! Instances: one WhatsApp number (gateway session) bridged to one Chatwoot inbox.

use std::collections::BTreeMap;

use zapwoot_gateway::GatewayKind;

use crate::{InstanceOptions, SecretString};

/// What a caller supplies to create or replace an instance.
///
/// Everything in `secrets` is sealed at rest; everything else is stored in clear.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewInstance {
    /// Unique name (`alpha`), used in the admin API.
    pub name: String,
    /// Disabled instances keep their data but process nothing.
    pub enabled: bool,
    /// Which gateway (stored as `wuzapi` / `gowa`).
    pub gateway_kind: GatewayKind,
    /// Gateway base URL.
    pub gateway_url: String,
    /// GOWA device id (GOWA ≥ 8 posts every device of a server to one URL).
    pub gateway_device_id: Option<String>,
    /// GOWA basic-auth user name (the password is a secret).
    pub gateway_username: Option<String>,
    /// Chatwoot base URL.
    pub chatwoot_url: String,
    /// Chatwoot account id.
    pub chatwoot_account_id: i64,
    /// Chatwoot API inbox id, once provisioned.
    pub chatwoot_inbox_id: Option<i64>,
    /// Behaviour options.
    pub options: InstanceOptions,
    /// Credentials by name (`gateway_token`, `hmac_key`, `chatwoot_api_token`, …), sealed at rest.
    pub secrets: BTreeMap<String, SecretString>,
    /// The tenant (client) it belongs to, if any: keys limited to a tenant see only its
    /// instances.
    pub tenant: Option<String>,
}

impl NewInstance {
    /// An enabled instance with no inbox, no options and no secrets yet.
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        gateway_kind: GatewayKind,
        gateway_url: impl Into<String>,
        chatwoot_url: impl Into<String>,
        chatwoot_account_id: i64,
    ) -> Self {
        Self {
            name: name.into(),
            enabled: true,
            gateway_kind,
            gateway_url: gateway_url.into(),
            gateway_device_id: None,
            gateway_username: None,
            chatwoot_url: chatwoot_url.into(),
            chatwoot_account_id,
            chatwoot_inbox_id: None,
            options: InstanceOptions::default(),
            secrets: BTreeMap::new(),
            tenant: None,
        }
    }
}

/// A stored instance, secrets opened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Instance {
    /// Store id.
    pub id: i64,
    /// The configuration as last written.
    pub config: NewInstance,
    /// Unguessable key of the gateway webhook route.
    pub gateway_key: SecretString,
    /// Unguessable key of the Chatwoot webhook route.
    pub chatwoot_key: SecretString,
    /// Creation time, unix milliseconds.
    pub created_at_ms: i64,
    /// Last update time, unix milliseconds.
    pub updated_at_ms: i64,
}
