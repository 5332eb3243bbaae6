use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::AccountClient;
use crate::{Error, Inbox, NewApiInbox};

#[derive(Deserialize)]
struct InboxList {
    payload: Vec<Inbox>,
}

impl AccountClient {
    /// `GET …/inboxes`: the inboxes the token's user can see.
    ///
    /// # Errors
    /// Transport, status and decode errors.
    pub async fn inboxes(&self) -> Result<Vec<Inbox>, Error> {
        let c = &self.client;
        let list: InboxList = c
            .json(c.request(Method::GET, &self.path("inboxes"))?)
            .await?;
        Ok(list.payload)
    }

    /// `GET …/inboxes/{id}`.
    ///
    /// # Errors
    /// [`Error::Status`] 404 when absent; transport and decode errors.
    pub async fn inbox(&self, inbox_id: u64) -> Result<Inbox, Error> {
        let c = &self.client;
        c.json(c.request(Method::GET, &self.path(&format!("inboxes/{inbox_id}")))?)
            .await
    }

    /// `POST …/inboxes` (admin): creates an API-channel inbox. The result carries the
    /// webhook `secret` on Chatwoot ≥ 4.13.
    ///
    /// # Errors
    /// [`Error::Status`] 401 for non-admins; 422 for invalid fields.
    pub async fn create_api_inbox(&self, inbox: &NewApiInbox) -> Result<Inbox, Error> {
        let c = &self.client;
        c.json(c.request(Method::POST, &self.path("inboxes"))?.json(inbox))
            .await
    }

    /// `PATCH …/inboxes/{id}` (admin): points the API inbox's callback at `webhook_url`.
    ///
    /// # Errors
    /// [`Error::Status`] 401 for non-admins, 404 when absent.
    pub async fn set_inbox_webhook_url(
        &self,
        inbox_id: u64,
        webhook_url: &str,
    ) -> Result<Inbox, Error> {
        let c = &self.client;
        let body = json!({ "channel": { "webhook_url": webhook_url } });
        c.json(
            c.request(Method::PATCH, &self.path(&format!("inboxes/{inbox_id}")))?
                .json(&body),
        )
        .await
    }

    /// `POST …/inboxes/{id}/reset_secret` (admin, API inboxes, Chatwoot ≥ 4.13): a new
    /// webhook signing secret; the old one stops working at once.
    ///
    /// # Errors
    /// [`Error::Status`] 404 for non-API inboxes or older Chatwoot.
    pub async fn reset_inbox_secret(&self, inbox_id: u64) -> Result<Inbox, Error> {
        let c = &self.client;
        c.json(c.request(
            Method::POST,
            &self.path(&format!("inboxes/{inbox_id}/reset_secret")),
        )?)
        .await
    }
}
