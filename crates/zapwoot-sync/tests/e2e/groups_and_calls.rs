//! Group membership changes as activity lines and `group.participants`, group subjects as the
//! contact's name, and incoming calls as missed-call lines (declined, with a reply, when the
//! instance says so) — each once, also when the webhook comes twice.

use serde_json::Value;
use zapwoot_gateway::GatewayKind;

use super::support::*;

const GROUP: &str = "120363025246125486@g.us";
const ANA: &str = "5511911112222@s.whatsapp.net";
const JOAO: &str = "5521999998888@s.whatsapp.net";
const ADMIN: &str = "5511933334444@s.whatsapp.net";

fn notes_in(h: &Harness, conversation: u64) -> Vec<String> {
    h.cw_messages()
        .into_iter()
        .filter(|m| m["conversation_id"] == conversation && m["private"] == true)
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

matrix! {
    async fn group_membership_changes_are_activity_lines_once(h) {
        h.group_text(GROUP, ANA, "Ana", "bom dia");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.group_change(GROUP, ADMIN, "join", &[JOAO]);
        h.settle().await;
        assert!(h.redeliver_gateway_webhooks().await == 0, "a repeated webhook is a duplicate");
        h.settle().await;
        h.group_change(GROUP, ADMIN, "promote", &[JOAO]);
        h.group_change(GROUP, ADMIN, "leave", &[ANA]);
        h.settle().await;
        let notes = notes_in(&h, conversation);
        let expected: Vec<&str> = match h.kind {
            GatewayKind::Wuzapi => vec![
                "👥 +5511933334444 added +5521999998888",
                "👥 +5511933334444 made +5521999998888 an admin",
                "👥 +5511933334444 removed +5511911112222",
            ],
            _ => vec![
                "👥 +5521999998888 joined the group",
                "👥 +5521999998888 is now an admin",
                "👥 +5511911112222 left the group",
            ],
        };
        assert_eq!(notes, expected);
        let events = h.emitted("group.participants");
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["join", "promote", "leave"]);
        assert_eq!(events[0]["participants"], serde_json::json!([JOAO]));
        assert_eq!(events[0]["chatwoot_conversation_id"], conversation);
        match h.kind {
            GatewayKind::Wuzapi => assert_eq!(events[0]["by"], ADMIN),
            _ => assert!(events[0]["by"].is_null()),
        }
        assert!(h.sent_endpoints().is_empty(), "nothing goes to WhatsApp");
        h.assert_clean();
    }

    async fn a_call_is_one_missed_call_line(h) {
        let call = h.customer_call(true);
        h.settle().await;
        assert!(h.redeliver_gateway_webhooks().await == 0);
        h.settle().await;
        let lines: Vec<Value> = h
            .cw_messages()
            .into_iter()
            .filter(|m| m["source_id"] == format!("ZAPWOOT:call:{call}"))
            .collect();
        assert_eq!(lines.len(), 1, "{:?}", h.cw_messages());
        assert_eq!(lines[0]["message_type"], 0, "the customer's, so the conversation shows unread");
        let expected = match h.kind {
            GatewayKind::Wuzapi => "📹 Missed video call",
            _ => "📞 Missed call",
        };
        assert_eq!(lines[0]["content"], expected);
        assert!(h.rejected_calls().is_empty(), "reject_calls is off by default");
        assert!(h.sent_endpoints().is_empty());
        h.assert_clean();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_subject_renames_its_contact() {
    for db in [Db::sqlite(), Db::postgres()] {
        let h = harness(db, GatewayKind::Wuzapi).await;
        h.group_text(GROUP, ANA, "Ana", "bom dia");
        h.settle().await;
        h.group_change(GROUP, ADMIN, "name", &["Família Silva"]);
        h.settle().await;
        let group = h
            .chatwoot
            .contacts()
            .into_iter()
            .find(|c| c["identifier"] == GROUP || c["contact_inboxes"][0]["source_id"] == GROUP)
            .unwrap();
        assert_eq!(group["name"], "Família Silva");
        h.assert_clean();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_reject_calls_the_call_is_declined_and_answered_once() {
    for kind in [GatewayKind::Wuzapi, GatewayKind::Gowa] {
        let mut options = zapwoot_sync::InstanceOptions::default();
        options.reject_calls = true;
        options.call_reply = Some("Não atendemos ligações por aqui — escreva, por favor.".into());
        let h = harness_with(
            Db::sqlite(),
            kind,
            options,
            zapwoot_fakes::FakeChatwootConfig::default(),
        )
        .await;
        let call = h.customer_call(false);
        h.settle().await;
        assert_eq!(h.redeliver_gateway_webhooks().await, 0);
        h.settle().await;
        assert_eq!(
            h.rejected_calls(),
            vec![(CUSTOMER.to_owned(), call.clone())],
            "{kind:?}"
        );
        assert_eq!(
            h.sent_texts(),
            vec!["Não atendemos ligações por aqui — escreva, por favor."],
            "the reply, once"
        );
        let messages = h.cw_messages();
        assert!(
            messages
                .iter()
                .any(|m| m["source_id"] == format!("ZAPWOOT:call:{call}")
                    && m["content"]
                        .as_str()
                        .unwrap()
                        .ends_with("(declined automatically)")),
            "{messages:?}"
        );
        let replies: Vec<&Value> = messages.iter().filter(|m| m["message_type"] == 1).collect();
        assert_eq!(
            replies.len(),
            1,
            "the reply shows in Chatwoot once: {messages:?}"
        );
        h.assert_clean();
    }
}
