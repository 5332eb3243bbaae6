//! zapwoot inside Chatwoot: the integration conversation, the commands agents type there (and
//! as `/zapwoot …` in customers' conversations), QR codes posted as they rotate.

use std::time::Duration;

use serde_json::Value;
use zapwoot_fakes::{FakeChatwootConfig, code_in_png};
use zapwoot_gateway::GatewayKind;
use zapwoot_store::SessionState;
use zapwoot_sync::{InstanceOptions, integration, session};

use super::support::*;

/// The GOWA device the harness's client pairs.
const DEVICE: &str = "org_1";

/// The integration conversations in the fake Chatwoot.
fn integration_conversations(h: &Harness) -> Vec<Value> {
    h.chatwoot
        .conversations()
        .into_iter()
        .filter(|c| {
            c.pointer("/meta/sender/name").and_then(Value::as_str) == Some("zapwoot · alpha")
        })
        .collect()
}

/// Opens the integration conversation as provisioning does; returns its id.
async fn opened(h: &Harness) -> u64 {
    h.store
        .events()
        .record(integration::welcome_event(h.instance_id, h.inbox.id))
        .await
        .unwrap();
    h.settle().await;
    let found = integration_conversations(h);
    assert_eq!(found.len(), 1, "{found:#?}");
    found[0]["id"].as_u64().unwrap()
}

/// The bridge's notes in `conversation`, oldest first.
fn notes(h: &Harness, conversation: u64) -> Vec<Value> {
    h.chatwoot
        .messages(conversation)
        .into_iter()
        .filter(|m| {
            m["private"] == true
                && m["source_id"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("ZAPWOOT:"))
        })
        .collect()
}

fn texts(notes: &[Value]) -> Vec<String> {
    notes
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The QR code texts carried by the images the bridge posted in `conversation`.
async fn posted_codes(h: &Harness, conversation: u64) -> Vec<String> {
    let mut codes = Vec::new();
    for m in notes(h, conversation) {
        for a in m["attachments"].as_array().cloned().unwrap_or_default() {
            assert_eq!(a["file_type"], "image", "{a}");
            let url = a["data_url"].as_str().unwrap();
            let bytes = zapwoot_testkit::chatwoot::download(url).await;
            codes.push(code_in_png(&bytes).expect("a QR code image"));
        }
    }
    codes
}

/// An agent types `text` in `conversation`; waits until the bridge is idle.
async fn agent_types(h: &Harness, conversation: u64, text: &str) {
    h.chatwoot
        .agent_reply(conversation, text, Vec::new())
        .unwrap();
    h.settle().await;
}

fn unpair(h: &Harness) {
    match &h.gateway {
        FakeGateway::Wuzapi(f) => f.log_out_from_phone(),
        FakeGateway::Gowa(f) => f.set_logged_in(DEVICE, false),
    }
}

fn current_qr(h: &Harness) -> Option<String> {
    match &h.gateway {
        FakeGateway::Wuzapi(f) => f.current_qr(),
        FakeGateway::Gowa(f) => f.current_qr(DEVICE),
    }
}

fn scan(h: &Harness) -> bool {
    match &h.gateway {
        FakeGateway::Wuzapi(f) => f.scan(),
        FakeGateway::Gowa(f) => f.scan(DEVICE),
    }
}

/// WhatsApp shows the next code (wuzapi: a new code at once; GOWA: once the code's 30 s ran
/// out, the bridge's next login call makes one).
fn rotate(h: &Harness) {
    if let FakeGateway::Wuzapi(f) = &h.gateway {
        f.rotate_qr();
    }
}

/// Moves the clock by one QR follow-up period and lets the bridge act.
async fn next_look(h: &Harness) {
    h.clock.advance(Duration::from_secs(21));
    h.settle().await;
}

async fn record_state(h: &Harness) -> Option<SessionState> {
    h.session_record().await.map(|r| r.state)
}

matrix! {
    async fn the_welcome_opens_one_conversation_and_commands_answer_there(h) {
        let conversation = opened(&h).await;
        let welcome = texts(&notes(&h, conversation));
        assert_eq!(welcome.len(), 1, "{welcome:?}");
        assert!(welcome[0].contains("instance alpha"), "{welcome:?}");
        assert!(welcome[0].contains("`qr`"), "the commands are listed: {welcome:?}");

        agent_types(&h, conversation, "help").await;
        agent_types(&h, conversation, "status").await;
        agent_types(&h, conversation, "bom dia").await;
        let said = texts(&notes(&h, conversation));
        assert_eq!(said.len(), 4, "{said:?}");
        assert!(said[1].starts_with("Commands:"), "{said:?}");
        assert!(said[2].contains("WhatsApp: no session seen yet"), "{said:?}");
        assert!(said[3].starts_with("I don't know `bom dia`"), "{said:?}");
        assert!(said[3].contains("Commands:"), "unknown input answers help");
        // Nothing typed there reaches WhatsApp, attachments included.
        h.chatwoot
            .agent_reply(conversation, "foto", vec![("a.png".into(), "image/png".into(), b"\x89PNG\r\n\x1a\n".to_vec())])
            .unwrap();
        h.settle().await;
        assert!(h.sent_endpoints().is_empty(), "{:?}", h.sent_endpoints());
        assert_eq!(integration_conversations(&h).len(), 1);
        assert_eq!(h.chatwoot.conversations().len(), 1);
        h.assert_clean();
    }

    async fn the_qr_command_posts_the_code_again_as_it_rotates_and_stops_when_paired(h) {
        unpair(&h);
        h.settle().await;
        let conversation = opened(&h).await;
        agent_types(&h, conversation, "qr").await;
        let first = posted_codes(&h, conversation).await;
        assert_eq!(first.len(), 1);
        assert_eq!(Some(first[0].clone()), current_qr(&h), "the code on show");
        assert_eq!(record_state(&h).await, Some(SessionState::Pairing));

        // 20 s later: wuzapi shows a new code; GOWA's is still valid (30 s), so it is not
        // asked again (each login call would restart its QR flow).
        rotate(&h);
        next_look(&h).await;
        let expected = match h.kind { GatewayKind::Gowa => 1, _ => 2 };
        assert_eq!(posted_codes(&h, conversation).await.len(), expected);
        if let FakeGateway::Gowa(f) = &h.gateway {
            assert_eq!(f.login_calls(DEVICE), 1);
            next_look(&h).await;
            assert_eq!(f.login_calls(DEVICE), 2, "asked again once the code ran out");
            assert_eq!(posted_codes(&h, conversation).await.len(), 2);
        }
        let codes = posted_codes(&h, conversation).await;
        assert_ne!(codes[0], codes[1]);
        assert_eq!(Some(codes[1].clone()), current_qr(&h));

        // The phone scans: nothing more is posted, however long the test waits.
        assert!(scan(&h));
        if h.kind == GatewayKind::Gowa {
            // GOWA tells pairing only to pollers: the bridge's poll records it.
            let seen = session::polled(h.instance_id, &zapwoot_gateway::Health::new(true, true, None), None, 0).unwrap();
            h.store.events().record(session::observation_event(&seen, 7)).await.unwrap();
        }
        h.settle().await;
        for _ in 0..4 {
            rotate(&h);
            next_look(&h).await;
        }
        assert_eq!(posted_codes(&h, conversation).await.len(), 2, "stopped once paired");
        assert_eq!(record_state(&h).await, Some(SessionState::Connected));
        let said = texts(&notes(&h, conversation));
        assert!(said.last().unwrap().contains("WhatsApp connected"), "{said:?}");
        assert_eq!(h.due_open_events().await, 0);
        let open = h.store.events().list(zapwoot_store::EventFilter::new().status(zapwoot_store::EventStatus::Pending).limit(100)).await.unwrap();
        assert!(open.is_empty(), "no follow-up left: {open:#?}");
        h.assert_clean();
    }

    async fn pair_posts_a_linking_code_and_qr_says_when_paired_already(h) {
        let conversation = opened(&h).await;
        agent_types(&h, conversation, "qr").await;
        agent_types(&h, conversation, "pair +55 11 98888-7777").await;
        let said = texts(&notes(&h, conversation));
        assert!(said[1].contains("paired already"), "{said:?}");
        assert!(said[2].contains("paired already"), "{said:?}");

        unpair(&h);
        h.settle().await;
        agent_types(&h, conversation, "pair 123").await;
        agent_types(&h, conversation, "pair +55 11 98888-7777").await;
        let said = texts(&notes(&h, conversation));
        let n = said.len();
        assert!(said[n - 2].contains("international format"), "{said:?}");
        let (code, phone) = match &h.gateway {
            FakeGateway::Wuzapi(f) => f.pair_code().unwrap(),
            FakeGateway::Gowa(f) => f.pair_code(DEVICE).unwrap(),
        };
        assert_eq!(phone, "5511988887777");
        assert!(said[n - 1].contains(&format!("*{code}*")), "{said:?}");
        assert!(said[n - 1].contains("+5511988887777"), "{said:?}");
        assert_eq!(record_state(&h).await, Some(SessionState::Pairing));
        assert!(posted_codes(&h, conversation).await.is_empty());
        h.assert_clean();
    }

    async fn zapwoot_commands_in_a_customer_conversation_are_private_notes_never_sent(h) {
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let customer = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        agent_types(&h, customer, "/zapwoot status").await;
        agent_types(&h, customer, "/zapwoot").await;
        assert!(h.sent_endpoints().is_empty(), "{:?}", h.sent_endpoints());
        let said = texts(&notes(&h, customer));
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].contains("WhatsApp:"), "{said:?}");
        assert!(said[1].starts_with("Commands:"), "{said:?}");
        // An ordinary reply still goes out; a command opened no integration conversation.
        agent_types(&h, customer, "/zapwootx is not a command").await;
        let sent = h.sent_texts();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(sent[0].ends_with("/zapwootx is not a command"), "{sent:?}");
        assert!(integration_conversations(&h).is_empty());
        h.assert_clean();
    }

    async fn reconnect_and_reconcile_answer_with_what_they_did(h) {
        let conversation = opened(&h).await;
        agent_types(&h, conversation, "reconnect").await;
        agent_types(&h, conversation, "reconcile 2").await;
        agent_types(&h, conversation, "reconcile lots").await;
        let said = texts(&notes(&h, conversation));
        assert!(said[1].contains("Reconnecting"), "{said:?}");
        assert!(said[2].contains("last 2 h"), "{said:?}");
        assert!(said[3].starts_with("✅ Reconciled the last 2 h."), "{said:?}");
        assert!(said[4].contains("from 1 to 720"), "{said:?}");
        assert_eq!(said.len(), 5, "{said:?}");
        h.assert_clean();
    }
}

async fn logout_only_when_allowed(kind: GatewayKind, db: Db) {
    let mut options = InstanceOptions::default();
    let h = harness_with(db, kind, options.clone(), FakeChatwootConfig::default()).await;
    let conversation = opened(&h).await;
    agent_types(&h, conversation, "logout").await;
    let said = texts(&notes(&h, conversation));
    assert!(said[1].contains("`logout` is turned off"), "{said:?}");
    match &h.gateway {
        FakeGateway::Wuzapi(f) => assert!(f.logged_in(), "refused by default"),
        FakeGateway::Gowa(_) => assert_eq!(record_state(&h).await, None),
    }
    drop(h);

    options.chatwoot_logout_command = true;
    let h = harness_with(Db::sqlite(), kind, options, FakeChatwootConfig::default()).await;
    let conversation = opened(&h).await;
    agent_types(&h, conversation, "logout").await;
    h.clock.advance(session::SETTLE + Duration::from_secs(1));
    h.settle().await;
    if let FakeGateway::Wuzapi(f) = &h.gateway {
        assert!(!f.logged_in());
    }
    let record = h.session_record().await.unwrap();
    assert_eq!(record.state, SessionState::LoggedOut);
    assert!(
        record
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("logged out through Chatwoot by ")),
        "{record:?}"
    );
    let said = texts(&notes(&h, conversation));
    assert!(
        said[1].contains("Logged out of WhatsApp. Type `qr`"),
        "{said:?}"
    );
    assert!(
        said.last().unwrap().contains("Type `qr` to pair again"),
        "the state change is posted too: {said:?}"
    );
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_is_refused_unless_the_option_allows_it_wuzapi() {
    logout_only_when_allowed(GatewayKind::Wuzapi, Db::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_is_refused_unless_the_option_allows_it_gowa() {
    logout_only_when_allowed(GatewayKind::Gowa, Db::sqlite()).await;
}

async fn qr_stops_after_five(kind: GatewayKind, db: Db) {
    let h = harness(db, kind).await;
    unpair(&h);
    h.settle().await;
    let conversation = opened(&h).await;
    agent_types(&h, conversation, "qr").await;
    for _ in 0..12 {
        rotate(&h);
        next_look(&h).await;
    }
    let codes = posted_codes(&h, conversation).await;
    assert_eq!(codes.len(), 5, "at most 5 per request");
    let said = texts(&notes(&h, conversation));
    assert!(
        said.last().unwrap().contains("Type `qr` for a new one"),
        "{said:?}"
    );
    assert_eq!(
        said.iter().filter(|t| t.contains("stopped")).count(),
        1,
        "{said:?}"
    );
    // Asked again: a new round, and the old one (if it were still going) gives way.
    agent_types(&h, conversation, "qr").await;
    assert_eq!(posted_codes(&h, conversation).await.len(), 6);
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn qr_codes_stop_after_five_per_request_wuzapi() {
    qr_stops_after_five(GatewayKind::Wuzapi, Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn qr_codes_stop_after_five_per_request_gowa() {
    qr_stops_after_five(GatewayKind::Gowa, Db::postgres()).await;
}

async fn one_conversation_across_replicas_and_restarts(db: Db) {
    let mut h = harness(db, GatewayKind::Wuzapi).await;
    let replica = h.replica();
    // Two things that need the integration conversation fall due at once, with two
    // replicas working: a ban held for 10 s, and the welcome of provisioning.
    h.wuzapi().ban();
    h.settle().await;
    h.clock.advance(session::SETTLE + Duration::from_secs(1));
    h.store
        .events()
        .record(integration::welcome_event(h.instance_id, h.inbox.id))
        .await
        .unwrap();
    tokio::join!(h.engine.drain(), replica.drain());
    h.settle().await;
    let found = integration_conversations(&h);
    assert_eq!(found.len(), 1, "{found:#?}");
    let conversation = found[0]["id"].as_u64().unwrap();
    assert_eq!(texts(&notes(&h, conversation)).len(), 2);

    // An agent resolves it; the next change reopens it. A restart finds it again.
    h.chatwoot.agent_set_status(conversation, "resolved");
    h.settle().await;
    h.restart_engine();
    h.wuzapi().set_logged_in(true);
    h.wuzapi()
        .emit("Connected", serde_json::json!({}), serde_json::Map::new());
    h.settle().await;
    h.clock.advance(session::SETTLE + Duration::from_secs(1));
    h.settle().await;
    let found = integration_conversations(&h);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["status"], "open", "reopened");
    let said = texts(&notes(&h, conversation));
    assert!(
        said.last().unwrap().contains("WhatsApp connected"),
        "{said:?}"
    );
    // The welcome is recorded once per inbox.
    let again = h
        .store
        .events()
        .record(integration::welcome_event(h.instance_id, h.inbox.id))
        .await
        .unwrap();
    assert!(again.duplicate);
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_integration_conversation_across_replicas_and_restarts_sqlite() {
    one_conversation_across_replicas_and_restarts(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_integration_conversation_across_replicas_and_restarts_postgres() {
    one_conversation_across_replicas_and_restarts(Db::postgres()).await;
}
