//! Soak (long variant): messages both ways at a steady rate for 30 minutes
//! (`ZAPWOOT_SOAK_MINUTES` to change); the bridge's memory and queue lag stay flat, and
//! everything arrives once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::common::{
    assert_in_chatwoot_once_in_order, assert_on_whatsapp_once_in_order, captured, chat,
    conversation_of, deliver, incoming, sent_once, until, world,
};
use crate::support::{Db, http_client};

/// Resident memory of `pid`, KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The largest `zapwoot_oldest_pending_seconds` in `/metrics`.
async fn lag_seconds(http: &reqwest::Client, base: &str) -> f64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("zapwoot_oldest_pending_seconds"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "long variant: 30 minutes"]
async fn soak_at_a_steady_rate() {
    let minutes: u64 = std::env::var("ZAPWOOT_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(30);
    let db = Db::sqlite();
    let (w, bridge) = world(&db).await;
    let http = http_client();
    let chats = 50;
    let per_second = 20;
    let mut inbound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut outbound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut conversations = BTreeMap::new();
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut n = 0usize;
    while started.elapsed() < Duration::from_secs(minutes * 60) {
        let second = Instant::now();
        let mut batch = Vec::new();
        for _ in 0..per_second / 2 {
            let c = n % chats;
            let text = format!("soak in {n}");
            inbound.entry(chat(c)).or_default().push(text.clone());
            batch.push((chat(c), text));
            n += 1;
        }
        for request in &captured(&w.wuzapi, &batch).await {
            deliver(&http, &w.gateway_url, request).await;
        }
        for (jid, _) in &batch {
            if !conversations.contains_key(jid) {
                let id = conversation_of(&w.chatwoot, jid, Duration::from_secs(30)).await;
                conversations.insert(jid.clone(), id);
            }
            let text = format!("soak out {n} {jid}");
            n += 1;
            w.chatwoot
                .agent_reply(conversations[jid], &text, Vec::new())
                .unwrap();
            outbound.entry(jid.clone()).or_default().push(text);
        }
        if samples.len() < (started.elapsed().as_secs() / 10) as usize + 1 {
            let sample = (
                started.elapsed().as_secs(),
                rss_kib(bridge.pid()),
                lag_seconds(&http, &bridge.url).await,
            );
            eprintln!(
                "soak: t={}s rss={} KiB lag={:.1}s",
                sample.0, sample.1, sample.2
            );
            samples.push(sample);
        }
        if let Some(rest) = Duration::from_secs(1).checked_sub(second.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    let total_in: usize = inbound.values().map(Vec::len).sum();
    let total_out: usize = outbound.values().map(Vec::len).sum();
    assert!(
        until(Duration::from_secs(120), || incoming(&w.chatwoot).len()
            >= total_in
            && sent_once(&w.wuzapi).len() >= total_out)
        .await
    );
    assert_in_chatwoot_once_in_order(&w.chatwoot, &inbound);
    assert_on_whatsapp_once_in_order(&w.wuzapi, &outbound);
    // Flat: after the first fifth, memory grows less than 50 % and the queue never lags.
    let warm = samples[samples.len() / 5].1.max(1);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let worst_lag = samples.iter().map(|s| s.2).fold(0.0, f64::max);
    eprintln!(
        "soak: {total_in} in, {total_out} out; rss warm {warm} KiB, peak {peak} KiB; worst lag {worst_lag:.1} s"
    );
    assert!(peak * 2 <= warm * 3, "memory grew: {warm} -> {peak} KiB");
    assert!(worst_lag < 10.0, "the queue fell behind: {worst_lag} s");
}
