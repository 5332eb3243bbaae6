//! Durable `events().record` throughput and latency with 1, 16 and 64 concurrent writers, on a
//! SQLite file (WAL, `synchronous=FULL`) and, when `ZAPWOOT_TEST_DATABASE_URL` is set, on
//! PostgreSQL. Run `scripts/bench-store.sh`, which starts a throwaway PostgreSQL with fsync on.
//!
//! Each recorded event is committed before its call returns; concurrent calls share commits.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use zapwoot_store::{
    NewEvent, NewInstance, Sealer, SealingKey, SecretString, Source, Store, StoreOptions,
};

const BODY: &str = r#"{"type":"Message","event":{"Info":{"ID":"3EB0C1A2B3C4D5E6F7A8","Chat":"5511987654321@s.whatsapp.net","Sender":"5511987654321@s.whatsapp.net","IsFromMe":false,"IsGroup":false,"PushName":"Maria","Timestamp":"2026-06-18T13:02:14Z","Type":"text"},"Message":{"conversation":"Olá! Gostaria de saber o status do meu pedido 12345, por favor."}},"instanceName":"alpha","userID":"bd4d8ab9e54f4b5fb0a1c2d3e4f5a6b7"}"#;

struct Case {
    backend: &'static str,
    writers: usize,
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn run_case(backend: &'static str, url: &str, writers: usize, seconds: u64) -> Case {
    let sealer = Sealer::new(SealingKey::from_bytes(&[1; 32]).unwrap());
    let store = Store::open(url, StoreOptions::with_sealer(sealer))
        .await
        .unwrap();
    let mut config = NewInstance::new(
        "bench",
        zapwoot_store::GatewayKind::Wuzapi,
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
        1,
    );
    config
        .secrets
        .insert("token".into(), SecretString::new("x"));
    let instance = store.instances().create(config).await.unwrap().id;

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let mut event = NewEvent::new(
                    instance,
                    Source::Gateway,
                    format!("w{w}-{i}"),
                    format!("lane-{}", i % 200),
                    BODY,
                );
                event.content_type = "application/json".into();
                let t = Instant::now();
                store.events().record(event).await.unwrap();
                latencies.push(t.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Case {
        backend,
        writers,
        events: latencies.len(),
        elapsed,
        latencies,
    }
}

fn main() {
    let seconds: u64 = std::env::var("ZAPWOOT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("zapwoot-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pg = std::env::var("ZAPWOOT_TEST_DATABASE_URL").ok();
    if pg.is_none() {
        println!(
            "ZAPWOOT_TEST_DATABASE_URL not set: PostgreSQL skipped (scripts/bench-store.sh starts one)"
        );
    }

    let mut cases = Vec::new();
    for writers in [1, 16, 64] {
        let url = format!("sqlite://{}", dir.join(format!("w{writers}.db")).display());
        cases.push(runtime.block_on(run_case("sqlite", &url, writers, seconds)));
        if let Some(base) = &pg {
            // A fresh schema (and role) on the server, dropped after the case.
            let db = zapwoot_testkit::Db::postgres_at(base);
            cases.push(runtime.block_on(run_case("postgres", &db.url(), writers, seconds)));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "\ndurable record_inbound ({seconds} s per case, {} byte bodies)",
        BODY.len()
    );
    println!(
        "{:<9} {:>7} {:>9} {:>12} {:>9} {:>9} {:>9} {:>9}",
        "backend", "writers", "events", "events/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for c in &cases {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<9} {:>7} {:>9} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            c.backend,
            c.writers,
            c.events,
            c.events as f64 / c.elapsed.as_secs_f64(),
            ms(percentile(&c.latencies, 0.50)),
            ms(percentile(&c.latencies, 0.95)),
            ms(percentile(&c.latencies, 0.99)),
            ms(*c.latencies.last().unwrap()),
        );
    }
}
