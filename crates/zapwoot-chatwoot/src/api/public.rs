//! The public (client) API, `/public/api/v1/inboxes/{inbox_identifier}/…`: calls made as a
//! contact of an API inbox, authenticated by the inbox identifier and the contact's
//! `source_id` only (no access token is sent).

use reqwest::Method;
use serde_json::json;

use crate::{Client, Error};

impl Client {
    /// `POST /public/api/v1/inboxes/{inbox_identifier}/contacts/{source_id}/conversations/{id}/toggle_typing`:
    /// shows (`true`) or hides the typing indicator **as the contact** in conversation `id`
    /// (display id), which must be one of that contact inbox's conversations. Chatwoot
    /// answers 200 with no body, and echoes `conversation_typing_on` / `_off` with the contact
    /// as `user`.
    ///
    /// # Errors
    /// [`Error::Status`] 404 for an unknown inbox identifier, contact or conversation;
    /// transport errors.
    pub async fn public_set_typing(
        &self,
        inbox_identifier: &str,
        contact_source_id: &str,
        conversation_id: u64,
        on: bool,
    ) -> Result<(), Error> {
        let mut url = self.url("public/api/v1/inboxes")?;
        url.path_segments_mut()
            .map_err(|()| Error::InvalidUrl("the base URL cannot have a path".into()))?
            .extend([
                inbox_identifier,
                "contacts",
                contact_source_id,
                "conversations",
                &conversation_id.to_string(),
                "toggle_typing",
            ]);
        let body = json!({ "typing_status": if on { "on" } else { "off" } });
        self.send(self.unauthenticated(Method::POST, url).json(&body))
            .await?;
        Ok(())
    }
}
