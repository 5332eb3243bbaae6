//! Duplicates and disorder: every upstream webhook delivered one to three times,
//! concurrently, shuffled within a window; each has exactly one effect.

use std::collections::BTreeMap;
use std::time::Duration;

use zapwoot_fakes::{FakeChatwootConfig, FakeWuzapiConfig, WebhookOrder};

use crate::common::{
    Rng, captured, chat, conversation_of, incoming, post, sent_once, until, world_with,
};
use crate::support::{Db, http_client};

async fn duplicates_and_disorder(db: Db) {
    let mut chatwoot = FakeChatwootConfig::default();
    chatwoot.webhook_order = WebhookOrder::Shuffled;
    chatwoot.duplicate_every = Some(2);
    let (w, bridge) = world_with(&db, chatwoot, FakeWuzapiConfig::default()).await;
    let mut rng = Rng::new(0xd00d);
    let chats = 20;
    let mut messages = Vec::new();
    for k in 0..5 {
        for c in 0..chats {
            messages.push((chat(c), format!("dup {c} {k}")));
        }
    }
    let webhooks = captured(&w.wuzapi, &messages).await;
    // Each delivered 1-3 times; windows of 10 deliveries go out shuffled and at once.
    let mut deliveries = Vec::new();
    for request in &webhooks {
        for _ in 0..=rng.below(3) {
            deliveries.push(request.clone());
        }
    }
    for window in deliveries.chunks_mut(10) {
        for i in (1..window.len()).rev() {
            let j = usize::try_from(rng.below(u64::try_from(i + 1).unwrap())).unwrap();
            window.swap(i, j);
        }
    }
    let http = http_client();
    for window in deliveries.chunks(10) {
        let mut sends = tokio::task::JoinSet::new();
        for request in window {
            let (http, url, request) = (http.clone(), w.gateway_url.clone(), request.clone());
            sends.spawn(async move { post(&http, &url, &request).await });
        }
        while let Some(status) = sends.join_next().await {
            assert_eq!(status.unwrap(), Some(200));
        }
    }
    let total = messages.len();
    assert!(
        until(Duration::from_secs(120), || incoming(&w.chatwoot).len()
            >= total)
        .await,
        "{} of {total} in Chatwoot",
        incoming(&w.chatwoot).len()
    );

    // Agents answer; Chatwoot posts every other webhook twice, shuffled.
    let mut replies = 0;
    for c in 0..chats {
        let conversation = conversation_of(&w.chatwoot, &chat(c), Duration::from_secs(30)).await;
        for k in 0..3 {
            w.chatwoot
                .agent_reply(conversation, &format!("resposta {c} {k}"), Vec::new())
                .unwrap();
            replies += 1;
        }
    }
    assert!(
        until(Duration::from_secs(120), || sent_once(&w.wuzapi).len()
            >= replies)
        .await,
        "{} of {replies} sent",
        sent_once(&w.wuzapi).len()
    );
    // Idle, then count: a late duplicate would be counted, not missed.
    bridge.wait_idle().await;

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in incoming(&w.chatwoot) {
        *seen
            .entry(m["content"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), total, "every customer message arrived");
    assert!(seen.values().all(|n| *n == 1), "one effect each: {seen:?}");
    let sent = sent_once(&w.wuzapi);
    assert_eq!(sent.len(), replies, "one WhatsApp message per agent reply");
    let texts: std::collections::HashSet<&String> = sent.iter().map(|(_, _, t)| t).collect();
    assert_eq!(texts.len(), replies, "no reply sent under two ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_duplicates_and_disorder() {
    duplicates_and_disorder(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_duplicates_and_disorder() {
    duplicates_and_disorder(Db::postgres()).await;
}
