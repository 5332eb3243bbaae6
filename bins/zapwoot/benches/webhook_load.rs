//! Webhook load on the real binary: signed wuzapi webhooks posted by many concurrent clients
//! at a running `zapwoot serve` (release build, SQLite file by default, PostgreSQL with
//! `ZAPWOOT_BENCH_DATABASE_URL`), with the engine relaying every message into the fake
//! Chatwoot. Prints the webhook answer time (what upstream timeouts see) and the end-to-end
//! throughput until every message is in Chatwoot.
//!
//! `cargo bench -p zapwoot --bench webhook_load` (`ZAPWOOT_BENCH_MESSAGES`, default 4000;
//! `ZAPWOOT_BENCH_CLIENTS`, default 32).

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    dead_code
)]

use zapwoot_testkit as support;

/// The `zapwoot` binary under test (the support module runs it).
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Bridge, Db, HMAC_KEY, add_instance, wuzapi_doc};
use zapwoot_fakes::{
    FakeChatwoot, FakeChatwootConfig, FakeWuzapi, FakeWuzapiConfig, Receiver, WuzapiMessage,
};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn main() {
    let messages = env_or("ZAPWOOT_BENCH_MESSAGES", 4000);
    let clients = env_or("ZAPWOOT_BENCH_CLIENTS", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let db = match std::env::var("ZAPWOOT_BENCH_DATABASE_URL") {
            Ok(url) => {
                assert!(url.starts_with("postgres"), "ZAPWOOT_BENCH_DATABASE_URL must be postgres://…");
                Db::postgres_at(&url)
            }
            Err(_) => Db::sqlite(),
        };
        let backend = if matches!(db, Db::Sqlite(_)) { "SQLite" } else { "PostgreSQL" };
        let mut cw_config = FakeChatwootConfig::default();
        cw_config.log_requests = false;
        let chatwoot = FakeChatwoot::start(cw_config).await.unwrap();
        let mut config = FakeWuzapiConfig::default();
        config.hmac_key = Some(HMAC_KEY.to_owned());
        config.log_requests = false;
        let wuzapi = FakeWuzapi::start(config).await.unwrap();
        let bridge = Bridge::start_with(&db, &[("ZAPWOOT_LOG", "warn")]);
        // The default per-instance Chatwoot budget (40 requests/s) protects a real Chatwoot;
        // lift it here to measure the bridge itself.
        let rate = env_or("ZAPWOOT_BENCH_CHATWOOT_RATE", 100_000);
        let mut doc = wuzapi_doc("bench", &wuzapi, &chatwoot);
        doc["options"]["chatwoot_rate_per_second"] = json!(rate);
        let doc = add_instance(&bridge, &doc).await;
        let url = doc["webhooks"]["gateway"].as_str().unwrap().to_owned();

        // Real signed webhooks, captured first so the load generator only replays bytes.
        let receiver = Receiver::start().await.unwrap();
        wuzapi.set_webhook(&receiver.url(), &["All"]);
        for i in 0..messages {
            wuzapi.emit_message(WuzapiMessage::text(&format!("55119{:08}@s.whatsapp.net", i % 200), &format!("bench {i}")));
        }
        let captured = Arc::new(receiver.wait_for(messages, Duration::from_secs(120)).await.unwrap());

        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..clients {
            let (http, url, captured, next) = (bridge.http.clone(), url.clone(), Arc::clone(&captured), Arc::clone(&next));
            tasks.spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(request) = captured.get(i) else { return latencies };
                    let sent = Instant::now();
                    let response = http
                        .post(&url)
                        .header("content-type", request.header("content-type").unwrap())
                        .header("x-hmac-signature", request.header("x-hmac-signature").unwrap())
                        .body(request.body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    let _ = response.bytes().await;
                    latencies.push(sent.elapsed());
                }
            });
        }
        let mut latencies = Vec::new();
        while let Some(l) = tasks.join_next().await {
            latencies.extend(l.unwrap());
        }
        let accepted_in = started.elapsed();
        latencies.sort();
        let incoming = |c: &FakeChatwoot| c.all_messages().iter().filter(|m| m["message_type"] == json!(0)).count();
        while incoming(&chatwoot) < messages {
            assert!(started.elapsed() < Duration::from_secs(600), "not all messages reached Chatwoot");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let delivered_in = started.elapsed();
        println!("webhook_load: {backend}, {messages} messages in 200 chats, {clients} concurrent clients, Chatwoot budget {rate}/s");
        println!(
            "  accepted   {:>8.0} webhooks/s   answer p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            messages as f64 / accepted_in.as_secs_f64(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.90),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0),
        );
        println!(
            "  delivered  {:>8.0} messages/s into Chatwoot (all {messages} in {:.2} s)",
            messages as f64 / delivered_in.as_secs_f64(),
            delivered_in.as_secs_f64()
        );
    });
}
