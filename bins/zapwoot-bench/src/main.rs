//! `zapwoot-bench`: benchmarks the real `zapwoot` binary as a separate process against the
//! fake Chatwoot and fake wuzapi in another (so the bridge's own CPU and memory are visible),
//! on SQLite and on PostgreSQL, and prints a table, writes `bench.json` and SVG charts:
//!
//! 1. ingest: signed gateway webhooks accepted per second at 1/16/64/256 connections, with
//!    the answer time percentiles;
//! 2. relay WhatsApp → Chatwoot: messages per second from webhook to message created in the
//!    fake Chatwoot, over 1,000 chats, with the fake answering at once and after 20 ms; and
//!    the end-to-end latency at a steady 100 messages a second;
//! 3. relay Chatwoot → WhatsApp: agent messages per second to the fake gateway;
//! 4. the limit: an ideal relay (verify, parse, post to Chatwoot, answer; nothing stored) on
//!    the same traffic, and the fake's own create rate;
//! 5. the bridge's memory (idle, peak) and CPU seconds per 1,000 messages;
//! 6. idle instances: many instances and no traffic (SQLite) — CPU per minute, memory, and
//!    the size and cost of `/readyz` and `/metrics`.
//! 7. the console: the overview's answer time, weight and CPU with 50 instances and 100,000
//!    relayed webhooks in the event log (SQLite).
//!
//! Run it with `scripts/bench.sh` (release builds, a throwaway PostgreSQL with fsync on).
#![allow(
    clippy::indexing_slicing,
    reason = "JSON is read with serde_json's Value[key] / Value[i], which answer Null when absent"
)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool: progress on stderr, the table on stdout"
)]

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

mod bridge;
mod console;
mod fakes;
mod ideal;
mod idle;
mod report;
mod traffic;

use report::{ms, per_second, percentiles, round};
use traffic::{Control, now_unix, post_all, webhooks};

#[derive(Debug, Parser)]
#[command(version, about = "Benchmark the zapwoot bridge (see scripts/bench.sh)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Mode>,
    /// Also benchmark on this PostgreSQL (a superuser URL; a fresh schema is used).
    #[arg(long, env = "ZAPWOOT_BENCH_POSTGRES")]
    postgres: Option<String>,
    /// Skip SQLite.
    #[arg(long)]
    no_sqlite: bool,
    /// Messages per ingest level and per relay run.
    #[arg(long, default_value_t = 4000)]
    messages: usize,
    /// Chats the messages are spread over.
    #[arg(long, default_value_t = 1000)]
    chats: usize,
    /// Instances of the idle case (0: skip it).
    #[arg(long, default_value_t = 1000)]
    idle_instances: usize,
    /// Webhooks in the event log of the console case (50 instances, SQLite; 0: skip it).
    #[arg(long, default_value_t = 100_000)]
    console_events: usize,
    /// Where bench.json and the charts go.
    #[arg(long, default_value = "bench-results")]
    out: std::path::PathBuf,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Run the fake upstreams (started by the benchmark itself).
    Fakes,
}

fn http_client() -> reqwest::Client {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Mode::Fakes)) {
        return fakes::run().await;
    }
    let mut fakes_process = tokio::process::Command::new(std::env::current_exe()?)
        .arg("fakes")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = fakes_process.stdout.take().context("fakes: no stdout")?;
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = lines.next_line().await?.context("fakes did not start")?;
    let endpoints = fakes::Endpoints::parse(&first)?;
    let control = Control::new(&endpoints.control);
    std::fs::create_dir_all(&cli.out)?;

    let mut results = serde_json::Map::new();
    let mut backends: Vec<(&str, String)> = Vec::new();
    let dir = std::env::temp_dir().join(format!("zapwoot-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    if !cli.no_sqlite {
        backends.push((
            "sqlite",
            format!("sqlite://{}", dir.join("bench.db").display()),
        ));
    }
    if let Some(base) = &cli.postgres {
        backends.push(("postgres", fresh_schema(base)?));
    }
    let mut charts = Vec::new();
    for (name, url) in &backends {
        eprintln!("== {name}");
        let (value, series) = run_backend(name, url, &endpoints, &control, &cli).await?;
        charts.push((name.to_string(), series));
        results.insert((*name).to_owned(), value);
    }
    let idle = if cli.idle_instances > 0 {
        eprintln!("== {} idle instances (sqlite)", cli.idle_instances);
        let url = format!("sqlite://{}", dir.join("idle.db").display());
        idle::run(&url, &endpoints, cli.idle_instances).await?
    } else {
        Value::Null
    };
    let console = if cli.console_events > 0 {
        eprintln!(
            "== console overview, 50 instances, {} events (sqlite)",
            cli.console_events
        );
        let url = format!("sqlite://{}", dir.join("console.db").display());
        console::run(&url, &endpoints, cli.console_events).await?
    } else {
        Value::Null
    };
    eprintln!("== ideal relay");
    let ideal = run_ideal(&endpoints, &control, &cli).await?;
    let fake_rate = fake_create_rate(&endpoints).await?;
    let summary = json!({
        "cores": std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        "messages": cli.messages, "chats": cli.chats,
        "backends": results, "ideal_relay": ideal, "fake_chatwoot_creates_per_second": round(fake_rate),
        "idle_instances": idle,
        "console": console,
    });
    std::fs::write(
        cli.out.join("bench.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    for (name, series) in &charts {
        let ideal_series = ideal["timeline"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let mut throughput: Vec<(&str, Vec<f64>)> = series
            .iter()
            .filter(|(n, _)| n.starts_with("relay"))
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        throughput.push(("ideal relay", ideal_series));
        std::fs::write(
            cli.out.join(format!("throughput-{name}.svg")),
            report::svg(
                &format!("zapwoot relay throughput ({name})"),
                "msg/s",
                &throughput,
            ),
        )?;
        let latency: Vec<(&str, Vec<f64>)> = series
            .iter()
            .filter(|(n, _)| n.starts_with("latency"))
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        std::fs::write(
            cli.out.join(format!("latency-{name}.svg")),
            report::svg(
                &format!("end-to-end latency at 100 msg/s ({name})"),
                "ms",
                &latency,
            ),
        )?;
    }
    print_table(&summary);
    eprintln!("wrote {}", cli.out.join("bench.json").display());
    let _ = fakes_process.kill().await;
    if std::env::var_os("ZAPWOOT_BENCH_KEEP").is_some() {
        eprintln!("kept the databases in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// A fresh schema on the PostgreSQL at `base`, as a URL that uses it.
fn fresh_schema(base: &str) -> Result<String> {
    use diesel::{Connection as _, RunQueryDsl as _};
    let schema = format!("bench_{}", std::process::id());
    let mut conn = diesel::PgConnection::establish(base)?;
    diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut conn)?;
    diesel::sql_query(format!("CREATE SCHEMA {schema}")).execute(&mut conn)?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-csearch_path%3D{schema}"))
}

/// Waits until `expected` texts were sent through the fake gateway after `before`.
async fn wait_sends(
    control: &Control,
    before: usize,
    expected: usize,
    limit: Duration,
) -> Vec<(String, f64)> {
    let deadline = Instant::now() + limit;
    let mut sends = Vec::new();
    while sends.len() < expected && Instant::now() < deadline {
        sends = control.sends(before).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sends
}

/// Reads the fake Chatwoot's new messages as they come.
struct Progress {
    skip: usize,
}

impl Progress {
    async fn new(control: &Control) -> Self {
        Self {
            skip: control.created(0).await.len(),
        }
    }

    /// Waits until `expected` incoming messages starting with `tag` exist (at most `limit`);
    /// returns `(content, created unix seconds)` of those seen.
    async fn wait(
        &mut self,
        control: &Control,
        tag: &str,
        expected: usize,
        limit: Duration,
    ) -> Vec<(String, f64)> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        let prefix = format!("{tag} ");
        while seen.len() < expected && Instant::now() < deadline {
            let new = control.created(self.skip).await;
            self.skip += new.len();
            seen.extend(
                new.into_iter()
                    .filter(|(c, _, kind)| *kind == 0 && c.starts_with(&prefix))
                    .map(|(c, t, _)| (c, t)),
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen
    }
}

type Series = Vec<(String, Vec<f64>)>;

async fn run_backend(
    name: &str,
    database_url: &str,
    endpoints: &fakes::Endpoints,
    control: &Control,
    cli: &Cli,
) -> Result<(Value, Series)> {
    // Conversations of earlier runs belong to other bridges' inboxes.
    let earlier: std::collections::HashSet<u64> =
        control.conversations().await.into_iter().collect();
    let bridge = bridge::Bridge::start(database_url, endpoints).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_rss, _) = bridge.memory_kib();
    let cpu_start = bridge.cpu_seconds();
    let mut progress = Progress::new(control).await;
    let mut relayed = 0usize;
    let mut series: Series = Vec::new();
    let limit = Duration::from_secs(900);

    // 1. Ingest.
    let mut ingest = Vec::new();
    for connections in [1usize, 16, 64, 256] {
        bridge.wait_idle().await;
        let tag = format!("{name}-ingest{connections}");
        let hooks = webhooks(&tag, cli.messages, cli.chats).await?;
        let started = Instant::now();
        let answers = post_all(&bridge.gateway_url, hooks, connections, None).await;
        let wall = started.elapsed().as_secs_f64();
        let accepted = answers.iter().filter(|a| a.3).count();
        let latencies: Vec<f64> = answers.iter().map(|a| ms(a.2)).collect();
        let row = json!({ "connections": connections, "accepted": accepted,
            "per_second": round(accepted as f64 / wall), "ack_ms": percentiles(latencies) });
        eprintln!("ingest {connections:>3} connections: {row}");
        ingest.push(row);
        progress.wait(control, &tag, cli.messages, limit).await;
        relayed += cli.messages;
    }

    // 2. Relay WhatsApp → Chatwoot, fake at 0 and 20 ms.
    let mut relay = Vec::new();
    for latency in [0u64, 20] {
        control.set_latency(latency).await;
        bridge.wait_idle().await;
        let tag = format!("{name}-relay{latency}");
        let hooks = webhooks(&tag, cli.messages, cli.chats).await?;
        let start = now_unix();
        let _ = post_all(&bridge.gateway_url, hooks, 64, None).await;
        let created = progress.wait(control, &tag, cli.messages, limit).await;
        let last = created.iter().map(|c| c.1).fold(start, f64::max);
        let times: Vec<f64> = created.iter().map(|c| c.1).collect();
        let row = json!({ "chatwoot_latency_ms": latency, "relayed": created.len(),
            "per_second": round(created.len() as f64 / (last - start).max(0.001)) });
        eprintln!("relay wa->cw, chatwoot +{latency} ms: {row}");
        relay.push(row);
        series.push((
            format!("relay, chatwoot +{latency} ms"),
            per_second(&times, start)
                .into_iter()
                .map(|n| n as f64)
                .collect(),
        ));
        relayed += created.len();
    }
    control.set_latency(0).await;

    // End-to-end latency at a steady 100 messages a second.
    let paced_count = cli.messages.min(2000);
    bridge.wait_idle().await;
    let tag = format!("{name}-paced");
    let hooks = webhooks(&tag, paced_count, cli.chats).await?;
    let start = now_unix();
    let sent = post_all(&bridge.gateway_url, hooks, 64, Some(100.0)).await;
    let sent_unix: std::collections::HashMap<String, f64> = sent
        .iter()
        .map(|(text, at, _, _)| (text.clone(), *at))
        .collect();
    let created = progress.wait(control, &tag, paced_count, limit).await;
    let mut timeline: Vec<Vec<f64>> = Vec::new();
    let mut latencies = Vec::new();
    for (content, t) in &created {
        if let Some(s) = sent_unix.get(content) {
            let latency = (t - s) * 1000.0;
            latencies.push(latency);
            let second = (s - start).max(0.0) as usize;
            if timeline.len() <= second {
                timeline.resize(second + 1, Vec::new());
            }
            if let Some(bucket) = timeline.get_mut(second) {
                bucket.push(latency);
            }
        }
    }
    let p99_per_second: Vec<f64> = timeline
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v.get(((v.len().max(1) - 1) as f64 * 0.99) as usize)
                .copied()
                .unwrap_or(0.0)
        })
        .collect();
    series.push(("latency p99 per second".to_owned(), p99_per_second));
    let paced =
        json!({ "rate": 100, "messages": created.len(), "end_to_end_ms": percentiles(latencies) });
    eprintln!("end to end at 100 msg/s: {paced}");
    relayed += created.len();

    // 3. Relay Chatwoot → WhatsApp: gateway at 0 and 20 ms, then at a steady 100 msg/s.
    let conversations: Vec<u64> = control
        .conversations()
        .await
        .into_iter()
        .filter(|c| !earlier.contains(c))
        .collect();
    let per = (cli.messages / conversations.len().max(1)).max(1);
    let mut outbound = Vec::new();
    for latency in [0u64, 20] {
        control.set_gateway_latency(latency).await;
        bridge.wait_idle().await;
        let before = control.sends(0).await.len();
        let start = now_unix();
        let tag = format!("{name}-agent{latency}");
        let written = control.agents(&conversations, per, &tag, None).await;
        let sends = wait_sends(control, before, written, limit).await;
        let last = sends.iter().map(|s| s.1).fold(start, f64::max);
        let row = json!({ "gateway_latency_ms": latency, "agent_messages": written, "sent": sends.len(),
            "per_second": round(sends.len() as f64 / (last - start).max(0.001)) });
        eprintln!("relay cw->wa, gateway +{latency} ms: {row}");
        relayed += sends.len();
        outbound.push(row);
    }
    control.set_gateway_latency(0).await;
    bridge.wait_idle().await;
    let paced_per = (paced_count / conversations.len().max(1)).max(1);
    let before_sends = control.sends(0).await.len();
    let before_created = control.created(0).await.len();
    let tag = format!("{name}-agentpaced");
    let planned = control
        .agents(&conversations, paced_per, &tag, Some(100.0))
        .await;
    let sends = wait_sends(control, before_sends, planned, limit).await;
    let written: std::collections::HashMap<String, f64> = control
        .created(before_created)
        .await
        .into_iter()
        .filter(|(c, _, kind)| *kind == 1 && c.starts_with(&tag))
        .map(|(c, t, _)| (c, t))
        .collect();
    let agent_latencies: Vec<f64> = sends
        .iter()
        .filter_map(|(text, at)| written.get(text).map(|w| (at - w) * 1000.0))
        .collect();
    relayed += sends.len();
    let outbound_paced = json!({ "rate": 100, "messages": agent_latencies.len(), "end_to_end_ms": percentiles(agent_latencies) });
    eprintln!("relay cw->wa at 100 msg/s: {outbound_paced}");
    let outbound = json!({ "runs": outbound, "steady_100_per_second": outbound_paced });

    let (rss, peak) = bridge.memory_kib();
    let cpu = bridge.cpu_seconds() - cpu_start;
    bridge.stop().await;
    let resources = json!({ "rss_idle_mib": round(idle_rss as f64 / 1024.0), "rss_now_mib": round(rss as f64 / 1024.0),
        "rss_peak_mib": round(peak as f64 / 1024.0), "cpu_seconds": round(cpu), "messages": relayed,
        "cpu_seconds_per_1000_messages": round(cpu * 1000.0 / relayed.max(1) as f64) });
    eprintln!("resources: {resources}");
    Ok((
        json!({ "ingest": ingest, "relay_whatsapp_to_chatwoot": relay, "steady_100_per_second": paced,
                "relay_chatwoot_to_whatsapp": outbound, "resources": resources }),
        series,
    ))
}

async fn run_ideal(endpoints: &fakes::Endpoints, control: &Control, cli: &Cli) -> Result<Value> {
    let url = ideal::start(endpoints).await?;
    let hooks = webhooks("ideal", cli.messages, cli.chats).await?;
    let start = now_unix();
    let started = Instant::now();
    let answers = post_all(&url, hooks, 64, None).await;
    let wall = started.elapsed().as_secs_f64();
    let ok = answers.iter().filter(|a| a.3).count();
    let _ = control;
    let times: Vec<f64> = answers
        .iter()
        .map(|(_, at, took, _)| at + took.as_secs_f64())
        .collect();
    let value = json!({ "relayed": ok, "per_second": round(ok as f64 / wall),
        "timeline": per_second(&times, start) });
    eprintln!("ideal relay: {} msg/s", round(ok as f64 / wall));
    Ok(value)
}

/// Message creates per second the fake Chatwoot takes from 64 concurrent clients.
async fn fake_create_rate(endpoints: &fakes::Endpoints) -> Result<f64> {
    use zapwoot_chatwoot::{Client, NewApiInbox, NewContact, NewConversation, NewMessage};
    let api = Client::builder(&endpoints.chatwoot, &endpoints.chatwoot_token)
        .build()?
        .account(endpoints.account_id);
    let inbox = api
        .create_api_inbox(&NewApiInbox::new("rate", ""))
        .await?
        .id;
    let mut contact = NewContact::new();
    contact.inbox_id = Some(inbox);
    contact.source_id = Some("rate".to_owned());
    let created = api.create_contact(&contact).await?;
    let conversation = api
        .create_conversation(&NewConversation::new(
            created.source_id.unwrap_or_else(|| "rate".to_owned()),
            inbox,
            created.contact.id,
        ))
        .await?
        .id;
    let total = 4000;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..64 {
        let api = api.clone();
        tasks.spawn(async move {
            for i in (worker..total).step_by(64) {
                let _ = api
                    .create_message(conversation, &NewMessage::incoming(format!("rate {i}")))
                    .await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(f64::from(total) / started.elapsed().as_secs_f64())
}

fn print_table(summary: &Value) {
    let ideal = summary["ideal_relay"]["per_second"].as_f64().unwrap_or(0.0);
    println!(
        "zapwoot benchmark — {} cores, {} messages per run over {} chats",
        summary["cores"], summary["messages"], summary["chats"]
    );
    println!(
        "ideal relay {ideal:.0} msg/s; fake Chatwoot {} creates/s",
        summary["fake_chatwoot_creates_per_second"]
    );
    for (name, b) in summary["backends"].as_object().into_iter().flatten() {
        println!("\n{name}");
        println!("  ingest       conns   webhooks/s   p50 ms   p95 ms   p99 ms   max ms");
        for row in b["ingest"].as_array().into_iter().flatten() {
            let a = &row["ack_ms"];
            let n = |v: &Value| v.as_f64().unwrap_or(0.0);
            println!(
                "               {:>5}   {:>10.0}   {:>6.1}   {:>6.1}   {:>6.1}   {:>6.1}",
                n(&row["connections"]),
                n(&row["per_second"]),
                n(&a["p50"]),
                n(&a["p95"]),
                n(&a["p99"]),
                n(&a["max"])
            );
        }
        for row in b["relay_whatsapp_to_chatwoot"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let rate = row["per_second"].as_f64().unwrap_or(0.0);
            println!(
                "  relay wa->cw, chatwoot +{} ms: {rate:.0} msg/s ({:.0} % of the ideal relay)",
                row["chatwoot_latency_ms"],
                if ideal > 0.0 {
                    rate * 100.0 / ideal
                } else {
                    0.0
                }
            );
        }
        let p = &b["steady_100_per_second"]["end_to_end_ms"];
        println!(
            "  end to end at 100 msg/s: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
            p["p50"], p["p95"], p["p99"], p["max"]
        );
        let outbound = &b["relay_chatwoot_to_whatsapp"];
        for row in outbound["runs"].as_array().into_iter().flatten() {
            println!(
                "  relay cw->wa, gateway +{} ms: {} msg/s",
                row["gateway_latency_ms"], row["per_second"]
            );
        }
        let p = &outbound["steady_100_per_second"]["end_to_end_ms"];
        println!(
            "  cw->wa end to end at 100 msg/s: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
            p["p50"], p["p95"], p["p99"], p["max"]
        );
        let r = &b["resources"];
        println!(
            "  memory idle {} MiB, peak {} MiB; {} CPU s per 1,000 messages",
            r["rss_idle_mib"], r["rss_peak_mib"], r["cpu_seconds_per_1000_messages"]
        );
    }
    let idle = &summary["idle_instances"];
    if !idle.is_null() {
        println!(
            "\n{} idle instances (sqlite, created in {} s): {} % of a core ({} CPU s per minute), {} MiB (peak {} MiB)",
            idle["instances"],
            idle["created_seconds"],
            idle["idle_core_percent"],
            idle["idle_cpu_seconds_per_minute"],
            idle["rss_mib"],
            idle["peak_rss_mib"]
        );
        for name in ["readyz", "metrics"] {
            let e = &idle[name];
            println!(
                "  /{name}: {} bytes, {} ms and {} CPU ms per call",
                e["bytes"], e["ms_per_call"], e["cpu_ms_per_call"]
            );
        }
    }
    let console = &summary["console"];
    if !console.is_null() {
        let t = &console["overview_ms"];
        println!(
            "\nconsole overview (sqlite, {} instances, {} events): first {} ms, then p50 {} ms, p99 {} ms, max {} ms; {} CPU ms per load; {} + {} + {} bytes (HTML, CSS, JS)",
            console["instances"],
            console["events"],
            console["first_overview_ms"],
            t["p50"],
            t["p99"],
            t["max"],
            console["overview_cpu_ms"],
            console["html_bytes"],
            console["css_bytes"],
            console["js_bytes"]
        );
    }
}
