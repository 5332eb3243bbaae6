//! WhatsApp → Chatwoot.

use zapwoot_chatwoot::MessageType;
use zapwoot_gateway::InboundEvent;
use zapwoot_store::MessageMap;

use crate::error::Failure;
use crate::step::{Ctx, Outcome};

mod calls;
mod connection;
mod described;
mod groups;
mod message;
mod updates;

use connection::connection;
pub(crate) use message::find_by_source;
use message::message;
use updates::{edit, reaction, receipt, revoke};

pub(crate) async fn handle(
    ctx: &mut Ctx<'_>,
    content_type: &str,
    body: &[u8],
) -> Result<Outcome, Failure> {
    match content_type {
        crate::session::OBSERVATION_CONTENT_TYPE => {
            return connection::observation(ctx, body).await;
        }
        crate::session::CHECK_CONTENT_TYPE => return connection::check(ctx, body).await,
        _ => {}
    }
    let events = ctx
        .rt
        .kind
        .parse(content_type, body, ctx.rt.own_jid.as_ref())
        .map(|w| w.events)
        .map_err(|e| Failure::permanent(format!("unparseable gateway webhook: {e}")))?;
    let mut effects = Vec::new();
    let mut ignored = Vec::new();
    for event in events {
        match handle_event(ctx, event).await? {
            Outcome::Done(mut more) => effects.append(&mut more),
            Outcome::Ignored(reason) => ignored.push(reason),
        }
    }
    if effects.is_empty() && !ignored.is_empty() {
        return Ok(Outcome::Ignored(ignored.join("; ")));
    }
    Ok(Outcome::Done(effects))
}

async fn handle_event(ctx: &mut Ctx<'_>, event: InboundEvent) -> Result<Outcome, Failure> {
    match event {
        InboundEvent::Message(m) => {
            let outcome = message(ctx, &m).await?;
            crate::csat::after_message(ctx, &m, outcome).await
        }
        InboundEvent::Receipt(r) => receipt(ctx, &r).await,
        InboundEvent::Reaction(r) => reaction(ctx, &r).await,
        InboundEvent::Edit(e) => edit(ctx, &e).await,
        InboundEvent::Revoke(r) => revoke(ctx, &r).await,
        InboundEvent::Connection(c) => connection(ctx, &c).await,
        InboundEvent::Presence(p) => crate::typing::customer_typing(ctx, &p).await,
        InboundEvent::GroupParticipants(g) => groups::participants(ctx, &g).await,
        InboundEvent::GroupSubject(g) => groups::subject(ctx, &g).await,
        InboundEvent::Call(c) => calls::call(ctx, &c).await,
        other => Ok(Outcome::Ignored(format!(
            "{} events are not bridged",
            other.kind()
        ))),
    }
}

fn id64(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn mapped_cw(map: &MessageMap) -> Option<(u64, u64)> {
    let m = &map.message;
    Some((
        u64::try_from(m.chatwoot_conversation_id?).ok()?,
        u64::try_from(m.chatwoot_message_id?).ok()?,
    ))
}

/// The first mapped Chatwoot message of a WhatsApp id.
async fn target(ctx: &Ctx<'_>, wa_id: &str) -> Result<Option<(u64, u64)>, Failure> {
    Ok(ctx
        .messages_by_wa_id(wa_id)
        .await?
        .iter()
        .find_map(mapped_cw))
}

/// `message_type` values the bridge sends to WhatsApp.
pub(crate) fn is_sendable(kind: &MessageType) -> bool {
    matches!(kind, MessageType::Outgoing | MessageType::Template)
}
