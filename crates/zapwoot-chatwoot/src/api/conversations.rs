use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AccountClient;
use crate::{Conversation, ConversationStatus, Error, NewConversation, StatusChange};

#[derive(Deserialize)]
struct ListData {
    data: ListPayload,
}

#[derive(Deserialize)]
struct ListPayload {
    payload: Vec<Conversation>,
}

#[derive(Deserialize)]
struct Toggled {
    payload: StatusChange,
}

impl AccountClient {
    /// `POST …/conversations`. No dedupe upstream: two calls make two conversations
    /// (unless the inbox locks to a single conversation), so serialize creation per contact.
    ///
    /// # Errors
    /// [`Error::Status`] 404 (unknown contact inbox), 422.
    pub async fn create_conversation(
        &self,
        conversation: &NewConversation,
    ) -> Result<Conversation, Error> {
        let c = &self.client;
        c.json(
            c.request(Method::POST, &self.path("conversations"))?
                .json(conversation),
        )
        .await
    }

    /// `GET …/conversations/{id}` (display id).
    ///
    /// # Errors
    /// [`Error::Status`] 404.
    pub async fn conversation(&self, conversation_id: u64) -> Result<Conversation, Error> {
        let c = &self.client;
        c.json(c.request(
            Method::GET,
            &self.path(&format!("conversations/{conversation_id}")),
        )?)
        .await
    }

    /// `GET …/conversations?inbox_id=&status=&page=`: one page (25) of conversations.
    /// `status` `None` means all.
    ///
    /// # Errors
    /// Transport, status and decode errors.
    pub async fn conversations(
        &self,
        inbox_id: Option<u64>,
        status: Option<ConversationStatus>,
        page: u32,
    ) -> Result<Vec<Conversation>, Error> {
        let c = &self.client;
        let mut url = c.url(&self.path("conversations"))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(inbox_id) = inbox_id {
                query.append_pair("inbox_id", &inbox_id.to_string());
            }
            query.append_pair(
                "status",
                status.as_ref().map_or("all", ConversationStatus::as_str),
            );
            query.append_pair("page", &page.max(1).to_string());
        }
        let list: ListData = c.json(c.request(Method::GET, url.as_str())?).await?;
        Ok(list.data.payload)
    }

    /// `POST …/conversations/{id}/toggle_status` with an explicit status
    /// (and for `snoozed`, optionally `snoozed_until` in unix seconds).
    ///
    /// # Errors
    /// [`Error::Status`] 404; 500 for a status Chatwoot does not know.
    pub async fn set_conversation_status(
        &self,
        conversation_id: u64,
        status: &ConversationStatus,
        snoozed_until: Option<i64>,
    ) -> Result<StatusChange, Error> {
        let c = &self.client;
        let mut body = json!({ "status": status.as_str() });
        if let (Some(until), Value::Object(map)) = (snoozed_until, &mut body) {
            map.insert("snoozed_until".into(), Value::from(until));
        }
        let toggled: Toggled = c
            .json(
                c.request(
                    Method::POST,
                    &self.path(&format!("conversations/{conversation_id}/toggle_status")),
                )?
                .json(&body),
            )
            .await?;
        Ok(toggled.payload)
    }

    /// `POST …/conversations/{id}/toggle_typing_status`: shows (`true`) or hides the typing
    /// indicator as the token's user.
    ///
    /// # Errors
    /// [`Error::Status`] 404.
    pub async fn set_typing(&self, conversation_id: u64, on: bool) -> Result<(), Error> {
        let c = &self.client;
        let body = json!({ "typing_status": if on { "on" } else { "off" } });
        c.send(
            c.request(
                Method::POST,
                &self.path(&format!(
                    "conversations/{conversation_id}/toggle_typing_status"
                )),
            )?
            .json(&body),
        )
        .await?;
        Ok(())
    }
}
