//! The calls, grouped by resource. Account-scoped calls are methods of [`AccountClient`].

mod attachments;
mod contacts;
mod conversations;
mod inboxes;
mod messages;
mod profile;
mod public;

pub use attachments::Download;
pub use messages::MAX_ATTACHMENTS;

use crate::Client;

/// Calls scoped to one Chatwoot account (`/api/v1/accounts/{id}/…`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct AccountClient {
    client: Client,
    account_id: u64,
}

impl AccountClient {
    pub(crate) fn new(client: Client, account_id: u64) -> Self {
        Self { client, account_id }
    }

    /// The account id.
    #[must_use]
    pub fn account_id(&self) -> u64 {
        self.account_id
    }

    /// The underlying client.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn path(&self, rest: &str) -> String {
        format!(
            "api/v1/accounts/{}/{}",
            self.account_id,
            rest.trim_start_matches('/')
        )
    }
}
