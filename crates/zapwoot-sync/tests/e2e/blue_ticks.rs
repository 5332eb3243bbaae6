//! `mark_read_on_reply`: an agent's answer marks the customer's unread messages in that chat
//! read on WhatsApp, once each; what was read on the phone is not marked again; groups and
//! the option turned off mark nothing.

use super::support::*;

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

matrix! {
    async fn an_agent_reply_marks_the_customers_messages_read_once(h) {
        let first = h.customer_text(CUSTOMER, "oi");
        let second = h.customer_text(CUSTOMER, "tem alguém?");
        h.settle().await;
        assert!(h.read_marks().is_empty(), "nothing is marked before an agent answers");
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.chatwoot.agent_reply(conversation, "olá!", Vec::new()).unwrap();
        h.settle().await;
        assert_eq!(sorted(h.read_marks()), sorted(vec![first.clone(), second.clone()]));

        h.chatwoot.agent_reply(conversation, "posso ajudar?", Vec::new()).unwrap();
        h.settle().await;
        assert_eq!(h.read_marks().len(), 2, "a second answer marks nothing new");

        let third = h.customer_text(CUSTOMER, "sim");
        let fourth = h.customer_text(CUSTOMER, "meu pedido");
        h.settle().await;
        h.read_on_phone(&[third.as_str()]);
        h.settle().await;
        h.chatwoot.agent_reply(conversation, "qual o número?", Vec::new()).unwrap();
        h.settle().await;
        let marks = h.read_marks();
        assert_eq!(marks.len(), 3, "{marks:?}");
        assert_eq!(marks[2], fourth, "read on the phone is not marked again");
        h.assert_clean();
    }

    async fn groups_are_not_marked(h) {
        h.group_text("120363025246125486@g.us", "5511911112222@s.whatsapp.net", "Ana", "bom dia");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.chatwoot.agent_reply(conversation, "bom dia, Ana", Vec::new()).unwrap();
        h.settle().await;
        assert_eq!(h.sent_texts().len(), 1, "the answer went out");
        assert!(h.read_marks().is_empty());
        h.assert_clean();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_marked_with_the_option_off() {
    for kind in [
        zapwoot_gateway::GatewayKind::Wuzapi,
        zapwoot_gateway::GatewayKind::Gowa,
    ] {
        let mut options = zapwoot_sync::InstanceOptions::default();
        options.mark_read_on_reply = false;
        let h = harness_with(
            Db::sqlite(),
            kind,
            options,
            zapwoot_fakes::FakeChatwootConfig::default(),
        )
        .await;
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.chatwoot
            .agent_reply(conversation, "olá!", Vec::new())
            .unwrap();
        h.settle().await;
        assert_eq!(h.sent_texts().len(), 1);
        assert!(h.read_marks().is_empty(), "{kind:?}");
        h.assert_clean();
    }
}
