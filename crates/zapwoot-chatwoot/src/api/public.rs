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

    /// `PUT /public/api/v1/csat_survey/{conversation_uuid}`: the contact's answer to the CSAT
    /// survey of that conversation (`rating` 1–5), as the survey page submits it; it lands in
    /// Chatwoot's CSAT reports. Answering again replaces the answer.
    ///
    /// # Errors
    /// [`Error::Status`] 404 for an unknown conversation or one without a survey, 422 when the
    /// survey is more than 14 days old; transport errors.
    pub async fn public_submit_csat(
        &self,
        conversation_uuid: &str,
        rating: u8,
        feedback: &str,
    ) -> Result<(), Error> {
        let mut url = self.url("public/api/v1/csat_survey")?;
        url.path_segments_mut()
            .map_err(|()| Error::InvalidUrl("the base URL cannot have a path".into()))?
            .push(conversation_uuid);
        let body = json!({ "message": { "submitted_values": { "csat_survey_response": {
            "rating": rating, "feedback_message": feedback,
        } } } });
        self.send(self.unauthenticated(Method::PUT, url).json(&body))
            .await?;
        Ok(())
    }
}
