//! Gap recovery: finding what upstreams never delivered and feeding it through the normal
//! pipeline, under the same dedupe keys as the webhooks, so a late webhook and the
//! reconciler never both act.
//!
//! Chatwoot posts each webhook at most once: an agent message written while the bridge was
//! down (or whose webhook timed out) is never posted again. [`Engine::reconcile_chatwoot`]
//! lists each conversation's messages newer than the highest id the bridge has seen and
//! records the outgoing ones it never got as `message_created` events.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use zapwoot_chatwoot::webhook::message_created_body;
use zapwoot_chatwoot::{Message, MessageType};
use zapwoot_store::{Effect, NewEvent, Source};

use crate::activity::{ActivityKind, ReconciledPass};
use crate::{Activity, Engine, SyncError};

/// Which way a reconciliation looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReconcileDirection {
    /// Agent messages in Chatwoot that never reached WhatsApp.
    ChatwootToWhatsapp,
    /// WhatsApp messages that never reached Chatwoot.
    WhatsappToChatwoot,
}

impl ReconcileDirection {
    /// `chatwoot_to_whatsapp` or `whatsapp_to_chatwoot`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ChatwootToWhatsapp => "chatwoot_to_whatsapp",
            Self::WhatsappToChatwoot => "whatsapp_to_chatwoot",
        }
    }
}

/// What one reconciliation pass did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Reconciled {
    /// Which way.
    pub direction: ReconcileDirection,
    /// Conversations (or chats) looked at.
    pub scanned: usize,
    /// Messages that would have needed a webhook (outgoing, not private, not the bridge's).
    pub candidates: usize,
    /// Of those, recorded now: their webhook never arrived.
    pub recorded: usize,
    /// Why nothing could be looked at, when so (a gateway without a history).
    pub skipped: Option<String>,
}

/// Most messages Chatwoot lists after an id in one page.
const PAGE: usize = 100;

impl Engine {
    /// Chatwoot → WhatsApp for instance `instance_id`: in every conversation not resolved, and
    /// any active since `active_since`, lists the messages newer than the highest id seen and
    /// records each outgoing, non-private message that has no event and no mapping yet, as
    /// its webhook would have been. Rate-limited with the instance's other Chatwoot calls.
    /// Publishes a `reconciled` activity when it recorded something.
    ///
    /// # Errors
    /// [`SyncError::Config`] when the instance is not running; store errors. A conversation
    /// Chatwoot cannot list is skipped (logged), not fatal.
    pub async fn reconcile_chatwoot(
        &self,
        instance_id: i64,
        active_since: SystemTime,
    ) -> Result<Reconciled, SyncError> {
        let runtime = self.runtime(instance_id).ok_or_else(|| SyncError::Config {
            instance: instance_id.to_string(),
            reason: "not running".to_owned(),
        })?;
        let since = unix_ms(active_since);
        let conversations = self
            .store()
            .mappings()
            .conversations_to_reconcile(instance_id, since)
            .await?;
        let mut report = Reconciled {
            direction: ReconcileDirection::ChatwootToWhatsapp,
            scanned: 0,
            candidates: 0,
            recorded: 0,
            skipped: None,
        };
        for mapped in conversations {
            let Ok(conversation) = u64::try_from(mapped.conversation.chatwoot_conversation_id)
            else {
                continue;
            };
            report.scanned += 1;
            let mut after = mapped
                .last_chatwoot_message_id
                .and_then(|id| u64::try_from(id).ok())
                .unwrap_or(0);
            let start = after;
            loop {
                runtime.chatwoot_permit().await;
                let page = match runtime
                    .chatwoot
                    .messages(conversation, None, Some(after))
                    .await
                {
                    Ok(list) => list.payload,
                    Err(e) => {
                        tracing::warn!(instance = %runtime.name, conversation, error = %e, "reconcile: cannot list messages");
                        break;
                    }
                };
                let full = page.len() >= PAGE;
                for message in page.iter().filter(|m| m.id > after) {
                    if !wants_sending(message) {
                        continue;
                    }
                    report.candidates += 1;
                    if self
                        .record_missed(&runtime, &mapped.conversation, message)
                        .await?
                    {
                        report.recorded += 1;
                    }
                }
                let Some(last) = page.iter().map(|m| m.id).max().filter(|m| *m > after) else {
                    break;
                };
                after = last;
                if !full {
                    break;
                }
            }
            if after > start {
                // Everything up to `after` is either recorded or not for WhatsApp.
                self.store()
                    .mappings()
                    .apply(vec![Effect::ConversationSeen {
                        instance_id,
                        chatwoot_conversation_id: mapped.conversation.chatwoot_conversation_id,
                        message_id: i64::try_from(after).unwrap_or(i64::MAX),
                    }])
                    .await?;
            }
        }
        if report.recorded > 0 {
            tracing::info!(instance = %runtime.name, recorded = report.recorded, "reconciled agent messages Chatwoot never posted");
            self.notify();
            self.announce(&runtime, &report).await;
        }
        Ok(report)
    }

    /// WhatsApp → Chatwoot for instance `instance_id`: asks the gateway for the chats with
    /// messages since `since` and their messages, and records each one the bridge has
    /// neither an event nor a mapping for, as its webhook would have been (same dedupe key:
    /// a webhook arriving later is a duplicate). Gateways that keep no history are reported
    /// as skipped.
    ///
    /// # Errors
    /// [`SyncError::Config`] when the instance is not running; store errors. Gateway errors
    /// end the pass early (what was recorded stays).
    pub async fn reconcile_gateway(
        &self,
        instance_id: i64,
        since: SystemTime,
    ) -> Result<Reconciled, SyncError> {
        let runtime = self.runtime(instance_id).ok_or_else(|| SyncError::Config {
            instance: instance_id.to_string(),
            reason: "not running".to_owned(),
        })?;
        let mut report = Reconciled {
            direction: ReconcileDirection::WhatsappToChatwoot,
            scanned: 0,
            candidates: 0,
            recorded: 0,
            skipped: None,
        };
        let since = unix_ms(since) / 1000;
        let until = unix_ms(SystemTime::now()) / 1000 + 60;
        let chats = match runtime.gateway.chats(since).await {
            Ok(chats) => chats,
            Err(zapwoot_gateway::Error::Unsupported(why)) => {
                report.skipped = Some(why.to_owned());
                return Ok(report);
            }
            Err(e) => {
                tracing::warn!(instance = %runtime.name, error = %e, "reconcile: cannot list chats");
                report.skipped = Some(format!("the gateway did not list its chats: {e}"));
                return Ok(report);
            }
        };
        for chat in chats {
            report.scanned += 1;
            let messages = match runtime.gateway.history(&chat.jid, since, until).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(instance = %runtime.name, chat = %chat.jid, error = %e, "reconcile: cannot read a chat's history");
                    continue;
                }
            };
            for message in messages {
                report.candidates += 1;
                if self.record_history(&runtime, &message, None).await? {
                    report.recorded += 1;
                }
            }
        }
        if report.recorded > 0 {
            tracing::info!(instance = %runtime.name, recorded = report.recorded, "reconciled WhatsApp messages the gateway never posted");
            self.notify();
            self.announce(&runtime, &report).await;
        }
        Ok(report)
    }

    /// Records a message from the gateway's history as its webhook (not before
    /// `not_before_ms`, when given); `false` when it already has an event or a mapping.
    pub(crate) async fn record_history(
        &self,
        runtime: &crate::InstanceRuntime,
        message: &zapwoot_gateway::HistoryMessage,
        not_before_ms: Option<i64>,
    ) -> Result<bool, SyncError> {
        if !self
            .store()
            .mappings()
            .messages_by_wa_id(runtime.id, &message.id)
            .await?
            .is_empty()
        {
            return Ok(false);
        }
        let prepared = match crate::ingest::prepare_trusted_gateway(
            runtime,
            message.content_type,
            &message.webhook,
        ) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(instance = %runtime.name, message = %message.id, error = %e, "a history message did not parse");
                return Ok(false);
            }
        };
        let mut event = prepared.event;
        event.not_before_ms = not_before_ms;
        Ok(!self.store().events().record(event).await?.duplicate)
    }

    /// Records `message` as its `message_created` webhook; `false` when it already has an
    /// event (its webhook came) or a mapping (it was sent; its event may have been pruned).
    async fn record_missed(
        &self,
        runtime: &crate::InstanceRuntime,
        conversation: &zapwoot_store::NewConversation,
        message: &Message,
    ) -> Result<bool, SyncError> {
        let id = i64::try_from(message.id).unwrap_or(i64::MAX);
        if !self
            .store()
            .mappings()
            .messages_by_chatwoot_id(runtime.id, id)
            .await?
            .is_empty()
        {
            return Ok(false);
        }
        let body = message_created_body(
            message,
            u64::try_from(conversation.chatwoot_conversation_id).unwrap_or_default(),
            &conversation.status,
        );
        let mut event = NewEvent::new(
            runtime.id,
            Source::Chatwoot,
            format!("message_created:{}", message.id),
            conversation.chat_jid.clone(),
            body,
        );
        event.kind = "message_created".to_owned();
        event.content_type = "application/json".to_owned();
        let recorded = self.store().events().record(event).await?;
        Ok(!recorded.duplicate)
    }

    /// Publishes a `reconciled` activity (stream, metrics, subscriptions).
    pub(crate) async fn announce(&self, runtime: &crate::InstanceRuntime, report: &Reconciled) {
        let instance = runtime.name.as_str();
        let activity = Activity::new(
            instance,
            ActivityKind::Reconciled(ReconciledPass {
                direction: report.direction.as_str().to_owned(),
                scanned: report.scanned,
                candidates: report.candidates,
                recorded: report.recorded,
            }),
        );
        let note = crate::webhooks::notification(
            &activity,
            Some(runtime.id),
            format!(
                "msg_reconciled_{}_{}_{}",
                instance.replace(['.', ',', ' '], "_"),
                report.direction.as_str(),
                activity.timestamp_ms
            ),
            format!("reconcile/{instance}"),
        );
        if let Err(e) = self.store().deliveries().notify(vec![note]).await {
            tracing::warn!(error = %e, "could not record the reconciled notification");
        }
        self.activity().publish(activity);
    }

    /// A `reconcile` command's run: both directions over the hours asked for, and the
    /// report posted where the command was typed.
    pub(crate) async fn reconcile_run(
        &self,
        ctx: &mut crate::step::Ctx<'_>,
        body: &[u8],
    ) -> Result<crate::step::Outcome, crate::error::Failure> {
        use crate::error::Failure;
        let run: crate::integration::ReconcileRun = serde_json::from_slice(body)
            .map_err(|e| Failure::permanent(format!("unreadable reconcile run: {e}")))?;
        let since = SystemTime::now() - Duration::from_secs(u64::from(run.hours) * 3600);
        let failed = |e: SyncError| Failure::retry(format!("reconcile: {e}"));
        let chatwoot = self
            .reconcile_chatwoot(ctx.rt.id, since)
            .await
            .map_err(failed)?;
        let gateway = self
            .reconcile_gateway(ctx.rt.id, since)
            .await
            .map_err(failed)?;
        let line = |r: &Reconciled, looked: &str| match &r.skipped {
            Some(why) => format!("not looked at ({why})"),
            None => format!(
                "{} {looked}, {} message{} recovered",
                r.scanned,
                r.recorded,
                if r.recorded == 1 { "" } else { "s" }
            ),
        };
        let text = format!(
            "✅ Reconciled the last {} h. Chatwoot → WhatsApp: {}. WhatsApp → Chatwoot: {}.",
            run.hours,
            line(&chatwoot, "conversations"),
            line(&gateway, "chats"),
        );
        crate::integration::answer(ctx, run.place, "report", &text).await?;
        Ok(crate::step::Outcome::Done(Vec::new()))
    }
}

/// Would this message, if its webhook came, be sent to WhatsApp?
fn wants_sending(message: &Message) -> bool {
    matches!(
        message.message_type,
        MessageType::Outgoing | MessageType::Template
    ) && !message.private
}

fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
        .try_into()
        .unwrap_or(i64::MAX)
}
