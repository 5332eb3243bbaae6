use http::Method;
use zapwoot_fakes::FaultAction;

use super::support::*;

matrix! {
    async fn chatwoot_errors_are_retried_without_duplicates(h) {
        h.chatwoot.faults().fail(Method::POST, "/api/v1/accounts/1/conversations", 503, 1);
        h.chatwoot.faults().fail(Method::POST, "/api/v1/accounts/1/contacts", 429, 1);
        h.customer_text(CUSTOMER, "um");
        h.settle().await;
        assert_eq!(h.cw_messages().len(), 1);
        h.chatwoot.faults().set_down(true);
        h.customer_text(CUSTOMER, "dois");
        h.deliver().await;
        h.engine.drain().await;
        h.chatwoot.faults().set_down(false);
        h.settle().await;
        let contents: Vec<String> = h.cw_messages().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect();
        assert_eq!(contents, vec!["um", "dois"]);
        assert_eq!(h.chatwoot.contacts().len(), 1);
        assert_eq!(h.chatwoot.conversations().len(), 1);
        h.assert_clean();
    }

    async fn a_gateway_that_stays_down_marks_the_agent_message_failed(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.stop_gateway();
        let reply = h.chatwoot.agent_reply(conversation, "não chega", Vec::new()).unwrap();
        h.settle().await;
        let stored = h.chatwoot.messages(conversation).into_iter().find(|m| m["id"] == reply).unwrap();
        assert_eq!(stored["status"], "failed");
        assert!(stored["content_attributes"]["external_error"].as_str().unwrap().contains("could not deliver"), "{stored}");
        let dead = h.store.events().count_by_status(None).await.unwrap()[&zapwoot_store::EventStatus::Dead];
        assert_eq!(dead, 1, "dead-lettered, visible and replayable");
        h.assert_clean();
    }

    async fn a_logged_out_session_gives_a_human_reason(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.set_gateway_logged_in(false);
        let reply = h.chatwoot.agent_reply(conversation, "olá", Vec::new()).unwrap();
        h.settle().await;
        let stored = h.chatwoot.messages(conversation).into_iter().find(|m| m["id"] == reply).unwrap();
        assert_eq!(stored["status"], "failed");
        assert_eq!(stored["content_attributes"]["external_error"], "gateway logged out: the WhatsApp session must be reconnected");
        h.assert_clean();
    }

    async fn gateway_5xx_is_retried_and_sent_once(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.gateway_faults().fail(Method::POST, h.text_endpoint(), 500, 2);
        h.gateway_faults().inject(Some(Method::POST), h.text_endpoint(), FaultAction::Delay(std::time::Duration::from_millis(5)), Some(1));
        h.chatwoot.agent_reply(conversation, "chega sim", Vec::new()).unwrap();
        h.settle().await;
        assert_eq!(h.sent_texts().len(), 1);
        h.assert_clean();
    }
}
