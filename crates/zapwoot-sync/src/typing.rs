//! Typing indicators, both ways. An agent typing in Chatwoot (`conversation_typing_on` /
//! `_off`) shows "typing…" in the customer's WhatsApp chat; a customer typing on WhatsApp (the
//! gateway's chat presence) shows it in the Chatwoot conversation, through the public API as
//! the contact, and clears it after [`InstanceRuntime::typing_timeout`](crate::InstanceRuntime::typing_timeout) if the gateway never
//! says the customer stopped.
//!
//! Typing is ephemeral: a typing webhook is acted on only while it is fresh ([`STALE`]),
//! failures are not retried, and a long typing session is one call per [`THROTTLE`] at most
//! (each webhook is its own event, see [`received_key`]; repeats are dropped here).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zapwoot_chatwoot::webhook::{Sender, Typing};
use zapwoot_gateway::{Jid, Presence, PresenceState};
use zapwoot_store::IdentityKeys;

use crate::error::Failure;
use crate::read_marks;
use crate::step::{Ctx, Outcome};

/// A typing webhook older than this is dropped, never acted on.
pub(crate) const STALE: Duration = Duration::from_secs(10);
/// At most one "typing…" call per chat in this time.
pub(crate) const THROTTLE: Duration = Duration::from_secs(5);

/// The dedupe key of a typing or presence webhook received at `at_ms`: each one is its own
/// event (the same typing session repeats byte-identical webhooks, and a new session after a
/// pause must not look like a duplicate of the last); repeats are dropped by the throttle.
#[must_use]
pub(crate) fn received_key(key: &str, at_ms: i64) -> String {
    format!("{key}@{at_ms}")
}

/// What was last shown per chat: on or off, and when.
#[derive(Debug, Default)]
pub(crate) struct TypingState(Mutex<HashMap<String, (bool, Instant)>>);

impl TypingState {
    /// Whether showing `on` in `chat` now would repeat what is shown; records it otherwise.
    fn repeats(&self, chat: &str, on: bool) -> bool {
        let Ok(mut shown) = self.0.lock() else {
            return false;
        };
        let now = Instant::now();
        let repeat = match shown.get(chat) {
            Some((true, at)) if on => now.duration_since(*at) < THROTTLE,
            Some((false, _)) => !on,
            _ => false,
        };
        if !repeat {
            // Forget chats nobody typed in for a while, so the map stays small.
            shown.retain(|_, (_, at)| now.duration_since(*at) < Duration::from_secs(600));
            shown.insert(chat.to_owned(), (on, now));
        }
        repeat
    }

    /// Whether `chat` still shows what was recorded at `since` (nothing newer came).
    fn unchanged_since(&self, chat: &str, since: Instant) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|shown| shown.get(chat).copied())
            .is_some_and(|(on, at)| on && at == since)
    }

    /// When `chat`'s current state was recorded.
    fn since(&self, chat: &str) -> Option<Instant> {
        self.0
            .lock()
            .ok()
            .and_then(|shown| shown.get(chat).map(|(_, at)| *at))
    }

    /// Records `chat` as not typing.
    fn clear(&self, chat: &str) {
        if let Ok(mut shown) = self.0.lock() {
            shown.insert(chat.to_owned(), (false, Instant::now()));
        }
    }

    /// Forgets `chat` (the gateway call failed: nothing is shown).
    fn forget(&self, chat: &str) {
        if let Ok(mut shown) = self.0.lock() {
            shown.remove(chat);
        }
    }
}

/// An agent started (`on`) or stopped typing in a Chatwoot conversation.
pub(crate) async fn agent_typing(
    ctx: &mut Ctx<'_>,
    typing: &Typing,
    on: bool,
) -> Result<Outcome, Failure> {
    if !ctx.rt.options.typing {
        return Ok(Outcome::Ignored("typing indicators are off".into()));
    }
    if typing.is_private {
        return Ok(Outcome::Ignored("typing a private note".into()));
    }
    if !matches!(typing.user, Some(Sender::User { .. })) {
        // The contact (the bridge's own echo of a customer typing) or a bot.
        return Ok(Outcome::Ignored("not an agent typing".into()));
    }
    if let Some(age) = stale(ctx) {
        return Ok(Outcome::Ignored(format!("stale typing ({age} ms old)")));
    }
    let Some(mapped) = ctx
        .conversation_by_chatwoot_id(typing.conversation.id)
        .await?
    else {
        return Ok(Outcome::Ignored("conversation not bridged".into()));
    };
    let Ok(chat) = Jid::parse(&mapped.conversation.chat_jid) else {
        return Ok(Outcome::Ignored(
            "conversation without a WhatsApp chat".into(),
        ));
    };
    let key = chat.to_string();
    if ctx.rt.typing.repeats(&key, on) {
        return Ok(Outcome::Ignored("typing already shown".into()));
    }
    let shown = {
        let _slot = ctx.rt.gateway_slots.acquire().await;
        ctx.rt.gateway.set_typing(&chat, on).await
    };
    if let Err(e) = shown {
        ctx.rt.typing.forget(&key);
        tracing::debug!(error = %e, chat = %chat, "typing not shown");
        return Ok(Outcome::Ignored(format!("typing not shown: {e}")));
    }
    // An agent starting to type has seen the customer's messages.
    let effects = if on {
        read_marks::mark_chat_read(ctx, &chat).await
    } else {
        Vec::new()
    };
    Ok(Outcome::Done(effects))
}

/// Whether the event being handled is too old to act on.
fn stale(ctx: &Ctx<'_>) -> Option<i64> {
    let age = ctx.now_ms().saturating_sub(ctx.received_at_ms);
    (age > i64::try_from(STALE.as_millis()).unwrap_or(i64::MAX)).then_some(age)
}

/// A customer started or stopped typing (or recording a voice note) on WhatsApp.
pub(crate) async fn customer_typing(
    ctx: &mut Ctx<'_>,
    presence: &Presence,
) -> Result<Outcome, Failure> {
    let on = match presence.state {
        PresenceState::Composing | PresenceState::Recording => true,
        PresenceState::Paused => false,
        _ => return Ok(Outcome::Ignored("online presence is not bridged".into())),
    };
    if !ctx.rt.options.typing {
        return Ok(Outcome::Ignored("typing indicators are off".into()));
    }
    if let Some(age) = stale(ctx) {
        return Ok(Outcome::Ignored(format!("stale typing ({age} ms old)")));
    }
    let Some(chat) = presence.origin.chat.clone() else {
        return Ok(Outcome::Ignored("typing without a chat".into()));
    };
    let key = chat.to_string();
    let Some(mapped) = ctx.conversation_for_chat(&key).await? else {
        return Ok(Outcome::Ignored(
            "no Chatwoot conversation for this chat yet".into(),
        ));
    };
    let conversation = u64::try_from(mapped.conversation.chatwoot_conversation_id).unwrap_or(0);
    let Some(source) = contact_source(ctx, &chat).await? else {
        return Ok(Outcome::Ignored(
            "the chat's contact has no source id".into(),
        ));
    };
    if ctx.rt.customer_typing.repeats(&key, on) {
        return Ok(Outcome::Ignored("typing already shown".into()));
    }
    let Some(inbox) = inbox_identifier(ctx).await else {
        ctx.rt.customer_typing.forget(&key);
        return Ok(Outcome::Ignored(
            "the inbox has no public identifier".into(),
        ));
    };
    if let Err(e) = ctx
        .chatwoot()
        .await
        .contact_typing(&inbox, &source, conversation, on)
        .await
    {
        ctx.rt.customer_typing.forget(&key);
        tracing::debug!(error = %e, chat = %chat, "typing not shown in Chatwoot");
        return Ok(Outcome::Ignored(format!("typing not shown: {e}")));
    }
    if on && let Some(since) = ctx.rt.customer_typing.since(&key) {
        // The gateway may never say the customer stopped: clear it after a while.
        let rt = std::sync::Arc::clone(&ctx.shared);
        ctx.in_background(async move {
            tokio::time::sleep(rt.typing_timeout).await;
            if !rt.customer_typing.unchanged_since(&key, since) {
                return;
            }
            rt.customer_typing.clear(&key);
            rt.chatwoot_permit().await;
            if let Err(e) = rt
                .chatwoot
                .contact_typing(&inbox, &source, conversation, false)
                .await
            {
                tracing::debug!(error = %e, "typing not cleared in Chatwoot");
            }
        });
    }
    Ok(Outcome::Done(Vec::new()))
}

/// The contact-inbox source id of the chat's contact.
async fn contact_source(ctx: &Ctx<'_>, chat: &Jid) -> Result<Option<String>, Failure> {
    let keys = if chat.is_lid() {
        IdentityKeys::new(None, None, Some(chat.to_string()))
    } else {
        IdentityKeys::new(Some(chat.to_string()), None, None)
    };
    Ok(ctx
        .find_identities(keys)
        .await?
        .into_iter()
        .find_map(|i| i.record.contact_source_id))
}

/// The inbox's public identifier, asked once per runtime.
async fn inbox_identifier(ctx: &Ctx<'_>) -> Option<String> {
    if let Some(known) = ctx.rt.inbox_identifier.get() {
        return Some(known.clone());
    }
    let asked = ctx.chatwoot().await.inbox_identifier(ctx.rt.inbox_id).await;
    match asked {
        Ok(Some(identifier)) => Some(ctx.rt.inbox_identifier.get_or_init(|| identifier).clone()),
        Ok(None) => None,
        Err(e) => {
            tracing::debug!(error = %e, "inbox identifier not known");
            None
        }
    }
}
