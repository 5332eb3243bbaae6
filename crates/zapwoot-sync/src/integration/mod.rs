//! zapwoot inside Chatwoot: per instance one *integration conversation* in its inbox (the
//! contact "zapwoot · NAME"), where the session's changes are posted and agents type
//! commands (`help`, `status`, `qr`, `pair`, `reconnect`, `logout`, `reconcile`). Nothing
//! typed there reaches WhatsApp. In a customer's conversation, a message starting with
//! `/zapwoot ` runs the same commands and is answered as a private note.
//!
//! The bridge's own work here is done by events in the integration lane (the settle checks'
//! lane, one event at a time across replicas): the welcome note, and the QR codes re-posted
//! while they rotate (in a lane of their own, since they wait).

mod commands;
mod conversation;
mod qr;

use serde::{Deserialize, Serialize};
use zapwoot_chatwoot::MessageType;
use zapwoot_chatwoot::webhook::{Sender, WebhookMessage};
use zapwoot_store::{NewEvent, Source};

use crate::error::Failure;
use crate::step::{Ctx, Outcome};

use commands::{Command, command_of, run};
pub(crate) use commands::{ReconcileRun, reply as answer};

/// The chat key the integration conversation is mapped under.
pub(crate) const CHAT: &str = "_zapwoot_status";

/// The content type of the welcome event ([`welcome_event`]).
const WELCOME_CONTENT_TYPE: &str = "application/vnd.zapwoot.integration-welcome+json";

/// The content type of a QR code's follow-up (re-posted when it rotates).
const QR_CONTENT_TYPE: &str = "application/vnd.zapwoot.integration-qr+json";

/// The content type of a `reconcile` command's run (the engine runs it).
pub(crate) const RECONCILE_CONTENT_TYPE: &str =
    "application/vnd.zapwoot.integration-reconcile+json";

/// The lane of QR follow-ups.
const QR_LANE: &str = "_zapwoot_qr";

/// The lane of `reconcile` runs (long: they hold up nothing else).
const RECONCILE_LANE: &str = "_zapwoot_reconcile";

/// Where a command was typed, and so where it is answered.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Place {
    /// The Chatwoot conversation.
    pub(crate) conversation: u64,
    /// The integration conversation (else a customer's: `/zapwoot …`).
    pub(crate) integration: bool,
}

/// Does the engine hand events of `content_type` to [`handle`]?
pub(crate) fn handles(content_type: &str) -> bool {
    matches!(content_type, WELCOME_CONTENT_TYPE | QR_CONTENT_TYPE)
}

/// The bridge's own integration events.
pub(crate) async fn handle(
    ctx: &mut Ctx<'_>,
    content_type: &str,
    body: &[u8],
) -> Result<Outcome, Failure> {
    match content_type {
        WELCOME_CONTENT_TYPE => welcome(ctx).await,
        QR_CONTENT_TYPE => qr::follow_up(ctx, body).await,
        other => Err(Failure::permanent(format!(
            "not an integration event: {other}"
        ))),
    }
}

/// An event that opens the instance's integration conversation with a welcome note, once per
/// inbox (recorded when the instance is provisioned).
#[must_use]
pub fn welcome_event(instance_id: i64, inbox_id: u64) -> NewEvent {
    let mut event = NewEvent::new(
        instance_id,
        Source::Gateway,
        format!("integration-welcome:{inbox_id}"),
        crate::session::CHECK_LANE,
        b"{}".to_vec(),
    );
    event.kind = "integration.welcome".to_owned();
    event.content_type = WELCOME_CONTENT_TYPE.to_owned();
    event
}

async fn welcome(ctx: &mut Ctx<'_>) -> Result<Outcome, Failure> {
    let state = commands::status_text(ctx).await?;
    let text = format!(
        "👋 This is zapwoot's line for the WhatsApp number of instance {}. Nothing typed here \
         reaches WhatsApp. {state}\n\n{}",
        ctx.rt.name,
        commands::HELP
    );
    note(ctx, "welcome", &text).await?;
    Ok(Outcome::Done(Vec::new()))
}

/// Posts a note in the integration conversation (opened or created first).
pub(crate) async fn note(ctx: &Ctx<'_>, key: &str, text: &str) -> Result<(), Failure> {
    let conversation = conversation::open(ctx).await?;
    conversation::post(
        ctx,
        conversation,
        key,
        zapwoot_chatwoot::NewMessage::outgoing(text),
    )
    .await
}

/// A command an agent typed, and where.
#[derive(Debug)]
pub(crate) struct Typed {
    place: Place,
    command: Command,
    agent: String,
}

/// Is `m` in the instance's integration conversation? Known by the mapping; by the contact's
/// source id only when the webhook is signed (Chatwoot's word).
pub(crate) async fn in_integration_conversation(
    ctx: &Ctx<'_>,
    m: &WebhookMessage,
) -> Result<bool, Failure> {
    let Some(id) = m.conversation_id() else {
        return Ok(false);
    };
    if let Some(mapped) = ctx.conversation_by_chatwoot_id(id).await? {
        return Ok(mapped.conversation.chat_jid == CHAT);
    }
    let source = m
        .conversation
        .as_ref()
        .and_then(|c| c.contact_inbox.as_ref())
        .and_then(|ci| ci.source_id.as_deref());
    Ok(ctx.rt.chatwoot_keys.is_some()
        && source == Some(conversation::contact_source_id(&ctx.rt.name).as_str()))
}

/// The command in `m`, when an agent typed one: any agent message in the integration
/// conversation, and messages starting with `/zapwoot` elsewhere.
pub(crate) fn typed(m: &WebhookMessage, integration: bool) -> Option<Typed> {
    let Some(Sender::User { name, id, .. }) = &m.sender else {
        return None;
    };
    if m.message_type != MessageType::Outgoing
        || crate::source_ids::is_own_source(m.source_id.as_deref())
    {
        return None;
    }
    let command = command_of(m.content.as_deref().unwrap_or_default(), integration)?;
    Some(Typed {
        place: Place {
            conversation: m.conversation_id()?,
            integration,
        },
        command,
        agent: name.clone().unwrap_or_else(|| format!("agent {id}")),
    })
}

/// Why `m` (not run as a command) still does not go to WhatsApp, if so: it is in the
/// integration conversation, or it starts with `/zapwoot` (whoever typed it).
pub(crate) fn not_sent(m: &WebhookMessage, integration: bool) -> Option<&'static str> {
    if integration {
        Some("nothing typed in zapwoot's conversation reaches WhatsApp")
    } else if command_of(m.content.as_deref().unwrap_or_default(), false).is_some() {
        Some("a /zapwoot command is never sent to WhatsApp (run only when an agent typed it)")
    } else {
        None
    }
}

/// Runs a typed command and answers it.
pub(crate) async fn execute(ctx: &mut Ctx<'_>, typed: Typed) -> Result<Outcome, Failure> {
    run(ctx, typed.place, typed.command, &typed.agent).await
}
