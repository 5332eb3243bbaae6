//! Typing indicators. An agent typing in Chatwoot (`conversation_typing_on` / `_off`) shows
//! "typing…" in the customer's WhatsApp chat.
//!
//! Typing is ephemeral: a typing webhook is acted on only while it is fresh ([`STALE`]),
//! failures are not retried, and a long typing session is one gateway call per
//! [`THROTTLE`] at most (Chatwoot's webhooks of one window are already one event: the
//! ingest keys them by window, see [`window`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zapwoot_chatwoot::webhook::{Sender, Typing};
use zapwoot_gateway::Jid;

use crate::error::Failure;
use crate::read_marks;
use crate::step::{Ctx, Outcome};

/// A typing webhook older than this is dropped, never acted on.
pub(crate) const STALE: Duration = Duration::from_secs(10);
/// At most one "typing…" call per chat in this time.
pub(crate) const THROTTLE: Duration = Duration::from_secs(5);

/// The window (of [`THROTTLE`]) a typing webhook received at `at_ms` falls in: part of its
/// dedupe key, so the webhooks of one window are one event.
#[must_use]
pub(crate) fn window(at_ms: i64) -> i64 {
    let throttle = i64::try_from(THROTTLE.as_millis()).unwrap_or(5_000);
    at_ms.div_euclid(throttle)
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
    let age = ctx.now_ms().saturating_sub(ctx.received_at_ms);
    if age > i64::try_from(STALE.as_millis()).unwrap_or(i64::MAX) {
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
