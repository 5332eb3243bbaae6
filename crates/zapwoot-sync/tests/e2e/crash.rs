//! Crash points: the engine is cut off right after each upstream call of a message's flow (the
//! call worked, its answer is lost, the engine is dropped and a new one takes over). After the
//! restart nothing is lost, nothing is doubled, and the order holds.

use http::Method;
use zapwoot_fakes::FaultAction;
use zapwoot_gateway::GatewayKind;

use super::support::*;

const STEPS: [(&str, &str); 5] = [
    ("POST", "/api/v1/accounts/1/contact_inboxes/filter"),
    ("POST", "/api/v1/accounts/1/contacts"),
    ("GET", "/api/v1/accounts/1/contacts/"),
    ("POST", "/api/v1/accounts/1/conversations"),
    ("POST", "/api/v1/accounts/1/conversations/1/messages"),
];

async fn inbound_crash_at(kind: GatewayKind, db: Db, step: usize) {
    let mut h = harness(db, kind).await;
    let (method, path) = STEPS[step];
    h.chatwoot.faults().inject(
        Some(method.parse::<Method>().unwrap()),
        path,
        FaultAction::ResetAfter,
        Some(1),
    );
    h.customer_text(CUSTOMER, "primeira");
    h.customer_text(CUSTOMER, "segunda");
    h.customer_text(CUSTOMER, "terceira");
    h.deliver().await;
    h.engine.drain().await;
    h.restart_engine();
    h.settle().await;
    let contents: Vec<String> = h
        .cw_messages()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        contents,
        vec!["primeira", "segunda", "terceira"],
        "step {step} ({path}): order kept, nothing lost or doubled"
    );
    assert_eq!(h.chatwoot.contacts().len(), 1, "step {step}: one contact");
    assert_eq!(
        h.chatwoot.conversations().len(),
        1,
        "step {step}: one conversation"
    );
    h.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inbound_crash_points_sqlite() {
    for step in 0..STEPS.len() {
        inbound_crash_at(GatewayKind::Wuzapi, Db::sqlite(), step).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inbound_crash_points_postgres() {
    for step in 0..STEPS.len() {
        inbound_crash_at(GatewayKind::Gowa, Db::postgres(), step).await;
    }
}

/// A worker dies holding an event (lease never completed): the next engine processes it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_that_dies_mid_event_loses_nothing() {
    let mut h = harness(Db::sqlite(), GatewayKind::Gowa).await;
    h.customer_text(CUSTOMER, "durante a queda");
    h.chatwoot.faults().set_latency(std::time::Duration::ZERO);
    h.deliver().await;
    let claimed = h
        .store
        .events()
        .claim("dead-worker", 10, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    drop(claimed); // the worker is gone; its lease has already expired
    h.restart_engine();
    h.settle().await;
    let events = h
        .store
        .events()
        .list(zapwoot_store::EventFilter::new())
        .await
        .unwrap();
    assert_eq!(h.cw_messages().len(), 1, "{events:#?}");
    h.assert_clean();
}

/// The gateway accepted an agent message but the answer was lost. wuzapi takes the message
/// id from the bridge (reserved before sending), so the bridge resends under the same id: one
/// WhatsApp message. GOWA does not, so the message is not sent again and the agent is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outbound_send_with_a_lost_answer_is_never_doubled() {
    for kind in [GatewayKind::Wuzapi, GatewayKind::Gowa] {
        let mut h = harness(Db::sqlite(), kind).await;
        h.customer_text(CUSTOMER, "oi");
        h.settle().await;
        let conversation = h.chatwoot.conversations()[0]["id"].as_u64().unwrap();
        h.gateway_faults().inject(
            Some(Method::POST),
            h.text_endpoint(),
            FaultAction::ResetAfter,
            Some(1),
        );
        let reply = h
            .chatwoot
            .agent_reply(conversation, "uma vez só", Vec::new())
            .unwrap();
        h.deliver().await;
        h.engine.drain().await;
        h.restart_engine();
        h.settle().await;
        let stored = h
            .chatwoot
            .messages(conversation)
            .into_iter()
            .find(|m| m["id"] == reply)
            .unwrap();
        if kind == GatewayKind::Wuzapi {
            let ids = h.sent_ids();
            assert_eq!(ids.len(), 2, "sent again after the lost answer");
            assert_eq!(ids[0], ids[1], "under the same id: one WhatsApp message");
            assert_ne!(stored["status"], "failed");
            // A receipt for that id reaches the agent's message.
            h.customer_read(&[ids[0].as_str()]);
            h.settle().await;
            let stored = h
                .chatwoot
                .messages(conversation)
                .into_iter()
                .find(|m| m["id"] == reply)
                .unwrap();
            assert_eq!(stored["status"], "read");
        } else {
            assert_eq!(h.sent_texts().len(), 1, "{kind:?}: never sent twice");
            assert_eq!(
                stored["status"], "failed",
                "{kind:?}: the agent is told the outcome is unknown"
            );
            assert!(
                stored["content_attributes"]["external_error"]
                    .as_str()
                    .unwrap()
                    .contains("may have been sent")
            );
        }
    }
}
