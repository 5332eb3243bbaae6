//! Incoming WhatsApp calls. The bridge cannot take a call, so the agent sees it as a missed
//! call in the caller's conversation and can call back or write; with `reject_calls` the call
//! is declined at once and `call_reply` is sent to the caller, once per call.

use serde_json::json;
use zapwoot_chatwoot::NewMessage as CwMessage;
use zapwoot_gateway::{Call, GatewayKind, Outgoing, OutgoingBody};
use zapwoot_store::{Direction, MessageState, NewMessage};

use super::find_by_source;
use crate::error::Failure;
use crate::outbound::reserved_id_for;
use crate::step::{Ctx, Outcome};
use crate::{conversation, identity};

/// What the agent reads for a call.
fn missed(call: &Call, rejected: bool) -> String {
    let kind = match call.video {
        Some(true) => "📹 Missed video call",
        Some(false) => "📞 Missed voice call",
        None => "📞 Missed call",
    };
    if rejected {
        format!("{kind} (declined automatically)")
    } else {
        kind.to_owned()
    }
}

/// A call offer: the missed-call line, the rejection and the reply.
pub(super) async fn call(ctx: &mut Ctx<'_>, call: &Call) -> Result<Outcome, Failure> {
    let Some(caller) = call.origin.chat.clone() else {
        return Ok(Outcome::Ignored("a call without a caller".into()));
    };
    if caller.is_group()
        || ctx
            .rt
            .options
            .ignore_jids
            .iter()
            .any(|j| *j == caller.to_string())
    {
        return Ok(Outcome::Ignored(
            "calls from this chat are not bridged".into(),
        ));
    }
    let reject = ctx.rt.options.reject_calls && !call.auto_rejected;
    if reject {
        // Best effort and first: the caller's phone rings until then.
        let rejected = {
            let _slot = ctx.rt.gateway_slots.acquire().await;
            ctx.rt.gateway.reject_call(&caller, &call.call_id).await
        };
        if let Err(e) = rejected {
            tracing::warn!(error = %e, "could not decline the call");
        }
    }
    let party = identity::resolve(ctx, &call.origin).await?;
    let conversation = conversation::resolve(ctx, &party).await?;
    let source = format!("ZAPWOOT:call:{}", call.call_id);
    let existing = if ctx.attempt > 1 {
        find_by_source(ctx, conversation, &source).await?
    } else {
        None
    };
    let line = match existing {
        Some(found) => found.id,
        None => {
            let mut new =
                CwMessage::incoming(missed(call, reject || call.auto_rejected)).source_id(source);
            new.content_attributes.insert(
                "zapwoot".into(),
                json!({ "call_id": call.call_id, "video": call.video }),
            );
            ctx.chatwoot()
                .await
                .create_message(conversation, &new)
                .await?
                .id
        }
    };
    if reject
        && let Some(text) = ctx
            .rt
            .options
            .call_reply
            .clone()
            .filter(|t| !t.trim().is_empty())
    {
        reply(ctx, call, &party.chat, conversation, line, &text).await?;
    }
    Ok(Outcome::Done(Vec::new()))
}

/// Sends `text` to the caller once: recorded as part 1 of the missed-call line before it is
/// sent, so a retry sends it again only where that is the same WhatsApp message (wuzapi, under
/// the id reserved for it); on GOWA an unknown outcome is not resent. Shown in Chatwoot as an
/// outgoing message.
async fn reply(
    ctx: &mut Ctx<'_>,
    call: &Call,
    chat: &zapwoot_gateway::Jid,
    conversation: u64,
    line: u64,
    text: &str,
) -> Result<(), Failure> {
    let line_id = i64::try_from(line).unwrap_or(i64::MAX);
    let known = ctx.messages_by_chatwoot_id(line).await?;
    let earlier = known.iter().find(|m| m.message.part == 1);
    if earlier.is_some_and(|m| {
        m.message.state == MessageState::Done || ctx.rt.kind != GatewayKind::Wuzapi
    }) {
        return Ok(());
    }
    let mut intent = NewMessage::intent(ctx.rt.id, chat.to_string(), Direction::Outgoing);
    intent.chatwoot_message_id = Some(line_id);
    intent.chatwoot_conversation_id = i64::try_from(conversation).ok();
    intent.part = 1;
    let reserved = (ctx.rt.kind == GatewayKind::Wuzapi)
        .then(|| reserved_id_for(&format!("call:{}:{}", ctx.rt.id, call.call_id)));
    intent.wa_message_id.clone_from(&reserved);
    ctx.record_intent(intent.clone()).await?;
    let mut outgoing = Outgoing::new(OutgoingBody::Text(text.to_owned()));
    outgoing.id = reserved;
    let sent = {
        let _slot = ctx.rt.gateway_slots.acquire().await;
        ctx.rt.gateway.send(chat, &outgoing).await?
    };
    intent.wa_message_id = Some(sent.message_id.clone());
    intent.state = MessageState::Done;
    ctx.record_sent(intent).await?;
    let shown = CwMessage::outgoing(text).source_id(format!("WAID:{}", sent.message_id));
    if let Err(e) = ctx
        .chatwoot()
        .await
        .create_message(conversation, &shown)
        .await
    {
        tracing::warn!(error = %e, "the call reply was sent but not shown in Chatwoot");
    }
    Ok(())
}
