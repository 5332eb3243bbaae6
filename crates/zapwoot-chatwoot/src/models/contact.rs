//! Contacts and contact inboxes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Time;

/// A contact.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Contact {
    /// Contact id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// E.164 phone number (`+5511…`).
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Unique (per account) external identifier.
    #[serde(default)]
    pub identifier: Option<String>,
    /// Avatar thumbnail URL.
    #[serde(default)]
    pub thumbnail: Option<String>,
    /// Blocked.
    #[serde(default)]
    pub blocked: bool,
    /// Additional attributes.
    #[serde(default)]
    pub additional_attributes: Map<String, Value>,
    /// Custom attributes.
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    /// The contact's inboxes, when included.
    #[serde(default)]
    pub contact_inboxes: Vec<ContactInbox>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<Time>,
}

/// A contact's presence in an inbox: the `source_id` is its address there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ContactInbox {
    /// The contact's address in the inbox.
    pub source_id: String,
    /// The inbox.
    pub inbox: InboxRef,
}

/// A short inbox reference.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct InboxRef {
    /// Inbox id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET …/contacts/search` result page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ContactSearch {
    /// Paging information.
    pub meta: SearchMeta,
    /// Matches (substring matches: filter exactly yourself).
    pub payload: Vec<Contact>,
}

/// Paging information of a search.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SearchMeta {
    /// Total matches.
    #[serde(default)]
    pub count: u64,
    /// This page (1-based).
    #[serde(default)]
    pub current_page: Option<Value>,
    /// Whether more pages follow.
    #[serde(default)]
    pub has_more: bool,
}

/// Result of `POST …/contacts`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CreatedContact {
    /// The contact.
    pub contact: Contact,
    /// The `source_id` of the contact inbox created with it (when `inbox_id` was given).
    pub source_id: Option<String>,
}

/// Body of `POST …/contacts` and `PUT …/contacts/{id}`. `None` fields are not sent; on update,
/// attribute maps are **merged** by Chatwoot, not replaced.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NewContact {
    /// Also create a contact inbox in this inbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbox_id: Option<u64>,
    /// The contact inbox's `source_id` (with `inbox_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E.164 with `+`; Chatwoot rejects anything else with 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Unique per account (a good key for a WhatsApp JID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Public image URL Chatwoot fetches asynchronously.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// Additional attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_attributes: Option<Map<String, Value>>,
    /// Custom attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Map<String, Value>>,
}

impl NewContact {
    /// An empty contact body.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}
