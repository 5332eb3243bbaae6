//! What the steps of one event share ([`Ctx`]) and what they return ([`Outcome`]).
//!
//! This module sits below every step (`inbound`, `outbound`, `identity`, `conversation`,
//! `confirm`) and above none of them. Steps write to the store in exactly two ways:
//! - effects returned in [`Outcome::Done`], written in the transaction that closes the event;
//! - the named methods below, for the few writes that must be durable *before* the step's
//!   next upstream call (a send intent before sending, a part recorded as sent, an identity
//!   or conversation before the next message of the chat looks it up).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use zapwoot_store::{
    ConversationMap, Effect, Identity, IdentityKeys, IdentityRecord, MessageMap, NewConversation,
    NewMessage, Store, StoreError,
};

use crate::activity::ActivityKind;
use crate::media::MediaFetcher;
use crate::{Activity, InstanceRuntime, RetryPolicy};

/// What processing an event achieved.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Effects written in the same transaction that marks the event done.
    Done(Vec<Effect>),
    /// Deliberately nothing (echo, duplicate, filtered).
    Ignored(String),
}

/// Best-effort work a step leaves behind (avatar sync); the engine runs it in its own task
/// set, so shutting down and draining wait for it.
pub(crate) type Background = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// State shared by the steps of one event.
pub(crate) struct Ctx<'a> {
    store: &'a Store,
    pub(crate) rt: &'a InstanceRuntime,
    /// The same runtime, shareable with background work.
    pub(crate) shared: Arc<InstanceRuntime>,
    policy: &'a RetryPolicy,
    pub(crate) attempt: i32,
    /// The event being handled.
    pub(crate) event_id: i64,
    /// When it was received (unix milliseconds).
    pub(crate) received_at_ms: i64,
    /// Times this event was already deferred behind later ones.
    waits: i32,
    pub(crate) activities: Vec<Activity>,
    /// Behind a mutex only so that `&Ctx` stays `Send` (the work itself is not `Sync`).
    background: std::sync::Mutex<Vec<Background>>,
    /// Media downloads and the process-wide media budget.
    pub(crate) media: &'a MediaFetcher,
}

impl<'a> Ctx<'a> {
    /// The context of one attempt at one event.
    pub(crate) fn new(
        store: &'a Store,
        runtime: &'a Arc<InstanceRuntime>,
        policy: &'a RetryPolicy,
        (event_id, attempt, waits, received_at_ms): (i64, i32, i32, i64),
        media: &'a MediaFetcher,
    ) -> Self {
        Self {
            store,
            rt: runtime,
            shared: Arc::clone(runtime),
            policy,
            attempt,
            event_id,
            received_at_ms,
            waits,
            activities: Vec::new(),
            background: std::sync::Mutex::new(Vec::new()),
            media,
        }
    }

    /// A Chatwoot client, after a rate-limit permit.
    pub(crate) async fn chatwoot(&self) -> &dyn crate::ChatwootApi {
        self.rt.chatwoot_permit().await;
        self.rt.chatwoot.as_ref()
    }

    /// May this event still wait for something that has not arrived?
    pub(crate) fn may_wait(&self) -> bool {
        self.waits < self.policy.max_waits
    }

    /// Is this the last attempt before the event is dead-lettered?
    pub(crate) fn last_attempt(&self) -> bool {
        self.attempt >= self.policy.max_attempts
    }

    /// Records an activity, published (and turned into outbound webhooks) with the outcome.
    pub(crate) fn activity(&mut self, kind: ActivityKind) {
        self.activities.push(Activity::new(&self.rt.name, kind));
    }

    /// Leaves best-effort work for the engine's task set.
    pub(crate) fn in_background(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        if let Ok(jobs) = self.background.get_mut() {
            jobs.push(Box::pin(work));
        }
    }

    /// The activities and background work this context collected.
    pub(crate) fn finish(self) -> (Vec<Activity>, Vec<Background>) {
        let background = self.background.into_inner().unwrap_or_default();
        (self.activities, background)
    }

    /// A store handle for background work, which outlives this context.
    pub(crate) fn store_handle(&self) -> Store {
        self.store.clone()
    }

    /// The send API's messages.
    pub(crate) fn sends(&self) -> zapwoot_store::Sends<'_> {
        self.store.sends()
    }

    // Reads.

    /// The message mappings of a WhatsApp message id (one per part).
    pub(crate) async fn messages_by_wa_id(&self, id: &str) -> Result<Vec<MessageMap>, StoreError> {
        self.store
            .mappings()
            .messages_by_wa_id(self.rt.id, id)
            .await
    }

    /// Now, by the store's clock (the one `received_at_ms` was taken on).
    pub(crate) fn now_ms(&self) -> i64 {
        self.store.now_ms()
    }

    /// The WhatsApp ids of the customer's newest unread messages in `chat`.
    pub(crate) async fn unread_incoming(
        &self,
        chat: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        self.store
            .mappings()
            .unread_incoming(self.rt.id, chat, limit)
            .await
    }

    /// The message mappings of a Chatwoot message id (one per part).
    pub(crate) async fn messages_by_chatwoot_id(
        &self,
        id: u64,
    ) -> Result<Vec<MessageMap>, StoreError> {
        let id = i64::try_from(id).unwrap_or(i64::MAX);
        self.store
            .mappings()
            .messages_by_chatwoot_id(self.rt.id, id)
            .await
    }

    /// The conversation mapping of a Chatwoot conversation id.
    pub(crate) async fn conversation_by_chatwoot_id(
        &self,
        id: u64,
    ) -> Result<Option<ConversationMap>, StoreError> {
        let id = i64::try_from(id).unwrap_or(i64::MAX);
        self.store
            .mappings()
            .conversation_by_chatwoot_id(self.rt.id, id)
            .await
    }

    /// The conversation mapped to a chat.
    pub(crate) async fn conversation_for_chat(
        &self,
        chat: &str,
    ) -> Result<Option<ConversationMap>, StoreError> {
        self.store
            .mappings()
            .conversation_for_chat(self.rt.id, chat)
            .await
    }

    /// The instance's session as last recorded.
    pub(crate) async fn connection(
        &self,
    ) -> Result<Option<zapwoot_store::ConnectionRecord>, StoreError> {
        self.store.connections().get(self.rt.id).await
    }

    /// The identities matching any of `keys`.
    pub(crate) async fn find_identities(
        &self,
        keys: IdentityKeys,
    ) -> Result<Vec<Identity>, StoreError> {
        self.store
            .mappings()
            .find_identities(self.rt.id, keys)
            .await
    }

    // Writes that must be durable before the step's next upstream call.

    /// Records what is about to be sent, before sending it.
    pub(crate) async fn record_intent(
        &self,
        message: NewMessage,
    ) -> Result<MessageMap, StoreError> {
        self.store.mappings().record_intent(message).await
    }

    /// Records one part as sent at once, so a retry sends only the parts still missing.
    pub(crate) async fn record_sent(&self, message: NewMessage) -> Result<(), StoreError> {
        self.store
            .mappings()
            .apply(vec![Effect::Message(message)])
            .await
    }

    /// Saves an identity (the chat's next message must find the contact).
    pub(crate) async fn save_identity(
        &self,
        record: IdentityRecord,
    ) -> Result<Identity, StoreError> {
        self.store.mappings().save_identity(record).await
    }

    /// Saves a conversation mapping (the chat's next message must find the conversation).
    pub(crate) async fn save_conversation(
        &self,
        conversation: NewConversation,
    ) -> Result<ConversationMap, StoreError> {
        self.store.mappings().save_conversation(conversation).await
    }
}
