use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::AccountClient;
use crate::{
    Contact, ContactInbox, ContactSearch, Conversation, CreatedContact, Error, NewContact,
};

#[derive(Deserialize)]
struct Payload<T> {
    payload: T,
}

#[derive(Deserialize)]
struct CreatedPayload {
    contact: Contact,
    #[serde(default)]
    contact_inbox: Option<SourceOnly>,
}

#[derive(Deserialize)]
struct SourceOnly {
    #[serde(default)]
    source_id: Option<String>,
}

impl AccountClient {
    /// `POST …/contact_inboxes/filter`: the exact contact with `source_id` in `inbox_id`,
    /// or `None` (Chatwoot answers 404 with an empty body).
    ///
    /// # Errors
    /// Transport, status (other than 404) and decode errors.
    pub async fn find_contact_by_source_id(
        &self,
        inbox_id: u64,
        source_id: &str,
    ) -> Result<Option<Contact>, Error> {
        let c = &self.client;
        let request = c
            .request(Method::POST, &self.path("contact_inboxes/filter"))?
            .json(&json!({ "inbox_id": inbox_id, "source_id": source_id }));
        match c.json(request).await {
            Ok(contact) => Ok(Some(contact)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST …/contacts/filter` with `phone_number equal_to phone`: exact phone matches.
    ///
    /// # Errors
    /// Transport, status and decode errors.
    pub async fn find_contacts_by_phone(&self, phone: &str) -> Result<Vec<Contact>, Error> {
        let c = &self.client;
        let body = json!({ "payload": [{
            "attribute_key": "phone_number",
            "filter_operator": "equal_to",
            "values": [phone],
            "query_operator": null
        }]});
        let found: Payload<Vec<Contact>> = c
            .json(
                c.request(Method::POST, &self.path("contacts/filter"))?
                    .json(&body),
            )
            .await?;
        Ok(found.payload)
    }

    /// `GET …/contacts/search?q=`: **substring** search (name, email, phone, identifier),
    /// 15 per page, `page` from 1. Filter results exactly yourself.
    ///
    /// # Errors
    /// Transport, status (429 past 100 searches a minute) and decode errors.
    pub async fn search_contacts(&self, query: &str, page: u32) -> Result<ContactSearch, Error> {
        let c = &self.client;
        let mut url = c.url(&self.path("contacts/search"))?;
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("page", &page.max(1).to_string())
            .append_pair("include_contact_inboxes", "true");
        c.json(c.request(Method::GET, url.as_str())?).await
    }

    /// `POST …/contacts`. With `inbox_id` (and `source_id`) a contact inbox is created too.
    ///
    /// # Errors
    /// [`Error::Status`] 422 (bad phone, taken identifier/phone/email).
    pub async fn create_contact(&self, contact: &NewContact) -> Result<CreatedContact, Error> {
        let c = &self.client;
        let created: Payload<CreatedPayload> = c
            .json(
                c.request(Method::POST, &self.path("contacts"))?
                    .json(contact),
            )
            .await?;
        Ok(CreatedContact {
            contact: created.payload.contact,
            source_id: created.payload.contact_inbox.and_then(|ci| ci.source_id),
        })
    }

    /// `GET …/contacts/{id}`.
    ///
    /// # Errors
    /// [`Error::Status`] 404 when absent.
    pub async fn contact(&self, contact_id: u64) -> Result<Contact, Error> {
        let c = &self.client;
        let found: Payload<Contact> = c
            .json(c.request(Method::GET, &self.path(&format!("contacts/{contact_id}")))?)
            .await?;
        Ok(found.payload)
    }

    /// `PUT …/contacts/{id}`: sets the given fields (attribute maps are merged).
    ///
    /// # Errors
    /// [`Error::Status`] 404, 422.
    pub async fn update_contact(
        &self,
        contact_id: u64,
        changes: &NewContact,
    ) -> Result<Contact, Error> {
        let c = &self.client;
        let updated: Payload<Contact> = c
            .json(
                c.request(Method::PUT, &self.path(&format!("contacts/{contact_id}")))?
                    .json(changes),
            )
            .await?;
        Ok(updated.payload)
    }

    /// `POST …/contacts/{id}/contact_inboxes`: idempotent.
    ///
    /// # Errors
    /// [`Error::Status`] 404, 422/500 when `source_id` belongs to another contact.
    pub async fn add_contact_inbox(
        &self,
        contact_id: u64,
        inbox_id: u64,
        source_id: &str,
    ) -> Result<ContactInbox, Error> {
        let c = &self.client;
        c.json(
            c.request(
                Method::POST,
                &self.path(&format!("contacts/{contact_id}/contact_inboxes")),
            )?
            .json(&json!({ "inbox_id": inbox_id, "source_id": source_id })),
        )
        .await
    }

    /// `GET …/contacts/{id}/conversations`: at most 20, newest first, **all inboxes**.
    ///
    /// # Errors
    /// [`Error::Status`] 404.
    pub async fn contact_conversations(&self, contact_id: u64) -> Result<Vec<Conversation>, Error> {
        let c = &self.client;
        let list: Payload<Vec<Conversation>> = c
            .json(c.request(
                Method::GET,
                &self.path(&format!("contacts/{contact_id}/conversations")),
            )?)
            .await?;
        Ok(list.payload)
    }
}
