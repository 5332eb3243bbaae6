//! Follows a running bridge's live activity (`GET /api/v1/activity`, Server-Sent Events) and
//! prints a timeline. On a dropped connection it reconnects with `Last-Event-ID`, so nothing
//! the bridge still holds is missed.
//!
//! ```sh
//! ZAPWOOT_URL=http://127.0.0.1:8080 ZAPWOOT_ADMIN_TOKEN=<token> \
//!   cargo run -p zapwoot-examples --example activity_tail
//! ```

use std::time::Duration;

use serde_json::Value;

/// One activity record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Stream id (resume after it with `Last-Event-ID`).
    pub id: u64,
    /// `message.received`, `message.sent`, …
    pub kind: String,
    /// `{"type", "instance", "timestamp_ms", "data"}`.
    pub body: Value,
}

/// Takes every complete frame out of `buffer` (heartbeats and comments are skipped).
pub fn drain_frames(buffer: &mut String) -> Vec<Record> {
    let mut records = Vec::new();
    while let Some(end) = buffer.find("\n\n") {
        let frame: String = buffer.drain(..end + 2).collect();
        let (mut id, mut kind, mut data) = (None, None, String::new());
        for line in frame.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                kind = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
        if let (Some(id), Some(kind)) = (id, kind) {
            let body = serde_json::from_str(&data).unwrap_or(Value::Null);
            records.push(Record { id, kind, body });
        }
    }
    records
}

/// A timeline line: `instance  type  details`.
#[must_use]
pub fn timeline_line(record: &Record) -> String {
    let instance = record
        .body
        .get("instance")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let data = record
        .body
        .get("data")
        .map(Value::to_string)
        .unwrap_or_default();
    let short: String = data.chars().take(100).collect();
    format!(
        "#{:<6} {instance:<12} {:<18} {short}",
        record.id, record.kind
    )
}

/// One connection: streams records after `last_id` (updated as they come) to `on_record`
/// until the bridge closes the stream or `on_record` returns `false`.
///
/// # Errors
/// Connection errors and non-2xx answers (401 for a wrong token).
pub async fn follow(
    http: &reqwest::Client,
    base_url: &str,
    token: &str,
    last_id: &mut u64,
    mut on_record: impl FnMut(&Record) -> bool,
) -> Result<(), reqwest::Error> {
    let mut request = http
        .get(format!(
            "{}/api/v1/activity",
            base_url.trim_end_matches('/')
        ))
        .bearer_auth(token);
    if *last_id > 0 {
        request = request.header("last-event-id", last_id.to_string());
    }
    let mut response = request.send().await?.error_for_status()?;
    let mut buffer = String::new();
    while let Some(chunk) = response.chunk().await? {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        for record in drain_frames(&mut buffer) {
            *last_id = record.id;
            if !on_record(&record) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// An HTTP client for the bridge (rustls on ring, like the zapwoot crates).
///
/// # Errors
/// When the client cannot be built.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
}

#[allow(dead_code, clippy::print_stdout, clippy::print_stderr)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("ZAPWOOT_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let token =
        std::env::var("ZAPWOOT_ADMIN_TOKEN").map_err(|_| "ZAPWOOT_ADMIN_TOKEN is required")?;
    let http = client()?;
    let mut last_id = 0;
    loop {
        let result = follow(&http, &url, &token, &mut last_id, |record| {
            println!("{}", timeline_line(record));
            true
        })
        .await;
        if let Err(e) = result {
            if e.status().is_some_and(|s| s.as_u16() == 401) {
                return Err("the bridge refused the admin token".into());
            }
            eprintln!("connection lost ({e}); reconnecting after #{last_id}");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
