//! The engine's worker loop (`Engine::run`, what the bridge runs): events flow through a window
//! of slots, so one slow event does not hold back the other chats.

use std::time::Duration;

use http::Method;
use zapwoot_fakes::FaultAction;

use super::support::*;

const OTHER: &str = "5511976543210@s.whatsapp.net";

fn contents(h: &Harness) -> Vec<String> {
    h.cw_messages()
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect()
}

matrix! {
    async fn a_slow_chat_does_not_hold_back_the_others(h) {
        h.customer_text(CUSTOMER, "a1");
        h.customer_text(OTHER, "b1");
        h.settle().await;
        let slow = h.store.mappings().conversation_for_chat(h.instance_id, CUSTOMER).await.unwrap().unwrap();
        let path = format!(
            "/api/v1/accounts/{}/conversations/{}/messages",
            h.chatwoot.account_id(),
            slow.conversation.chatwoot_conversation_id
        );
        // Chatwoot takes 3 s to create the next message of the first chat.
        h.chatwoot.faults().inject(Some(Method::POST), &path, FaultAction::Delay(Duration::from_secs(3)), Some(1));

        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(std::sync::Arc::clone(&h.engine).run(stopped));
        h.customer_text(CUSTOMER, "a2");
        h.webhooks_idle().await;
        h.pump().await;
        h.engine.notify();
        assert!(h.chatwoot.faults().wait_applied(1, Duration::from_secs(10)).await, "a2 never reached Chatwoot");
        let started = tokio::time::Instant::now();
        // The other chat's messages, one after another in their lane, each pass the slow one.
        for i in 2..=6 {
            let text = format!("b{i}");
            h.customer_text(OTHER, &text);
            h.webhooks_idle().await;
            h.pump().await;
            h.engine.notify();
            zapwoot_testkit::wait_until(
                started + Duration::from_secs(2),
                || format!("held back: {:?}", contents(&h)),
                || contents(&h).contains(&text),
            )
            .await;
        }
        assert!(!contents(&h).contains(&"a2".to_owned()), "a2 is still being created");
        zapwoot_testkit::wait_until(
            started + Duration::from_secs(10),
            || "a2 never created".to_owned(),
            || contents(&h).contains(&"a2".to_owned()),
        )
        .await;
        stop.send(true).unwrap();
        worker.await.unwrap();
        let got = contents(&h);
        assert_eq!(got.iter().filter(|c| c.starts_with('b')).cloned().collect::<Vec<_>>(), ["b1", "b2", "b3", "b4", "b5", "b6"], "in order");
        h.settle().await;
        h.assert_clean();
    }
}
