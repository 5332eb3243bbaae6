//! Outages: Chatwoot refuses connections, then answers 503, then 429 storms; then the gateway
//! does the same. Meanwhile messages keep coming. After recovery everything arrives once, in
//! order, and nothing was dead-lettered.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Method;
use zapwoot_fakes::{FaultAction, Faults};

use crate::common::{
    assert_in_chatwoot_once_in_order, assert_on_whatsapp_once_in_order, captured, chat,
    conversation_of, deliver, incoming, sent_once, until, world,
};
use crate::support::{Db, http_client};

/// Down, then 503s, then 429s, `phase` each, while `during` runs.
async fn outage<F: std::future::Future<Output = ()>>(faults: &Faults, phase: Duration, during: F) {
    let storm = async {
        faults.set_down(true);
        tokio::time::sleep(phase).await;
        faults.set_down(false);
        faults.inject(None, "/", FaultAction::Status(503), None);
        tokio::time::sleep(phase).await;
        faults.clear();
        faults.inject(None, "/", FaultAction::Status(429), None);
        tokio::time::sleep(phase).await;
        faults.clear();
    };
    tokio::join!(storm, during);
}

async fn outages(db: Db) {
    let (w, bridge) = world(&db).await;
    let chats = 10;
    let http = http_client();
    let mut inbound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut first = Vec::new();
    for c in 0..chats {
        first.push((chat(c), format!("antes {c}")));
        inbound
            .entry(chat(c))
            .or_default()
            .push(format!("antes {c}"));
    }
    for request in &captured(&w.wuzapi, &first).await {
        deliver(&http, &w.gateway_url, request).await;
    }
    let mut conversations = Vec::new();
    for c in 0..chats {
        conversations.push(conversation_of(&w.chatwoot, &chat(c), Duration::from_secs(30)).await);
    }

    // Chatwoot is away while customers keep writing (the gateway's webhooks are accepted:
    // the bridge does not need Chatwoot to take them).
    let mut during = Vec::new();
    for k in 0..3 {
        for c in 0..chats {
            let text = format!("durante {c} {k}");
            inbound.entry(chat(c)).or_default().push(text.clone());
            during.push((chat(c), text));
        }
    }
    let webhooks = captured(&w.wuzapi, &during).await;
    outage(w.chatwoot.faults(), Duration::from_secs(2), async {
        for request in &webhooks {
            deliver(&http, &w.gateway_url, request).await;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    })
    .await;

    // The gateway is away while agents answer.
    let mut outbound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    outage(w.wuzapi.faults(), Duration::from_secs(2), async {
        for k in 0..3 {
            for (c, conversation) in conversations.iter().enumerate() {
                let text = format!("resposta {c} {k}");
                w.chatwoot
                    .agent_reply(*conversation, &text, Vec::new())
                    .unwrap();
                outbound.entry(chat(c)).or_default().push(text);
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
    })
    .await;

    let (want_in, want_out) = (chats * 4, chats * 3);
    let arrived = until(Duration::from_secs(120), || {
        incoming(&w.chatwoot).len() >= want_in && sent_once(&w.wuzapi).len() >= want_out
    })
    .await;
    assert!(
        arrived,
        "{} of {want_in} in Chatwoot, {} of {want_out} on WhatsApp",
        incoming(&w.chatwoot).len(),
        sent_once(&w.wuzapi).len()
    );
    bridge.wait_idle().await;
    assert_in_chatwoot_once_in_order(&w.chatwoot, &inbound);
    assert_on_whatsapp_once_in_order(&w.wuzapi, &outbound);
    let (status, dead) = bridge
        .admin(Method::GET, "/events?status=dead&limit=500", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        dead["events"],
        serde_json::json!([]),
        "nothing dead-lettered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_outages() {
    outages(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outages() {
    outages(Db::postgres()).await;
}
