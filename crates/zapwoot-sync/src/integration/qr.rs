//! The `qr` command: the QR code posted as an image, and posted again when it rotates (a
//! follow-up event every [`EVERY`], in its own lane), at most [`MAX_POSTS`] times per
//! request; it stops at once when the phone is paired, and a newer request takes over.
//!
//! Which request is current is kept on the runtime; after a restart (or on another replica)
//! a chain carries on from what its event says, within the same limits.

use std::sync::PoisonError;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zapwoot_chatwoot::{NewMessage, Upload};
use zapwoot_store::{Effect, NewEvent, SessionState, Source};

use super::commands::{already_paired, answered, gateway_failed};
use super::{Place, QR_CONTENT_TYPE, QR_LANE, conversation};
use crate::error::Failure;
use crate::pairing::{self, ShownQr};
use crate::session::observation_event;
use crate::step::{Ctx, Outcome};

/// How often the code is looked at again (WhatsApp rotates it every 20 s).
pub(crate) const EVERY: Duration = Duration::from_secs(20);

/// Most QR codes posted per request.
pub(crate) const MAX_POSTS: u32 = 5;

/// Most looks per request (a code that stops rotating is not watched forever).
const MAX_CHECKS: u32 = 10;

/// The body of a follow-up.
#[derive(Debug, Serialize, Deserialize)]
struct FollowUp {
    /// The `qr` command's event.
    request: i64,
    place: Place,
    /// Codes posted so far.
    posted: u32,
    /// Looks so far.
    checks: u32,
    /// A hash of the last code posted.
    last: u64,
}

/// Runs the `qr` command typed at `place`.
pub(super) async fn start(ctx: &mut Ctx<'_>, place: Place) -> Result<Outcome, Failure> {
    let current = ctx.connection().await?;
    if current
        .as_ref()
        .is_some_and(|c| c.state == SessionState::Connected)
    {
        return answered(ctx, place, "answer", already_paired()).await;
    }
    let shown = match ctx.rt.login_qr(ctx.now_ms()).await {
        Ok(shown) => shown,
        Err(zapwoot_gateway::Error::AlreadyPaired) => {
            return answered(ctx, place, "answer", already_paired()).await;
        }
        Err(e) => {
            return answered(ctx, place, "answer", &gateway_failed("make a QR code", &e)).await;
        }
    };
    post_code(ctx, place, &shown, 1).await?;
    *ctx.rt
        .qr_watch
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(ctx.event_id);
    let mut effects = vec![Effect::Enqueue(follow_up_event(
        ctx,
        &FollowUp {
            request: ctx.event_id,
            place,
            posted: 1,
            checks: 0,
            last: crate::ingest::fnv1a(&shown.qr.png),
        },
    ))];
    if let Some(seen) = pairing::pairing_started(ctx.rt.id, current.as_ref(), "QR code asked for") {
        effects.push(Effect::Enqueue(observation_event(&seen, ctx.now_ms())));
    }
    Ok(Outcome::Done(effects))
}

/// Looks at the code again: posts it when it changed, stops when paired, superseded or
/// done.
pub(super) async fn follow_up(ctx: &mut Ctx<'_>, body: &[u8]) -> Result<Outcome, Failure> {
    let f: FollowUp = serde_json::from_slice(body)
        .map_err(|e| Failure::permanent(format!("unreadable QR follow-up: {e}")))?;
    let current = *ctx
        .rt
        .qr_watch
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if current.is_some_and(|r| r != f.request) {
        return Ok(Outcome::Ignored("a newer `qr` request took over".into()));
    }
    let record = ctx.connection().await?;
    if record.is_some_and(|r| r.state == SessionState::Connected) {
        stop_watching(ctx, f.request);
        return Ok(Outcome::Ignored("the phone is paired".into()));
    }
    if f.posted >= MAX_POSTS || f.checks >= MAX_CHECKS {
        stop_watching(ctx, f.request);
        let text = format!(
            "⏹ {} QR codes posted and none was scanned, so I stopped. Type `qr` for a new one.",
            f.posted
        );
        return answered(ctx, f.place, "stopped", &text).await;
    }
    let shown = match ctx.rt.login_qr(ctx.now_ms()).await {
        Ok(shown) => shown,
        Err(zapwoot_gateway::Error::AlreadyPaired) => {
            stop_watching(ctx, f.request);
            return Ok(Outcome::Ignored("the phone is paired".into()));
        }
        Err(e) => {
            stop_watching(ctx, f.request);
            let text = format!(
                "{} Type `qr` to try again.",
                gateway_failed("make the next QR code", &e)
            );
            return answered(ctx, f.place, "stopped", &text).await;
        }
    };
    let hash = crate::ingest::fnv1a(&shown.qr.png);
    let mut next = FollowUp {
        checks: f.checks + 1,
        ..f
    };
    if hash != f.last {
        next.posted += 1;
        next.last = hash;
        post_code(ctx, f.place, &shown, next.posted).await?;
    }
    Ok(Outcome::Done(vec![Effect::Enqueue(follow_up_event(
        ctx, &next,
    ))]))
}

fn stop_watching(ctx: &Ctx<'_>, request: i64) {
    let mut watch = ctx
        .rt
        .qr_watch
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if *watch == Some(request) {
        *watch = None;
    }
}

/// Posts the code as an image, with how to scan it.
async fn post_code(ctx: &Ctx<'_>, place: Place, shown: &ShownQr, n: u32) -> Result<(), Failure> {
    let text = format!(
        "📱 Scan with the phone of instance {}: WhatsApp → Linked devices → Link a device. \
         ({n}/{MAX_POSTS}: a new code is posted here when this one changes, every {} s at \
         most; or type `pair <phone>` for a linking code.)",
        ctx.rt.name,
        EVERY.as_secs()
    );
    let note = NewMessage::outgoing(text).attach(Upload::new(
        format!("zapwoot-{}-qr-{n}.png", ctx.rt.name),
        "image/png",
        shown.qr.png.clone(),
    ));
    conversation::post(ctx, place.conversation, &format!("qr-{n}"), note).await
}

fn follow_up_event(ctx: &Ctx<'_>, f: &FollowUp) -> NewEvent {
    let mut event = NewEvent::new(
        ctx.rt.id,
        Source::Gateway,
        format!("integration-qr:{}:{}", f.request, f.checks),
        QR_LANE,
        serde_json::to_vec(f).unwrap_or_default(),
    );
    event.kind = "integration.qr".to_owned();
    event.content_type = QR_CONTENT_TYPE.to_owned();
    let every = i64::try_from(EVERY.as_millis()).unwrap_or(i64::MAX / 2);
    event.not_before_ms = Some(ctx.now_ms() + every);
    event
}
