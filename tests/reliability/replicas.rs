//! Two replicas on one PostgreSQL behind the same webhook traffic (split between them): no
//! duplicate, per-chat order kept; killing one mid-stream loses nothing (its leases run out
//! and the other takes over).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{
    assert_in_chatwoot_once_in_order, captured, chat, deliver, free_port, incoming, start_on,
    until, world,
};
use crate::support::{Db, http_client};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_postgres_and_survive_losing_one() {
    let db = Db::postgres();
    let (w, first) = world(&db).await;
    let second_port = free_port();
    let second = start_on(&db, second_port, &[]);
    let path = w
        .gateway_url
        .split_once("/webhooks/")
        .map(|(_, p)| format!("/webhooks/{p}"))
        .unwrap();
    let urls = [
        w.gateway_url.clone(),
        format!("http://127.0.0.1:{second_port}{path}"),
    ];

    let chats = 40;
    let mut inbound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut messages = Vec::new();
    for k in 0..10 {
        for c in 0..chats {
            let text = format!("réplica {c} {k}");
            inbound.entry(chat(c)).or_default().push(text.clone());
            messages.push((chat(c), text));
        }
    }
    let webhooks = captured(&w.wuzapi, &messages).await;
    let http = http_client();
    let half = webhooks.len() / 2;
    // First half split between the replicas, as a load balancer would; Chatwoot is slow, so
    // both have work in hand.
    w.chatwoot.faults().set_latency(Duration::from_millis(20));
    for (i, request) in webhooks[..half].iter().enumerate() {
        deliver(&http, &urls[i % 2], request).await;
    }
    // The first replica dies with work in hand; the rest goes to the survivor.
    let relayed = incoming(&w.chatwoot).len();
    assert!(
        relayed < half,
        "the kill comes mid-stream ({relayed} of {half} relayed)"
    );
    let _ = tokio::task::spawn_blocking(move || first.kill()).await;
    w.chatwoot.faults().set_latency(Duration::ZERO);
    for request in &webhooks[half..] {
        deliver(&http, &urls[1], request).await;
    }
    let total = messages.len();
    let arrived = until(Duration::from_secs(120), || {
        incoming(&w.chatwoot).len() >= total
    })
    .await;
    assert!(
        arrived,
        "{} of {total} in Chatwoot\n{}",
        incoming(&w.chatwoot).len(),
        second
            .logs()
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Both replicas share the store: idle for one is idle for both.
    second.wait_idle().await;
    assert_in_chatwoot_once_in_order(&w.chatwoot, &inbound);
}
