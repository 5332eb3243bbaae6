//! The configuration file's shape and parser, apart from how it is applied (`config`), so the
//! fuzz target can take exactly this code.

use std::net::SocketAddr;

use serde::Deserialize;

/// The file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    pub(crate) database_url: Option<String>,
    pub(crate) secret_key: Option<String>,
    pub(crate) log: Option<String>,
    pub(crate) log_format: Option<String>,
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) admin_token: Option<String>,
    pub(crate) public_url: Option<String>,
    pub(crate) max_gateway_body: Option<usize>,
    pub(crate) max_chatwoot_body: Option<usize>,
    pub(crate) max_inflight_body: Option<usize>,
    pub(crate) max_connections_per_address: Option<usize>,
    pub(crate) retain_bodies_days: Option<u32>,
    pub(crate) retain_events_days: Option<u32>,
    #[serde(default)]
    pub(crate) instances: Vec<toml::Table>,
}

/// Parses a configuration file's text.
pub(crate) fn parse(text: &str) -> Result<ConfigFile, toml::de::Error> {
    toml::from_str(text)
}
