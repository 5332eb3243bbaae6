//! [`GatewayClient`]: the one place a stored instance becomes its gateway client.

use zapwoot_gateway::GatewayKind;
use zapwoot_gateway::gowa::GowaClient;
use zapwoot_gateway::wuzapi::WuzapiClient;
use zapwoot_store::NewInstance;

use crate::SyncError;
use crate::runtime::secret_names as s;

/// An instance's gateway client, by kind: the engine uses it as a
/// [`Gateway`](zapwoot_gateway::Gateway), provisioning for the kind's own set-up calls.
#[derive(Debug, Clone)]
pub enum GatewayClient {
    /// A wuzapi user's client.
    Wuzapi(WuzapiClient),
    /// A GOWA server's client (for the instance's device, when it names one).
    Gowa(GowaClient),
}

impl GatewayClient {
    /// The client of `instance`'s gateway, over `http` (the shared upstream client).
    ///
    /// # Errors
    /// [`SyncError::Config`] when the wuzapi token is missing or the base URL is invalid.
    pub fn for_instance(instance: &NewInstance, http: reqwest::Client) -> Result<Self, SyncError> {
        let bad = |reason: String| SyncError::Config {
            instance: instance.name.clone(),
            reason,
        };
        let secret = |name: &str| instance.secrets.get(name).map(|v| v.expose().to_owned());
        Ok(match instance.gateway_kind {
            GatewayKind::Wuzapi => {
                let token =
                    secret(s::GATEWAY_TOKEN).ok_or_else(|| bad("no wuzapi token".into()))?;
                let client = WuzapiClient::with_http(&instance.gateway_url, token, http)
                    .map_err(|e| bad(e.to_string()))?;
                Self::Wuzapi(client)
            }
            GatewayKind::Gowa => {
                let mut builder = GowaClient::builder(&instance.gateway_url).http_client(http);
                if let Some(user) = &instance.gateway_username {
                    builder =
                        builder.basic_auth(user, secret(s::GATEWAY_PASSWORD).unwrap_or_default());
                }
                if let Some(device) = &instance.gateway_device_id {
                    builder = builder.device_id(device);
                }
                Self::Gowa(builder.build().map_err(|e| bad(e.to_string()))?)
            }
        })
    }

    /// [`for_instance`](Self::for_instance) over the bridge's shared upstream client (no
    /// redirects, link-local and metadata addresses refused).
    ///
    /// # Errors
    /// As [`for_instance`](Self::for_instance).
    pub fn connect(instance: &NewInstance) -> Result<Self, SyncError> {
        let http = crate::runtime::upstream_http().map_err(|reason| SyncError::Config {
            instance: instance.name.clone(),
            reason: format!("HTTP client: {reason}"),
        })?;
        Self::for_instance(instance, http)
    }
}
