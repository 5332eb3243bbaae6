//! Session state: observations update the durable record at once and enqueue a settle
//! check; the check announces a state that held for [`SETTLE`] — an `instance.status`
//! activity and a private note in the instance's integration conversation
//! ([`crate::integration`]). A note about the same state is posted at most once per 10
//! minutes (a connection that keeps dropping, a pairing that keeps timing out), and
//! "connected" only after something else was said.

use zapwoot_gateway::Connection;
use zapwoot_store::{ConnectionRecord, Effect, ObservedConnection, SessionState};

use crate::activity::{ActivityKind, InstanceStatus};
use crate::error::Failure;
use crate::session::{self, Check, Observation, SETTLE};
use crate::step::{Ctx, Outcome};

/// How often a note about the same state may be posted ("connected" is said only after
/// something else was).
const NOTE_EVERY_MS: i64 = 10 * 60 * 1000;

/// A gateway's session webhook.
pub(super) async fn connection(ctx: &mut Ctx<'_>, c: &Connection) -> Result<Outcome, Failure> {
    let mut seen = ObservedConnection::new(ctx.rt.id, session::state_of(c.state), c.detail.clone());
    seen.jid = c.jid.as_ref().map(ToString::to_string);
    seen.push_name.clone_from(&c.push_name);
    seen.reason.clone_from(&c.reason);
    observed(ctx, seen).await
}

/// An observation recorded by a status poll, the API or the CLI.
pub(super) async fn observation(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Outcome, Failure> {
    let body: Observation = serde_json::from_slice(body)
        .map_err(|e| Failure::permanent(format!("unreadable session observation: {e}")))?;
    observed(ctx, body.into_observed(ctx.rt.id)).await
}

/// Records what was seen; a change of state also enqueues its settle check.
async fn observed(ctx: &mut Ctx<'_>, seen: ObservedConnection) -> Result<Outcome, Failure> {
    if seen.state == SessionState::Unknown {
        return Ok(Outcome::Ignored("an unknown session state".into()));
    }
    let current = ctx.connection().await?;
    let changed = current.as_ref().is_none_or(|r| r.state != seen.state);
    let state = seen.state;
    let mut effects = vec![Effect::Connection(seen)];
    if changed {
        let due = ctx.now_ms() + settle_ms();
        effects.push(Effect::Enqueue(session::check_event(
            ctx.rt.id,
            state,
            &format!("event-{}", ctx.event_id),
            due,
        )));
    }
    Ok(Outcome::Done(effects))
}

fn settle_ms() -> i64 {
    i64::try_from(SETTLE.as_millis()).unwrap_or(i64::MAX)
}

/// A settle check: announces the state if it still holds and held for [`SETTLE`].
pub(super) async fn check(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Outcome, Failure> {
    let body: Check = serde_json::from_slice(body)
        .map_err(|e| Failure::permanent(format!("unreadable session check: {e}")))?;
    let state = SessionState::parse(&body.state);
    let Some(record) = ctx.connection().await? else {
        return Ok(Outcome::Ignored("no session recorded".into()));
    };
    if record.state != state {
        return Ok(Outcome::Ignored(format!(
            "not announced: the session turned {} within {} s",
            record.state,
            SETTLE.as_secs()
        )));
    }
    if record.announced == Some(state) {
        return Ok(Outcome::Ignored(format!("{state} is announced already")));
    }
    let due = record.since_ms + settle_ms();
    if ctx.now_ms() < due {
        // The state changed and came back: check again once this spell has held.
        return Ok(Outcome::Done(vec![Effect::Enqueue(session::check_event(
            ctx.rt.id,
            state,
            &format!("since-{}", record.since_ms),
            due,
        ))]));
    }
    announce(ctx, &record).await
}

async fn announce(ctx: &mut Ctx<'_>, record: &ConnectionRecord) -> Result<Outcome, Failure> {
    if let Some(text) = note_text(ctx, record) {
        post_note(ctx, record.state, &text).await?;
    }
    ctx.activity(ActivityKind::InstanceStatus(InstanceStatus {
        state: record.state.as_str().to_owned(),
        detail: record.detail.clone(),
        jid: record.jid.clone(),
        phone: record.phone().map(str::to_owned),
        push_name: record.push_name.clone(),
        reason: record.reason.clone(),
        since: crate::webhooks::rfc3339(record.since_ms),
    }));
    Ok(Outcome::Done(vec![Effect::ConnectionAnnounced {
        instance_id: ctx.rt.id,
        state: record.state,
    }]))
}

/// The note an agent reads about the new state (`None`: nothing to say).
fn note_text(ctx: &Ctx<'_>, record: &ConnectionRecord) -> Option<String> {
    let why = crate::session::because(record);
    let name = &ctx.rt.name;
    Some(match record.state {
        SessionState::Connected => {
            let who = crate::session::as_whom(record);
            format!("🟢 WhatsApp connected{who}.")
        }
        SessionState::Disconnected => {
            format!("🟠 WhatsApp disconnected{why}; the gateway is reconnecting.")
        }
        SessionState::LoggedOut => format!(
            "🔴 WhatsApp logged out{why}. Type `qr` to pair again (or run `zapwoot instance \
             connect {name}`)."
        ),
        SessionState::Banned => format!("⛔ WhatsApp banned this number{why}."),
        _ => return None,
    })
}

async fn post_note(ctx: &Ctx<'_>, state: SessionState, text: &str) -> Result<(), Failure> {
    let now = ctx.now_ms();
    let quiet = ctx.rt.session_notes.lock().ok().is_some_and(|mut said| {
        let quiet = match state {
            SessionState::Connected => said.last == Some(SessionState::Connected),
            other => said
                .posted_ms
                .get(&other)
                .is_some_and(|at| now - at < NOTE_EVERY_MS),
        };
        if !quiet {
            said.last = Some(state);
            said.posted_ms.insert(state, now);
        }
        quiet
    });
    if quiet {
        return Ok(());
    }
    crate::integration::note(ctx, state.as_str(), text).await
}
