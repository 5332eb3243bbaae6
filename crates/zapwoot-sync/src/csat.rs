//! CSAT answers from WhatsApp. Chatwoot's CSAT survey reaches WhatsApp as a text with the
//! survey link; a customer who answers it with a rating (a digit 1–5, or 1–5 stars) within
//! [`CSAT_WINDOW_HOURS`] has the rating submitted to Chatwoot's public CSAT endpoint for that
//! conversation, so it lands in Chatwoot's CSAT reports (`csat_capture`). The answer is still
//! relayed as an ordinary message; anything else, or a rating after the window, is only that.

use zapwoot_chatwoot::webhook::WebhookMessage;
use zapwoot_store::{CSAT_WINDOW_HOURS, CsatSurvey, Effect};

use crate::error::Failure;
use crate::step::{Ctx, Outcome};

/// Where Chatwoot's survey link names the conversation (`{FRONTEND_URL}/survey/responses/{uuid}`).
const SURVEY_PATH: &str = "/survey/responses/";

/// The conversation UUID a survey message's link names.
fn survey_uuid(content: &str) -> Option<String> {
    let start = content.find(SURVEY_PATH)? + SURVEY_PATH.len();
    let uuid: String = content
        .get(start..)?
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    (uuid.len() >= 32).then_some(uuid)
}

/// The rating a customer's text gives: `1`–`5` alone, or one to five stars alone.
fn rating(text: &str) -> Option<u8> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u8>() {
        return (1..=5).contains(&n).then_some(n);
    }
    let stars = text
        .chars()
        .filter(|c| !matches!(c, '\u{fe0f}' | ' '))
        .try_fold(0u8, |n, c| matches!(c, '⭐' | '🌟').then_some(n + 1))?;
    (1..=5).contains(&stars).then_some(stars)
}

/// After a survey went to WhatsApp: the effect that keeps it open for a rating.
pub(crate) fn survey_sent(ctx: &Ctx<'_>, m: &WebhookMessage) -> Option<Effect> {
    if !ctx.rt.options.csat_capture || m.content_type.as_deref() != Some("input_csat") {
        return None;
    }
    let uuid = m.content.as_deref().and_then(survey_uuid)?;
    let conversation = m.conversation_id()?;
    Some(Effect::CsatSurvey {
        instance_id: ctx.rt.id,
        chatwoot_conversation_id: i64::try_from(conversation).unwrap_or(i64::MAX),
        survey: Some(CsatSurvey::new(uuid, ctx.now_ms())),
    })
}

/// A customer's message in `chat`: when it rates the open survey, the rating is submitted
/// and the survey closed (in the same transaction that finishes the message).
pub(crate) async fn capture(
    ctx: &Ctx<'_>,
    chat: &str,
    text: Option<&str>,
) -> Result<Vec<Effect>, Failure> {
    let Some(stars) = text.and_then(rating) else {
        return Ok(Vec::new());
    };
    if !ctx.rt.options.csat_capture {
        return Ok(Vec::new());
    }
    let Some(mapped) = ctx.conversation_for_chat(chat).await? else {
        return Ok(Vec::new());
    };
    let Some(survey) = &mapped.csat_survey else {
        return Ok(Vec::new());
    };
    let window = i64::try_from(CSAT_WINDOW_HOURS * 3600 * 1000).unwrap_or(i64::MAX);
    let close = Effect::CsatSurvey {
        instance_id: ctx.rt.id,
        chatwoot_conversation_id: mapped.conversation.chatwoot_conversation_id,
        survey: None,
    };
    if ctx.now_ms().saturating_sub(survey.sent_at_ms) > window {
        return Ok(vec![close]);
    }
    match ctx
        .chatwoot()
        .await
        .submit_csat(&survey.conversation_uuid, stars)
        .await
    {
        Ok(()) => Ok(vec![close]),
        // Too late for Chatwoot, or the survey is gone: an ordinary message after all.
        Err(zapwoot_chatwoot::Error::Status { status, .. }) if (400..500).contains(&status) => {
            tracing::info!(status, "Chatwoot did not take the CSAT rating");
            Ok(vec![close])
        }
        Err(e) => Err(e.into()),
    }
}

/// Adds the CSAT capture of a relayed customer message to its outcome.
pub(crate) async fn after_message(
    ctx: &Ctx<'_>,
    message: &zapwoot_gateway::Message,
    outcome: Outcome,
) -> Result<Outcome, Failure> {
    let Outcome::Done(mut effects) = outcome else {
        return Ok(outcome);
    };
    if !message.origin.from_me
        && !message.origin.is_group
        && let Some(chat) = &message.origin.chat
    {
        effects.extend(capture(ctx, &chat.to_string(), message.content.text()).await?);
    }
    Ok(Outcome::Done(effects))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_digits_or_stars() {
        for (text, want) in [
            ("4", Some(4)),
            (" 5 ", Some(5)),
            ("1", Some(1)),
            ("⭐⭐⭐", Some(3)),
            ("⭐️⭐️⭐️⭐️⭐️", Some(5)),
            ("🌟🌟", Some(2)),
            ("0", None),
            ("6", None),
            ("10", None),
            ("4 estrelas", None),
            ("obrigado", None),
            ("⭐⭐⭐⭐⭐⭐", None),
            ("", None),
        ] {
            assert_eq!(rating(text), want, "{text:?}");
        }
    }

    #[test]
    fn the_survey_link_names_the_conversation() {
        let content = "Please rate the conversation\nhttps://chat.example.com/survey/responses/9f1c2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f";
        assert_eq!(
            survey_uuid(content).as_deref(),
            Some("9f1c2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f")
        );
        assert_eq!(survey_uuid("no link here"), None);
    }
}
