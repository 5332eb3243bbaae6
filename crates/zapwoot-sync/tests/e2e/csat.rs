//! CSAT answers: after Chatwoot's survey reaches WhatsApp, the customer's rating (a digit or
//! stars) is submitted to Chatwoot's CSAT once and still shown as a message; later ratings,
//! other text, or the option off are ordinary messages.

use std::time::Duration;

use super::support::*;

async fn surveyed(h: &Harness) -> u64 {
    h.customer_text(CUSTOMER, "obrigado pela ajuda");
    h.settle().await;
    let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
    h.chatwoot.csat_survey(conversation).unwrap();
    h.settle().await;
    let sent = h.sent_texts();
    assert!(
        sent.iter().any(|t| t.contains("/survey/responses/")),
        "the survey and its link reach WhatsApp: {sent:?}"
    );
    conversation
}

fn shown(h: &Harness, text: &str) -> usize {
    h.cw_messages()
        .iter()
        .filter(|m| m["message_type"] == 0 && m["content"] == text)
        .count()
}

matrix! {
    async fn a_rating_after_the_survey_lands_in_chatwoot_csat_once(h) {
        let conversation = surveyed(&h).await;
        h.customer_text(CUSTOMER, "talvez");
        h.settle().await;
        assert!(h.chatwoot.csat_responses().is_empty(), "not a rating");
        h.customer_text(CUSTOMER, "4");
        h.settle().await;
        assert_eq!(h.redeliver_gateway_webhooks().await, 0);
        h.settle().await;
        assert_eq!(h.chatwoot.csat_responses(), vec![(conversation, 4)]);
        assert_eq!(shown(&h, "4"), 1, "the answer is still a message in the conversation");
        // The survey is answered: a later digit is an ordinary message.
        h.customer_text(CUSTOMER, "5");
        h.settle().await;
        assert_eq!(h.chatwoot.csat_responses(), vec![(conversation, 4)]);
        assert_eq!(shown(&h, "5"), 1);
        h.assert_clean();
    }

    async fn a_rating_a_day_later_is_an_ordinary_message(h) {
        surveyed(&h).await;
        h.clock.advance(Duration::from_secs(24 * 3600));
        h.customer_text(CUSTOMER, "⭐⭐⭐⭐");
        h.settle().await;
        assert!(h.chatwoot.csat_responses().is_empty());
        assert_eq!(shown(&h, "⭐⭐⭐⭐"), 1);
        h.assert_clean();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stars_count_across_a_restart_and_a_failure_and_the_option_turns_it_off() {
    let mut h = harness(Db::sqlite(), zapwoot_gateway::GatewayKind::Gowa).await;
    let conversation = surveyed(&h).await;
    // The open survey is in the store: a restart keeps it; Chatwoot failing once is retried.
    h.restart_engine();
    h.chatwoot
        .faults()
        .fail(http::Method::PUT, "/public/api/v1/csat_survey", 500, 1);
    h.customer_text(CUSTOMER, "⭐️⭐️⭐️⭐️⭐️");
    h.settle().await;
    assert_eq!(h.chatwoot.csat_responses(), vec![(conversation, 5)]);
    assert_eq!(
        shown(&h, "⭐️⭐️⭐️⭐️⭐️"),
        1,
        "the retry did not show the answer twice"
    );

    let mut options = zapwoot_sync::InstanceOptions::default();
    options.csat_capture = false;
    let h = harness_with(
        Db::sqlite(),
        zapwoot_gateway::GatewayKind::Wuzapi,
        options,
        zapwoot_fakes::FakeChatwootConfig::default(),
    )
    .await;
    surveyed(&h).await;
    h.customer_text(CUSTOMER, "4");
    h.settle().await;
    assert!(h.chatwoot.csat_responses().is_empty());
    assert_eq!(shown(&h, "4"), 1);
    h.assert_clean();
}
