//! Crash loop: while messages flow both ways over many chats, the bridge is `kill -9`ed at
//! random moments and restarted each time. Upstreams behave as they do: the gateway retries
//! a webhook until it is accepted; Chatwoot posts each webhook once (those that hit a dead
//! bridge are lost and must be recovered by reconciliation). At the end every message exists
//! exactly once on the other side, in per-chat order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{
    Rng, assert_in_chatwoot_once_in_order, assert_on_whatsapp_once_in_order, captured, chat,
    conversation_of, deliver, incoming, sent_once, start_on, until, world,
};
use crate::support::{Db, http_client};

async fn crash_loop(db: Db, chats: usize, per_chat: usize, kills: usize, seed: u64) {
    let (w, bridge) = world(&db).await;
    let mut rng = Rng::new(seed);

    // Customer messages: per chat in order, one chat after another interleaved.
    let mut inbound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut messages = Vec::new();
    for k in 0..per_chat {
        for c in 0..chats {
            let text = format!("in {c} {k}");
            inbound.entry(chat(c)).or_default().push(text.clone());
            messages.push((chat(c), text));
        }
    }
    let webhooks = captured(&w.wuzapi, &messages).await;
    let http = http_client();
    let url = w.gateway_url.clone();
    let feeder = tokio::spawn(async move {
        for request in &webhooks {
            deliver(&http, &url, request).await;
        }
    });

    // Agent replies: per conversation in order, once the conversation exists.
    let chatwoot = Arc::new(w.chatwoot);
    let agents = {
        let chatwoot = Arc::clone(&chatwoot);
        tokio::spawn(async move {
            let mut outbound: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for k in 0..per_chat {
                for c in 0..chats {
                    let jid = chat(c);
                    let conversation =
                        conversation_of(&chatwoot, &jid, Duration::from_secs(120)).await;
                    let text = format!("out {c} {k}");
                    chatwoot
                        .agent_reply(conversation, &text, Vec::new())
                        .unwrap();
                    outbound.entry(jid).or_default().push(text);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            outbound
        })
    };

    // The killer.
    let mut bridge = Some(bridge);
    for kill in 0..kills {
        tokio::time::sleep(Duration::from_millis(300 + rng.below(900))).await;
        let dying = bridge.take().unwrap();
        let _ = tokio::task::spawn_blocking(move || dying.kill()).await;
        tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
        eprintln!("crash loop: kill {} done; restarting", kill + 1);
        let db_ref = &db;
        bridge = Some(start_on(db_ref, w.port, &[]));
    }
    feeder.await.unwrap();
    let outbound = agents.await.unwrap();
    let total_in: usize = inbound.values().map(Vec::len).sum();
    let total_out: usize = outbound.values().map(Vec::len).sum();
    let limit = Duration::from_secs(if matches!(db, Db::Sqlite(_)) {
        180
    } else {
        600
    });
    let arrived = until(limit, || {
        incoming(&chatwoot).len() >= total_in && sent_once(&w.wuzapi).len() >= total_out
    })
    .await;
    let logs = bridge
        .as_ref()
        .map(crate::support::Bridge::logs)
        .unwrap_or_default();
    assert!(
        arrived,
        "after {kills} kills: {} of {total_in} in Chatwoot, {} of {total_out} on WhatsApp\n{}",
        incoming(&chatwoot).len(),
        sent_once(&w.wuzapi).len(),
        logs.lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
    bridge
        .as_ref()
        .expect("a bridge runs at the end")
        .wait_idle_within(limit)
        .await;
    assert_in_chatwoot_once_in_order(&chatwoot, &inbound);
    assert_on_whatsapp_once_in_order(&w.wuzapi, &outbound);
}

/// Short variant: 200 chats, 2,000 messages (1,000 each way), 10 kills, on SQLite (a
/// restarted bridge resumes its events at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_crash_loop() {
    let (per_chat, kills) = if crate::long() { (25, 20) } else { (5, 10) };
    crash_loop(Db::sqlite(), 200, per_chat, kills, 0x5eed_0001).await;
}

/// On PostgreSQL a restarted bridge takes a dead one's events over only when their leases
/// (30 s) run out, so this variant is long (run with `--ignored`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "long variant: 20 kills x 30 s leases"]
async fn postgres_crash_loop() {
    crash_loop(Db::postgres(), 200, 25, 20, 0x5eed_0002).await;
}
