//! Session state, the activity bus, avatars, and gateway-side duplicates and reordering.

use std::time::Duration;

use serde_json::{Map, Value, json};
use zapwoot_fakes::{FakeChatwootConfig, WebhookOrder};
use zapwoot_gateway::{GatewayKind, Health, Jid};
use zapwoot_store::SessionState;
use zapwoot_sync::{InstanceOptions, session};

use super::support::*;

/// The private notes posted in the instance's integration conversation.
fn notes(h: &Harness) -> Vec<String> {
    h.cw_messages()
        .into_iter()
        .filter(|m| m["private"] == true)
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The `instance.status` records published since the last call.
fn statuses(activity: &mut tokio::sync::broadcast::Receiver<zapwoot_sync::Activity>) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(a) = activity.try_recv() {
        if a.name() == "instance.status" {
            out.push(Value::Object(a.data()));
        }
    }
    out
}

/// The states of the `instance.status` records published since the last call.
fn states(activity: &mut tokio::sync::broadcast::Receiver<zapwoot_sync::Activity>) -> Vec<String> {
    statuses(activity)
        .into_iter()
        .map(|a| a["state"].as_str().unwrap().to_owned())
        .collect()
}

/// Moves the clock past the settle time and processes what fell due.
async fn past_settle(h: &Harness) {
    h.clock.advance(session::SETTLE + Duration::from_secs(1));
    h.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_is_recorded_at_once_and_announced_once_it_held() {
    let h = harness(Db::sqlite(), GatewayKind::Wuzapi).await;
    let mut activity = h.engine.activity().subscribe();
    h.wuzapi().log_out_from_phone();
    h.settle().await;
    let record = h.session_record().await.unwrap();
    assert_eq!(record.state, SessionState::LoggedOut);
    assert_eq!(record.reason.as_deref(), Some("reason code 401"));
    assert_eq!(record.announced, None, "not announced before it held");
    assert!(notes(&h).is_empty());
    assert!(statuses(&mut activity).is_empty());

    past_settle(&h).await;
    let notes_now = notes(&h);
    assert_eq!(notes_now.len(), 1, "{notes_now:?}");
    assert!(
        notes_now[0].contains("logged out (reason code 401)"),
        "{notes_now:?}"
    );
    assert!(notes_now[0].contains("zapwoot instance connect alpha"));
    let announced = statuses(&mut activity);
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0]["state"], "logged_out");
    assert_eq!(announced[0]["reason"], "reason code 401");
    let record = h.session_record().await.unwrap();
    assert_eq!(record.announced, Some(SessionState::LoggedOut));

    // The same report again changes nothing and announces nothing.
    h.wuzapi().log_out_from_phone();
    h.settle().await;
    past_settle(&h).await;
    assert_eq!(notes(&h).len(), 1);
    assert!(statuses(&mut activity).is_empty());
    assert!(h.sent_endpoints().is_empty());
    h.assert_clean();
}

async fn flap_says_nothing(db: Db) {
    let h = harness(db, GatewayKind::Wuzapi).await;
    let mut activity = h.engine.activity().subscribe();
    h.wuzapi().emit(
        "PairSuccess",
        json!({ "ID": OWN, "BusinessName": "Loja Alpha", "Platform": "android" }),
        Map::new(),
    );
    h.wuzapi().emit("Connected", json!({}), Map::new());
    h.settle().await;
    past_settle(&h).await;
    let announced = statuses(&mut activity);
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["state"], "connected");
    assert_eq!(announced[0]["jid"], OWN);
    assert_eq!(announced[0]["phone"], "5511900000000");
    assert_eq!(announced[0]["push_name"], "Loja Alpha");
    assert_eq!(
        notes(&h),
        vec!["🟢 WhatsApp connected as Loja Alpha (+5511900000000).".to_owned()]
    );

    // Down for three seconds, then back: recorded, never announced.
    h.wuzapi().set_connected(false);
    h.settle().await;
    let record = h.session_record().await.unwrap();
    assert_eq!(record.state, SessionState::Disconnected);
    h.clock.advance(Duration::from_secs(3));
    h.wuzapi().set_connected(true);
    h.settle().await;
    past_settle(&h).await;
    past_settle(&h).await;
    let flapped = statuses(&mut activity);
    assert!(
        flapped.is_empty(),
        "a 3-second flap is not announced: {flapped:?}"
    );
    assert_eq!(notes(&h).len(), 1);
    let record = h.session_record().await.unwrap();
    assert_eq!(record.state, SessionState::Connected);
    assert_eq!(
        record.jid.as_deref(),
        Some(OWN),
        "the JID outlives the flap"
    );
    assert_eq!(record.push_name.as_deref(), Some("Loja Alpha"));

    // Down for good: announced once it held.
    h.wuzapi().set_connected(false);
    h.settle().await;
    past_settle(&h).await;
    let announced = statuses(&mut activity);
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0]["state"], "disconnected");
    assert_eq!(notes(&h).len(), 2);

    // Longer spells keep being announced, but the notes do not repeat themselves: back
    // (said), down and back again within 10 minutes (quiet), down 10 minutes later (said).
    let cycle = |connected: bool| {
        let h = &h;
        async move {
            h.wuzapi().set_connected(connected);
            h.settle().await;
            past_settle(h).await;
        }
    };
    cycle(true).await;
    assert_eq!(notes(&h).len(), 3);
    cycle(false).await;
    cycle(true).await;
    assert_eq!(notes(&h).len(), 3, "{:?}", notes(&h));
    h.clock.advance(Duration::from_secs(600));
    cycle(false).await;
    let said = notes(&h);
    assert_eq!(said.len(), 4, "{said:?}");
    assert!(said[3].starts_with("🟠 WhatsApp disconnected"));
    let states = states(&mut activity);
    assert_eq!(
        states,
        ["connected", "disconnected", "connected", "disconnected"],
        "every spell that held is announced to subscribers"
    );
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flap_shorter_than_the_settle_time_says_nothing_sqlite() {
    flap_says_nothing(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flap_shorter_than_the_settle_time_says_nothing_postgres() {
    flap_says_nothing(Db::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_ban_is_recorded_and_announced_as_banned() {
    let h = harness(Db::sqlite(), GatewayKind::Wuzapi).await;
    let mut activity = h.engine.activity().subscribe();
    h.wuzapi().ban();
    h.settle().await;
    past_settle(&h).await;
    let record = h.session_record().await.unwrap();
    assert_eq!(record.state, SessionState::Banned);
    assert_eq!(record.reason.as_deref(), Some("temporary ban, code 101"));
    let announced = statuses(&mut activity);
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0]["state"], "banned");
    let notes = notes(&h);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("banned this number (temporary ban, code 101)"),
        "{notes:?}"
    );
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn polled_observations_go_through_the_same_record_gowa() {
    // GOWA reports its session only to pollers: the bridge records what a poll saw as an
    // event, processed like a webhook.
    let h = harness(Db::postgres(), GatewayKind::Gowa).await;
    let mut activity = h.engine.activity().subscribe();
    let healthy = Health::new(true, true, Some(Jid::parse(OWN).unwrap()));
    let seen = session::polled(h.instance_id, &healthy, None, 0).unwrap();
    h.store
        .events()
        .record(session::observation_event(&seen, 1))
        .await
        .unwrap();
    h.settle().await;
    let record = h.session_record().await.unwrap();
    assert_eq!(record.state, SessionState::Connected);
    assert_eq!(record.jid.as_deref(), Some(OWN));
    assert!(
        session::polled(h.instance_id, &healthy, Some(&record), 0).is_none(),
        "the next poll that sees the same says nothing"
    );
    let gone = Health::new(false, false, None);
    let seen = session::polled(h.instance_id, &gone, Some(&record), 0).unwrap();
    h.store
        .events()
        .record(session::observation_event(&seen, 2))
        .await
        .unwrap();
    h.settle().await;
    past_settle(&h).await;
    let announced = states(&mut activity);
    assert_eq!(
        announced,
        vec!["logged_out"],
        "connected was replaced before it held"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_note_about_the_same_state_is_posted_once_per_ten_minutes() {
    // Logged out, a pairing that times out, logged out again: said once; after 10 minutes,
    // said again.
    let h = harness(Db::sqlite(), GatewayKind::Gowa).await;
    let mut activity = h.engine.activity().subscribe();
    let mut at = 0;
    let mut observe = async |state: SessionState| {
        at += 1;
        let seen = zapwoot_store::ObservedConnection::new(h.instance_id, state, "status poll");
        h.store
            .events()
            .record(session::observation_event(&seen, at))
            .await
            .unwrap();
        h.settle().await;
        past_settle(&h).await;
    };
    observe(SessionState::LoggedOut).await;
    observe(SessionState::Pairing).await;
    observe(SessionState::LoggedOut).await;
    assert_eq!(notes(&h).len(), 1, "{:?}", notes(&h));
    h.clock.advance(Duration::from_secs(10 * 60));
    observe(SessionState::Pairing).await;
    observe(SessionState::LoggedOut).await;
    let said = notes(&h);
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[1].contains("Type `qr` to pair again"), "{said:?}");
    let announced = states(&mut activity);
    assert_eq!(
        announced,
        [
            "logged_out",
            "pairing",
            "logged_out",
            "pairing",
            "logged_out"
        ],
        "subscribers hear every spell that held"
    );
    h.assert_clean();
}
