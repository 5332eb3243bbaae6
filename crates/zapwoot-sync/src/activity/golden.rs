//! One golden payload per activity kind (`tests/golden/activities/<type>.json`): the documented
//! outbound webhook shapes, which typed payloads must reproduce exactly.

use serde_json::Value;

use super::*;
use crate::webhooks::payload;

const NOW: i64 = 1_796_295_600_000;

fn every_kind() -> Vec<Activity> {
    let chat = "5511999990001@s.whatsapp.net".to_owned();
    let alpha = |kind| Activity::new("alpha", kind).at(NOW);
    let nobody = |kind| Activity::new("", kind).at(NOW);
    vec![
        alpha(ActivityKind::MessageReceived(MessageReceived {
            wa_message_id: "3EB0A1".into(),
            chat: chat.clone(),
            chatwoot_conversation_id: 12,
            chatwoot_message_id: 345,
            from_me: false,
            kind: "text".into(),
        })),
        alpha(ActivityKind::MessageSent(MessageSent {
            chatwoot_message_id: 346,
            part: 0,
            wa_message_id: "3EB0B2".into(),
            chat,
        })),
        alpha(ActivityKind::MessageStatus(MessageStatusChange {
            wa_message_id: "3EB0B2".into(),
            status: "read".into(),
        })),
        alpha(ActivityKind::MessageDeleted(MessageDeleted {
            wa_message_id: "3EB0A1".into(),
            by: DeletedBy::Whatsapp,
        })),
        alpha(ActivityKind::MessageEdited(MessageEdited {
            target: "3EB0A1".into(),
            text: Some("fixed typo".into()),
        })),
        alpha(ActivityKind::Reaction(Reaction {
            target: "3EB0A1".into(),
            emoji: None,
            from_me: true,
        })),
        alpha(ActivityKind::ConversationStatus(ConversationStatus {
            chatwoot_conversation_id: 12,
            status: "resolved".into(),
        })),
        alpha(ActivityKind::InstanceStatus(InstanceStatus {
            state: "logged_out".into(),
            detail: "LoggedOut".into(),
        })),
        alpha(ActivityKind::DeliveryFailed(DeliveryFailed {
            chatwoot_message_id: 346,
            reason: "the number is not on WhatsApp".into(),
        })),
        alpha(ActivityKind::Reconciled(ReconciledPass {
            direction: "chatwoot_to_whatsapp".into(),
            scanned: 40,
            candidates: 2,
            recorded: 2,
        })),
        alpha(ActivityKind::Import(ImportProgress {
            job_id: 7,
            state: "running".into(),
            days: 30,
            chats_done: 3,
            chats_total: 10,
            messages_found: 120,
            messages_queued: 118,
            error: None,
        })),
        nobody(ActivityKind::EndpointTest(EndpointTest {
            subscription_id: 4,
            message: "a test event from zapwoot".into(),
        })),
        nobody(ActivityKind::EndpointDisabled(EndpointDisabled {
            subscription_id: 4,
            url: "https://***@crm.example/hook".into(),
            reason: "HTTP 500".into(),
            failing_since: Some("2026-11-30T11:00:00.000Z".into()),
        })),
    ]
}

#[test]
fn every_kind_has_its_golden_webhook_payload() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/activities");
    let kinds = every_kind();
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, kinds.len(), "one golden file per kind");
    for activity in kinds {
        let path = dir.join(format!("{}.json", activity.name()));
        let golden: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        let sent: Value = serde_json::from_str(&payload(&activity)).unwrap();
        assert_eq!(sent, golden, "{}", activity.name());
    }
}

#[test]
fn stream_records_carry_type_instance_time_and_data() {
    for activity in every_kind() {
        let record = serde_json::to_value(&activity).unwrap();
        assert_eq!(record["type"], activity.name());
        assert_eq!(record["instance"], activity.instance.as_str());
        assert_eq!(record["timestamp_ms"], NOW);
        let mut data = Value::Object(activity.data());
        assert_eq!(record["data"], data);
        // The webhook's data is the same object plus the instance name.
        let sent: Value = serde_json::from_str(&payload(&activity)).unwrap();
        if !activity.instance.is_empty() {
            data["instance"] = Value::from(activity.instance.clone());
        }
        assert_eq!(sent["data"], data);
    }
}
