use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use super::AccountClient;
use crate::{Error, Message, MessageList, MessageStatus, NewMessage, UploadData};

/// Chatwoot refuses more attachments than this on one message.
pub const MAX_ATTACHMENTS: usize = 15;

impl AccountClient {
    /// `POST …/conversations/{id}/messages`: JSON, or multipart when the message has
    /// attachments (one `attachments[]` part per file, with its file name and MIME type).
    ///
    /// Not idempotent upstream (`source_id` is not unique): record your intent first.
    ///
    /// # Errors
    /// [`Error::Status`] 422 (incoming message on a non-API inbox, flood limit, more than 15
    /// attachments), 404.
    pub async fn create_message(
        &self,
        conversation_id: u64,
        message: &NewMessage,
    ) -> Result<Message, Error> {
        let c = &self.client;
        let path = self.path(&format!("conversations/{conversation_id}/messages"));
        let request = c.request(Method::POST, &path)?;
        let request = if message.attachments.is_empty() {
            request.json(&message.json_body())
        } else {
            request.multipart(multipart(message).await?)
        };
        c.json(request).await
    }

    /// `GET …/conversations/{id}/messages`: the latest 20; with `before`, 20 older than that
    /// id; with `after`, up to 100 newer (the way to reconcile missed webhooks).
    ///
    /// # Errors
    /// [`Error::Status`] 404.
    pub async fn messages(
        &self,
        conversation_id: u64,
        before: Option<u64>,
        after: Option<u64>,
    ) -> Result<MessageList, Error> {
        let c = &self.client;
        let mut url = c.url(&self.path(&format!("conversations/{conversation_id}/messages")))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(before) = before {
                query.append_pair("before", &before.to_string());
            }
            if let Some(after) = after {
                query.append_pair("after", &after.to_string());
            }
        }
        c.json(c.request(Method::GET, url.as_str())?).await
    }

    /// `PATCH …/conversations/{id}/messages/{message_id}` (API inboxes, Chatwoot ≥ 4.2, user
    /// token): sets the delivery status; `external_error` is kept only with `Failed`.
    ///
    /// # Errors
    /// [`Error::Status`] 403 for non-API inboxes, 404.
    pub async fn update_message_status(
        &self,
        conversation_id: u64,
        message_id: u64,
        status: MessageStatus,
        external_error: Option<&str>,
    ) -> Result<Message, Error> {
        let c = &self.client;
        let mut body = json!({ "status": status });
        if let (Some(error), Value::Object(map)) = (external_error, &mut body) {
            map.insert("external_error".into(), Value::from(error));
        }
        c.json(
            c.request(
                Method::PATCH,
                &self.path(&format!(
                    "conversations/{conversation_id}/messages/{message_id}"
                )),
            )?
            .json(&body),
        )
        .await
    }

    /// `DELETE …/conversations/{id}/messages/{message_id}`: Chatwoot keeps the message with a
    /// localized "deleted" text and `content_attributes: {deleted: true}`, attachments removed.
    ///
    /// # Errors
    /// [`Error::Status`] 404.
    pub async fn delete_message(&self, conversation_id: u64, message_id: u64) -> Result<(), Error> {
        let c = &self.client;
        c.send(c.request(
            Method::DELETE,
            &self.path(&format!(
                "conversations/{conversation_id}/messages/{message_id}"
            )),
        )?)
        .await?;
        Ok(())
    }
}

async fn multipart(message: &NewMessage) -> Result<Form, Error> {
    let mut form = Form::new();
    if let Value::Object(fields) = message.json_body() {
        for (name, value) in fields {
            let text = match value {
                Value::String(s) => s,
                // Objects (content_attributes) travel as a JSON string in multipart.
                other => other.to_string(),
            };
            form = form.text(name, text);
        }
    }
    for upload in &message.attachments {
        let part = match &upload.data {
            UploadData::Memory(bytes) => Part::bytes(bytes.clone()),
            UploadData::Path { path, len } => {
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| Error::Write(format!("attachment {}: {e}", upload.file_name)))?;
                Part::stream_with_length(file, *len)
            }
        };
        let part = part
            .file_name(upload.file_name.clone())
            .mime_str(&upload.content_type)
            .map_err(|e| Error::Build(format!("attachment {}: {e}", upload.file_name)))?;
        form = form.part("attachments[]", part);
    }
    Ok(form)
}
