//! The commands agents type in Chatwoot, and their answers.

use zapwoot_chatwoot::NewMessage;
use zapwoot_store::{Effect, SessionState};

use super::{Place, RECONCILE_CONTENT_TYPE, RECONCILE_LANE, conversation, qr};
use crate::error::Failure;
use crate::pairing;
use crate::session::observation_event;
use crate::step::{Ctx, Outcome};

/// What the `help` command answers.
pub(crate) const HELP: &str = "Commands:\n\
    • `status`: the WhatsApp session\n\
    • `qr`: a QR code to pair the phone (posted again as it changes, up to 5 times)\n\
    • `pair +55 11 99999-0000`: a linking code to type on that phone instead\n\
    • `reconnect`: drop and re-open the connection (the pairing stays)\n\
    • `logout`: unlink the phone (only when the instance option chatwoot_logout_command is on)\n\
    • `reconcile [hours]`: look for messages whose webhooks never arrived (default 24 h)\n\
    • `help`: this list\n\
    In a customer's conversation, start with `/zapwoot ` (`/zapwoot status`): the answer is a \
    private note and nothing is sent to the customer.";

/// The prefix that makes a message in a customer's conversation a command.
pub(crate) const PREFIX: &str = "/zapwoot";

/// Most hours `reconcile` looks back.
const MAX_RECONCILE_HOURS: u32 = 24 * 30;

/// A command as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    Help,
    Status,
    Qr,
    /// The phone number as typed (maybe empty).
    Pair(String),
    Reconnect,
    Logout,
    /// The hours as typed, if any.
    Reconcile(Option<String>),
    /// Anything else, as typed.
    Unknown(String),
}

/// The command in a message: in the integration conversation any text, elsewhere only text
/// starting with `/zapwoot` (`None`: not a command).
pub(crate) fn command_of(text: &str, integration: bool) -> Option<Command> {
    let text = text.trim();
    let text = if integration {
        text.strip_prefix(PREFIX).unwrap_or(text)
    } else {
        let rest = text.strip_prefix(PREFIX)?;
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            return None;
        }
        rest
    };
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    Some(match word.trim_start_matches('/').to_lowercase().as_str() {
        "help" | "" if rest.is_empty() => Command::Help,
        "status" if rest.is_empty() => Command::Status,
        "qr" if rest.is_empty() => Command::Qr,
        "pair" => Command::Pair(rest.to_owned()),
        "reconnect" if rest.is_empty() => Command::Reconnect,
        "logout" if rest.is_empty() => Command::Logout,
        "reconcile" => Command::Reconcile((!rest.is_empty()).then(|| rest.to_owned())),
        _ => Command::Unknown(text.to_owned()),
    })
}

/// Runs `command`, typed at `place` by `agent`, and answers there.
pub(crate) async fn run(
    ctx: &mut Ctx<'_>,
    place: Place,
    command: Command,
    agent: &str,
) -> Result<Outcome, Failure> {
    let answer = match command {
        Command::Help => HELP.to_owned(),
        Command::Unknown(typed) => {
            format!("I don't know `{}`.\n\n{HELP}", shorten(&typed))
        }
        Command::Status => status_text(ctx).await?,
        Command::Qr => return qr::start(ctx, place).await,
        Command::Pair(phone) => return pair(ctx, place, &phone).await,
        Command::Reconnect => match ctx.rt.gateway.reconnect().await {
            Ok(()) => "🔄 Reconnecting to WhatsApp; the result is posted in zapwoot's \
                       conversation of this inbox."
                .to_owned(),
            Err(e) => gateway_failed("reconnect", &e),
        },
        Command::Logout => return logout(ctx, place, agent).await,
        Command::Reconcile(hours) => return reconcile(ctx, place, hours.as_deref()).await,
    };
    reply(ctx, place, "answer", &answer).await?;
    Ok(Outcome::Done(Vec::new()))
}

/// Answers at `place`, once (keyed by the event and `key`).
pub(crate) async fn reply(
    ctx: &Ctx<'_>,
    place: Place,
    key: &str,
    text: &str,
) -> Result<(), Failure> {
    conversation::post(ctx, place.conversation, key, NewMessage::outgoing(text)).await
}

/// Answers at `place` and is done.
pub(super) async fn answered(
    ctx: &Ctx<'_>,
    place: Place,
    key: &str,
    text: &str,
) -> Result<Outcome, Failure> {
    reply(ctx, place, key, text).await?;
    Ok(Outcome::Done(Vec::new()))
}

fn shorten(typed: &str) -> String {
    let mut short: String = typed.chars().take(40).collect();
    if short.len() < typed.len() {
        short.push('…');
    }
    short.replace('`', "'")
}

pub(super) fn gateway_failed(what: &str, e: &zapwoot_gateway::Error) -> String {
    format!("⚠️ The gateway could not {what}: {e}")
}

/// One line on the session, as recorded.
pub(crate) async fn status_text(ctx: &Ctx<'_>) -> Result<String, Failure> {
    let Some(record) = ctx.connection().await? else {
        return Ok("WhatsApp: no session seen yet. Type `qr` to pair the phone.".to_owned());
    };
    let since = crate::webhooks::rfc3339(record.since_ms);
    let why = crate::session::because(&record);
    Ok(match record.state {
        SessionState::Connected => {
            let who = crate::session::as_whom(&record);
            format!("🟢 WhatsApp: connected{who} since {since}.")
        }
        SessionState::Disconnected => {
            format!("🟠 WhatsApp: disconnected{why} since {since}; the gateway is reconnecting.")
        }
        SessionState::Pairing => {
            format!("🔵 WhatsApp: pairing since {since}. Type `qr` for the code to scan.")
        }
        SessionState::LoggedOut => {
            format!("🔴 WhatsApp: logged out{why} since {since}. Type `qr` to pair again.")
        }
        SessionState::Banned => format!("⛔ WhatsApp: banned{why} since {since}."),
        _ => "WhatsApp: the session's state is unknown.".to_owned(),
    })
}

/// The answer when the session is paired already.
pub(super) fn already_paired() -> &'static str {
    "🟢 The phone is paired already. To pair another one, log this one out first."
}

async fn pair(ctx: &mut Ctx<'_>, place: Place, phone: &str) -> Result<Outcome, Failure> {
    let digits = match pairing::phone_digits(phone) {
        Ok(digits) => digits,
        Err(e) => {
            return answered(
                ctx,
                place,
                "answer",
                &format!("Type `pair` and {e}: `pair +55 11 99999-0000`."),
            )
            .await;
        }
    };
    let current = ctx.connection().await?;
    if current
        .as_ref()
        .is_some_and(|c| c.state == SessionState::Connected)
    {
        return answered(ctx, place, "answer", already_paired()).await;
    }
    let code = match ctx.rt.gateway.pair_code(&digits).await {
        Ok(code) => code,
        Err(zapwoot_gateway::Error::AlreadyPaired) => {
            return answered(ctx, place, "answer", already_paired()).await;
        }
        Err(e) => {
            return answered(
                ctx,
                place,
                "answer",
                &gateway_failed("make a linking code", &e),
            )
            .await;
        }
    };
    ctx.rt.forget_qr();
    let text = format!(
        "🔑 Linking code for +{digits}: *{}*\nOn that phone: WhatsApp → Linked devices → Link a \
         device → Link with phone number instead, then type the code.",
        code.code
    );
    reply(ctx, place, "answer", &text).await?;
    let effects = pairing::pairing_started(ctx.rt.id, current.as_ref(), "linking code asked for")
        .map(|seen| Effect::Enqueue(observation_event(&seen, ctx.now_ms())))
        .into_iter()
        .collect();
    Ok(Outcome::Done(effects))
}

async fn logout(ctx: &mut Ctx<'_>, place: Place, agent: &str) -> Result<Outcome, Failure> {
    if !ctx.rt.options.chatwoot_logout_command {
        return answered(
            ctx,
            place,
            "answer",
            "⛔ `logout` is turned off for this instance: an administrator can turn on the \
             instance option chatwoot_logout_command, or log out with the admin API or the CLI.",
        )
        .await;
    }
    if let Err(e) = ctx.rt.gateway.logout().await {
        return answered(ctx, place, "answer", &gateway_failed("log out", &e)).await;
    }
    ctx.rt.forget_qr();
    reply(
        ctx,
        place,
        "answer",
        "🔴 Logged out of WhatsApp. Type `qr` to pair again.",
    )
    .await?;
    let seen = pairing::logged_out(ctx.rt.id, &format!("Chatwoot by {agent}"));
    Ok(Outcome::Done(vec![Effect::Enqueue(observation_event(
        &seen,
        ctx.now_ms(),
    ))]))
}

/// The body of a `reconcile` run.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct ReconcileRun {
    /// How far back to look.
    pub(crate) hours: u32,
    /// Where the report goes.
    pub(crate) place: Place,
}

async fn reconcile(
    ctx: &mut Ctx<'_>,
    place: Place,
    hours: Option<&str>,
) -> Result<Outcome, Failure> {
    let hours = match hours.map(str::parse::<u32>) {
        None => 24,
        Some(Ok(h)) if (1..=MAX_RECONCILE_HOURS).contains(&h) => h,
        Some(_) => {
            let text = format!(
                "Type `reconcile` and a number of hours from 1 to {MAX_RECONCILE_HOURS} \
                 (`reconcile 48`), or nothing for 24."
            );
            return answered(ctx, place, "answer", &text).await;
        }
    };
    let text =
        format!("🔎 Looking for messages of the last {hours} h whose webhooks never arrived…");
    reply(ctx, place, "answer", &text).await?;
    let body = serde_json::to_vec(&ReconcileRun { hours, place }).unwrap_or_default();
    let mut event = zapwoot_store::NewEvent::new(
        ctx.rt.id,
        zapwoot_store::Source::Gateway,
        format!("integration-reconcile:{}", ctx.event_id),
        RECONCILE_LANE,
        body,
    );
    event.kind = "integration.reconcile".to_owned();
    event.content_type = RECONCILE_CONTENT_TYPE.to_owned();
    Ok(Outcome::Done(vec![Effect::Enqueue(event)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_as_typed() {
        assert_eq!(command_of(" Status ", true), Some(Command::Status));
        assert_eq!(command_of("/zapwoot status", true), Some(Command::Status));
        assert_eq!(command_of("/zapwoot status", false), Some(Command::Status));
        assert_eq!(command_of("/zapwoot", false), Some(Command::Help));
        assert_eq!(
            command_of("status", false),
            None,
            "customers' chats need the prefix"
        );
        assert_eq!(command_of("/zapwootstatus", false), None);
        assert_eq!(
            command_of("pair +55 11 99999-0000", true),
            Some(Command::Pair("+55 11 99999-0000".into()))
        );
        assert_eq!(
            command_of("reconcile 48", true),
            Some(Command::Reconcile(Some("48".into())))
        );
        assert_eq!(command_of("QR", true), Some(Command::Qr));
        assert_eq!(
            command_of("qr please", true),
            Some(Command::Unknown("qr please".into()))
        );
        assert_eq!(
            command_of("bom dia", true),
            Some(Command::Unknown("bom dia".into()))
        );
    }

    #[test]
    fn unknown_input_is_shortened_and_quoted_safely() {
        assert_eq!(shorten("a`b"), "a'b");
        assert_eq!(shorten(&"x".repeat(50)).chars().count(), 41);
    }
}
