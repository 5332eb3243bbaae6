//! What the engine needs from Chatwoot, as an object-safe trait ([`ChatwootApi`]), implemented
//! for `zapwoot_chatwoot::AccountClient`. Gateways use `zapwoot_gateway::Gateway`.

use reqwest::Url;
use zapwoot_chatwoot::{
    AccountClient, Contact, Conversation, ConversationStatus, CreatedContact, Error, Message,
    MessageList, MessageStatus, NewContact, NewConversation, NewMessage,
};
pub use zapwoot_gateway::BoxFuture;

/// The Chatwoot calls the engine makes, for one account.
pub trait ChatwootApi: Send + Sync + std::fmt::Debug {
    /// Exact contact lookup by contact-inbox `source_id`.
    fn find_contact_by_source_id<'a>(
        &'a self,
        inbox_id: u64,
        source_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Contact>, Error>>;
    /// Exact phone lookup.
    fn find_contacts_by_phone<'a>(
        &'a self,
        phone: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Contact>, Error>>;
    /// Creates a contact (and its contact inbox).
    fn create_contact<'a>(
        &'a self,
        contact: &'a NewContact,
    ) -> BoxFuture<'a, Result<CreatedContact, Error>>;
    /// Updates a contact.
    fn update_contact<'a>(
        &'a self,
        contact_id: u64,
        changes: &'a NewContact,
    ) -> BoxFuture<'a, Result<Contact, Error>>;
    /// Gets a contact.
    fn contact(&self, contact_id: u64) -> BoxFuture<'_, Result<Contact, Error>>;
    /// Adds a contact inbox (idempotent).
    fn add_contact_inbox<'a>(
        &'a self,
        contact_id: u64,
        inbox_id: u64,
        source_id: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// The contact's conversations (all inboxes, newest first, at most 20).
    fn contact_conversations(
        &self,
        contact_id: u64,
    ) -> BoxFuture<'_, Result<Vec<Conversation>, Error>>;
    /// Creates a conversation.
    fn create_conversation<'a>(
        &'a self,
        conversation: &'a NewConversation,
    ) -> BoxFuture<'a, Result<Conversation, Error>>;
    /// Sets a conversation's status.
    fn set_conversation_status<'a>(
        &'a self,
        conversation_id: u64,
        status: &'a ConversationStatus,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// Creates a message.
    fn create_message<'a>(
        &'a self,
        conversation_id: u64,
        message: &'a NewMessage,
    ) -> BoxFuture<'a, Result<Message, Error>>;
    /// Lists messages (latest 20, or before/after an id).
    fn messages(
        &self,
        conversation_id: u64,
        before: Option<u64>,
        after: Option<u64>,
    ) -> BoxFuture<'_, Result<MessageList, Error>>;
    /// Sets a message's delivery status.
    fn update_message_status<'a>(
        &'a self,
        conversation_id: u64,
        message_id: u64,
        status: MessageStatus,
        error: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// Deletes a message.
    fn delete_message(
        &self,
        conversation_id: u64,
        message_id: u64,
    ) -> BoxFuture<'_, Result<(), Error>>;
    /// The public-API identifier of inbox `inbox_id` (`None` for inboxes that have none).
    fn inbox_identifier(&self, inbox_id: u64) -> BoxFuture<'_, Result<Option<String>, Error>>;
    /// Shows or hides "typing…" as the contact of `contact_source_id` in conversation
    /// `conversation_id`, through the public API of the inbox `inbox_identifier`.
    fn contact_typing<'a>(
        &'a self,
        inbox_identifier: &'a str,
        contact_source_id: &'a str,
        conversation_id: u64,
        on: bool,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// Submits the contact's CSAT rating for the conversation `conversation_uuid`.
    fn submit_csat<'a>(
        &'a self,
        conversation_uuid: &'a str,
        rating: u8,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// The Chatwoot base URL: attachments are fetched from its origin (and the storage it
    /// redirects to), never from wherever a webhook says.
    fn base_url(&self) -> &Url;
}

impl ChatwootApi for AccountClient {
    fn find_contact_by_source_id<'a>(
        &'a self,
        inbox_id: u64,
        source_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Contact>, Error>> {
        Box::pin(Self::find_contact_by_source_id(self, inbox_id, source_id))
    }
    fn find_contacts_by_phone<'a>(
        &'a self,
        phone: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Contact>, Error>> {
        Box::pin(Self::find_contacts_by_phone(self, phone))
    }
    fn create_contact<'a>(
        &'a self,
        contact: &'a NewContact,
    ) -> BoxFuture<'a, Result<CreatedContact, Error>> {
        Box::pin(Self::create_contact(self, contact))
    }
    fn update_contact<'a>(
        &'a self,
        contact_id: u64,
        changes: &'a NewContact,
    ) -> BoxFuture<'a, Result<Contact, Error>> {
        Box::pin(Self::update_contact(self, contact_id, changes))
    }
    fn contact(&self, contact_id: u64) -> BoxFuture<'_, Result<Contact, Error>> {
        Box::pin(Self::contact(self, contact_id))
    }
    fn add_contact_inbox<'a>(
        &'a self,
        contact_id: u64,
        inbox_id: u64,
        source_id: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            Self::add_contact_inbox(self, contact_id, inbox_id, source_id)
                .await
                .map(drop)
        })
    }
    fn contact_conversations(
        &self,
        contact_id: u64,
    ) -> BoxFuture<'_, Result<Vec<Conversation>, Error>> {
        Box::pin(Self::contact_conversations(self, contact_id))
    }
    fn create_conversation<'a>(
        &'a self,
        conversation: &'a NewConversation,
    ) -> BoxFuture<'a, Result<Conversation, Error>> {
        Box::pin(Self::create_conversation(self, conversation))
    }
    fn set_conversation_status<'a>(
        &'a self,
        conversation_id: u64,
        status: &'a ConversationStatus,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            Self::set_conversation_status(self, conversation_id, status, None)
                .await
                .map(drop)
        })
    }
    fn create_message<'a>(
        &'a self,
        conversation_id: u64,
        message: &'a NewMessage,
    ) -> BoxFuture<'a, Result<Message, Error>> {
        Box::pin(Self::create_message(self, conversation_id, message))
    }
    fn messages(
        &self,
        conversation_id: u64,
        before: Option<u64>,
        after: Option<u64>,
    ) -> BoxFuture<'_, Result<MessageList, Error>> {
        Box::pin(Self::messages(self, conversation_id, before, after))
    }
    fn update_message_status<'a>(
        &'a self,
        conversation_id: u64,
        message_id: u64,
        status: MessageStatus,
        error: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            Self::update_message_status(self, conversation_id, message_id, status, error)
                .await
                .map(drop)
        })
    }
    fn delete_message(
        &self,
        conversation_id: u64,
        message_id: u64,
    ) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(Self::delete_message(self, conversation_id, message_id))
    }
    fn inbox_identifier(&self, inbox_id: u64) -> BoxFuture<'_, Result<Option<String>, Error>> {
        Box::pin(async move { Ok(Self::inbox(self, inbox_id).await?.inbox_identifier) })
    }
    fn contact_typing<'a>(
        &'a self,
        inbox_identifier: &'a str,
        contact_source_id: &'a str,
        conversation_id: u64,
        on: bool,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.client().public_set_typing(
            inbox_identifier,
            contact_source_id,
            conversation_id,
            on,
        ))
    }
    fn submit_csat<'a>(
        &'a self,
        conversation_uuid: &'a str,
        rating: u8,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(
            self.client()
                .public_submit_csat(conversation_uuid, rating, ""),
        )
    }
    fn base_url(&self) -> &Url {
        self.client().base_url()
    }
}
