//! `GET /api/v1/profile`.

use serde::Deserialize;

/// The token's user. The response's `access_token` is deliberately not kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// User id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// `administrator` or `agent` in the default account.
    #[serde(default)]
    pub role: Option<String>,
    /// Accounts the user belongs to.
    #[serde(default)]
    pub accounts: Vec<AccountMembership>,
}

/// One account of a [`Profile`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AccountMembership {
    /// Account id.
    pub id: u64,
    /// Account name.
    #[serde(default)]
    pub name: String,
    /// `administrator` or `agent`.
    #[serde(default)]
    pub role: Option<String>,
    /// `active` or `suspended`.
    #[serde(default)]
    pub status: Option<String>,
}
