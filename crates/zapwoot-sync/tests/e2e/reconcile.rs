//! Gap recovery: what upstreams never delivered is found and relayed once, in order, and a
//! late webhook afterwards changes nothing.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use zapwoot_sync::ReconcileDirection;

use super::support::*;

const OTHER: &str = "5511976543210@s.whatsapp.net";

/// Texts sent, without the agent signature (same as on the webhook path: the rebuilt
/// webhook names the agent too).
fn sent(h: &Harness) -> Vec<String> {
    h.sent_texts()
        .into_iter()
        .map(|t| {
            t.strip_prefix("*Admin Alice*:\n")
                .unwrap_or_else(|| panic!("unsigned: {t:?}"))
                .to_owned()
        })
        .collect()
}

matrix! {
    async fn agent_messages_written_while_the_bridge_was_down_are_sent_once_in_order(h) {
        h.customer_text(CUSTOMER, "oi");
        h.customer_text(OTHER, "olá");
        h.settle().await;
        let conversations: Vec<u64> = h.chatwoot.conversations().iter().map(|c| c["id"].as_u64().unwrap()).collect();
        assert_eq!(conversations.len(), 2);
        let mut activity = h.engine.activity().subscribe();

        // The bridge is down: Chatwoot's webhooks for 5 agent messages are lost for good.
        let mut written: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for i in 0..5 {
            let conversation = conversations[i % 2];
            let text = format!("resposta {i}");
            h.chatwoot.agent_reply(conversation, &text, Vec::new()).unwrap();
            written.entry(conversation).or_default().push(text);
        }
        h.chatwoot.agent_note(conversations[0], "nota interna").unwrap();
        h.drop_webhooks().await;
        h.settle().await;
        assert!(h.sent_texts().is_empty(), "nothing arrived");

        let since = SystemTime::now() - Duration::from_secs(3600);
        let report = h.engine.reconcile_chatwoot(h.instance_id, since).await.unwrap();
        assert_eq!(report.direction, ReconcileDirection::ChatwootToWhatsapp);
        assert_eq!((report.scanned, report.candidates, report.recorded), (2, 5, 5), "{report:?}");
        h.settle().await;
        let sent = sent(&h);
        assert_eq!(sent.len(), 5, "{sent:?}");
        for texts in written.values() {
            let order: Vec<&String> = sent.iter().filter(|s| texts.contains(s)).collect();
            assert_eq!(order, texts.iter().collect::<Vec<_>>(), "per conversation, in order");
        }
        let mut announced = false;
        while let Ok(a) = activity.try_recv() {
            if a.name() == "reconciled" {
                announced = true;
                assert_eq!(a.data()["recorded"], 5);
                assert_eq!(a.data()["direction"], "chatwoot_to_whatsapp");
            }
        }
        assert!(announced);

        // The lost webhooks show up late, twice: nothing more is sent.
        // Only the private note's webhook is new (the reconciler skips notes; the engine ignores
        // it): the agent messages' have the dedupe keys the reconciler used.
        assert_eq!(h.redeliver_chatwoot_webhooks().await, 1);
        assert_eq!(h.redeliver_chatwoot_webhooks().await, 0);
        h.settle().await;
        assert_eq!(h.sent_texts().len(), 5);
        // Reconciling again finds nothing new; the seen marks moved past the private note too.
        let again = h.engine.reconcile_chatwoot(h.instance_id, since).await.unwrap();
        assert_eq!((again.candidates, again.recorded), (0, 0), "{again:?}");
        h.assert_clean();
    }

    async fn a_webhook_that_did_arrive_is_not_reconciled_twice(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.chatwoot.agent_reply(conversation, "chegou", Vec::new()).unwrap();
        h.settle().await;
        h.chatwoot.agent_reply(conversation, "perdida", Vec::new()).unwrap();
        h.drop_webhooks().await;
        let report = h.engine.reconcile_chatwoot(h.instance_id, SystemTime::now()).await.unwrap();
        assert_eq!((report.candidates, report.recorded), (1, 1), "only what is newer than the last seen id: {report:?}");
        h.settle().await;
        assert_eq!(sent(&h), vec!["chegou", "perdida"]);
        h.assert_clean();
    }

    async fn whatsapp_messages_whose_webhooks_were_dropped_are_created_once_in_order(h) {
        h.customer_text(CUSTOMER, "primeira");
        h.settle().await;
        // The gateway gives up on 20 webhooks (bridge down, timeouts).
        let mut ids = Vec::new();
        for i in 0..20 {
            let chat = if i % 3 == 0 { OTHER } else { CUSTOMER };
            ids.push((chat, h.customer_text(chat, &format!("perdida {i}"))));
        }
        h.drop_webhooks().await;
        h.settle().await;
        assert_eq!(h.cw_messages().len(), 1);

        let since = SystemTime::now() - Duration::from_secs(3600);
        if h.kind == zapwoot_gateway::GatewayKind::Wuzapi {
            // An instance that keeps no history (wuzapi's default) is skipped, saying why.
            h.wuzapi().set_history(0);
            let off = h.engine.reconcile_gateway(h.instance_id, since).await.unwrap();
            assert!(off.skipped.as_deref().is_some_and(|why| why.contains("history = 0")), "{off:?}");
            assert_eq!((off.scanned, off.recorded), (0, 0));
            h.wuzapi().set_history(1000);
        }
        let report = h.engine.reconcile_gateway(h.instance_id, since).await.unwrap();
        assert_eq!(report.direction, ReconcileDirection::WhatsappToChatwoot);
        assert_eq!((report.scanned, report.candidates, report.recorded), (2, 21, 20), "{report:?}");
        h.settle().await;
        let contents: Vec<String> = h.cw_messages().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect();
        assert_eq!(contents.len(), 21, "{contents:?}");
        for chat in [CUSTOMER, OTHER] {
            let expected: Vec<String> = ids.iter().enumerate().filter(|(_, (c, _))| *c == chat).map(|(i, _)| format!("perdida {i}")).collect();
            let got: Vec<&String> = contents.iter().filter(|c| expected.contains(c)).collect();
            assert_eq!(got, expected.iter().collect::<Vec<_>>(), "{chat} in order");
        }
        // The dropped webhooks arrive late after all: duplicates, nothing more in Chatwoot.
        assert_eq!(h.redeliver_gateway_webhooks().await, 0);
        h.settle().await;
        assert_eq!(h.cw_messages().len(), 21);
        let again = h.engine.reconcile_gateway(h.instance_id, since).await.unwrap();
        assert_eq!(again.recorded, 0, "{again:?}");
        h.assert_clean();
    }
}
