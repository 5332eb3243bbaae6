//! Session state changes: private notes in the instance's integration conversation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zapwoot_chatwoot::{NewContact, NewConversation, NewMessage as CwMessage};
use zapwoot_gateway::{Connection, ConnectionState};
use zapwoot_store::NewConversation as StoredConversation;

use super::id64;
use crate::activity::{ActivityKind, InstanceStatus};
use crate::error::Failure;
use crate::step::{Ctx, Outcome};

/// When the note of each `(instance, state)` was last posted (the 10-minute throttle).
static NOTES: Mutex<Option<HashMap<(i64, &'static str), Instant>>> = Mutex::new(None);

/// Session state changes: one private note per state per 10 minutes in the instance's
/// integration conversation, and an `instance.status` activity.
pub(super) async fn connection(ctx: &mut Ctx<'_>, c: &Connection) -> Result<Outcome, Failure> {
    ctx.rt.set_connection_state(c.state);
    ctx.activity(ActivityKind::InstanceStatus(InstanceStatus {
        state: c.state.as_str().to_owned(),
        detail: c.detail.clone(),
    }));
    let text = match c.state {
        ConnectionState::LoggedOut => {
            "🔴 WhatsApp session logged out: scan the QR code again in the gateway."
        }
        ConnectionState::Disconnected => {
            "🟠 WhatsApp session disconnected; the gateway is reconnecting."
        }
        ConnectionState::Failed => {
            "🔴 WhatsApp refused the session (ban, outdated client or stream error)."
        }
        ConnectionState::Connected => "🟢 WhatsApp session connected.",
        _ => return Ok(Outcome::Ignored("pairing state".into())),
    };
    let throttled = NOTES.lock().ok().is_some_and(|mut notes| {
        let notes = notes.get_or_insert_with(HashMap::new);
        let key = (ctx.rt.id, c.state.as_str());
        let recent = notes
            .get(&key)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(600));
        if !recent {
            notes.insert(key, Instant::now());
        }
        recent
    });
    if throttled {
        return Ok(Outcome::Ignored("status note throttled".into()));
    }
    let conversation = status_conversation(ctx).await?;
    let note = CwMessage::outgoing(text)
        .private()
        .source_id(format!("ZAPWOOT:status:{}", c.state.as_str()));
    ctx.chatwoot()
        .await
        .create_message(conversation, &note)
        .await?;
    Ok(Outcome::Done(Vec::new()))
}

/// The instance's integration conversation (a "zapwoot" contact in the inbox).
pub(super) async fn status_conversation(ctx: &Ctx<'_>) -> Result<u64, Failure> {
    const CHAT: &str = "_zapwoot_status";
    if let Some(found) = ctx.conversation_for_chat(CHAT).await? {
        return Ok(u64::try_from(found.conversation.chatwoot_conversation_id).unwrap_or_default());
    }
    let source = format!("zapwoot:status:{}", ctx.rt.name);
    let contact = match ctx
        .chatwoot()
        .await
        .find_contact_by_source_id(ctx.rt.inbox_id, &source)
        .await?
    {
        Some(contact) => contact.id,
        None => {
            let mut new = NewContact::new();
            new.inbox_id = Some(ctx.rt.inbox_id);
            new.source_id = Some(source.clone());
            new.name = Some(format!("zapwoot ({})", ctx.rt.name));
            ctx.chatwoot().await.create_contact(&new).await?.contact.id
        }
    };
    let created = ctx
        .chatwoot()
        .await
        .create_conversation(&NewConversation::new(source, ctx.rt.inbox_id, contact))
        .await?;
    ctx.save_conversation(StoredConversation::new(
        ctx.rt.id,
        CHAT,
        id64(created.id),
        created.status.as_str(),
    ))
    .await?;
    Ok(created.id)
}
