//! One golden payload per activity kind (`tests/golden/activities/<type>.json`): the documented
//! outbound webhook shapes, which typed payloads must reproduce exactly.

use serde_json::Value;

use super::*;
use crate::webhooks::payload;

const NOW: i64 = 1_796_295_600_000;

fn media() -> MediaInfo {
    let mut media = MediaInfo::new("image/jpeg");
    media.file_name = Some("photo.jpg".into());
    media.size = Some(2048);
    media.sha256 = Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into());
    media.url = Some("https://chatwoot.example/rails/active_storage/blobs/photo.jpg".into());
    media
}

fn every_kind() -> Vec<Activity> {
    let chat = "5511999990001@s.whatsapp.net".to_owned();
    let alpha = |kind| Activity::new("alpha", kind).at(NOW);
    let nobody = |kind| Activity::new("", kind).at(NOW);
    vec![
        alpha(ActivityKind::MessageReceived(Box::new(MessageReceived {
            wa_message_id: "3EB0A1".into(),
            chat: chat.clone(),
            chatwoot_conversation_id: 12,
            chatwoot_message_id: 345,
            from_me: false,
            kind: "image".into(),
            text: Some("the *order*".into()),
            sender: MessageSender {
                jid: Some(chat.clone()),
                phone: Some("5511999990001".into()),
                lid: Some("123456789@lid".into()),
                name: Some("Maria".into()),
            },
            chat_type: ChatType::Direct,
            group: None,
            timestamp: Some("2026-12-03T10:59:58Z".into()),
            reply_to: Some(QuotedMessage {
                wa_message_id: "3EB0B1".into(),
                chatwoot_message_id: Some(344),
            }),
            media: Some(media()),
            location: None,
            contacts: None,
            poll: None,
        }))),
        alpha(ActivityKind::MessageSent(MessageSent {
            chatwoot_message_id: Some(346),
            part: 0,
            wa_message_id: "3EB0B2".into(),
            chat: chat.clone(),
            chatwoot_conversation_id: Some(12),
            text: Some("*Alice*:\nhere it is".into()),
            media: Some(media()),
            via: SentVia::Chatwoot,
            agent: Some(AgentInfo {
                id: 1,
                name: Some("Alice".into()),
                kind: AgentKind::User,
            }),
            api_message_id: None,
            idempotency_key: None,
        })),
        alpha(ActivityKind::MessageStatus(MessageStatusChange {
            wa_message_id: "3EB0B2".into(),
            status: "read".into(),
            chat: Some(chat.clone()),
            chatwoot_conversation_id: Some(12),
            chatwoot_message_id: Some(346),
        })),
        alpha(ActivityKind::MessageDeleted(MessageDeleted {
            wa_message_id: "3EB0A1".into(),
            by: DeletedBy::Whatsapp,
            chat: Some(chat.clone()),
            chatwoot_conversation_id: Some(12),
            chatwoot_message_id: Some(345),
        })),
        alpha(ActivityKind::MessageEdited(MessageEdited {
            target: "3EB0A1".into(),
            text: Some("fixed typo".into()),
            chat: Some(chat.clone()),
            chatwoot_conversation_id: Some(12),
            chatwoot_message_id: Some(345),
        })),
        alpha(ActivityKind::Reaction(Reaction {
            target: "3EB0A1".into(),
            emoji: None,
            from_me: true,
            chat: Some(chat),
            chatwoot_conversation_id: Some(12),
            chatwoot_message_id: Some(345),
        })),
        alpha(ActivityKind::ConversationStatus(ConversationStatus {
            chatwoot_conversation_id: 12,
            status: "resolved".into(),
        })),
        alpha(ActivityKind::GroupParticipants(GroupParticipantsChange {
            chat: "120363025246125486@g.us".into(),
            action: "join".into(),
            participants: vec!["5521999998888@s.whatsapp.net".into()],
            by: Some("5511900000000@s.whatsapp.net".into()),
            chatwoot_conversation_id: 12,
        })),
        alpha(ActivityKind::InstanceStatus(InstanceStatus {
            state: "logged_out".into(),
            detail: "LoggedOut".into(),
            jid: Some("5511900000000@s.whatsapp.net".into()),
            phone: Some("5511900000000".into()),
            push_name: Some("Loja Alpha".into()),
            reason: Some("reason code 401".into()),
            since: "2026-12-03T10:59:50.000Z".into(),
        })),
        alpha(ActivityKind::DeliveryFailed(DeliveryFailed {
            chatwoot_message_id: Some(346),
            reason: "the number is not on WhatsApp".into(),
            chat: Some("5511987654321@s.whatsapp.net".into()),
            chatwoot_conversation_id: Some(12),
            via: SentVia::Chatwoot,
            api_message_id: None,
            idempotency_key: None,
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

/// Activity types that did not exist when `v1` was published.
const ADDED_AFTER_V1: &[&str] = &["group.participants"];

/// The shapes first published (`tests/golden/activities/v1`): every field they had is still
/// there with the same value — fields are added, never renamed or removed.
#[test]
fn first_published_shapes_stay_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/activities/v1");
    for activity in every_kind() {
        if ADDED_AFTER_V1.contains(&activity.name()) {
            continue;
        }
        let path = dir.join(format!("{}.json", activity.name()));
        let old: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        let sent: Value = serde_json::from_str(&payload(&activity)).unwrap();
        for (key, value) in old["data"].as_object().unwrap() {
            let now = &sent["data"][key];
            assert!(
                !now.is_null() || value.is_null(),
                "{}: {key} is gone",
                activity.name()
            );
            // Values that the richer example changes (the kind) only need to keep their type.
            assert_eq!(
                std::mem::discriminant(now),
                std::mem::discriminant(value),
                "{}: {key} changed type",
                activity.name()
            );
        }
        assert_eq!(sent["type"], old["type"]);
    }
}

#[test]
fn every_kind_has_its_golden_webhook_payload() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/activities");
    let kinds = every_kind();
    let count = kinds.len();
    for activity in kinds {
        let path = dir.join(format!("{}.json", activity.name()));
        if std::env::var_os("ZAPWOOT_BLESS_GOLDEN").is_some() {
            let sent: Value = serde_json::from_str(&payload(&activity)).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(&sent).unwrap() + "\n").unwrap();
        }
        let golden: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        let sent: Value = serde_json::from_str(&payload(&activity)).unwrap();
        assert_eq!(sent, golden, "{}", activity.name());
    }
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(files, count, "one golden file per kind");
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

#[test]
fn every_kind_has_a_schema_and_matches_it() {
    let kinds = every_kind();
    let mut names: Vec<String> = kinds.iter().map(|a| a.name().to_owned()).collect();
    names.sort();
    assert_eq!(zapwoot_testkit::events::documented_types(), names);
    for activity in kinds {
        let sent: Value = serde_json::from_str(&payload(&activity)).unwrap();
        zapwoot_testkit::events::assert_valid_webhook_body(&sent);
    }
}
