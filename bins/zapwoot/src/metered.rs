//! Decorators that time every upstream call of the engine (Chatwoot and the gateway) and count
//! its outcome, for `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use zapwoot_chatwoot::{
    Contact, Conversation, ConversationStatus, CreatedContact, Message, MessageList, MessageStatus,
    NewContact, NewConversation, NewMessage,
};
use zapwoot_gateway::{
    Gateway, GatewayKind, Health, Jid, Media, MediaFile, MessageRef, Outgoing, Sent,
};
use zapwoot_sync::{BoxFuture, ChatwootApi, InstanceRuntime};

use crate::metrics::{Metrics, labels};

/// An error that may carry the upstream's HTTP status.
trait Status {
    fn status(&self) -> Option<u16>;
}

impl Status for zapwoot_chatwoot::Error {
    fn status(&self) -> Option<u16> {
        Self::status(self)
    }
}

impl Status for zapwoot_gateway::Error {
    fn status(&self) -> Option<u16> {
        Self::status(self)
    }
}

#[derive(Debug, Clone)]
struct Meter {
    metrics: Arc<Metrics>,
    instance: String,
    upstream: &'static str,
}

impl Meter {
    fn time<'a, T: Send + 'a, E: Status + Send + 'a>(
        &self,
        op: &'static str,
        call: BoxFuture<'a, Result<T, E>>,
    ) -> BoxFuture<'a, Result<T, E>> {
        let meter = self.clone();
        Box::pin(async move {
            let started = Instant::now();
            let result = call.await;
            let outcome = match &result {
                Ok(_) => "ok".to_owned(),
                Err(e) => e
                    .status()
                    .map_or_else(|| "transport".to_owned(), |s| s.to_string()),
            };
            // The latency histogram is per upstream and operation, not per instance: eleven
            // buckets per instance made most of /metrics at thousands of instances. Counts
            // stay per instance.
            meter.metrics.observe(
                "zapwoot_upstream_request_seconds",
                labels(&[("upstream", meter.upstream), ("op", op)]),
                started.elapsed(),
            );
            meter.metrics.inc(
                "zapwoot_upstream_requests_total",
                labels(&[
                    ("instance", meter.instance.as_str()),
                    ("upstream", meter.upstream),
                    ("op", op),
                    ("outcome", &outcome),
                ]),
            );
            result
        })
    }
}

/// Chatwoot, timed.
#[derive(Debug)]
struct MeteredChatwoot {
    inner: Arc<dyn ChatwootApi>,
    meter: Meter,
}

impl ChatwootApi for MeteredChatwoot {
    fn find_contact_by_source_id<'a>(
        &'a self,
        inbox_id: u64,
        source_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Contact>, zapwoot_chatwoot::Error>> {
        self.meter.time(
            "find_contact_by_source_id",
            self.inner.find_contact_by_source_id(inbox_id, source_id),
        )
    }
    fn find_contacts_by_phone<'a>(
        &'a self,
        phone: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Contact>, zapwoot_chatwoot::Error>> {
        self.meter.time(
            "find_contacts_by_phone",
            self.inner.find_contacts_by_phone(phone),
        )
    }
    fn create_contact<'a>(
        &'a self,
        contact: &'a NewContact,
    ) -> BoxFuture<'a, Result<CreatedContact, zapwoot_chatwoot::Error>> {
        self.meter
            .time("create_contact", self.inner.create_contact(contact))
    }
    fn update_contact<'a>(
        &'a self,
        contact_id: u64,
        changes: &'a NewContact,
    ) -> BoxFuture<'a, Result<Contact, zapwoot_chatwoot::Error>> {
        self.meter.time(
            "update_contact",
            self.inner.update_contact(contact_id, changes),
        )
    }
    fn contact(&self, contact_id: u64) -> BoxFuture<'_, Result<Contact, zapwoot_chatwoot::Error>> {
        self.meter.time("contact", self.inner.contact(contact_id))
    }
    fn add_contact_inbox<'a>(
        &'a self,
        contact_id: u64,
        inbox_id: u64,
        source_id: &'a str,
    ) -> BoxFuture<'a, Result<(), zapwoot_chatwoot::Error>> {
        self.meter.time(
            "add_contact_inbox",
            self.inner
                .add_contact_inbox(contact_id, inbox_id, source_id),
        )
    }
    fn contact_conversations(
        &self,
        contact_id: u64,
    ) -> BoxFuture<'_, Result<Vec<Conversation>, zapwoot_chatwoot::Error>> {
        self.meter.time(
            "contact_conversations",
            self.inner.contact_conversations(contact_id),
        )
    }
    fn create_conversation<'a>(
        &'a self,
        conversation: &'a NewConversation,
    ) -> BoxFuture<'a, Result<Conversation, zapwoot_chatwoot::Error>> {
        self.meter.time(
            "create_conversation",
            self.inner.create_conversation(conversation),
        )
    }
    fn set_conversation_status<'a>(
        &'a self,
        conversation_id: u64,
        status: &'a ConversationStatus,
    ) -> BoxFuture<'a, Result<(), zapwoot_chatwoot::Error>> {
        self.meter.time(
            "set_conversation_status",
            self.inner.set_conversation_status(conversation_id, status),
        )
    }
    fn create_message<'a>(
        &'a self,
        conversation_id: u64,
        message: &'a NewMessage,
    ) -> BoxFuture<'a, Result<Message, zapwoot_chatwoot::Error>> {
        self.meter.time(
            "create_message",
            self.inner.create_message(conversation_id, message),
        )
    }
    fn messages(
        &self,
        conversation_id: u64,
        before: Option<u64>,
        after: Option<u64>,
    ) -> BoxFuture<'_, Result<MessageList, zapwoot_chatwoot::Error>> {
        self.meter.time(
            "messages",
            self.inner.messages(conversation_id, before, after),
        )
    }
    fn update_message_status<'a>(
        &'a self,
        conversation_id: u64,
        message_id: u64,
        status: MessageStatus,
        error: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), zapwoot_chatwoot::Error>> {
        self.meter.time(
            "update_message_status",
            self.inner
                .update_message_status(conversation_id, message_id, status, error),
        )
    }
    fn delete_message(
        &self,
        conversation_id: u64,
        message_id: u64,
    ) -> BoxFuture<'_, Result<(), zapwoot_chatwoot::Error>> {
        self.meter.time(
            "delete_message",
            self.inner.delete_message(conversation_id, message_id),
        )
    }
    fn inbox_identifier(
        &self,
        inbox_id: u64,
    ) -> BoxFuture<'_, Result<Option<String>, zapwoot_chatwoot::Error>> {
        self.meter
            .time("inbox", self.inner.inbox_identifier(inbox_id))
    }
    fn contact_typing<'a>(
        &'a self,
        inbox_identifier: &'a str,
        contact_source_id: &'a str,
        conversation_id: u64,
        on: bool,
    ) -> BoxFuture<'a, Result<(), zapwoot_chatwoot::Error>> {
        self.meter.time(
            "contact_typing",
            self.inner
                .contact_typing(inbox_identifier, contact_source_id, conversation_id, on),
        )
    }
    fn submit_csat<'a>(
        &'a self,
        conversation_uuid: &'a str,
        rating: u8,
    ) -> BoxFuture<'a, Result<(), zapwoot_chatwoot::Error>> {
        self.meter.time(
            "submit_csat",
            self.inner.submit_csat(conversation_uuid, rating),
        )
    }
    fn base_url(&self) -> &zapwoot_chatwoot::Url {
        self.inner.base_url()
    }
}

/// A gateway, timed.
#[derive(Debug)]
struct MeteredGateway {
    inner: Arc<dyn Gateway>,
    meter: Meter,
}

impl Gateway for MeteredGateway {
    fn kind(&self) -> GatewayKind {
        self.inner.kind()
    }
    fn send<'a>(
        &'a self,
        to: &'a Jid,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Sent, zapwoot_gateway::Error>> {
        self.meter.time("send", self.inner.send(to, message))
    }
    fn react<'a>(
        &'a self,
        chat: &'a Jid,
        target: &'a MessageRef,
        emoji: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), zapwoot_gateway::Error>> {
        self.meter
            .time("react", self.inner.react(chat, target, emoji))
    }
    fn edit<'a>(
        &'a self,
        chat: &'a Jid,
        message_id: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<(), zapwoot_gateway::Error>> {
        self.meter
            .time("edit", self.inner.edit(chat, message_id, text))
    }
    fn revoke<'a>(
        &'a self,
        chat: &'a Jid,
        message_id: &'a str,
    ) -> BoxFuture<'a, Result<(), zapwoot_gateway::Error>> {
        self.meter
            .time("revoke", self.inner.revoke(chat, message_id))
    }
    fn mark_read<'a>(
        &'a self,
        chat: &'a Jid,
        sender: Option<&'a Jid>,
        message_ids: &'a [String],
    ) -> BoxFuture<'a, Result<(), zapwoot_gateway::Error>> {
        self.meter
            .time("mark_read", self.inner.mark_read(chat, sender, message_ids))
    }
    fn reject_call<'a>(
        &'a self,
        caller: &'a Jid,
        call_id: &'a str,
    ) -> BoxFuture<'a, Result<(), zapwoot_gateway::Error>> {
        self.meter
            .time("reject_call", self.inner.reject_call(caller, call_id))
    }
    fn set_typing<'a>(
        &'a self,
        chat: &'a Jid,
        on: bool,
    ) -> BoxFuture<'a, Result<(), zapwoot_gateway::Error>> {
        self.meter.time("typing", self.inner.set_typing(chat, on))
    }
    fn fetch_media<'a>(
        &'a self,
        media: &'a Media,
        max_bytes: u64,
    ) -> BoxFuture<'a, Result<MediaFile, zapwoot_gateway::Error>> {
        self.meter
            .time("fetch_media", self.inner.fetch_media(media, max_bytes))
    }
    fn health(&self) -> BoxFuture<'_, Result<Health, zapwoot_gateway::Error>> {
        self.meter.time("health", self.inner.health())
    }
    fn login_qr(&self) -> BoxFuture<'_, Result<zapwoot_gateway::QrCode, zapwoot_gateway::Error>> {
        self.meter.time("login_qr", self.inner.login_qr())
    }
    fn pair_code<'a>(
        &'a self,
        phone: &'a str,
    ) -> BoxFuture<'a, Result<zapwoot_gateway::PairCode, zapwoot_gateway::Error>> {
        self.meter.time("pair_code", self.inner.pair_code(phone))
    }
    fn logout(&self) -> BoxFuture<'_, Result<(), zapwoot_gateway::Error>> {
        self.meter.time("logout", self.inner.logout())
    }
    fn reconnect(&self) -> BoxFuture<'_, Result<(), zapwoot_gateway::Error>> {
        self.meter.time("reconnect", self.inner.reconnect())
    }
    fn avatar<'a>(
        &'a self,
        jid: &'a Jid,
    ) -> BoxFuture<'a, Result<Option<String>, zapwoot_gateway::Error>> {
        self.meter.time("avatar", self.inner.avatar(jid))
    }
    fn chats(
        &self,
        since: i64,
    ) -> BoxFuture<'_, Result<Vec<zapwoot_gateway::ChatSummary>, zapwoot_gateway::Error>> {
        self.meter.time("chats", self.inner.chats(since))
    }
    fn history<'a>(
        &'a self,
        chat: &'a Jid,
        since: i64,
        until: i64,
    ) -> BoxFuture<'a, Result<Vec<zapwoot_gateway::HistoryMessage>, zapwoot_gateway::Error>> {
        self.meter
            .time("history", self.inner.history(chat, since, until))
    }
}

/// Wraps the runtime's Chatwoot and gateway clients so every call is measured.
pub(crate) fn meter(runtime: &mut InstanceRuntime, metrics: &Arc<Metrics>) {
    let meter = |upstream| Meter {
        metrics: Arc::clone(metrics),
        instance: runtime.name.clone(),
        upstream,
    };
    let (chatwoot, gateway) = (meter("chatwoot"), meter("gateway"));
    runtime.chatwoot = Arc::new(MeteredChatwoot {
        inner: Arc::clone(&runtime.chatwoot),
        meter: chatwoot,
    });
    runtime.gateway = Arc::new(MeteredGateway {
        inner: Arc::clone(&runtime.gateway),
        meter: gateway,
    });
}
