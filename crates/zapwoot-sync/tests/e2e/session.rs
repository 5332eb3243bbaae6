//! Session state, the activity bus, avatars, and gateway-side duplicates and reordering.

use serde_json::{Map, json};
use zapwoot_fakes::{FakeChatwootConfig, WebhookOrder};
use zapwoot_gateway::{ConnectionState, GatewayKind};
use zapwoot_sync::InstanceOptions;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_posts_one_private_note_and_exposes_the_state() {
    let h = harness(Db::sqlite(), GatewayKind::Wuzapi).await;
    let mut activity = h.engine.activity().subscribe();
    h.wuzapi().emit(
        "LoggedOut",
        json!({ "OnConnect": false, "Reason": 401 }),
        Map::new(),
    );
    h.settle().await;
    h.wuzapi().emit(
        "LoggedOut",
        json!({ "OnConnect": false, "Reason": 401 }),
        Map::new(),
    );
    h.settle().await;
    let notes: Vec<_> = h
        .cw_messages()
        .into_iter()
        .filter(|m| m["private"] == true)
        .collect();
    assert_eq!(notes.len(), 1, "throttled: one note for two reports");
    assert!(notes[0]["content"].as_str().unwrap().contains("logged out"));
    let runtime = h.engine.runtime(h.instance_id).unwrap();
    assert_eq!(runtime.connection_state(), Some(ConnectionState::LoggedOut));
    let first = activity.try_recv().unwrap();
    assert_eq!(first.name(), "instance.status");
    assert_eq!(first.data()["state"], "logged_out");
    assert!(h.sent_endpoints().is_empty());
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_effect_is_published_on_the_activity_bus() {
    let h = harness(Db::sqlite(), GatewayKind::Gowa).await;
    let mut activity = h.engine.activity().subscribe();
    h.customer_text(CUSTOMER, "oi");
    h.settle().await;
    let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
    h.chatwoot
        .agent_reply(conversation, "olá", Vec::new())
        .unwrap();
    h.settle().await;
    let wa = h.sent_ids()[0].clone();
    h.customer_read(&[&wa]);
    h.settle().await;
    let mut kinds = Vec::new();
    while let Ok(a) = activity.try_recv() {
        assert_eq!(a.instance, "alpha");
        kinds.push(a.name());
    }
    assert_eq!(
        kinds,
        vec!["message.received", "message.sent", "message.status"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn avatars_sync_in_the_background() {
    let h = harness(Db::sqlite(), GatewayKind::Wuzapi).await;
    h.wuzapi()
        .set_avatar(CUSTOMER, "https://pps.whatsapp.net/v/t61/maria.jpg");
    h.customer_text(CUSTOMER, "oi");
    // The avatar sync runs in the engine's task set, so settling (which drains) waits for it.
    h.settle().await;
    let updated = h.chatwoot.requests().iter().any(|r| {
        r.request.method == http::Method::PUT
            && String::from_utf8_lossy(&r.request.body).contains("maria.jpg")
    });
    assert!(updated, "the avatar was set before the engine went idle");
    h.assert_clean();
}

async fn gateway_duplicates_and_reorders(kind: GatewayKind, db: Db, order: WebhookOrder) {
    let tweaks = GatewayTweaks {
        order,
        duplicate_every: Some(1),
    };
    let h = harness_tweaked(
        db,
        kind,
        InstanceOptions::default(),
        FakeChatwootConfig::default(),
        tweaks,
    )
    .await;
    let mut sent = Vec::new();
    for i in 0..6 {
        sent.push(format!("mensagem {i}"));
        h.customer_text(CUSTOMER, &format!("mensagem {i}"));
    }
    h.settle().await;
    let mut got: Vec<String> = h
        .cw_messages()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        got.len(),
        6,
        "every webhook came twice, out of order: still one message each: {got:?}"
    );
    got.sort();
    assert_eq!(got, sent);
    assert_eq!(h.chatwoot.contacts().len(), 1);
    assert_eq!(h.chatwoot.conversations().len(), 1);
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wuzapi_duplicates_and_concurrent_deliveries() {
    gateway_duplicates_and_reorders(GatewayKind::Wuzapi, Db::sqlite(), WebhookOrder::Concurrent)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gowa_duplicates_and_shuffled_deliveries() {
    gateway_duplicates_and_reorders(GatewayKind::Gowa, Db::postgres(), WebhookOrder::Shuffled)
        .await;
}
