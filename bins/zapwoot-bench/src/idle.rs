//! The idle-instances case: many instances on one bridge (SQLite) and nothing happening —
//! what the bridge costs per number while it waits (background loops: instance reloads,
//! upstream probes, session polls), and what `/readyz` and `/metrics` cost at that size.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::bridge::Bridge;
use crate::fakes::{Endpoints, HMAC_KEY};
use crate::report::round;

/// How long the bridge settles after the instances are created, before it is measured.
const WARM_UP: Duration = Duration::from_secs(20);

/// How long the idle bridge is measured.
const WINDOW: Duration = Duration::from_secs(60);

/// Calls of each report endpoint measured.
const REPORT_CALLS: u32 = 20;

/// Runs the case with `instances` instances on `database_url`.
pub(crate) async fn run(database_url: &str, fakes: &Endpoints, instances: usize) -> Result<Value> {
    let bridge = Bridge::start(database_url, fakes).await?;
    let (status, bench) = bridge
        .admin(reqwest::Method::GET, "/instances/bench", None)
        .await?;
    if status != 200 {
        bail!("reading the bench instance: {bench}");
    }
    let inbox = bench["chatwoot"]["inbox_id"]
        .as_u64()
        .context("the bench instance has no inbox")?;
    let started = Instant::now();
    let mut pending = Vec::new();
    for i in 1..instances {
        let doc = json!({
            "name": format!("idle-{i:05}"),
            "gateway": { "kind": "wuzapi", "base_url": fakes.wuzapi, "token": fakes.wuzapi_token, "hmac_key": HMAC_KEY },
            "chatwoot": { "base_url": fakes.chatwoot, "account_id": fakes.account_id, "api_token": fakes.chatwoot_token, "inbox_id": inbox },
        });
        pending.push(doc);
    }
    for chunk in pending.chunks(16) {
        let created = create_all(&bridge, chunk).await?;
        if let Some(refused) = created.iter().find(|(s, _)| *s != 201) {
            bail!("adding an instance: {}", refused.1);
        }
    }
    let created_in = started.elapsed();
    eprintln!(
        "  {instances} instances created in {:.1} s; settling {} s",
        created_in.as_secs_f64(),
        WARM_UP.as_secs()
    );
    tokio::time::sleep(WARM_UP).await;
    let cpu_before = bridge.cpu_seconds();
    tokio::time::sleep(WINDOW).await;
    let idle_cpu = bridge.cpu_seconds() - cpu_before;
    let (rss, peak) = bridge.memory_kib();
    let readyz = report_cost(&bridge, "/readyz").await?;
    let metrics = report_cost(&bridge, "/metrics").await?;
    bridge.stop().await;
    let core_share = idle_cpu / WINDOW.as_secs_f64();
    Ok(json!({
        "instances": instances,
        "created_seconds": round(created_in.as_secs_f64()),
        "idle_cpu_seconds_per_minute": round(idle_cpu * 60.0 / WINDOW.as_secs_f64()),
        "idle_core_percent": round(core_share * 100.0),
        "rss_mib": round(rss as f64 / 1024.0),
        "peak_rss_mib": round(peak as f64 / 1024.0),
        "readyz": readyz,
        "metrics": metrics,
    }))
}

/// Creates the instances of `docs` at once.
pub(crate) async fn create_all(bridge: &Bridge, docs: &[Value]) -> Result<Vec<(u16, Value)>> {
    let mut tasks = tokio::task::JoinSet::new();
    for doc in docs {
        let request = bridge.admin_request(reqwest::Method::POST, "/instances", Some(doc));
        tasks.spawn(async move {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            Ok::<_, reqwest::Error>((status, body))
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        out.push(done??);
    }
    Ok(out)
}

/// Bytes, mean answer time and CPU per call of `path` (with the admin token: the details).
async fn report_cost(bridge: &Bridge, path: &str) -> Result<Value> {
    let cpu_before = bridge.cpu_seconds();
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..REPORT_CALLS {
        let response = bridge
            .unprefixed_request(reqwest::Method::GET, path)
            .send()
            .await?;
        bytes = response.bytes().await?.len();
    }
    let took = started.elapsed();
    let cpu = bridge.cpu_seconds() - cpu_before;
    Ok(json!({
        "bytes": bytes,
        "ms_per_call": round(took.as_secs_f64() * 1000.0 / f64::from(REPORT_CALLS)),
        "cpu_ms_per_call": round(cpu * 1000.0 / f64::from(REPORT_CALLS)),
    }))
}
